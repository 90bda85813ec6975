# pg_dump / pg_restore round trip: series, tenants, samples (sealed and not)
# and metadata come back, PromQL answers the same, and writing goes on in
# the restored database without id collisions.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlloyTest;

my $node = alloy_node('dump', conf => "alloy.retention = 0\nalloy.http_workers = 0\n");
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', 'CREATE EXTENSION alloy');
$node->safe_psql('src', <<'SQL');
SELECT alloy.write(jsonb_build_object('__name__', 'dump_metric', 'i', i::text),
                   array_agg(now() - n * interval '15 seconds' ORDER BY n DESC),
                   array_agg((n * i)::float8 ORDER BY n DESC),
                   CASE WHEN i % 2 = 0 THEN 'team-b' END)
FROM generate_series(1, 4) i, generate_series(1, 200) n GROUP BY i;
SELECT alloy.seal();
SELECT alloy.write('{"__name__": "dump_metric", "i": "head"}', now() - interval '1 minute', 42);
-- a series that ended (stale marker) and one whose last value is an ordinary NaN
SELECT alloy.write('{"__name__": "dump_ended", "s": "stale"}',
                   ARRAY[now() - interval '90 seconds', now() - interval '60 seconds'],
                   ARRAY[1, alloy.float8_from_bits(9218868437227405314)]);
SELECT alloy.write('{"__name__": "dump_ended", "s": "nan"}',
                   ARRAY[now() - interval '90 seconds', now() - interval '60 seconds'],
                   ARRAY[1, 'NaN'::float8]);
INSERT INTO alloy.metadata (tenant_id, metric, type, help) VALUES (0, 'dump_metric', 'gauge', 'for the dump test');
SQL

my $dumpfile = "$PostgreSQL::Test::Utils::tmp_check/alloy.dump";
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', $dumpfile ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('dst'), $dumpfile ], 'pg_restore');
# a directory-format dump restored by parallel workers through the parent
# table: their sessions load alloy in the middle of their first COPY
my $dumpdir = "$PostgreSQL::Test::Utils::tmp_check/alloy.dir";
$node->command_ok([ 'pg_dump', '-Fd', '-j2', '--load-via-partition-root', '-d', $node->connstr('src'), '-f', $dumpdir ],
	'pg_dump -Fd -j2 --load-via-partition-root');
$node->safe_psql('postgres', 'CREATE DATABASE dst2');
$node->command_ok([ 'pg_restore', '-j2', '-d', $node->connstr('dst2'), $dumpdir ], 'pg_restore -j2');

my @checks = (
	'SELECT count(*), sum(value) FROM alloy.samples',
	'SELECT tenant, metric, labels FROM alloy.series ORDER BY 1, 3',
	"SELECT labels, value FROM alloy.promql_instant('sum by (i) (dump_metric)', now()) ORDER BY 1",
	"SELECT labels, value FROM alloy.promql_instant('dump_metric', now(), 'team-b') ORDER BY 1",
	"SELECT count(*) FROM alloy.promql_range('rate(dump_metric[5m])', now() - interval '30 minutes', now(), '1m')",
	'SELECT metric, type, help FROM alloy.metadata',
	# values bit for bit: stale markers stay stale markers
	'SELECT series_id, "time", float8send(value) FROM alloy.samples ORDER BY 1, 2',
	# the ended series is gone from an instant query, the NaN one is not
	"SELECT labels, value FROM alloy.promql_instant('dump_ended', now()) ORDER BY 1",
);
for my $db ('dst', 'dst2')
{
	for my $q (@checks)
	{
		is($node->safe_psql($db, $q), $node->safe_psql('src', $q), "same after restore into $db: $q");
	}
}
is($node->safe_psql('dst', q{SELECT count(*) FROM alloy.promql_instant('dump_ended', now())}),
	'1', 'only the series without a stale marker is still there');

# ids go on from where they were
my $max = $node->safe_psql('dst', 'SELECT max(series_id) FROM alloy.series');
my $new = $node->safe_psql('dst',
	q{SELECT alloy.write('{"__name__": "after_restore"}', now(), 1); SELECT series_id FROM alloy.series WHERE metric = 'after_restore'});
($new) = $new =~ /(\d+)$/;
cmp_ok($new, '>', $max, 'a new series after restore gets a fresh id');
is($node->safe_psql('dst', q{SELECT value FROM alloy.promql_instant('dump_metric{i="head"}', now())}),
	'42', 'unsealed samples came back too');
$node->stop;
done_testing();
