-- Until when a run is held by what just happened to it: the database's clock, never a worker's.
CREATE OR REPLACE FUNCTION app.lease_until(p_lease_s double precision) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT now() + make_interval(secs => p_lease_s)
$$;
