
-- PromQL over SQL: one row per output point. Scalars come back as one row
-- with labels = '{}'. The optional tenant selects whose series are read
-- (NULL: the default tenant).
CREATE FUNCTION alloy.promql_instant(query text, "time" timestamptz DEFAULT now(),
                                    tenant text DEFAULT NULL)
RETURNS TABLE(labels jsonb, "time" timestamptz, value double precision)
AS 'MODULE_PATHNAME', 'alloy_promql_instant'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 100;

CREATE FUNCTION alloy.promql_range(query text, start timestamptz, "end" timestamptz,
                                  step interval, tenant text DEFAULT NULL)
RETURNS TABLE(labels jsonb, "time" timestamptz, value double precision)
AS 'MODULE_PATHNAME', 'alloy_promql_range'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 1000;

-- The plan of a query: its selectors, the series they match and the time
-- ranges storage reads for them.
CREATE FUNCTION alloy.promql_explain(query text, "time" timestamptz DEFAULT now(),
                                    tenant text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'alloy_promql_explain'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT;

-- Prometheus's staleness marker (a NaN with a particular bit pattern, which
-- the text form 'NaN' cannot express) and a test for it.
CREATE FUNCTION alloy.stale_marker() RETURNS double precision
AS 'MODULE_PATHNAME', 'alloy_stale_marker'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION alloy.is_stale_marker(double precision) RETURNS boolean
AS 'MODULE_PATHNAME', 'alloy_is_stale_marker'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
