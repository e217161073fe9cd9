"""app.save_context(): store a run's context (and complete the run) in one statement.

The persist path's cost over a bare UPDATE was the extra round trip that names the tenant for row-level
security, plus ORM statement overhead; this function names the tenant and updates in the same call.
SECURITY INVOKER, so the RLS policy still checks the row.

Revision ID: 0006_save_context_function
Revises: 0005_step_progress_function
"""

from alembic import op

revision = "0006_save_context_function"
down_revision = "0005_step_progress_function"
branch_labels = None
depends_on = None

SIGNATURE = "app.save_context(uuid, uuid, jsonb, boolean)"


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION app.save_context(p_run uuid, p_tenant uuid, p_context jsonb, p_complete boolean)
        RETURNS boolean LANGUAGE plpgsql SECURITY INVOKER AS $$
        BEGIN
            PERFORM set_config('app.tenant_id', p_tenant::text, true);
            IF p_complete THEN
                -- Only a live run completes: a redelivered persist of a finished run changes nothing.
                UPDATE app.runs SET context = p_context, status = 'completed', finished_at = now(), updated_at = now()
                WHERE id = p_run AND tenant_id = p_tenant AND status IN ('pending', 'running');
            ELSE
                UPDATE app.runs SET context = p_context, updated_at = now() WHERE id = p_run AND tenant_id = p_tenant;
            END IF;
            RETURN FOUND;
        END $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO campaign_app")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
