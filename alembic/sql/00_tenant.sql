-- The tenant the transaction named (context.tenancy.name_tenant); NULL when it named none, so nothing matches.
CREATE OR REPLACE FUNCTION app.tenant() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid
$$;
