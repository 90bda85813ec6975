-- alloy install script, part 90: who may call what.
--
-- Most of alloy's functions are C that reads and writes samples, series and
-- exemplars directly (PromQL, remote-read-like helpers, the write path, seal
-- and retention), so table privileges do not guard them. PostgreSQL lets
-- every role execute a new function; here that default is taken back for all
-- of them, so only superusers and the extension's owner (and the alloy
-- background workers, which run as the bootstrap superuser) may call them.
-- Pure helpers that touch no data stay open to everyone.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA alloy FROM PUBLIC;
GRANT EXECUTE ON FUNCTION alloy.version(), alloy.stale_marker(),
	alloy.is_stale_marker(double precision), alloy.float8_bits(double precision),
	alloy.float8_from_bits(bigint), alloy.rule_group_rules(text) TO PUBLIC;

-- What a read-only role needs (Grafana's PostgreSQL data source, reporting):
-- the schema, the tables and views of samples, series, labels, tenants,
-- metadata, exemplars and rules (not the HTTP credentials), and the functions that
-- read them. Such a role reads every tenant: tenant scoping is the HTTP
-- API's job (X-Scope-OrgID and credentials). Run by a superuser or the
-- extension's owner: SELECT alloy.grant_reader('grafana');
CREATE FUNCTION alloy.grant_reader(role regrole) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
BEGIN
	EXECUTE format('GRANT USAGE ON SCHEMA alloy TO %s', role);
	EXECUTE format('GRANT SELECT ON alloy.samples, alloy.series, alloy.series_catalog, alloy.labels, '
				   'alloy.tenants, alloy.metadata, alloy.exemplars, alloy.rule_groups, alloy.rules TO %s', role);
	EXECUTE format('GRANT EXECUTE ON FUNCTION '
				   'alloy.promql_instant(text, timestamptz, text), '
				   'alloy.promql_range(text, timestamptz, timestamptz, interval, text), '
				   'alloy.promql_explain(text, timestamptz, text), '
				   'alloy.query_exemplars(text, timestamptz, timestamptz, text), '
				   'alloy.series_labels(int4[]), alloy.series_metric(int4[]), '
				   'alloy.label_names(text), alloy.label_values(text, text), '
				   'alloy.series_lookup(jsonb, text), alloy.match_series(jsonb, text), '
				   'alloy.rules_file(text, text) TO %s', role);
END
$$;
REVOKE ALL ON FUNCTION alloy.grant_reader(regrole) FROM PUBLIC;
