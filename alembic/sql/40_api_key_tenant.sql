-- The tenant of a live API key, found by its digest: the one read of app.api_keys that spans tenants, since the key
-- is what names the tenant. Returns the tenant id only, NULL for an unknown or revoked key (owned by
-- campaign_inspector, which may read every row).
CREATE OR REPLACE FUNCTION app.api_key_tenant(p_digest text) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, app AS $$
    SELECT tenant_id FROM app.api_keys WHERE digest = p_digest AND revoked_at IS NULL
$$;
