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
