-- The sweeper's decision on one live run, under its lock (so a step recording progress meanwhile wins):
--   gone      the run ended meanwhile;                                    nothing to do
--   progress  its lease was renewed since the sweeper listed it;          nothing to do
--   lost      steps it sent before the broker lost its messages (p_lost_before) have not started: a new epoch
--             resends them, not counted against it (the broker's fault, not the run's)
--   resend    nothing in flight (a send the broker refused was released): the same epoch sends what is ready
--   waiting   every unfinished step it sent waits in a queue that holds messages (p_waiting_ok: the steps whose
--             queue does), none is running: waiting is not hanging, the lease is renewed
--   taken_over  a running step stopped its heartbeat, or a sent step is in no queue: a new epoch resends
--   fail      as taken_over, but p_max_sweeps takeovers in a row made no progress
-- Returns {action, epoch, sweeps}.
CREATE OR REPLACE FUNCTION app.sweep_run(p_run uuid, p_lease_s double precision, p_max_sweeps integer,
                                         p_lost_before timestamptz, p_waiting_ok text[])
RETURNS jsonb LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, app AS $$
DECLARE
    r record;
    c record;
    v_action text;
BEGIN
    SELECT status, epoch, sweeps, lease_expires_at INTO r FROM app.runs
    WHERE id = p_run AND tenant_id = app.tenant() FOR UPDATE;
    IF NOT FOUND OR NOT app.is_live(r.status) THEN
        RETURN jsonb_build_object('action', 'gone');
    END IF;
    SELECT count(*) FILTER (WHERE outcome = 'running' AND epoch = r.epoch) AS running,
           count(*) FILTER (WHERE outcome = 'queued' AND dispatched_epoch = r.epoch) AS waiting,
           count(*) FILTER (WHERE outcome = 'queued' AND dispatched_epoch = r.epoch
                            AND updated_at < p_lost_before) AS lost,
           count(*) FILTER (WHERE outcome = 'queued' AND dispatched_epoch = r.epoch
                            AND NOT step_id = ANY (p_waiting_ok)) AS unseen
    INTO c FROM app.run_steps WHERE run_id = p_run AND tenant_id = app.tenant() AND result IS NULL;
    IF c.lost > 0 THEN
        v_action := 'lost';
    ELSIF r.lease_expires_at >= now() THEN
        RETURN jsonb_build_object('action', 'progress', 'epoch', r.epoch, 'sweeps', r.sweeps);
    ELSIF c.running = 0 AND c.waiting = 0 THEN
        v_action := 'resend';
    ELSIF c.running = 0 AND c.unseen = 0 THEN
        v_action := 'waiting';
    ELSIF r.sweeps >= p_max_sweeps THEN
        RETURN jsonb_build_object('action', 'fail', 'epoch', r.epoch, 'sweeps', r.sweeps);
    ELSE
        v_action := 'taken_over';
    END IF;
    IF v_action IN ('resend', 'waiting') THEN
        UPDATE app.runs SET lease_expires_at = app.lease_until(p_lease_s) WHERE id = p_run AND tenant_id = app.tenant();
        RETURN jsonb_build_object('action', v_action, 'epoch', r.epoch, 'sweeps', r.sweeps);
    END IF;
    UPDATE app.runs SET epoch = epoch + 1, status = 'pending', updated_at = now(),
        lease_expires_at = app.lease_until(p_lease_s),
        sweeps = CASE WHEN v_action = 'taken_over' THEN sweeps + 1 ELSE sweeps END
    WHERE id = p_run AND tenant_id = app.tenant()
    RETURNING epoch, sweeps INTO r.epoch, r.sweeps;
    RETURN jsonb_build_object('action', v_action, 'epoch', r.epoch, 'sweeps', r.sweeps);
END $$;
