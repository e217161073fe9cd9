-- Trigger on app.run_steps: the moment a step is claimed for sending (dispatched_epoch set by step_finish's claim,
-- again on a resend) is its sent_at, and a released claim (unclaim_steps) has none. step_start leaves it, so
-- started_at - sent_at is the step's wait in its queue. A trigger rather than a line in each claiming function:
-- every path that sets dispatched_epoch, now or later, stamps it the same way.
CREATE OR REPLACE FUNCTION app.stamp_step_sent() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog, app AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.dispatched_epoch IS DISTINCT FROM OLD.dispatched_epoch THEN
        NEW.sent_at := CASE WHEN NEW.dispatched_epoch IS NULL THEN NULL ELSE now() END;
    END IF;
    RETURN NEW;
END $$;
