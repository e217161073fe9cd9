"""One driver per run, one result per step: epochs, leases, queued/cancelled runs, recorded step results.

- app.runs.epoch: which driver owns the run; a resume or a sweep starts a new epoch, and every write of a
  step task carries its epoch, so a stale driver's writes match no row.
- app.runs.forced_steps: the steps an update re-runs whatever their inputs (--steps).
- app.runs.lease_expires_at: until when the run is known to make progress; the sweeper resumes (or fails)
  a live run whose lease ran out after a crash or a lost message. sweeps counts resumes without progress.
- app.run_steps.result: the step's recorded change to the context, written once (first writer wins).
- app.run_steps.dispatched_epoch: the epoch that sent the step; the claim that keeps it from being sent twice.
- where and when a step ran: queue, hostname, task_id, started_at, finished_at.
- app.sweep_candidates() (SECURITY DEFINER): the sweeper's cross-tenant view, ids only.

Revision ID: 0007_run_driver
Revises: 0006_save_context_function
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_run_driver"
down_revision = "0006_save_context_function"
branch_labels = None
depends_on = None

STATUSES = "('queued', 'pending', 'running', 'completed', 'failed', 'cancelled')"
OLD_STATUSES = "('pending', 'running', 'completed', 'failed')"
SWEEP = "app.sweep_candidates()"


def upgrade() -> None:
    op.add_column("runs", sa.Column("epoch", sa.Integer(), nullable=False, server_default="0"), schema="app")
    op.add_column("runs", sa.Column("lease_expires_at", sa.DateTime(timezone=True)), schema="app")
    op.add_column("runs", sa.Column("sweeps", sa.Integer(), nullable=False, server_default="0"), schema="app")
    op.add_column("runs", sa.Column("forced_steps", sa.dialects.postgresql.JSONB()), schema="app")
    op.drop_constraint("runs_status_check", "runs", schema="app")
    op.create_check_constraint("runs_status_check", "runs", f"status IN {STATUSES}", schema="app")
    op.create_index("ix_runs_live_lease", "runs", ["lease_expires_at"], schema="app",
                    postgresql_where=sa.text("status IN ('pending', 'running')"))  # fmt: skip
    op.create_index("ix_runs_queued", "runs", ["tenant_id", "created_at"], schema="app",
                    postgresql_where=sa.text("status = 'queued'"))  # fmt: skip
    for column in (
        sa.Column("result", sa.dialects.postgresql.JSONB()),
        sa.Column("epoch", sa.Integer()),
        sa.Column("dispatched_epoch", sa.Integer()),
        sa.Column("queue", sa.String(64)),
        sa.Column("hostname", sa.String(255)),
        sa.Column("task_id", sa.String(64)),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    ):
        op.add_column("run_steps", column, schema="app")
    op.execute(
        f"""
        CREATE FUNCTION {SWEEP} RETURNS TABLE (run_id uuid, tenant_id uuid, kind text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, app AS $$
            SELECT id, tenant_id, 'expired' FROM app.runs
            WHERE status IN ('pending', 'running') AND lease_expires_at < now()
            UNION ALL
            SELECT DISTINCT NULL::uuid, tenant_id, 'queued' FROM app.runs WHERE status = 'queued'
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {SWEEP} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SWEEP} TO campaign_app")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SWEEP}")
    for name in ("finished_at", "started_at", "task_id", "hostname", "queue", "dispatched_epoch", "epoch", "result"):
        op.drop_column("run_steps", name, schema="app")
    op.drop_index("ix_runs_queued", "runs", schema="app")
    op.drop_index("ix_runs_live_lease", "runs", schema="app")
    op.execute("UPDATE app.runs SET status = 'failed' WHERE status IN ('queued', 'cancelled')")
    op.drop_constraint("runs_status_check", "runs", schema="app")
    op.create_check_constraint("runs_status_check", "runs", f"status IN {OLD_STATUSES}", schema="app")
    for name in ("forced_steps", "sweeps", "lease_expires_at", "epoch"):
        op.drop_column("runs", name, schema="app")
