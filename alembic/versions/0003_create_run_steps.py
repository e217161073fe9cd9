"""Per-step log of a run: executed, reused or failed, and why.

Revision ID: 0003_create_run_steps
Revises: 0002_add_context_column_to_runs
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_create_run_steps"
down_revision = "0002_add_context_column_to_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_steps",
        sa.Column("run_id", sa.Uuid(), sa.ForeignKey("app.runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("step_id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="app",
    )
    op.create_index("ix_run_steps_tenant_id", "run_steps", ["tenant_id"], schema="app")


def downgrade() -> None:
    op.drop_table("run_steps", schema="app")
