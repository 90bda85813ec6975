-- storage_model: random writes in rounds, with seals in between, checked
-- against a heap "model" table applying last-write-wins. Rounds append,
-- backfill inside sealed ranges, overwrite, and touch only some series, so
-- seals copy some chunks byte for byte and re-encode others.
-- Series ids 9100xx and times in 1902 keep this test apart from the others.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS alloy;
RESET client_min_messages;
SET timezone = 'UTC';
SELECT setseed(0.42);

CREATE TEMP TABLE model (series_id bigint, t timestamptz, v float8, seq bigserial);
CREATE TEMP TABLE batch (series_id bigint, t timestamptz, v float8, ord int);

CREATE FUNCTION pg_temp.write_round(nseries int, nsamples int, span_s int, base timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE batch;
	INSERT INTO batch
		SELECT 910000 + (random() * nseries)::int,
			   base + ((random() * span_s)::int * interval '1 s'),
			   CASE WHEN random() < 0.05 THEN alloy.float8_from_bits(9218868437227405314)
					WHEN random() < 0.5 THEN round((random() * 100)::numeric, 1)::float8
					ELSE (random() * 1000)::int::float8 END,
			   g
		FROM generate_series(1, nsamples) g;
	INSERT INTO model (series_id, t, v) SELECT series_id, t, v FROM batch ORDER BY ord;
	PERFORM alloy.storage_append(array_agg(series_id ORDER BY ord), array_agg(t ORDER BY ord), array_agg(v ORDER BY ord)) FROM batch;
END $$;

CREATE FUNCTION pg_temp.check() RETURNS TABLE(missing bigint, extra bigint, total bigint)
LANGUAGE sql AS $$
	WITH truth AS (
		SELECT DISTINCT ON (series_id, t) series_id, t, float8send(v) AS b
		FROM model ORDER BY series_id, t, seq DESC),
	got AS (
		SELECT series_id, "time" AS t, float8send(value) AS b
		FROM alloy.samples WHERE series_id BETWEEN 910000 AND 910999)
	SELECT (SELECT count(*) FROM (SELECT * FROM truth EXCEPT ALL SELECT * FROM got) x),
		   (SELECT count(*) FROM (SELECT * FROM got EXCEPT ALL SELECT * FROM truth) y),
		   (SELECT count(*) FROM truth)
$$;

-- round 1: 50 series over 2 days, sealed
SELECT pg_temp.write_round(50, 20000, 2 * 86400, '1902-01-01');
SELECT * FROM pg_temp.check();
SELECT alloy.seal() > 0 AS sealed;
SELECT * FROM pg_temp.check();
-- round 2: few series, appends after the sealed range, unsealed then sealed
SELECT pg_temp.write_round(5, 3000, 3600, '1902-01-02 23:00');
SELECT * FROM pg_temp.check();
SELECT alloy.seal() > 0 AS sealed;
SELECT * FROM pg_temp.check();
-- round 3: backfill and overwrites inside the sealed range, in two batches
SELECT pg_temp.write_round(50, 5000, 86400, '1902-01-01');
SELECT pg_temp.write_round(10, 5000, 600, '1902-01-01 12:00');
SELECT * FROM pg_temp.check();
SELECT alloy.seal() > 0 AS sealed;
SELECT * FROM pg_temp.check();
-- round 4: many small batches, sealed twice
SELECT pg_temp.write_round(20, 100, 172800, '1902-01-01') FROM generate_series(1, 30);
SELECT alloy.seal() > 0 AS sealed;
SELECT pg_temp.write_round(20, 100, 172800, '1902-01-01') FROM generate_series(1, 30);
SELECT * FROM pg_temp.check();
SELECT alloy.seal() > 0 AS sealed;
SELECT * FROM pg_temp.check();

-- the reader API agrees with the scan for every series, over sub-ranges too
SELECT count(*) AS mismatching_series FROM (
	SELECT s FROM generate_series(910000, 910050) s
	WHERE (SELECT coalesce(array_agg(float8send(value) ORDER BY "time"), '{}')
		   FROM alloy.storage_read(s, '1902-01-01 06:00', '1902-01-02 06:00'))
		  IS DISTINCT FROM
		  (SELECT coalesce(array_agg(float8send(value) ORDER BY "time"), '{}')
		   FROM alloy.samples WHERE series_id = s AND "time" BETWEEN '1902-01-01 06:00' AND '1902-01-02 06:00')) x;

-- chunks stay full: no series has more than one chunk below 120 samples
-- per seal that touched it, and the sealed region is compact
SELECT sum(chunks) <= sum(sealed_samples) / 120 + 4 * 51 * 3 AS chunks_compact
  FROM (SELECT (alloy.storage_info(c.oid)).* FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		 WHERE i.inhparent = 'alloy.samples'::regclass AND c.relname LIKE 'samples_1902%') x;

SELECT alloy.drop_before('1902-01-10');
