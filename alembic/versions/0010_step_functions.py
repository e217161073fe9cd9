"""The run driver's two per-step transactions as functions: one round trip each instead of a dozen statements.

- app.step_start(run, tenant, step, epoch, queue, hostname, task_id, lease_s): lock the run; if this delivery
  may act (run live, its epoch) and the step has no recorded result, count an attempt, note where it runs and
  extend the run's lease by `lease_s`. Returns the run's status, epoch, starting context, forced steps, the
  recorded results and the attempt count, as jsonb.
- app.step_finish(run, tenant, step, epoch, outcome, reason, result, lease_s, deps): lock the run; record the
  step's result once (first writer wins; skipped when `result` is NULL); then, as the epoch's driver, claim
  every step of `deps` ({step: [producer steps]}) whose producers are all recorded and which this epoch has
  not sent yet. Returns {live, recorded, claimed, complete, update} as jsonb (update: the run has a base run,
  so steps it claims may be reusable).
- app.admit_runs(tenant, cap, lease_s): under the tenant's advisory lock, move its oldest queued runs to pending
  (a new epoch, a lease) while fewer than `cap` of its runs are live; returns (run_id, epoch) of each.

Both are SECURITY INVOKER and name the tenant for row-level security themselves (set_config, transaction-local),
so they see and write only that tenant's rows, exactly as the statements they replace did. The Python
Ledger keeps the statement-by-statement path for the embedded SQLite database.

Revision ID: 0010_step_functions
Revises: 0009_run_events
"""

from alembic import op

revision = "0010_step_functions"
down_revision = "0009_run_events"
branch_labels = None
depends_on = None

ADMIT = "app.admit_runs(uuid, integer, double precision)"
START = "app.step_start(uuid, uuid, text, integer, text, text, text, double precision)"
FINISH = "app.step_finish(uuid, uuid, text, integer, text, text, jsonb, double precision, jsonb)"


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION app.step_start(p_run uuid, p_tenant uuid, p_step text, p_epoch integer, p_queue text,
                                       p_hostname text, p_task_id text, p_lease_s double precision)
        RETURNS jsonb LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, app AS $$
        DECLARE
            r record;
            v_results jsonb;
            v_attempts integer := 0;
        BEGIN
            PERFORM set_config('app.tenant_id', p_tenant::text, true);
            SELECT status, epoch, context, forced_steps, sweeps INTO r FROM app.runs
            WHERE id = p_run AND tenant_id = p_tenant FOR UPDATE;
            IF NOT FOUND THEN
                RETURN jsonb_build_object('status', 'missing', 'epoch', -1);
            END IF;
            IF r.status NOT IN ('pending', 'running') OR r.epoch <> p_epoch THEN
                RETURN jsonb_build_object('status', r.status, 'epoch', r.epoch);
            END IF;
            SELECT coalesce(jsonb_object_agg(step_id, result), '{}'::jsonb) INTO v_results FROM app.run_steps
            WHERE run_id = p_run AND tenant_id = p_tenant AND result IS NOT NULL;
            IF NOT v_results ? p_step THEN
                INSERT INTO app.run_steps AS s (run_id, step_id, tenant_id, outcome, reason, attempts, updated_at,
                                                epoch, queue, hostname, task_id, started_at, finished_at)
                VALUES (p_run, p_step, p_tenant, 'running', NULL, 1, now(), p_epoch, p_queue, p_hostname,
                        p_task_id, now(), NULL)
                ON CONFLICT (run_id, step_id) DO UPDATE SET
                    outcome = 'running', reason = NULL, attempts = s.attempts + 1, updated_at = now(),
                    epoch = p_epoch, queue = p_queue, hostname = p_hostname, task_id = p_task_id,
                    started_at = now(), finished_at = NULL
                RETURNING attempts INTO v_attempts;
                UPDATE app.runs SET status = 'running', updated_at = now(),
                    lease_expires_at = greatest(lease_expires_at, now() + make_interval(secs => p_lease_s))
                WHERE id = p_run AND tenant_id = p_tenant;
            END IF;
            RETURN jsonb_build_object('status', r.status, 'epoch', r.epoch, 'context', r.context,
                                      'forced', r.forced_steps, 'sweeps', r.sweeps, 'results', v_results,
                                      'attempts', v_attempts);
        END $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION app.step_finish(p_run uuid, p_tenant uuid, p_step text, p_epoch integer, p_outcome text,
                                        p_reason text, p_result jsonb, p_lease_s double precision, p_deps jsonb)
        RETURNS jsonb LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, app AS $$
        DECLARE
            r record;
            v_recorded boolean := false;
            v_done text[];
            v_ready text[];
            v_claimed text[];
        BEGIN
            PERFORM set_config('app.tenant_id', p_tenant::text, true);
            SELECT status, epoch, base_run_id INTO r FROM app.runs
            WHERE id = p_run AND tenant_id = p_tenant FOR UPDATE;
            IF NOT FOUND OR r.status NOT IN ('pending', 'running') THEN
                RETURN jsonb_build_object('live', false, 'recorded', false, 'claimed', '[]'::jsonb,
                                          'complete', false);
            END IF;
            IF p_result IS NOT NULL THEN
                INSERT INTO app.run_steps AS s (run_id, step_id, tenant_id, outcome, reason, attempts, updated_at,
                                                epoch, result, finished_at)
                VALUES (p_run, p_step, p_tenant, p_outcome, p_reason, 1, now(), p_epoch, p_result, now())
                ON CONFLICT (run_id, step_id) DO UPDATE SET
                    outcome = excluded.outcome, reason = excluded.reason, updated_at = excluded.updated_at,
                    epoch = excluded.epoch, result = excluded.result, finished_at = excluded.finished_at
                WHERE s.result IS NULL;
                v_recorded := FOUND;
            END IF;
            IF r.epoch <> p_epoch THEN  -- another driver sends what follows
                IF v_recorded THEN
                    UPDATE app.runs SET status = 'running', updated_at = now(), sweeps = 0,
                        lease_expires_at = greatest(lease_expires_at, now() + make_interval(secs => p_lease_s))
                    WHERE id = p_run AND tenant_id = p_tenant;
                END IF;
                RETURN jsonb_build_object('live', true, 'recorded', v_recorded, 'claimed', '[]'::jsonb,
                                          'complete', false, 'epoch', r.epoch);
            END IF;
            SELECT coalesce(array_agg(step_id), '{}') INTO v_done FROM app.run_steps
            WHERE run_id = p_run AND tenant_id = p_tenant AND result IS NOT NULL;
            SELECT coalesce(array_agg(d.key), '{}') INTO v_ready FROM jsonb_each(p_deps) AS d
            WHERE NOT d.key = ANY (v_done)
              AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(d.value) AS p(step)
                              WHERE NOT p.step = ANY (v_done));
            WITH claimed AS (
                INSERT INTO app.run_steps AS s (run_id, step_id, tenant_id, outcome, reason, attempts, updated_at,
                                                dispatched_epoch)
                SELECT p_run, step, p_tenant, 'queued', NULL, 0, now(), p_epoch FROM unnest(v_ready) AS step
                ON CONFLICT (run_id, step_id) DO UPDATE SET dispatched_epoch = p_epoch, updated_at = now()
                WHERE s.result IS NULL AND s.dispatched_epoch IS DISTINCT FROM p_epoch
                RETURNING s.step_id
            )
            SELECT coalesce(array_agg(step_id), '{}') INTO v_claimed FROM claimed;
            IF v_recorded OR cardinality(v_claimed) > 0 THEN
                UPDATE app.runs SET updated_at = now(),
                    status = CASE WHEN v_recorded THEN 'running' ELSE status END,
                    sweeps = CASE WHEN v_recorded THEN 0 ELSE sweeps END,
                    lease_expires_at = greatest(lease_expires_at, now() + make_interval(secs => p_lease_s))
                WHERE id = p_run AND tenant_id = p_tenant;
            END IF;
            RETURN jsonb_build_object(
                'live', true, 'recorded', v_recorded, 'claimed', to_jsonb(v_claimed), 'epoch', r.epoch,
                'update', r.base_run_id IS NOT NULL,
                'complete', NOT EXISTS (SELECT 1 FROM jsonb_object_keys(p_deps) AS k WHERE NOT k = ANY (v_done)));
        END $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION app.admit_runs(p_tenant uuid, p_cap integer, p_lease_s double precision)
        RETURNS TABLE (run_id uuid, epoch integer)
        LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, app AS $$
        DECLARE
            v_free integer;
        BEGIN
            -- Admission decisions of one tenant are serialised across workers, for this transaction.
            PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant::text, 0));
            PERFORM set_config('app.tenant_id', p_tenant::text, true);
            SELECT p_cap - count(*) INTO v_free FROM app.runs
            WHERE tenant_id = p_tenant AND status IN ('pending', 'running');
            IF v_free <= 0 THEN
                RETURN;
            END IF;
            RETURN QUERY
            WITH admitted AS (
                UPDATE app.runs AS r SET epoch = r.epoch + 1, status = 'pending', error = NULL, failed_step = NULL,
                    finished_at = NULL, updated_at = now(), sweeps = 0,
                    lease_expires_at = now() + make_interval(secs => p_lease_s)
                WHERE r.id IN (SELECT q.id FROM app.runs AS q WHERE q.tenant_id = p_tenant AND q.status = 'queued'
                               ORDER BY q.created_at, q.id LIMIT v_free)
                  AND r.tenant_id = p_tenant AND r.status = 'queued'
                RETURNING r.id, r.epoch, r.created_at
            )
            SELECT a.id, a.epoch FROM admitted AS a ORDER BY a.created_at, a.id;
        END $$
        """
    )


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {ADMIT}")
    op.execute(f"DROP FUNCTION IF EXISTS {FINISH}")
    op.execute(f"DROP FUNCTION IF EXISTS {START}")
