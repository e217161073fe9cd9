-- A run that can still change: steps, completion and failure only touch these (context.runs.LIVE_STATUSES).
CREATE OR REPLACE FUNCTION app.is_live(p_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_status IN ('pending', 'running')
$$;
