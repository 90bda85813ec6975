
-- Exemplars (for instance a trace id attached to a histogram bucket) as
-- remote write delivers them, one row each. Tenants are kept apart through
-- series_id (series belong to one tenant). A resent exemplar (same series,
-- time and labels) is ignored, as Prometheus ignores duplicates. Rows older
-- than the retention are deleted by alloy.exemplars_drop_before().
-- See docs/exemplars.md.
CREATE TABLE alloy.exemplars (
	series_id bigint NOT NULL,
	"time" timestamptz NOT NULL,
	value double precision NOT NULL,
	labels jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object')
);
-- One series' exemplars over a time range, and the duplicate check.
CREATE UNIQUE INDEX exemplars_series_time_labels ON alloy.exemplars (series_id, "time", labels);
-- Retention deletes by time alone; rows arrive roughly in time order.
CREATE INDEX exemplars_time ON alloy.exemplars USING brin ("time");
SELECT pg_catalog.pg_extension_config_dump('alloy.exemplars', '');

-- Delete exemplars older than a time; returns how many went.
CREATE FUNCTION alloy.exemplars_drop_before(timestamptz) RETURNS bigint
AS 'MODULE_PATHNAME', 'alloy_exemplars_drop_before'
LANGUAGE C VOLATILE STRICT;

-- One exemplar from SQL, for the series with these labels (created if new),
-- checked like remote write's: label names [a-zA-Z_][a-zA-Z0-9_]*, string
-- values, empty values dropped, names and values at most 128 characters
-- together. Returns false when the same exemplar was stored already.
CREATE FUNCTION alloy.write_exemplar(labels jsonb, "time" timestamptz, value double precision,
                                     exemplar_labels jsonb DEFAULT '{}', tenant text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
	clean jsonb;
	stored boolean;
BEGIN
	IF jsonb_typeof(coalesce(exemplar_labels, '{}')) <> 'object' THEN
		RAISE EXCEPTION 'exemplar labels must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF EXISTS (SELECT FROM jsonb_each(coalesce(exemplar_labels, '{}')) e
			   WHERE e.key !~ '^[a-zA-Z_][a-zA-Z0-9_]*$' OR jsonb_typeof(e.value) <> 'string') THEN
		RAISE EXCEPTION 'invalid exemplar labels %', exemplar_labels
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Names must match [a-zA-Z_][a-zA-Z0-9_]* and values must be strings.';
	END IF;
	SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}'),
		   coalesce(sum(char_length(e.key) + char_length(e.value #>> '{}')), 0) > 128
	  INTO clean, stored
	  FROM jsonb_each(coalesce(exemplar_labels, '{}')) e
	 WHERE e.value #>> '{}' <> '';
	IF stored THEN
		RAISE EXCEPTION 'exemplar labels are longer than 128 characters'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Label names and values together may hold at most 128 characters (OpenMetrics).';
	END IF;
	WITH ins AS (
		INSERT INTO alloy.exemplars (series_id, "time", value, labels)
		VALUES (alloy.series_get_or_create(write_exemplar.labels, tenant),
				write_exemplar."time", write_exemplar.value, clean)
		ON CONFLICT DO NOTHING
		RETURNING 1)
	SELECT count(*) > 0 INTO stored FROM ins;
	RETURN stored;
END
$$;

-- Prometheus's /api/v1/query_exemplars over SQL: the exemplars between start
-- and end of the series any selector of the PromQL query matches, one row
-- each, ordered by series labels then time (for Grafana's SQL data source).
CREATE FUNCTION alloy.query_exemplars(query text, start timestamptz, "end" timestamptz,
                                      tenant text DEFAULT NULL)
RETURNS TABLE(labels jsonb, exemplar_labels jsonb, "time" timestamptz, value double precision)
AS 'MODULE_PATHNAME', 'alloy_query_exemplars'
LANGUAGE C STABLE PARALLEL RESTRICTED CALLED ON NULL INPUT ROWS 100;
