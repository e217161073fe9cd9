-- The steps of p_deps ({step: [the steps it reads from]}) not in p_done whose producers are all in p_done.
CREATE OR REPLACE FUNCTION app.ready_steps(p_deps jsonb, p_done text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(d.key ORDER BY d.key), '{}') FROM jsonb_each(p_deps) AS d
    WHERE NOT d.key = ANY (p_done)
      AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(d.value) AS p(step) WHERE NOT p.step = ANY (p_done))
$$;
