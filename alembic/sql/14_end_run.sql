-- End a live run (or, for a cancel, a queued one) as p_status, keeping what was recorded; with p_epoch, only as
-- that epoch's driver. Steps that had not finished end too: the failed step as failed, the others cancelled.
CREATE OR REPLACE FUNCTION app.end_run(p_run uuid, p_status text, p_epoch integer, p_context jsonb, p_error text,
                                       p_failed_step text)
RETURNS boolean LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, app AS $$
BEGIN
    UPDATE app.runs SET status = p_status, context = coalesce(p_context, context), finished_at = now(),
        updated_at = now(), lease_expires_at = NULL, error = p_error, failed_step = p_failed_step
    WHERE id = p_run AND tenant_id = app.tenant()
      AND (app.is_live(status) OR (p_status = 'cancelled' AND status = 'queued'))
      AND (p_epoch IS NULL OR epoch = p_epoch);
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE app.run_steps SET finished_at = now(), updated_at = now(),
        outcome = CASE WHEN step_id = p_failed_step THEN 'failed' ELSE 'cancelled' END,
        reason = CASE WHEN step_id = p_failed_step THEN p_error ELSE 'the run ended ' || p_status END
    WHERE run_id = p_run AND tenant_id = app.tenant() AND result IS NULL
      AND (outcome IN ('queued', 'running') OR step_id = p_failed_step);
    RETURN true;
END $$;
