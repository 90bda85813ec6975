# The per-backend head index (src/store/head_index.c) must never change an
# answer: in one long-lived session, PromQL (which reads the head through the
# index) is compared sample for sample, value bits included, with
# alloy.storage_read (which walks the whole head), in the same statement and
# so under the same snapshot, while other sessions append, abort, roll back
# to savepoints, overwrite (last write wins), seal and truncate between the
# queries, and while pgbench appends concurrently.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlloyTest;

my $node = alloy_node('storage_head_index',
	conf => "alloy.http_workers = 0\nalloy.seal_interval = 86400\nalloy.retention = 0\n",
	create_extension => 1);

# 300 series m{i="1".."300"}, one sample each at the base time
$node->safe_psql('postgres', q{
	SELECT count(alloy.write(jsonb_build_object('__name__', 'm', 'i', g::text),
		ARRAY['2024-03-01 00:00:00+00'::timestamptz], ARRAY[g::float8]))
	FROM generate_series(1, 300) g;
	CREATE TABLE s AS SELECT series_id AS sid, (labels->>'i')::int AS i FROM alloy.series WHERE metric = 'm';

	-- round r: every series once at base + r * 15 s, in nshards batches whose
	-- series are spread by hash (as Prometheus's remote-write shards send them)
	CREATE FUNCTION put(r int, nshards int, salt text DEFAULT '') RETURNS bigint LANGUAGE sql AS $$
		SELECT sum(n)::bigint FROM (
			SELECT alloy.storage_append(array_agg(sid ORDER BY md5(sid || salt || r)),
				array_agg('2024-03-01'::timestamptz + r * interval '15 s' ORDER BY md5(sid || salt || r)),
				array_agg((r * 1000 + i)::float8 + length(salt) / 10.0 ORDER BY md5(sid || salt || r))) AS n
			FROM s GROUP BY abs(hashtext(sid || salt)) % nshards) x
	$$;

	-- round r in three batches of 100 series (i + shift) % 3, so shifted
	-- rounds have batches of the same sizes and times but other series
	CREATE FUNCTION put_mod(r int, shift int) RETURNS bigint LANGUAGE sql AS $$
		SELECT sum(n)::bigint FROM (
			SELECT alloy.storage_append(array_agg(sid ORDER BY sid),
				array_agg('2024-03-01'::timestamptz + r * interval '15 s' ORDER BY sid),
				array_agg((r * 1000 + i + shift / 10.0)::float8 ORDER BY sid)) AS n
			FROM s GROUP BY (i + shift) % 3 ORDER BY (i + shift) % 3) x
	$$;

	-- differences between PromQL through the index (one query per series,
	-- and one for all series) and storage_read's full walk, then the count
	CREATE FUNCTION cmp(t timestamptz) RETURNS text LANGUAGE sql AS $$
		WITH a AS (SELECT s.sid, p."time", alloy.float8_bits(p.value) AS v
				   FROM s, LATERAL alloy.promql_instant(format('m{i="%s"}[1h]', s.i), t) p),
			 m AS (SELECT s.sid, p."time", alloy.float8_bits(p.value) AS v
				   FROM alloy.promql_instant('m[1h]', t) p JOIN s ON s.i = (p.labels->>'i')::int),
			 b AS (SELECT s.sid, r."time", alloy.float8_bits(r.value) AS v
				   FROM s, LATERAL alloy.storage_read(s.sid, t - interval '1 h' + interval '1 ms', t) r)
		SELECT (SELECT count(*) FROM a FULL JOIN b USING (sid, "time", v) WHERE a.sid IS NULL OR b.sid IS NULL)
			|| '/' || (SELECT count(*) FROM m FULL JOIN b USING (sid, "time", v) WHERE m.sid IS NULL OR b.sid IS NULL)
			|| '/' || (SELECT count(*) FROM b)
	$$;

	-- head index partitions this session holds (an emptied one keeps 8 kB)
	CREATE FUNCTION idx() RETURNS bigint LANGUAGE sql AS $$
		SELECT count(*) FROM pg_backend_memory_contexts
		WHERE name = 'alloy head index partition' AND total_bytes > 65536
	$$;
});

my $t = "'2024-03-01 00:30:00+00'";
my $reader = $node->background_psql('postgres');
my $writer = $node->background_psql('postgres');

sub check
{
	my ($expect_n, $what) = @_;
	is($reader->query_safe("SELECT cmp($t)"), "0/0/$expect_n", $what);
}

$writer->query_safe('SELECT put(r, 3) FROM generate_series(1, 5) r');
check(1800, 'hash-sharded rounds: the index answers as the walk');
is($reader->query_safe('SELECT idx()'), '1', 'the reader holds an index of the partition');

# sid-local batches (consecutive series in one batch) and single-sample batches
$writer->query_safe(q{SELECT alloy.storage_append(array_agg(sid ORDER BY sid),
	array_agg('2024-03-01'::timestamptz + 6 * interval '15 s'), array_agg(6000 + i::float8)) FROM s});
$writer->query_safe(q{INSERT INTO alloy.samples SELECT sid, '2024-03-01'::timestamptz + 7 * interval '15 s', 7000 + i FROM s WHERE i <= 20});
check(2120, 'sid-local and one-sample batches, caught up incrementally');

# a batch written by a transaction still running is indexed and filtered
$writer->query_safe('BEGIN; SELECT put(8, 2)');
check(2120, 'an in-progress batch is not visible through the index');
$writer->query_safe('COMMIT');
check(2420, 'once committed it is');

# an aborted batch stays in the head and stays invisible
$writer->query_safe('BEGIN; SELECT put(9, 2); ROLLBACK');
check(2420, 'an aborted batch is not visible');

# savepoints, and overwrites: the last write wins, by head order
$writer->query_safe(q{BEGIN; SELECT put(10, 2); SAVEPOINT s1; SELECT put(2, 4, 'x');
	ROLLBACK TO SAVEPOINT s1; SELECT put(3, 5, 'yy'); COMMIT});
check(2720, 'rolled-back savepoint writes vanish, overwrites win');
$writer->query_safe(q{SELECT put(4, 2, 'zzz')});
$writer->query_safe(q{SELECT alloy.storage_append(ARRAY[sid, sid, sid],
	ARRAY['2024-03-01 00:01:00+00', '2024-03-01 00:01:00+00', '2024-03-01 00:01:00+00']::timestamptz[],
	ARRAY[-1, -2, -3]) FROM s WHERE i % 7 = 0});
check(2720, 'duplicates at one time: one sample each');
is($reader->query_safe(q{SELECT string_agg(DISTINCT value::text, ',')
	FROM alloy.promql_instant('m{i="14"}[1h]', '2024-03-01 00:30:00+00') WHERE "time" = '2024-03-01 00:01:00+00'}),
	'-3', 'the last of the duplicates wins');
is($reader->query_safe(q{SELECT value FROM alloy.promql_instant('m{i="5"}[1h]', '2024-03-01 00:30:00+00')
	WHERE "time" = '2024-03-01 00:00:45+00'}), '3005.2', 'a later overwrite wins over an earlier one');

# series ids far apart (not in the catalog) make the index hash its ids
$writer->query_safe(q{SELECT alloy.storage_append(array_agg(g * 1000000000000 + 7), array_agg('2024-03-01 00:02:00+00'::timestamptz), array_agg(g::float8)) FROM generate_series(1, 50) g});
$writer->query_safe('SELECT put(4, 3, \'h\')');
check(2720, 'with sparse series ids in the head');
is($reader->query_safe(q{SELECT count(*) FROM alloy.storage_read(7000000000007, '2024-03-01', '2024-03-02')}),
	'1', 'the sparse ids are there');

# the reader's own writes: visible in its transaction, gone after ROLLBACK TO
$reader->query_safe('BEGIN; SELECT put(11, 2)');
check(3020, 'own uncommitted batches are visible');
$reader->query_safe('SAVEPOINT a; SELECT put(12, 3); SELECT put(5, 2, \'w\')');
check(3320, 'own subtransaction batches too');
$reader->query_safe('ROLLBACK TO SAVEPOINT a');
check(3020, 'rolled back to the savepoint: gone');
$reader->query_safe('COMMIT');
check(3020, 'after commit');

# a seal gives a new relfilenode; the old entry is dropped, not kept
$writer->query_safe('SELECT alloy.seal()');
check(3020, 'after a seal (everything sealed)');
$writer->query_safe('SELECT put(13, 2); SELECT put(6, 3, \'v\')');
check(3320, 'new head over sealed chunks');
is($reader->query_safe('SELECT idx()'), '1', 'the sealed-away entry was dropped');

# a seal that keeps batches in the head: an older snapshot still needs them
$writer->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM s');
$node->safe_psql('postgres', 'SELECT put(14, 2); SELECT put(7, 2, \'u\'); SELECT alloy.seal()');
check(3900, 'a seal that keeps batches in the head');
is($reader->query_safe(q{SELECT head_pages > 0 FROM alloy.storage_info('alloy.samples_20240301_000000')}),
	't', 'the batches were kept');
$writer->query_safe('COMMIT');
$node->safe_psql('postgres', 'SELECT put(15, 3); SELECT alloy.seal()');
check(4200, 'after they were sealed too');

# TRUNCATE, then a head with the same shape at the same places
$writer->query_safe('TRUNCATE alloy.samples');
check(0, 'after TRUNCATE');
$writer->query_safe('SELECT put(r, 3) FROM generate_series(1, 5) r');
$writer->query_safe('SELECT put(2, 3, \'t\')');
check(1500, 'a new head after TRUNCATE');

# TRUNCATE twice in one transaction: the second keeps the relfilenode and
# rewrites the head in place, with batches of the same sizes and times but
# other series in them
$reader->query_safe(q{BEGIN; TRUNCATE alloy.samples; SELECT put_mod(r, 0) FROM generate_series(1, 4) r});
check(1200, 'in a transaction that truncated');
$reader->query_safe(q{TRUNCATE alloy.samples; SELECT put_mod(r, 1) FROM generate_series(1, 4) r});
check(1200, 'after a second TRUNCATE in the same transaction');
$reader->query_safe('COMMIT');
check(1200, 'committed');

# the limit: beyond it the head is walked and the index freed
$reader->query_safe('SET alloy.head_index_max_entries = 100');
check(1200, 'over the limit: the walk');
is($reader->query_safe('SELECT idx()'), '0', 'over the limit: nothing held');
$reader->query_safe('RESET alloy.head_index_max_entries');
check(1200, 'limit raised again: indexed');
is($reader->query_safe('SELECT idx()'), '1', 'indexed again');

# concurrent appends (some rolled back) while the reader compares
my $script = $node->basedir . '/append.sql';
PostgreSQL::Test::Utils::append_to_file($script, q{
\set r random(20, 110)
BEGIN;
SELECT put(:r, 4, 'c');
SELECT alloy.storage_append(ARRAY[(SELECT sid FROM s WHERE i = :r)], ARRAY['2024-03-01 00:00:30+00']::timestamptz[], ARRAY[:r]);
COMMIT;
});
my $rollback = $node->basedir . '/rollback.sql';
PostgreSQL::Test::Utils::append_to_file($rollback, q{
BEGIN;
SELECT put(3, 2, 'rb');
ROLLBACK;
});
my ($stdout, $stderr) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '3', '-R', '15', '-T', '6', '-f', "$script\@4", '-f', "$rollback\@1",
	  '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$stdout, '2>', \$stderr);
my $bad = 0;
my $rounds = 6;
for (1 .. $rounds)
{
	my ($diff_a, $diff_m) = split m{/}, $reader->query_safe("SELECT cmp($t)");
	$bad++ if $diff_a != 0 || $diff_m != 0;
}
$bench->finish;
is($bad, 0, "no differences during concurrent appends ($rounds comparisons)");
like($stdout, qr/number of transactions actually processed: [1-9]/, 'pgbench appended');

# a dropped partition's entry does not stay behind
$node->safe_psql('postgres', q{SELECT alloy.storage_append(array_agg(sid), array_agg('2024-03-05 00:00:00+00'::timestamptz), array_agg(i::float8)) FROM s});
is($reader->query_safe(q{SELECT count(*) FROM alloy.promql_instant('m', '2024-03-05 00:01:00+00')}), '300',
	'a second partition');
is($reader->query_safe('SELECT idx()'), '2', 'two partitions indexed');
$node->safe_psql('postgres', q{SELECT alloy.drop_before('2024-03-02')});
is($reader->query_safe(q{SELECT count(*) FROM alloy.promql_instant('m', '2024-03-05 00:01:00+00')}), '300',
	'the second partition after the first was dropped');
is($reader->query_safe('SELECT idx()'), '1', 'the dropped partition\'s entry is gone');

$reader->quit;
$writer->quit;
$node->stop;
done_testing();
