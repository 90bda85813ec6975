-- alloy.write: the SQL ingest path (labels -> series, samples -> storage).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS alloy;

SELECT alloy.write('{"__name__": "cat_write", "job": "a"}', '2024-01-01 00:00:00+00', 1.5, 'cat-write');
SELECT alloy.write('{"__name__": "cat_write", "job": "a"}', '2024-01-01 00:00:15+00', 2.5, 'cat-write');
SELECT alloy.write('{"job": "a", "__name__": "cat_write"}',
				   ARRAY['2024-01-01 00:00:30+00', '2024-01-01 00:00:45+00']::timestamptz[],
				   ARRAY[3.5, 4.5]::float8[], 'cat-write');
SELECT alloy.write('{"__name__": "cat_write", "job": "a"}', ARRAY[]::timestamptz[], ARRAY[]::float8[], 'cat-write');
-- the bulk form from the contract
SELECT sum(alloy.write(l, ts, vs, 'cat-write')) FROM (
	SELECT jsonb_build_object('__name__', 'cat_bulk', 'i', (i % 3)::text) AS l,
		   array_agg('2024-01-01'::timestamptz + i * interval '1 minute' ORDER BY i) AS ts,
		   array_agg(i::float8 ORDER BY i) AS vs
	FROM generate_series(1, 30) i GROUP BY 1) s;
SELECT metric, labels FROM alloy.series WHERE tenant = 'cat-write' ORDER BY series_id;
-- default tenant
SELECT alloy.write('{"__name__": "cat_write_default"}', now(), 1);
SELECT count(*) FROM alloy.series WHERE metric = 'cat_write_default' AND tenant = 'default';

-- errors
SELECT alloy.write('[1]', now(), 1);
SELECT alloy.write(NULL, now(), 1);
SELECT alloy.write('{"__name__": "x"}', NULL::timestamptz, 1);
SELECT alloy.write('{"__name__": "x"}', now(), NULL::float8);
SELECT alloy.write('{"__name__": "x"}', 'infinity', 1);
SELECT alloy.write('{"__name__": "x"}', ARRAY[now()], ARRAY[1, 2]::float8[]);
SELECT alloy.write('{"__name__": "x"}', ARRAY[now(), NULL], ARRAY[1, 2]::float8[]);
SELECT alloy.write('{"__name__": "x"}', ARRAY[[now()]], ARRAY[[1]]::float8[]);
SELECT alloy.write('{"__name__": "x", "v": true}', now(), 1);

-- the samples reach storage, with times truncated to milliseconds (rounded
-- down, also before 1970)
SELECT alloy.write('{"__name__": "cat_write_ms"}',
				   ARRAY['2024-01-01 00:00:00.1239+00', '2024-01-01 00:00:01.0001+00',
						 '1969-12-31 23:59:59.9995+00']::timestamptz[],
				   ARRAY[1, 2, 3]::float8[], 'cat-write');
SET timezone = 'UTC';
SELECT s."time", s.value FROM alloy.samples s
WHERE s.series_id = alloy.series_lookup('{"__name__": "cat_write_ms"}', 'cat-write')
ORDER BY 1;
SELECT s."time", s.value FROM alloy.samples s
WHERE s.series_id = alloy.series_lookup('{"__name__": "cat_write", "job": "a"}', 'cat-write')
ORDER BY 1;
SELECT count(*), sum(s.value) FROM alloy.samples s JOIN alloy.series c USING (series_id)
WHERE c.metric = 'cat_bulk' AND c.tenant = 'cat-write';
-- a rolled-back write leaves neither series nor samples
BEGIN;
SELECT alloy.write('{"__name__": "cat_write_rb"}', '2024-01-01 00:00:00+00', 1, 'cat-write');
ROLLBACK;
SELECT count(*) FROM alloy.series WHERE metric = 'cat_write_rb';
SELECT alloy.write('{"__name__": "cat_write_rb"}', '2024-01-01 00:00:00+00', 2, 'cat-write');
SELECT s.value FROM alloy.samples s
WHERE s.series_id = alloy.series_lookup('{"__name__": "cat_write_rb"}', 'cat-write');
