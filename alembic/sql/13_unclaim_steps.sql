-- The broker refused the steps this epoch just claimed: release the claims (an outbox entry not delivered), so
-- the sweeper's next look finds them ready and unsent and sends them again. Returns the steps released.
CREATE OR REPLACE FUNCTION app.unclaim_steps(p_run uuid, p_epoch integer, p_steps text[])
RETURNS text[] LANGUAGE sql SECURITY INVOKER SET search_path = pg_catalog, app AS $$
    WITH released AS (
        UPDATE app.run_steps SET dispatched_epoch = NULL, updated_at = now()
        WHERE run_id = p_run AND tenant_id = app.tenant() AND step_id = ANY (p_steps) AND dispatched_epoch = p_epoch
          AND result IS NULL AND outcome = 'queued'
        RETURNING step_id
    )
    SELECT coalesce(array_agg(step_id), '{}') FROM released
$$;
