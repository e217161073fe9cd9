-- Append one event to a run's durable log (app.run_events, whose id is the SSE event id) and wake its
-- subscribers on channel campaign_run_log; the table, not the notification, is the record. The only writer.
CREATE OR REPLACE FUNCTION app.append_run_event(p_run uuid, p_tenant uuid, p_event jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, app AS $$
BEGIN
    INSERT INTO app.run_events (run_id, tenant_id, event) VALUES (p_run, p_tenant, p_event);
    PERFORM pg_notify('campaign_run_log', p_run::text);
END $$;
