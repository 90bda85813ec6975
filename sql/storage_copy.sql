-- storage_copy: COPY of an alloy table keeps stale markers. float8's text
-- form has one "NaN", so COPY TO writes a stale marker as NaN one
-- microsecond after its time and COPY FROM reads that back as a stale
-- marker (src/storage/copy_format.c); pg_dump and pg_restore use exactly
-- these statements. Series ids 9200xx and times in 1903 keep this test apart.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS alloy;
RESET client_min_messages;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

SELECT alloy.create_partitions('1903-01-01', '1903-01-02');
-- a stale marker, an ordinary NaN, a number, a NaN with another payload
SELECT alloy.storage_append(ARRAY[920001, 920001, 920001, 920001, 920002],
	ARRAY['1903-01-01 00:00:00', '1903-01-01 00:00:01', '1903-01-01 00:00:02',
	      '1903-01-01 00:00:03.5', '1903-01-01 00:00:00']::timestamptz[],
	ARRAY[alloy.float8_from_bits(9218868437227405314), 'NaN', 1.5,
	      alloy.float8_from_bits(9218868437227405315), alloy.float8_from_bits(9218868437227405314)]);

-- COPY of the partition marks the stale markers; SELECT and COPY (query) do not
COPY alloy.samples_19030101_000000 TO STDOUT;
SELECT series_id, "time", value, float8send(value) FROM alloy.samples_19030101_000000 ORDER BY 1, 2;
COPY (SELECT * FROM alloy.samples_19030101_000000 ORDER BY 1, 2) TO STDOUT;
-- the same from sealed chunks
SELECT alloy.seal() >= 1 AS sealed;
COPY alloy.samples_19030101_000000 TO STDOUT;

-- COPY FROM into an alloy table reads the mark back; a number or another
-- microsecond stays what it is (sub-millisecond digits are cut as always)
CREATE TABLE copy_target (series_id bigint, "time" timestamptz, value float8) USING alloy;
COPY copy_target FROM STDIN;
1	1903-01-01 00:00:00.000001+00	NaN
1	1903-01-01 00:00:01+00	NaN
1	1903-01-01 00:00:02.000001+00	1.5
1	1903-01-01 00:00:03.000002+00	NaN
1	1903-01-01 00:00:04.001001+00	NaN
\.
SELECT series_id, "time", float8send(value) FROM copy_target ORDER BY 1, 2;
-- INSERT is not COPY: a NaN one microsecond past stays an ordinary NaN
INSERT INTO copy_target VALUES (2, '1903-01-01 00:00:00.000001', 'NaN');
SELECT series_id, "time", float8send(value) FROM copy_target WHERE series_id = 2;
-- a round trip through COPY keeps every value's meaning
COPY copy_target TO STDOUT;

-- COPY into the partitioned parent (pg_restore --load-via-partition-root)
COPY alloy.samples FROM STDIN;
920003	1903-01-01 00:00:00.000001+00	NaN
920003	1903-01-01 00:00:15+00	NaN
\.
SELECT "time", float8send(value) FROM alloy.storage_read(920003, '-infinity', 'infinity');

DROP TABLE copy_target;
DROP TABLE alloy.samples_19030101_000000;
