"""AddContextColumnToRuns: the spec's migration, verbatim.

Revision ID: 0002_add_context_column_to_runs
Revises: 0001_create_runs
"""

from alembic import op

revision = "0002_add_context_column_to_runs"
down_revision = "0001_create_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE app.runs ADD COLUMN context JSONB")
    op.execute(
        "COMMENT ON COLUMN app.runs.context IS "
        "'CampaignContext JSONB containing artifact refs, artifacts map, and computed data'"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE app.runs DROP COLUMN context")
