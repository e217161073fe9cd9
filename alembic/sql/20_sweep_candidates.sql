-- The sweeper's view across tenants, ids only (owned by campaign_inspector, which may read every row):
-- live runs whose lease ran out ('expired'), live runs with a sent step not started since before p_lost_before,
-- when the broker lost its messages ('lost'), and each tenant with queued runs ('queued', run_id NULL).
CREATE OR REPLACE FUNCTION app.sweep_candidates(p_lost_before timestamptz)
RETURNS TABLE (run_id uuid, tenant_id uuid, kind text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, app AS $$
    SELECT r.id, r.tenant_id, 'expired' FROM app.runs AS r
    WHERE app.is_live(r.status) AND r.lease_expires_at < now()
    UNION ALL
    SELECT r.id, r.tenant_id, 'lost' FROM app.runs AS r
    WHERE app.is_live(r.status) AND r.lease_expires_at >= now() AND p_lost_before IS NOT NULL
      AND EXISTS (SELECT 1 FROM app.run_steps AS s
                  WHERE s.tenant_id = r.tenant_id AND s.run_id = r.id AND s.result IS NULL AND s.outcome = 'queued'
                    AND s.dispatched_epoch = r.epoch AND s.updated_at < p_lost_before)
    UNION ALL
    SELECT DISTINCT NULL::uuid, q.tenant_id, 'queued' FROM app.runs AS q WHERE q.status = 'queued'
$$;
