"""Run events on PostgreSQL NOTIFY: every status change of app.runs is sent on channel `campaign_run_events`.

The payload is the run event JSON (docs/schema/event.schema.json): runId, tenantId, kind, status, at, and
step/reason when the run failed. NOTIFY is database-wide: a listener sees every tenant's events and filters by
tenantId (row-level security does not apply to LISTEN). The trigger runs in the writing transaction, so an
event is delivered exactly when the status change commits, and never for a rolled-back one.

Revision ID: 0009_run_events
Revises: 0008_store_gc_refs
"""

from alembic import op

revision = "0009_run_events"
down_revision = "0008_store_gc_refs"
branch_labels = None
depends_on = None

CHANNEL = "campaign_run_events"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION app.notify_run_event() RETURNS trigger LANGUAGE plpgsql SECURITY INVOKER AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', json_strip_nulls(json_build_object(
                'runId', NEW.id,
                'tenantId', NEW.tenant_id,
                'kind', CASE NEW.status WHEN 'pending' THEN 'running' ELSE NEW.status END,
                'status', NEW.status,
                'step', CASE WHEN NEW.status = 'failed' THEN NEW.failed_step END,
                -- NOTIFY payloads are capped at 8000 bytes: the full reason stays on the row.
                'reason', CASE WHEN NEW.status IN ('failed', 'cancelled') THEN left(NEW.error, 1000) END,
                'at', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
            ))::text);
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER runs_notify_insert AFTER INSERT ON app.runs
        FOR EACH ROW EXECUTE FUNCTION app.notify_run_event()
        """
    )
    op.execute(
        """
        CREATE TRIGGER runs_notify_status AFTER UPDATE OF status ON app.runs
        FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
              AND NOT (OLD.status = 'pending' AND NEW.status = 'running')) EXECUTE FUNCTION app.notify_run_event()
        """
    )
    # The worker role may read the schema revision, so a worker on an outdated database says so at start.
    op.execute(
        "DO $$ BEGIN IF to_regclass('public.alembic_version') IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'campaign_app') THEN "
        "GRANT SELECT ON public.alembic_version TO campaign_app; END IF; END $$"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS runs_notify_status ON app.runs")
    op.execute("DROP TRIGGER IF EXISTS runs_notify_insert ON app.runs")
    op.execute("DROP FUNCTION IF EXISTS app.notify_run_event()")
    op.execute(
        "DO $$ BEGIN IF to_regclass('public.alembic_version') IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'campaign_app') THEN "
        "REVOKE SELECT ON public.alembic_version FROM campaign_app; END IF; END $$"
    )
