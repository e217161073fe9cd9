-- Queued runs (not yet admitted under their tenant's fair share) per tenant, across tenants, counts only, for
-- /metrics (owned by campaign_inspector, which may read every row). Tenants with none are absent.
CREATE OR REPLACE FUNCTION app.queued_runs_by_tenant() RETURNS TABLE (tenant_id uuid, runs bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, app AS $$
    SELECT tenant_id, count(*) FROM app.runs WHERE status = 'queued' GROUP BY tenant_id
$$;
