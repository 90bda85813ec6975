-- The SQL Grafana's PostgreSQL data source sends, after expanding its macros:
-- $__timeFilter(time), $__timeFrom()/$__timeTo(), $__interval and
-- $__timeGroupAlias, over alloy.promql_range and over the samples and series
-- views. Long format: time, value, metric.
SET TIME ZONE 'UTC';
SELECT alloy.write(jsonb_build_object('__name__', 'http_requests_total', 'job', 'api', 'instance', i::text),
                   array_agg(t ORDER BY t), array_agg(v ORDER BY t))
FROM (SELECT i, '2024-01-01 00:00:00+00'::timestamptz + n * interval '15 seconds' AS t,
             (n * (10 + i))::float8 AS v
      FROM generate_series(1, 2) i, generate_series(0, 239) n) src
GROUP BY i;

-- a time series panel over PromQL: one row per point, metric names the series
SELECT time, round(value::numeric, 4) AS value, labels->>'instance' AS metric
FROM alloy.promql_range('rate(http_requests_total[5m])',
                        '2024-01-01T00:50:00Z', '2024-01-01T00:53:00Z', '1m')
ORDER BY metric, time;

-- $__interval arrives as text such as '1m'
SELECT count(*) AS points, count(DISTINCT labels) AS series
FROM alloy.promql_range('sum by (job) (rate(http_requests_total[5m]))',
                        '2024-01-01T00:10:00Z', '2024-01-01T00:59:00Z', '1m'::interval);

-- plain SQL over the samples with $__timeFilter and a label predicate
SELECT floor(extract(epoch FROM d.time) / 600) * 600 AS time,
       s.labels->>'instance' AS metric, max(d.value) AS value
FROM alloy.samples d JOIN alloy.series s USING (series_id)
WHERE d.time BETWEEN '2024-01-01T00:00:00Z' AND '2024-01-01T00:59:59Z'
  AND s.metric = 'http_requests_total' AND s.labels->>'job' = 'api'
GROUP BY 1, 2 ORDER BY 2, 1;

-- template variables
SELECT * FROM alloy.label_values('instance');
SELECT * FROM alloy.label_names();

-- an instant value for a stat panel
SELECT labels->>'instance' AS metric, value
FROM alloy.promql_instant('http_requests_total', '2024-01-01T00:59:45Z')
ORDER BY 1;

-- a read-only role, as Grafana's data source should use: alloy.grant_reader()
-- gives it the tables and the reading functions, nothing that writes
CREATE ROLE regress_alloy_grafana;
SELECT alloy.grant_reader('regress_alloy_grafana');
SET ROLE regress_alloy_grafana;
SELECT count(*) AS points FROM alloy.promql_range('rate(http_requests_total[5m])',
	'2024-01-01T00:50:00Z', '2024-01-01T00:53:00Z', '1m');
SELECT count(*) AS samples FROM alloy.samples d JOIN alloy.series s USING (series_id)
 WHERE s.metric = 'http_requests_total';
SELECT alloy.label_values('instance');
SELECT count(*) FROM alloy.query_exemplars('http_requests_total', '2024-01-01', '2024-01-02');
SELECT alloy.write('{"__name__":"not_allowed"}', '2024-01-01', 1);
SELECT alloy.storage_append(ARRAY[1]::bigint[], ARRAY['2024-01-01']::timestamptz[], ARRAY[1]::float8[]);
SELECT alloy.seal();
SELECT count(*) FROM alloy.http_credentials;
SELECT alloy.grant_reader('regress_alloy_grafana');
RESET ROLE;
-- with the schema alone a role may use the pure helpers and nothing else
CREATE ROLE regress_alloy_nobody;
GRANT USAGE ON SCHEMA alloy TO regress_alloy_nobody;
SET ROLE regress_alloy_nobody;
SELECT alloy.is_stale_marker(alloy.stale_marker());
SELECT count(*) FROM alloy.promql_instant('http_requests_total');
RESET ROLE;
DROP OWNED BY regress_alloy_grafana, regress_alloy_nobody;
DROP ROLE regress_alloy_grafana;
DROP ROLE regress_alloy_nobody;
