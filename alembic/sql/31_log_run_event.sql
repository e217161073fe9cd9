-- Trigger on app.runs: a status change (the same transitions and JSON as the NOTIFY of migration 0009) as a log
-- event of its run.
CREATE OR REPLACE FUNCTION app.log_run_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, app AS $$
BEGIN
    PERFORM app.append_run_event(NEW.id, NEW.tenant_id, jsonb_strip_nulls(jsonb_build_object(
        'runId', NEW.id,
        'tenantId', NEW.tenant_id,
        'kind', CASE NEW.status WHEN 'pending' THEN 'running' ELSE NEW.status END,
        'status', NEW.status,
        'step', CASE WHEN NEW.status = 'failed' THEN NEW.failed_step END,
        'reason', CASE WHEN NEW.status IN ('failed', 'cancelled') THEN left(NEW.error, 4000) END,
        'at', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    )));
    RETURN NULL;
END $$;
