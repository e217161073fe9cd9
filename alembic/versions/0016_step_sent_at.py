"""When each step was sent: app.run_steps.sent_at, so the run page and the API show a step's queue wait.

The ledger kept when a step started and finished, but not when it was sent: its claim (step_finish) wrote the time
into updated_at, which step_start overwrites. sent_at is stamped by a trigger whenever dispatched_epoch changes
(alembic/sql/35_stamp_step_sent.sql): set on a claim or a resend, cleared when a claim is released. started_at -
sent_at is then the wait in the queue, finished_at - started_at the run time, all on the database's clock.
Rows written before this revision have no sent_at (shown as unknown).

Revision ID: 0016_step_sent_at
Revises: 0015_metrics
"""

import sqlalchemy as sa
from alembic import op

from context.migrations import load_sql_functions

revision = "0016_step_sent_at"
down_revision = "0015_metrics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("run_steps", sa.Column("sent_at", sa.DateTime(timezone=True)), schema="app")
    load_sql_functions(("35_stamp_step_sent",))
    op.execute(
        "CREATE TRIGGER run_steps_stamp_sent BEFORE INSERT OR UPDATE OF dispatched_epoch ON app.run_steps "
        "FOR EACH ROW EXECUTE FUNCTION app.stamp_step_sent()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS run_steps_stamp_sent ON app.run_steps")
    op.execute("DROP FUNCTION IF EXISTS app.stamp_step_sent()")
    op.drop_column("run_steps", "sent_at", schema="app")
