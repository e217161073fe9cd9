-- Every artifact URI any run of any tenant references, for `campaign gc` (owned by campaign_inspector). URIs name
-- content hashes, never a run, a tenant or a payload. A live run's recorded step results count too.
CREATE OR REPLACE FUNCTION app.referenced_artifact_uris() RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, app AS $$
    SELECT DISTINCT artifact.value->>'uri' FROM app.runs,
        jsonb_each(CASE WHEN jsonb_typeof(runs.context->'artifacts') = 'object'
                        THEN runs.context->'artifacts' ELSE '{}'::jsonb END) AS artifact
    WHERE artifact.value->>'uri' IS NOT NULL
    UNION
    SELECT artifact.value->>'uri' FROM app.run_steps,
        jsonb_each(CASE WHEN jsonb_typeof(run_steps.result->'artifacts') = 'object'
                        THEN run_steps.result->'artifacts' ELSE '{}'::jsonb END) AS artifact
    WHERE artifact.value->>'uri' IS NOT NULL
$$;
