-- A delivery of step p_step of epoch p_epoch starts: lock the run; if the delivery may act (the run is live and
-- driven by its epoch) and the step has no recorded result, count an attempt of this epoch, note where it runs and
-- hold the run for p_lease_s (its heartbeat holds it after that). Returns the run's status, epoch, starting
-- context, forced steps, recorded results and the attempt count.
CREATE OR REPLACE FUNCTION app.step_start(p_run uuid, p_step text, p_epoch integer, p_queue text, p_hostname text,
                                          p_task_id text, p_lease_s double precision)
RETURNS jsonb LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, app AS $$
DECLARE
    r record;
    v_results jsonb;
    v_attempts integer := 0;
BEGIN
    SELECT status, epoch, context, forced_steps, sweeps INTO r FROM app.runs
    WHERE id = p_run AND tenant_id = app.tenant() FOR UPDATE;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('status', 'missing', 'epoch', -1);
    END IF;
    IF NOT app.is_live(r.status) OR r.epoch <> p_epoch THEN
        RETURN jsonb_build_object('status', r.status, 'epoch', r.epoch);
    END IF;
    SELECT coalesce(jsonb_object_agg(step_id, result), '{}'::jsonb) INTO v_results FROM app.run_steps
    WHERE run_id = p_run AND tenant_id = app.tenant() AND result IS NOT NULL;
    IF NOT v_results ? p_step THEN
        -- Attempts count within an epoch: a resume or a takeover starts the count again.
        INSERT INTO app.run_steps AS s (run_id, step_id, tenant_id, outcome, reason, attempts, updated_at, epoch,
                                        queue, hostname, task_id, started_at, finished_at)
        VALUES (p_run, p_step, app.tenant(), 'running', NULL, 1, now(), p_epoch, p_queue, p_hostname, p_task_id,
                now(), NULL)
        ON CONFLICT (run_id, step_id) DO UPDATE SET
            outcome = 'running', reason = NULL,
            attempts = CASE WHEN s.epoch = p_epoch THEN s.attempts + 1 ELSE 1 END,
            updated_at = now(), epoch = p_epoch, queue = p_queue, hostname = p_hostname, task_id = p_task_id,
            started_at = now(), finished_at = NULL
        RETURNING attempts INTO v_attempts;
        UPDATE app.runs SET status = 'running', updated_at = now(), lease_expires_at = app.lease_until(p_lease_s)
        WHERE id = p_run AND tenant_id = app.tenant();
    END IF;
    RETURN jsonb_build_object('status', r.status, 'epoch', r.epoch, 'context', r.context, 'forced', r.forced_steps,
                              'sweeps', r.sweeps, 'results', v_results, 'attempts', v_attempts);
END $$;
