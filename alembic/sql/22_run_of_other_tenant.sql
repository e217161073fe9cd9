-- Whether p_run is a run of another tenant than the one the transaction named: tells "not yours" from "not there"
-- (the contract's UnauthorizedError) and nothing more (owned by campaign_inspector).
CREATE OR REPLACE FUNCTION app.run_of_other_tenant(p_run uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, app AS $$
    SELECT EXISTS (SELECT 1 FROM app.runs WHERE id = p_run AND tenant_id IS DISTINCT FROM app.tenant())
$$;
