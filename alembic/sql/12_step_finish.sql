-- Lock the run; record the step's result once (first writer wins, whichever epoch delivered it: a finished result
-- is valid work; skipped when p_result is NULL); then, as the epoch's driver, claim every step of p_deps whose
-- producers are all recorded and which this epoch has not sent yet, and hold the run for p_lease_s.
-- Returns {live, recorded, claimed, complete, update, epoch}.
CREATE OR REPLACE FUNCTION app.step_finish(p_run uuid, p_step text, p_epoch integer, p_outcome text, p_reason text,
                                           p_result jsonb, p_lease_s double precision, p_deps jsonb)
RETURNS jsonb LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, app AS $$
DECLARE
    r record;
    v_recorded boolean := false;
    v_done text[];
    v_claimed text[];
BEGIN
    SELECT status, epoch, base_run_id INTO r FROM app.runs WHERE id = p_run AND tenant_id = app.tenant() FOR UPDATE;
    IF NOT FOUND OR NOT app.is_live(r.status) THEN
        RETURN jsonb_build_object('live', false, 'recorded', false, 'claimed', '[]'::jsonb, 'complete', false);
    END IF;
    IF p_result IS NOT NULL THEN
        INSERT INTO app.run_steps AS s (run_id, step_id, tenant_id, outcome, reason, attempts, updated_at, epoch,
                                        result, finished_at)
        VALUES (p_run, p_step, app.tenant(), p_outcome, p_reason, 1, now(), p_epoch, p_result, now())
        ON CONFLICT (run_id, step_id) DO UPDATE SET
            outcome = excluded.outcome, reason = excluded.reason, updated_at = excluded.updated_at,
            epoch = excluded.epoch, result = excluded.result, finished_at = excluded.finished_at
        WHERE s.result IS NULL;
        v_recorded := FOUND;
    END IF;
    IF r.epoch <> p_epoch THEN  -- another driver sends what follows
        IF v_recorded THEN
            UPDATE app.runs SET status = 'running', updated_at = now(), sweeps = 0
            WHERE id = p_run AND tenant_id = app.tenant();
        END IF;
        RETURN jsonb_build_object('live', true, 'recorded', v_recorded, 'claimed', '[]'::jsonb, 'complete', false,
                                  'epoch', r.epoch);
    END IF;
    SELECT coalesce(array_agg(step_id), '{}') INTO v_done FROM app.run_steps
    WHERE run_id = p_run AND tenant_id = app.tenant() AND result IS NOT NULL;
    WITH claimed AS (
        INSERT INTO app.run_steps AS s (run_id, step_id, tenant_id, outcome, reason, attempts, updated_at,
                                        dispatched_epoch)
        SELECT p_run, step, app.tenant(), 'queued', NULL, 0, now(), p_epoch
        FROM unnest(app.ready_steps(p_deps, v_done)) AS step
        ON CONFLICT (run_id, step_id) DO UPDATE SET dispatched_epoch = p_epoch, updated_at = now(), outcome = 'queued',
            reason = NULL
        WHERE s.result IS NULL AND s.dispatched_epoch IS DISTINCT FROM p_epoch
        RETURNING s.step_id
    )
    SELECT coalesce(array_agg(step_id), '{}') INTO v_claimed FROM claimed;
    IF v_recorded OR cardinality(v_claimed) > 0 THEN
        -- A finished step no longer holds the run: from now, what holds it is what this call sent.
        UPDATE app.runs SET updated_at = now(),
            status = CASE WHEN v_recorded THEN 'running' ELSE status END,
            sweeps = CASE WHEN v_recorded THEN 0 ELSE sweeps END,
            lease_expires_at = app.lease_until(p_lease_s)
        WHERE id = p_run AND tenant_id = app.tenant();
    END IF;
    RETURN jsonb_build_object(
        'live', true, 'recorded', v_recorded, 'claimed', to_jsonb(v_claimed), 'epoch', r.epoch,
        'update', r.base_run_id IS NOT NULL,
        'complete', NOT EXISTS (SELECT 1 FROM jsonb_object_keys(p_deps) AS k WHERE NOT k = ANY (v_done)));
END $$;
