"""Indexes that keep a step's cost flat as a tenant's history grows, and let lease extensions be HOT updates.

Found by measuring (benchmarks `scale`): every per-step lookup names both the run and its tenant
(`id = $run AND tenant_id = $tenant`, plus the row-level-security predicate), and the plans cached by the step
functions chose the single-column tenant index, so each lookup read every run (and every step row) the tenant
ever had: 250 index entries per runs lookup and 1,850 per run_steps lookup after 300 runs of one tenant. With
the tenant index leading to the run, either index finds the one row.

- app.runs (tenant_id) -> (tenant_id, id); app.run_steps (tenant_id) -> (tenant_id, run_id): tenant listings
  still use them, and a lookup by run and tenant reads only that run's rows whichever index is chosen.
- ix_runs_live (tenant_id) WHERE status IN ('pending', 'running') replaces ix_runs_live_lease (lease_expires_at)
  and ix_runs_status_updated_at (never used: stale runs are listed per tenant): admission counts a tenant's live
  runs from it, the sweeper reads the live runs from it (few: at most every tenant's cap) and filters on the
  lease. No index then covers updated_at or lease_expires_at, which every step changes, so those updates can be
  HOT (no new index entries); fillfactor 80 leaves room on each page for them.

Revision ID: 0011_run_indexes
Revises: 0010_step_functions
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_run_indexes"
down_revision = "0010_step_functions"
branch_labels = None
depends_on = None

LIVE = sa.text("status IN ('pending', 'running')")


def upgrade() -> None:
    op.drop_index("ix_runs_tenant_id", table_name="runs", schema="app")
    op.create_index("ix_runs_tenant_id_id", "runs", ["tenant_id", "id"], schema="app")
    op.drop_index("ix_run_steps_tenant_id", table_name="run_steps", schema="app")
    op.create_index("ix_run_steps_tenant_id_run_id", "run_steps", ["tenant_id", "run_id"], schema="app")
    op.drop_index("ix_runs_status_updated_at", table_name="runs", schema="app")
    op.drop_index("ix_runs_live_lease", table_name="runs", schema="app")
    op.create_index("ix_runs_live", "runs", ["tenant_id"], schema="app", postgresql_where=LIVE)
    op.execute("ALTER TABLE app.runs SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE app.runs RESET (fillfactor)")
    op.drop_index("ix_runs_live", table_name="runs", schema="app")
    op.create_index("ix_runs_live_lease", "runs", ["lease_expires_at"], schema="app", postgresql_where=LIVE)
    op.create_index("ix_runs_status_updated_at", "runs", ["status", "updated_at"], schema="app")
    op.drop_index("ix_run_steps_tenant_id_run_id", table_name="run_steps", schema="app")
    op.create_index("ix_run_steps_tenant_id", "run_steps", ["tenant_id"], schema="app")
    op.drop_index("ix_runs_tenant_id_id", table_name="runs", schema="app")
    op.create_index("ix_runs_tenant_id", "runs", ["tenant_id"], schema="app")
