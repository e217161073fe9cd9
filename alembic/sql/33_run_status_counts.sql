-- Runs per status across tenants, counts only, for /metrics (owned by campaign_inspector, which may read every row).
CREATE OR REPLACE FUNCTION app.run_status_counts() RETURNS TABLE (status text, runs bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, app AS $$
    SELECT status::text, count(*) FROM app.runs GROUP BY status
$$;
