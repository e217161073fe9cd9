-- Trigger on app.run_steps: a step that recorded its result (executed or reused) as a log event of its run.
CREATE OR REPLACE FUNCTION app.log_step_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, app AS $$
BEGIN
    PERFORM app.append_run_event(NEW.run_id, NEW.tenant_id, jsonb_build_object(
        'runId', NEW.run_id,
        'tenantId', NEW.tenant_id,
        'kind', 'step_finished',
        'status', NEW.outcome,
        'step', NEW.step_id,
        'at', to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    ));
    RETURN NULL;
END $$;
