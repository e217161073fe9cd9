"""app.referenced_artifact_uris(): every artifact URI any run of any tenant references, for `campaign gc`.

Runs are hidden per tenant by row-level security, but whether an object may be deleted depends on all
tenants' runs. SECURITY DEFINER (as app.run_of_other_tenant in 0004) lets the RLS-bound worker role see
exactly that and nothing else: URIs, which name content hashes, never a run, a tenant or a payload.
A live run's step results are recorded on app.run_steps before they reach its context: those count too.

Revision ID: 0008_store_gc_refs
Revises: 0007_run_driver
"""

from alembic import op

revision = "0008_store_gc_refs"
down_revision = "0007_run_driver"
branch_labels = None
depends_on = None

SIGNATURE = "app.referenced_artifact_uris()"


def upgrade() -> None:
    op.execute(
        "CREATE FUNCTION app.referenced_artifact_uris() RETURNS SETOF text "
        "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, app AS "
        "$$ SELECT DISTINCT artifact.value->>'uri' FROM app.runs, "
        "jsonb_each(CASE WHEN jsonb_typeof(runs.context->'artifacts') = 'object' "
        "THEN runs.context->'artifacts' ELSE '{}'::jsonb END) AS artifact "
        "WHERE artifact.value->>'uri' IS NOT NULL "
        "UNION SELECT artifact.value->>'uri' FROM app.run_steps, "
        "jsonb_each(CASE WHEN jsonb_typeof(run_steps.result->'artifacts') = 'object' "
        "THEN run_steps.result->'artifacts' ELSE '{}'::jsonb END) AS artifact "
        "WHERE artifact.value->>'uri' IS NOT NULL $$"
    )
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO campaign_app")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
