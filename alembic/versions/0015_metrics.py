"""Metrics: app.queued_runs_by_tenant(), the runs each tenant has waiting for admission, read at scrape time.

Counts only, across tenants: owned by campaign_inspector like app.run_status_counts() (0013), so a managed
database's admin, bound by row-level security, still counts every tenant's runs. Versioned SQL in alembic/sql (34).

Revision ID: 0015_metrics
Revises: 0014_api_keys
"""

from alembic import op

from context.migrations import act_as_inspector, hand_to_inspector, load_sql_functions

revision = "0015_metrics"

down_revision = "0014_api_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    load_sql_functions(("34_queued_runs_by_tenant",))
    hand_to_inspector(("app.queued_runs_by_tenant()",))


def downgrade() -> None:
    act_as_inspector(True)  # to drop what it owns
    op.execute("DROP FUNCTION IF EXISTS app.queued_runs_by_tenant()")
    act_as_inspector(False)
