"""What the HTTP API needs: idempotency keys, a durable per-run event log, and run counts for /metrics.

- app.idempotency_keys (tenant_id, key) -> the hash of the request body and the run it made: the same key and
  body give the same run, another body under the same key is refused. Tenant-scoped by row-level security.
- app.run_events: every status change of a run (the same changes and JSON as the NOTIFY of 0009) and every
  step that recorded its result (`step_finished`), appended in commit order by triggers on app.runs and
  app.run_steps. Its bigint id is the SSE event id, so a subscriber that reconnects with Last-Event-ID reads
  exactly what it missed. Each append also NOTIFYs `campaign_run_log` with the run id, to wake subscribers;
  the table, not the notification, is the record. The trigger function is SECURITY DEFINER and the only
  writer (campaign_app may only read, under its tenant's policy): the sweeper changes runs of every tenant
  without naming one, and the log must record those changes too.
- app.run_status_counts(): runs per status across tenants, counts only, for /metrics, owned by campaign_inspector
  like the other cross-tenant functions (0012). The functions are versioned SQL in alembic/sql (30-33).

Revision ID: 0013_api
Revises: 0012_one_ledger
"""

from alembic import op

from context.migrations import act_as_inspector, hand_to_inspector, load_sql_functions

revision = "0013_api"
down_revision = "0012_one_ledger"
branch_labels = None
depends_on = None

TENANT = "app.tenant()"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE app.idempotency_keys (
            tenant_id uuid NOT NULL,
            key varchar(255) NOT NULL,
            request_hash char(64) NOT NULL,
            run_id uuid NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, key)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE app.run_events (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            run_id uuid NOT NULL REFERENCES app.runs (id) ON DELETE CASCADE,
            tenant_id uuid NOT NULL,
            event jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX ix_run_events_run_id_id ON app.run_events (run_id, id)")
    op.execute("GRANT SELECT, INSERT, DELETE ON app.idempotency_keys TO campaign_app")
    op.execute("GRANT SELECT ON app.run_events TO campaign_app")
    for table in ("idempotency_keys", "run_events"):
        op.execute(f"ALTER TABLE app.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE app.{table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON app.idempotency_keys USING (tenant_id = {TENANT}) "
        f"WITH CHECK (tenant_id = {TENANT})"
    )
    op.execute(f"CREATE POLICY tenant_isolation ON app.run_events FOR SELECT USING (tenant_id = {TENANT})")
    # Only the triggers write the log (campaign_app has no INSERT right), for whichever tenant's run changed. The
    # owner is bound by policies too (FORCE), and a managed database's workers may log in as the owner: a row is
    # accepted only from inside a trigger, never from a statement of anyone's own.
    op.execute("CREATE POLICY log_writer ON app.run_events FOR INSERT WITH CHECK (pg_trigger_depth() > 0)")
    load_sql_functions(("30_append_run_event", "31_log_run_event", "32_log_step_event", "33_run_status_counts"))
    op.execute("REVOKE ALL ON FUNCTION app.append_run_event(uuid, uuid, jsonb) FROM PUBLIC")
    # The same transitions as the NOTIFY triggers of 0009: pending -> running is one "running" event, not two.
    op.execute(
        "CREATE TRIGGER runs_log_insert AFTER INSERT ON app.runs FOR EACH ROW EXECUTE FUNCTION app.log_run_event()"
    )
    op.execute(
        """
        CREATE TRIGGER runs_log_status AFTER UPDATE OF status ON app.runs
        FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
              AND NOT (OLD.status = 'pending' AND NEW.status = 'running')) EXECUTE FUNCTION app.log_run_event()
        """
    )
    op.execute(
        """
        CREATE TRIGGER run_steps_log_insert AFTER INSERT ON app.run_steps
        FOR EACH ROW WHEN (NEW.outcome IN ('executed', 'reused')) EXECUTE FUNCTION app.log_step_event()
        """
    )
    op.execute(
        """
        CREATE TRIGGER run_steps_log_outcome AFTER UPDATE OF outcome ON app.run_steps
        FOR EACH ROW WHEN (OLD.outcome IS DISTINCT FROM NEW.outcome AND NEW.outcome IN ('executed', 'reused'))
        EXECUTE FUNCTION app.log_step_event()
        """
    )
    # Counts across tenants: the inspector's, as the sweeper's view (0012), or a managed admin would count nothing.
    hand_to_inspector(("app.run_status_counts()",))


def downgrade() -> None:
    act_as_inspector(True)  # to drop what it owns
    op.execute("DROP FUNCTION IF EXISTS app.run_status_counts()")
    act_as_inspector(False)
    op.execute("DROP TRIGGER IF EXISTS run_steps_log_outcome ON app.run_steps")
    op.execute("DROP TRIGGER IF EXISTS run_steps_log_insert ON app.run_steps")
    op.execute("DROP TRIGGER IF EXISTS runs_log_status ON app.runs")
    op.execute("DROP TRIGGER IF EXISTS runs_log_insert ON app.runs")
    op.execute("DROP FUNCTION IF EXISTS app.log_step_event()")
    op.execute("DROP FUNCTION IF EXISTS app.log_run_event()")
    op.execute("DROP FUNCTION IF EXISTS app.append_run_event(uuid, uuid, jsonb)")
    op.execute("DROP TABLE IF EXISTS app.run_events")
    op.execute("DROP TABLE IF EXISTS app.idempotency_keys")
