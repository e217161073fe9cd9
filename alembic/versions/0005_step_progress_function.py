"""app.step_progress(): a step's progress row and, at the end of a level, the checkpoint, in one round trip.

Called in autocommit mode, it replaces BEGIN + set_config + upsert + UPDATE + COMMIT (five round trips, the
largest cost of a reused or no-op step). SECURITY INVOKER: it names the tenant with set_config first, so
row-level security checks every row it writes as it would for plain statements.

Revision ID: 0005_step_progress_function
Revises: 0004_row_level_security
"""

from alembic import op

revision = "0005_step_progress_function"
down_revision = "0004_row_level_security"
branch_labels = None
depends_on = None

SIGNATURE = "app.step_progress(uuid, uuid, text, text, text, boolean, jsonb)"


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION app.step_progress(
            p_run uuid, p_tenant uuid, p_step text, p_outcome text, p_reason text, p_new_attempt boolean,
            p_checkpoint jsonb
        ) RETURNS integer LANGUAGE plpgsql SECURITY INVOKER AS $$
        DECLARE
            n integer;
        BEGIN
            PERFORM set_config('app.tenant_id', p_tenant::text, true);
            -- Progress, not the record: a crash may lose the last few ms of it, which resume redoes.
            PERFORM set_config('synchronous_commit', 'off', true);
            INSERT INTO app.run_steps AS s (run_id, step_id, tenant_id, outcome, reason, attempts, updated_at)
            VALUES (p_run, p_step, p_tenant, p_outcome, p_reason, 1, now())
            ON CONFLICT (run_id, step_id) DO UPDATE
                SET outcome = EXCLUDED.outcome,
                    reason = EXCLUDED.reason,
                    attempts = s.attempts + CASE WHEN p_new_attempt THEN 1 ELSE 0 END,
                    updated_at = EXCLUDED.updated_at
                WHERE s.tenant_id = p_tenant
            RETURNING s.attempts INTO n;
            IF p_checkpoint IS NOT NULL THEN
                -- Only a live run: a message redelivered after the run ended must not rewind it.
                UPDATE app.runs SET context = p_checkpoint, status = 'running', updated_at = now()
                WHERE id = p_run AND tenant_id = p_tenant AND status IN ('pending', 'running');
            END IF;
            RETURN n;
        END $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO campaign_app")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
