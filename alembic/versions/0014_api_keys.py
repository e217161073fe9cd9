"""API keys held in PostgreSQL (`campaign keys create|list|revoke`): only their digests, under row-level security.

- app.api_keys (id, tenant_id, prefix, digest, created_at, revoked_at): `digest` is `sha256:<hex>` of the key
  (api.settings.key_digest), `prefix` its first characters, for telling keys apart in a listing. The key itself is
  shown once, by `campaign keys create`, and stored nowhere. Tenant-scoped like app.runs: a tenant lists and
  revokes only its own keys. Keys are revoked, never deleted, so a listing keeps their history.
- app.api_key_tenant(digest) -> the tenant of a key that is not revoked: the API's lookup, across tenants by
  nature (the key is what names the tenant), so owned by campaign_inspector like the other cross-tenant
  functions (0012), which gets a SELECT-only policy on the table. It returns the tenant id and nothing else.

Revision ID: 0014_api_keys
Revises: 0013_api
"""

from alembic import op

from context.migrations import INSPECTOR, act_as_inspector, hand_to_inspector, load_sql_functions

revision = "0014_api_keys"
down_revision = "0013_api"
branch_labels = None
depends_on = None

TENANT = "app.tenant()"
LOOKUP = "app.api_key_tenant(text)"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE app.api_keys (
            id uuid PRIMARY KEY,
            tenant_id uuid NOT NULL,
            prefix varchar(32) NOT NULL,
            digest varchar(100) NOT NULL UNIQUE,
            created_at timestamptz NOT NULL DEFAULT now(),
            revoked_at timestamptz
        )
        """
    )
    op.execute("CREATE INDEX ix_api_keys_tenant_id_created_at ON app.api_keys (tenant_id, created_at)")
    # Revoking is an UPDATE of revoked_at only: a key's tenant, prefix and digest never change.
    op.execute("GRANT SELECT, INSERT ON app.api_keys TO campaign_app")
    op.execute("GRANT UPDATE (revoked_at) ON app.api_keys TO campaign_app")
    op.execute("ALTER TABLE app.api_keys ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE app.api_keys FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON app.api_keys USING (tenant_id = {TENANT}) WITH CHECK (tenant_id = {TENANT})"
    )
    op.execute(f"GRANT SELECT ON app.api_keys TO {INSPECTOR}")
    op.execute(f"CREATE POLICY inspector_reads_all ON app.api_keys FOR SELECT TO {INSPECTOR} USING (true)")
    load_sql_functions(("40_api_key_tenant",))
    hand_to_inspector((LOOKUP,))


def downgrade() -> None:
    act_as_inspector(True)  # to drop what it owns
    op.execute(f"DROP FUNCTION IF EXISTS {LOOKUP}")
    act_as_inspector(False)
    op.execute("DROP TABLE IF EXISTS app.api_keys")
