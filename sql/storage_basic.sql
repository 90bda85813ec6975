-- storage_basic: the alloy table access method through SQL and the C API
-- (alloy.storage_append / storage_read wrap AlloySamplesAppend / ReadSeries).
-- Series ids 9000xx and times in 1901 keep this test apart from the others
-- (drop_before drops every older partition, and nothing else predates 1970).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS alloy;
RESET client_min_messages;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- plain INSERT needs its partition; create_partitions makes them
SELECT alloy.create_partitions('1901-01-01', '1901-01-02 12:00');
SELECT alloy.create_partitions('1901-01-01', '1901-01-02 12:00');
SELECT c.relname, a.amname
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_am a ON a.oid = c.relam
 WHERE i.inhparent = 'alloy.samples'::regclass AND c.relname LIKE 'samples_1901%' ORDER BY 1;

INSERT INTO alloy.samples VALUES
	(900001, '1901-01-01 00:00:00', 1.5),
	(900001, '1901-01-01 00:00:15', 2.5),
	(900002, '1901-01-01 00:00:00', -7),
	(900001, '1901-01-02 00:00:00.1239', 3);	-- sub-millisecond digits are cut
SELECT * FROM alloy.samples WHERE series_id BETWEEN 900001 AND 900099 ORDER BY 1, 2;

-- the C API creates partitions on demand, in any order of series and time
SELECT alloy.storage_append(ARRAY[900003, 900003, 900003, 900003],
	ARRAY['1901-01-05 00:00:30', '1901-01-05 00:00:00', '1901-01-04 23:59:59.999', '1901-01-05 00:00:15']::timestamptz[],
	ARRAY[30, 0, -1, 15]);
SELECT * FROM alloy.storage_read(900003, '-infinity', 'infinity');
SELECT * FROM alloy.storage_read(900003, '1901-01-05 00:00:00', '1901-01-05 00:00:15');
SELECT tableoid::regclass, * FROM alloy.samples WHERE series_id = 900003 ORDER BY 3;

-- bit-exact values: the stale marker NaN, other NaNs, -0, infinities, denormals
SELECT alloy.storage_append(ARRAY[900004, 900004, 900004, 900004, 900004, 900004],
	ARRAY['1901-01-01 01:00:00', '1901-01-01 01:00:01', '1901-01-01 01:00:02',
	      '1901-01-01 01:00:03', '1901-01-01 01:00:04', '1901-01-01 01:00:05']::timestamptz[],
	ARRAY[alloy.float8_from_bits(9218868437227405314), 'NaN', '-0', '-Infinity', '4.9e-324', 1e308]);
CREATE TEMP TABLE bits_before AS
	SELECT "time", float8send(value) AS bits FROM alloy.storage_read(900004, '-infinity', 'infinity');
SELECT "time", bits FROM bits_before ORDER BY 1;

-- last write wins: within one call, across transactions, and across a seal
SELECT alloy.storage_append(ARRAY[900005, 900005], ARRAY['1901-01-01 02:00', '1901-01-01 02:00']::timestamptz[], ARRAY[1, 2]);
SELECT * FROM alloy.storage_read(900005, '-infinity', 'infinity');
INSERT INTO alloy.samples VALUES (900005, '1901-01-01 02:00', 3);
SELECT * FROM alloy.storage_read(900005, '-infinity', 'infinity');
SELECT count(*) FROM alloy.samples WHERE series_id = 900005;

-- an aborted transaction and a rolled-back savepoint leave nothing behind
BEGIN;
SELECT alloy.storage_append(ARRAY[900006], ARRAY['1901-01-01 03:00']::timestamptz[], ARRAY[42]);
SELECT * FROM alloy.storage_read(900006, '-infinity', 'infinity');	-- own write is visible
ROLLBACK;
SELECT * FROM alloy.storage_read(900006, '-infinity', 'infinity');
BEGIN;
INSERT INTO alloy.samples VALUES (900006, '1901-01-01 03:00', 1);
SAVEPOINT s1;
INSERT INTO alloy.samples VALUES (900006, '1901-01-01 03:01', 2);
ROLLBACK TO s1;
INSERT INTO alloy.samples VALUES (900006, '1901-01-01 03:02', 3);
COMMIT;
SELECT * FROM alloy.storage_read(900006, '-infinity', 'infinity');

-- extreme series ids and far-apart times in one batch (head deltas wrap around)
SELECT alloy.storage_append(ARRAY[9223372036854775807, -9223372036854775808, 0, 9223372036854775807],
	ARRAY['1901-01-03 00:00:00', '1901-01-03 23:59:59.999', '1901-01-03 00:00:00.001', '1901-01-03 12:00']::timestamptz[],
	ARRAY[1, 2, 3, 4]);
SELECT * FROM alloy.samples WHERE "time" >= '1901-01-03' AND "time" < '1901-01-04' ORDER BY 1, 2;
SELECT * FROM alloy.storage_read(-9223372036854775808, '1901-01-03', '1901-01-04');

-- many series and samples, so chunks are cut and pages fill up: integers and
-- 3-digit decimals go into decimal chunks, full-precision sines that change
-- every 10th sample into XOR ones (repeats cost XOR one bit)
SELECT alloy.storage_append(array_agg(900100 + s ORDER BY s, i), array_agg('1901-01-01'::timestamptz + i * interval '15 s' ORDER BY s, i),
	array_agg(CASE s % 3 WHEN 0 THEN (s * 1000 + i)::float8 WHEN 1 THEN round(sin(i / 10.0)::numeric, 3)::float8
		ELSE sin(floor(i / 10.0)) END ORDER BY s, i))
FROM generate_series(0, 19) s, generate_series(0, 999) i;
CREATE TEMP TABLE before_seal AS
	SELECT series_id, count(*) AS n, sum(value) AS s, min("time") AS lo, max("time") AS hi
	FROM alloy.samples WHERE series_id BETWEEN 900000 AND 900999 GROUP BY 1;

-- seal: everything committed moves into chunks, nothing changes for readers
SELECT alloy.seal() > 0 AS sealed;
SELECT (i).head_pages, (i).chunks > 100 AS chunks, (i).sealed_samples >= 20000 AS samples,
	(i).decimal_chunks > 40 AS decimal, (i).chunks - (i).decimal_chunks > 40 AS xor
  FROM (SELECT alloy.storage_info('alloy.samples_19010101_000000') AS i) x;
-- the bits of every kind of value survive either encoding
SELECT s % 3 AS kind, count(*) AS n,
	bool_and(float8send(r.value) = float8send(CASE s % 3 WHEN 0 THEN (s * 1000 + i)::float8
		WHEN 1 THEN round(sin(i / 10.0)::numeric, 3)::float8 ELSE sin(floor(i / 10.0)) END)) AS exact
  FROM generate_series(0, 19) s, generate_series(0, 999) i,
	LATERAL alloy.storage_read(900100 + s, '1901-01-01'::timestamptz + i * interval '15 s',
		'1901-01-01'::timestamptz + i * interval '15 s') r
 GROUP BY 1 ORDER BY 1;
SELECT b.series_id, b.n, a.n AS n_after
  FROM before_seal b JOIN (SELECT series_id, count(*) AS n, sum(value) AS s, min("time") AS lo, max("time") AS hi
	FROM alloy.samples WHERE series_id BETWEEN 900000 AND 900999 GROUP BY 1) a USING (series_id)
 WHERE (a.n, a.s, a.lo, a.hi) IS DISTINCT FROM (b.n, b.s, b.lo, b.hi);
SELECT count(*) FROM before_seal;
SELECT "time", bits, float8send(r.value) = bits AS same
  FROM bits_before JOIN alloy.storage_read(900004, '-infinity', 'infinity') r USING ("time") ORDER BY 1;
SELECT * FROM alloy.storage_read(900005, '-infinity', 'infinity');
SELECT * FROM alloy.storage_read(900006, '-infinity', 'infinity');
SELECT count(*), sum(value) FROM alloy.storage_read(900107, '1901-01-01 01:00', '1901-01-01 02:00');
SELECT * FROM alloy.storage_read(900107, '1901-01-01 03:00', '1901-01-01 03:00:30');
SELECT * FROM alloy.samples WHERE "time" >= '1901-01-03' AND "time" < '1901-01-04' ORDER BY 1, 2;
SELECT * FROM alloy.storage_read(-9223372036854775808, '1901-01-03', '1901-01-04');

-- a write after the seal overrides the sealed sample; a second seal keeps it
INSERT INTO alloy.samples VALUES (900005, '1901-01-01 02:00', 4), (900107, '1901-01-01 03:00:15', -1);
SELECT * FROM alloy.storage_read(900005, '-infinity', 'infinity');
SELECT * FROM alloy.storage_read(900107, '1901-01-01 03:00', '1901-01-01 03:00:30');
SELECT alloy.seal() > 0 AS sealed;
SELECT * FROM alloy.storage_read(900005, '-infinity', 'infinity');
SELECT * FROM alloy.storage_read(900107, '1901-01-01 03:00', '1901-01-01 03:00:30');
SELECT count(*) FROM alloy.samples WHERE series_id BETWEEN 900000 AND 900999;

-- parallel plans see every sample exactly once
SELECT count(*), round(sum(value)::numeric, 3) FROM alloy.samples WHERE series_id BETWEEN 900100 AND 900199;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT count(*), round(sum(value)::numeric, 3) FROM alloy.samples WHERE series_id BETWEEN 900100 AND 900199;
SELECT tableoid::regclass, count(*) FROM alloy.samples WHERE series_id BETWEEN 900000 AND 900999 GROUP BY 1 ORDER BY tableoid::regclass::text;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- sealing inside a transaction that rolls back changes nothing
BEGIN;
INSERT INTO alloy.samples VALUES (900007, '1901-01-01 04:00', 1);
SELECT alloy.seal() >= 0 AS sealed;
ROLLBACK;
SELECT count(*) FROM alloy.samples WHERE series_id BETWEEN 900000 AND 900999;

-- unsupported operations fail cleanly
UPDATE alloy.samples SET value = 0 WHERE series_id = 900001;
DELETE FROM alloy.samples WHERE series_id = 900001;
CREATE INDEX ON alloy.samples_19010101_000000 (series_id);
SELECT count(*) FROM alloy.samples_19010101_000000 TABLESAMPLE SYSTEM (10);
CREATE TABLE alloy_wrong (a int) USING alloy;

-- VACUUM, ANALYZE and VACUUM FULL work
VACUUM alloy.samples_19010101_000000;
ANALYZE alloy.samples_19010101_000000;
VACUUM FULL alloy.samples_19010101_000000;
SELECT count(*) FROM alloy.samples WHERE series_id BETWEEN 900000 AND 900999;

-- TRUNCATE, rolled back and committed
BEGIN;
TRUNCATE alloy.samples_19010102_000000;
SELECT count(*) FROM alloy.samples_19010102_000000;
ROLLBACK;
SELECT count(*) FROM alloy.samples_19010102_000000;
TRUNCATE alloy.samples_19010102_000000;
SELECT count(*) FROM alloy.samples_19010102_000000;
INSERT INTO alloy.samples VALUES (900001, '1901-01-02 00:00:01', 5);
SELECT * FROM alloy.samples_19010102_000000;

-- drop_before drops whole partitions only
SELECT alloy.drop_before('1901-01-02 00:00:01');
SELECT count(*) FROM alloy.samples WHERE series_id BETWEEN 900000 AND 900999;
SELECT alloy.drop_before('1901-01-06');
SELECT count(*) FROM alloy.samples WHERE series_id BETWEEN 900000 AND 900999;

-- a reader that wants a few series or a short range skips head batches by
-- the series and time ranges in their headers; answers are unchanged
SELECT alloy.write('{"__name__":"skip_a"}'::jsonb, array_agg(to_timestamp(1000000 + i * 15) ORDER BY i),
	array_agg(i::float8 ORDER BY i)) FROM generate_series(0, 49) i;
SELECT alloy.write('{"__name__":"skip_b"}'::jsonb, array_agg(to_timestamp(1000000 + i * 15) ORDER BY i),
	array_agg(-i::float8 ORDER BY i)) FROM generate_series(0, 99) i;
SELECT alloy.write('{"__name__":"skip_a"}'::jsonb, array_agg(to_timestamp(1000000 + i * 15) ORDER BY i),
	array_agg(i::float8 ORDER BY i)) FROM generate_series(50, 99) i;
SELECT labels->>'__name__' AS metric, count(*), sum(value), min("time"), max("time")
  FROM alloy.promql_range('{__name__=~"skip_.*"}', to_timestamp(1000000), to_timestamp(1000000 + 99 * 15), '15s')
 GROUP BY 1 ORDER BY 1;
SELECT count(*), sum(value), min("time") FROM alloy.promql_range('skip_a', to_timestamp(1001200), to_timestamp(1001485), '15s');
SELECT count(*), sum(value) FROM alloy.promql_range('skip_b', to_timestamp(1000000), to_timestamp(1000300), '15s');
