-- Under the tenant's advisory lock, move its oldest queued runs to pending (a new epoch, a lease) while fewer than
-- p_cap of its runs are live; returns (run_id, epoch) of each, oldest first. New runs and resumed ones alike.
CREATE OR REPLACE FUNCTION app.admit_runs(p_cap integer, p_lease_s double precision)
RETURNS TABLE (run_id uuid, epoch integer)
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, app AS $$
DECLARE
    v_free integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(app.tenant()::text, 0));
    SELECT p_cap - count(*) INTO v_free FROM app.runs WHERE tenant_id = app.tenant() AND app.is_live(status);
    IF v_free <= 0 THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH admitted AS (
        UPDATE app.runs AS r SET epoch = r.epoch + 1, status = 'pending', error = NULL, failed_step = NULL,
            finished_at = NULL, updated_at = now(), sweeps = 0, lease_expires_at = app.lease_until(p_lease_s)
        WHERE r.id IN (SELECT q.id FROM app.runs AS q WHERE q.tenant_id = app.tenant() AND q.status = 'queued'
                       ORDER BY q.created_at, q.id LIMIT v_free)
          AND r.tenant_id = app.tenant() AND r.status = 'queued'
        RETURNING r.id, r.epoch, r.created_at
    )
    SELECT a.id, a.epoch FROM admitted AS a ORDER BY a.created_at, a.id;
END $$;
