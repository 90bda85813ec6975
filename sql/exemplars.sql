-- Exemplars over SQL: alloy.write_exemplar, the alloy.exemplars table,
-- alloy.query_exemplars (what /api/v1/query_exemplars answers, as rows) and
-- retention with alloy.exemplars_drop_before.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS alloy;
SET TIME ZONE 'UTC';

SELECT alloy.write('{"__name__": "rpc_seconds_bucket", "job": "api", "le": "0.5"}',
                   '2024-01-01 00:00:00+00', 3);
SELECT alloy.write('{"__name__": "rpc_seconds_bucket", "job": "db", "le": "0.5"}',
                   '2024-01-01 00:00:00+00', 1);

-- stored; labels with empty values dropped
SELECT alloy.write_exemplar('{"__name__": "rpc_seconds_bucket", "job": "api", "le": "0.5"}',
                            '2024-01-01 00:00:10.479+00', 0.25,
                            '{"trace_id": "abc", "span_id": ""}');
-- the same exemplar again: ignored
SELECT alloy.write_exemplar('{"__name__": "rpc_seconds_bucket", "job": "api", "le": "0.5"}',
                            '2024-01-01 00:00:10.479+00', 0.25, '{"trace_id": "abc"}');
-- same time, other labels: a second exemplar
SELECT alloy.write_exemplar('{"__name__": "rpc_seconds_bucket", "job": "api", "le": "0.5"}',
                            '2024-01-01 00:00:10.479+00', 0.3, '{"trace_id": "def"}');
SELECT alloy.write_exemplar('{"__name__": "rpc_seconds_bucket", "job": "api", "le": "0.5"}',
                            '2024-01-01 00:01:00+00', 'NaN', '{}');
SELECT alloy.write_exemplar('{"__name__": "rpc_seconds_bucket", "job": "db", "le": "0.5"}',
                            '2024-01-01 00:00:30+00', 6, '{"trace_id": "xyz", "a_first": "1"}');
-- another tenant's series with the same labels
SELECT alloy.write_exemplar('{"__name__": "rpc_seconds_bucket", "job": "api", "le": "0.5"}',
                            '2024-01-01 00:00:20+00', 99, '{"trace_id": "other"}', 'team-b');

-- refused: bad names, non-string values, more than 128 characters
SELECT alloy.write_exemplar('{"__name__": "x"}', now(), 1, '{"bad-name": "1"}');
SELECT alloy.write_exemplar('{"__name__": "x"}', now(), 1, '{"n": 1}');
SELECT alloy.write_exemplar('{"__name__": "x"}', now(), 1, '[1]');
SELECT alloy.write_exemplar('{"__name__": "x"}', now(), 1,
                            jsonb_build_object('trace_id', repeat('é', 121)));
-- exactly 128 characters is fine
SELECT alloy.write_exemplar('{"__name__": "x"}', '2024-01-01 00:00:00+00', 1,
                            jsonb_build_object('trace_id', repeat('é', 120)));

SELECT count(*) FROM alloy.exemplars;

-- the default tenant's exemplars of every series a selector matches
SELECT labels->>'job' AS job, exemplar_labels, "time", value
FROM alloy.query_exemplars('rpc_seconds_bucket', '2024-01-01', '2024-01-02');
-- any selector of the expression counts
SELECT labels->>'job' AS job, exemplar_labels, value
FROM alloy.query_exemplars('histogram_quantile(0.9, rate(rpc_seconds_bucket{job="db"}[5m])) / on() group_left sum(missing_metric)',
                           '2024-01-01', '2024-01-02');
-- the time range is inclusive at both ends
SELECT count(*) FROM alloy.query_exemplars('rpc_seconds_bucket', '2024-01-01 00:00:10.479+00',
                                           '2024-01-01 00:00:30+00');
-- NULL bounds are open
SELECT count(*) FROM alloy.query_exemplars('{job=~".+"}', NULL, NULL);
-- tenants are kept apart
SELECT exemplar_labels, value
FROM alloy.query_exemplars('rpc_seconds_bucket', '2024-01-01', '2024-01-02', 'team-b');
SELECT count(*) FROM alloy.query_exemplars('rpc_seconds_bucket', NULL, NULL, 'nobody');
-- no selectors: nothing
SELECT count(*) FROM alloy.query_exemplars('1 + 1', NULL, NULL);
-- errors
SELECT * FROM alloy.query_exemplars('rate(', NULL, NULL);
SELECT * FROM alloy.query_exemplars('up', '2024-01-02', '2024-01-01');

-- retention
SELECT alloy.exemplars_drop_before('2024-01-01 00:00:20+00');
SELECT count(*) FROM alloy.exemplars;
SELECT alloy.exemplars_drop_before('-infinity');
SELECT alloy.exemplars_drop_before('infinity');
SELECT count(*) FROM alloy.exemplars;
