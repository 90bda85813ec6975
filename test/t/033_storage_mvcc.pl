# Sealing under concurrent snapshots: a seal moves only batches every
# snapshot can see, so a REPEATABLE READ transaction that started before a
# write still does not see it after a seal, sees everything it saw before,
# and a later seal picks the write up once no snapshot needs it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlloyTest;

my $node = alloy_node('storage_mvcc', conf => "alloy.http_workers = 0\nalloy.seal_interval = 3600\nalloy.retention = 0\n",
	create_extension => 1);
$node->safe_psql('postgres', q{
	CREATE TABLE other (a int);
	SELECT alloy.storage_append(array_agg(g % 10), array_agg('2024-02-01'::timestamptz + g * interval '1 s'), array_agg(g::float8))
	FROM generate_series(1, 1000) g});

# a REPEATABLE READ snapshot taken before the next write (on another table)
my $rr = $node->background_psql('postgres');
$rr->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM other;');

$node->safe_psql('postgres', q{
	SELECT alloy.storage_append(array_agg(g % 10), array_agg('2024-02-01'::timestamptz + g * interval '1 s'), array_agg(-g::float8))
	FROM generate_series(500, 1500) g});
is($node->safe_psql('postgres', 'SELECT alloy.seal()'), '1000',
	'the seal takes only the batch every snapshot sees');
is($node->safe_psql('postgres', q{SELECT head_pages > 0 FROM alloy.storage_info('alloy.samples_20240201_000000')}),
	't', 'the newer batch stays in the head with its xid');
is($node->safe_psql('postgres', 'SELECT count(*), sum(value) FROM alloy.samples'), '1500|-876250',
	'a new snapshot sees the overwrites');

is($rr->query_safe('SELECT count(*), sum(value) FROM alloy.samples'), '1000|500500',
	'the old snapshot sees exactly what it saw before the seal');
is($rr->query_safe(q{SELECT count(*) FROM alloy.storage_read(3, '2024-02-01', '2024-02-02')}), '100',
	'the reader API too');
$rr->query_safe('COMMIT');

is($node->safe_psql('postgres', 'SELECT alloy.seal()'), '1001', 'once the snapshot is gone the batch is sealed');
is($node->safe_psql('postgres', q{SELECT head_pages FROM alloy.storage_info('alloy.samples_20240201_000000')}),
	'0', 'the head is empty');
is($node->safe_psql('postgres', 'SELECT count(*), sum(value) FROM alloy.samples'), '1500|-876250',
	'sealed data answers the same');

# the worker does not wait for a partition in use; alloy.seal() does
$rr->query_safe(q{BEGIN; SELECT alloy.storage_append(ARRAY[1], ARRAY['2024-02-01 12:00']::timestamptz[], ARRAY[1]);});
my $sealer = $node->background_psql('postgres');
$sealer->query_until(qr/started/, "\\echo started\nSELECT alloy.seal();\n");
ok($node->poll_query_until('postgres',
		q{SELECT count(*) > 0 FROM pg_locks WHERE NOT granted AND mode = 'AccessExclusiveLock'}),
	'alloy.seal() waits for the writer');
$rr->query_safe('COMMIT');
$sealer->quit;
is($node->safe_psql('postgres', q{SELECT value FROM alloy.samples WHERE series_id = 1 AND "time" = '2024-02-01 12:00'}),
	'1', 'the write committed');
$rr->quit;

$node->stop;
done_testing();
