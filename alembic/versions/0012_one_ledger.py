"""One ledger: every engine rule as a versioned SQL function (alembic/sql/*.sql), the cross-tenant functions owned by
a role meant for reading across tenants, heartbeats, outbox releases and the sweeper's decision in SQL.

- The SQL functions live in alembic/sql/, one file each, `CREATE OR REPLACE`: this migration loads them all, and a
  later rule change edits its file and adds a migration that loads that file again (`load_sql_functions(names)`).
  tests/context/test_sql_functions.py checks that the database's definitions match the files.
- The tenant: a transaction names it once (set_config('app.tenant_id'), context.tenancy.name_tenant); row-level
  security and every function read it back through app.tenant(). The functions no longer take it as an argument.
- Managed PostgreSQL: the admin role that migrates has CREATEROLE but neither SUPERUSER nor BYPASSRLS, so under
  FORCE ROW LEVEL SECURITY a SECURITY DEFINER function it owns sees no row. The three functions that must see
  across tenants (sweep_candidates, referenced_artifact_uris, run_of_other_tenant) are owned by the NOLOGIN role
  campaign_inspector instead, which a SELECT-only policy lets read every row; nothing else runs as it.
- app.step_progress and app.save_context (unused) are dropped.

Revision ID: 0012_one_ledger
Revises: 0011_run_indexes
"""

from alembic import context, op

from context.migrations import INSPECTOR, act_as_inspector, hand_to_inspector, load_sql_functions

revision = "0012_one_ledger"
down_revision = "0011_run_indexes"
branch_labels = None
depends_on = None

TABLES = ("runs", "run_steps")
# The files of alembic/sql this revision loads (in this order).
FILES = ("00_tenant", "01_is_live", "02_lease_until", "03_ready_steps", "10_step_start", "11_step_heartbeat",
         "12_step_finish", "13_unclaim_steps", "14_end_run", "15_admit_runs", "16_sweep_run", "20_sweep_candidates",
         "21_referenced_artifact_uris", "22_run_of_other_tenant")  # fmt: skip
CROSS_TENANT = ("app.sweep_candidates(timestamptz)", "app.referenced_artifact_uris()", "app.run_of_other_tenant(uuid)")
REPLACED = (
    "app.step_progress(uuid, uuid, text, text, text, boolean, jsonb)",
    "app.save_context(uuid, uuid, jsonb, boolean)",
    "app.step_start(uuid, uuid, text, integer, text, text, text, double precision)",
    "app.step_finish(uuid, uuid, text, integer, text, text, jsonb, double precision, jsonb)",
    "app.admit_runs(uuid, integer, double precision)",
    "app.sweep_candidates()",
    "app.referenced_artifact_uris()",
    "app.run_of_other_tenant(uuid, uuid)",
)
NEW = (
    *CROSS_TENANT,
    "app.sweep_run(uuid, double precision, integer, timestamptz, text[])",
    "app.admit_runs(integer, double precision)",
    "app.end_run(uuid, text, integer, jsonb, text, text)",
    "app.unclaim_steps(uuid, integer, text[])",
    "app.step_finish(uuid, text, integer, text, text, jsonb, double precision, jsonb)",
    "app.step_heartbeat(uuid, integer, double precision)",
    "app.step_start(uuid, text, integer, text, text, text, double precision)",
    "app.ready_steps(jsonb, text[])",
    "app.lease_until(double precision)",
    "app.is_live(text)",
    "app.tenant()",
)


def upgrade() -> None:
    for signature in REPLACED:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.execute(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{INSPECTOR}') "
        f"THEN CREATE ROLE {INSPECTOR} NOLOGIN; END IF; END $$"
    )
    op.execute(f"GRANT USAGE ON SCHEMA app TO {INSPECTOR}")
    for table in TABLES:
        op.execute(f"GRANT SELECT ON app.{table} TO {INSPECTOR}")
        op.execute(f"CREATE POLICY inspector_reads_all ON app.{table} FOR SELECT TO {INSPECTOR} USING (true)")
    load_sql_functions(FILES)
    hand_to_inspector(CROSS_TENANT)


def downgrade() -> None:
    act_as_inspector(True)
    for signature in NEW:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    for table in TABLES:
        op.execute(f"DROP POLICY IF EXISTS inspector_reads_all ON app.{table}")
        op.execute(f"REVOKE ALL ON app.{table} FROM {INSPECTOR}")
    op.execute(f"REVOKE USAGE ON SCHEMA app FROM {INSPECTOR}")
    # The functions this revision replaced, as the revisions that made them wrote them.
    context.script.get_revision("0010_step_functions").module.upgrade()
    _restore_cross_tenant_functions()
    act_as_inspector(False)


def _restore_cross_tenant_functions() -> None:
    op.execute(
        "CREATE FUNCTION app.run_of_other_tenant(run uuid, tenant uuid) RETURNS boolean "
        "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, app AS "
        "$$ SELECT EXISTS (SELECT 1 FROM app.runs WHERE id = run AND tenant_id <> tenant) $$"
    )
    op.execute(
        "CREATE FUNCTION app.sweep_candidates() RETURNS TABLE (run_id uuid, tenant_id uuid, kind text) "
        "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, app AS $$ "
        "SELECT id, tenant_id, 'expired' FROM app.runs WHERE status IN ('pending', 'running') "
        "AND lease_expires_at < now() UNION ALL "
        "SELECT DISTINCT NULL::uuid, tenant_id, 'queued' FROM app.runs WHERE status = 'queued' $$"
    )
    op.execute(
        "CREATE FUNCTION app.referenced_artifact_uris() RETURNS SETOF text "
        "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, app AS "
        "$$ SELECT DISTINCT a.value->>'uri' FROM app.runs, jsonb_each(CASE WHEN jsonb_typeof(runs.context->"
        "'artifacts') = 'object' THEN runs.context->'artifacts' ELSE '{}'::jsonb END) AS a "
        "WHERE a.value->>'uri' IS NOT NULL UNION SELECT a.value->>'uri' FROM app.run_steps, "
        "jsonb_each(CASE WHEN jsonb_typeof(run_steps.result->'artifacts') = 'object' "
        "THEN run_steps.result->'artifacts' ELSE '{}'::jsonb END) AS a WHERE a.value->>'uri' IS NOT NULL $$"
    )
    for signature in (
        "app.run_of_other_tenant(uuid, uuid)",
        "app.sweep_candidates()",
        "app.referenced_artifact_uris()",
    ):
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO campaign_app")
