-- A running step of epoch p_epoch is alive: hold its run for p_lease_s more. False when the run ended or another
-- epoch drives it (the step's work will not be used to advance it).
CREATE OR REPLACE FUNCTION app.step_heartbeat(p_run uuid, p_epoch integer, p_lease_s double precision)
RETURNS boolean LANGUAGE sql SECURITY INVOKER SET search_path = pg_catalog, app AS $$
    -- lease_expires_at only: no indexed column changes, so the update stays HOT.
    UPDATE app.runs SET lease_expires_at = app.lease_until(p_lease_s)
    WHERE id = p_run AND tenant_id = app.tenant() AND app.is_live(status) AND epoch = p_epoch
    RETURNING true
$$;
