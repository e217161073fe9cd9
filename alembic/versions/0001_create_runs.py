"""Create schema app and the runs table (the "existing" Run entity the spec extends).

Revision ID: 0001_create_runs
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_create_runs"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS app")
    op.create_table(
        "runs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("workflow_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("base_run_id", sa.Uuid(), sa.ForeignKey("app.runs.id"), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("failed_step", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'running', 'completed', 'failed')", name="runs_status_check"),
        schema="app",
    )
    op.create_index("ix_runs_tenant_id", "runs", ["tenant_id"], schema="app")
    op.create_index("ix_runs_status_updated_at", "runs", ["status", "updated_at"], schema="app")


def downgrade() -> None:
    op.drop_table("runs", schema="app")
    op.execute("DROP SCHEMA IF EXISTS app")
