"""Row-level security on app.runs and app.run_steps, keyed on the transaction's app.tenant_id setting.

Defence in depth under the application's own tenant checks: a role subject to RLS (any non-superuser,
the table owner included, because of FORCE) sees no row unless the transaction named its tenant with
`SELECT set_config('app.tenant_id', '<uuid>', true)`, which RunRepository does for every statement.
The NOLOGIN role `campaign_app` gets the table rights; workers log in as a role that is a member of it.
`app.run_of_other_tenant(run, tenant)` (SECURITY DEFINER) tells "another tenant's run" from "no such run",
as the contract's UnauthorizedError needs, without exposing any of that run's data.

Revision ID: 0004_row_level_security
Revises: 0003_create_run_steps
"""

from alembic import op

revision = "0004_row_level_security"
down_revision = "0003_create_run_steps"
branch_labels = None
depends_on = None

TABLES = ("runs", "run_steps")
TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def upgrade() -> None:
    op.execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'campaign_app') "
        "THEN CREATE ROLE campaign_app NOLOGIN; END IF; END $$"
    )
    op.execute("GRANT USAGE ON SCHEMA app TO campaign_app")
    op.execute(
        "CREATE FUNCTION app.run_of_other_tenant(run uuid, tenant uuid) RETURNS boolean "
        "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, app AS "
        "$$ SELECT EXISTS (SELECT 1 FROM app.runs WHERE id = run AND tenant_id <> tenant) $$"
    )
    op.execute("REVOKE ALL ON FUNCTION app.run_of_other_tenant(uuid, uuid) FROM PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION app.run_of_other_tenant(uuid, uuid) TO campaign_app")
    for table in TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON app.{table} TO campaign_app")
        op.execute(f"ALTER TABLE app.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE app.{table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON app.{table} "
            f"USING (tenant_id = {TENANT}) WITH CHECK (tenant_id = {TENANT})"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON app.{table}")
        op.execute(f"ALTER TABLE app.{table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE app.{table} DISABLE ROW LEVEL SECURITY")
        op.execute(f"REVOKE ALL ON app.{table} FROM campaign_app")
    op.execute("DROP FUNCTION IF EXISTS app.run_of_other_tenant(uuid, uuid)")
    op.execute("REVOKE USAGE ON SCHEMA app FROM campaign_app")
