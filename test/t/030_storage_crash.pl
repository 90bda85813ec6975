# Sample storage survives crashes: committed samples are all back after an
# immediate shutdown during concurrent writes and seals, uncommitted ones
# never appear, and a seal interrupted by the crash loses nothing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlloyTest;
use Time::HiRes qw(usleep);

my $node = alloy_node('storage_crash', conf => "alloy.http_workers = 0\nalloy.seal_interval = 3600\nalloy.retention = 0\n",
	create_extension => 1);

# Each write transaction logs its id in a heap table and appends 50 samples
# of series id; after the crash the log says exactly what committed.
$node->safe_psql('postgres', q{
	CREATE TABLE wlog (id bigint PRIMARY KEY);
	CREATE SEQUENCE wseq;
	SELECT alloy.create_partitions('2020-01-01', '2020-01-03');
});
my $write = $node->basedir . '/write.sql';
PostgreSQL::Test::Utils::append_to_file($write, q{
WITH n AS (INSERT INTO wlog VALUES (nextval('wseq')) RETURNING id)
SELECT alloy.storage_append(array_agg(n.id), array_agg('2020-01-01'::timestamptz + (n.id * 50 + g) * interval '1 s'),
	array_agg((n.id * 1000 + g)::float8)) FROM n, generate_series(0, 49) g;
});
my $seal = $node->basedir . '/seal.sql';
PostgreSQL::Test::Utils::append_to_file($seal, "SELECT alloy.seal();\n");

my ($stdout, $stderr) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '4', '-T', '30', '-f', "$write\@20", '-f', "$seal\@1",
	  '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$stdout, '2>', \$stderr);

# let writes and seals run, then crash in the middle of them
my $committed = 0;
for (my $i = 0; $i < 300 && $committed < 300; $i++)
{
	usleep(100_000) if $i;
	$committed = $node->safe_psql('postgres', 'SELECT count(*) FROM wlog');
}
ok($committed > 0, "writes committed before the crash ($committed)");

# uncommitted work that must vanish (it also makes the next seal wait)
my $bg = $node->background_psql('postgres');
$bg->query_safe(q{BEGIN; SELECT alloy.storage_append(ARRAY[-1], ARRAY['2020-01-01 00:00:00+00']::timestamptz[], ARRAY[1]);});
usleep(300_000);
$node->stop('immediate');
$bench->finish;
$bg->{run}->kill_kill;
$node->start;

my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM wlog');
is($node->safe_psql('postgres', 'SELECT count(*) FROM alloy.samples WHERE series_id > 0'),
	$n * 50, "all samples of the $n committed transactions are back");
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM wlog w
	 WHERE (SELECT count(*) FROM alloy.samples s WHERE s.series_id = w.id) <> 50}),
	'0', 'every committed transaction has its 50 samples');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM alloy.samples s
	 WHERE s.series_id > 0 AND NOT EXISTS (SELECT 1 FROM wlog w WHERE w.id = s.series_id)}),
	'0', 'no sample of an uncommitted transaction');
is($node->safe_psql('postgres', q{SELECT count(*) FROM alloy.samples WHERE series_id = -1}),
	'0', 'the open transaction at crash time left nothing');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM alloy.samples WHERE value <> series_id * 1000 + extract(epoch FROM "time" - '2020-01-01+00') - series_id * 50}),
	'0', 'every value is exact');

# seal after recovery, then crash again right after a seal: still everything
$node->safe_psql('postgres', 'SELECT alloy.seal()');
my $sum = $node->safe_psql('postgres', 'SELECT count(*), sum(value) FROM alloy.samples');
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', 'SELECT count(*), sum(value) FROM alloy.samples'), $sum,
	'sealed data survives a crash');
is($node->safe_psql('postgres', q{SELECT head_pages FROM alloy.storage_info('alloy.samples_20200101_000000')}),
	'0', 'storage_info reads the recovered, sealed partition');

# a seal killed half way (its backend crashes the server) loses nothing
$node->safe_psql('postgres', q{
	SELECT alloy.storage_append(array_agg(1000000 + g % 1000), array_agg('2020-01-02'::timestamptz + g * interval '1 s'), array_agg(g::float8))
	FROM generate_series(0, 199999) g});
$sum = $node->safe_psql('postgres', 'SELECT count(*), sum(value) FROM alloy.samples');
my $sealer = $node->background_psql('postgres');
$sealer->query_until(qr/started/, "\\echo started\nSELECT alloy.seal();\n");
usleep(200_000);
$node->stop('immediate');
$sealer->{run}->kill_kill;
$node->start;
is($node->safe_psql('postgres', 'SELECT count(*), sum(value) FROM alloy.samples'), $sum,
	'a seal interrupted by a crash loses nothing');
$node->safe_psql('postgres', 'SELECT alloy.seal()');
is($node->safe_psql('postgres', 'SELECT count(*), sum(value) FROM alloy.samples'), $sum,
	'sealing again after the crash keeps every sample');
is($node->safe_psql('postgres', q{SELECT count(*) FROM alloy.samples WHERE series_id > 0 AND series_id < 1000000}),
	$n * 50, 'the earlier samples are all still there');

$node->stop;
done_testing();
