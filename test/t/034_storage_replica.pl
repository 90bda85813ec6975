# Sample storage on a streaming replica: every page change is WAL-logged, so
# after catch-up the standby returns exactly what the primary returns, bit
# for bit, through appends, seals, aborted writes, TRUNCATE and retention.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlloyTest;

my $conf = "alloy.http_workers = 0\nalloy.seal_interval = 3600\nalloy.retention = 0\n";
my $primary = alloy_node('storage_primary', init => { allows_streaming => 1 }, conf => $conf,
	create_extension => 1);
$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('storage_standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;

my $all = q{SELECT tableoid::regclass, series_id, "time", float8send(value) FROM alloy.samples ORDER BY 1, 2, 3};
my $agg = q{SELECT count(*), sum(value), count(DISTINCT series_id) FROM alloy.samples};

sub same
{
	my ($what) = @_;
	$primary->wait_for_catchup($standby);
	my $p = $primary->safe_psql('postgres', $all);
	my $s = $standby->safe_psql('postgres', $all);
	ok($p eq $s && $p ne '', "standby matches primary: $what");
	is($standby->safe_psql('postgres', $agg), $primary->safe_psql('postgres', $agg),
		"aggregates match: $what");
}

$primary->safe_psql('postgres', q{
	SELECT alloy.storage_append(array_agg(g % 37), array_agg('2021-03-01'::timestamptz + g * interval '10 s'),
		array_agg(CASE WHEN g % 100 = 0 THEN alloy.float8_from_bits(9218868437227405314) ELSE g * 0.5 END))
	FROM generate_series(0, 29999) g});
same('head only');

$primary->safe_psql('postgres', 'SELECT alloy.seal()');
same('after a seal');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM alloy.samples WHERE float8send(value) = '\x7ff0000000000002'}),
	'300', 'stale markers arrive bit-exact on the standby');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM alloy.storage_read(5, '2021-03-01', '2021-03-02')}),
	$primary->safe_psql('postgres', q{SELECT count(*) FROM alloy.storage_read(5, '2021-03-01', '2021-03-02')}),
	'the reader API agrees on the standby');

# overwrites, an aborted transaction, more heads on top of sealed chunks
$primary->safe_psql('postgres', q{
	INSERT INTO alloy.samples VALUES (5, '2021-03-01 00:00:10', -5), (6, '2021-03-01 00:01:00', -6);
	BEGIN;
	SELECT alloy.storage_append(ARRAY[999], ARRAY['2021-03-01 01:00']::timestamptz[], ARRAY[1]);
	ROLLBACK;});
same('overwrites and an aborted write');
is($standby->safe_psql('postgres', q{SELECT value FROM alloy.samples WHERE series_id = 6 AND "time" = '2021-03-01 00:01:00'}),
	'-6', 'last write wins on the standby');

$primary->safe_psql('postgres', 'SELECT alloy.seal()');
same('after a second seal');

$primary->safe_psql('postgres', q{TRUNCATE alloy.samples_20210302_000000});
same('after TRUNCATE of a partition');

is($primary->safe_psql('postgres', q{SELECT alloy.drop_before('2021-03-02')}), '1', 'drop_before drops one partition');
same('after drop_before');

# the standby keeps answering while the primary seals under load
$primary->safe_psql('postgres', q{
	SELECT alloy.storage_append(array_agg(g % 101), array_agg('2021-03-05'::timestamptz + g * interval '1 s'), array_agg(g::float8))
	FROM generate_series(0, 49999) g});
$primary->safe_psql('postgres', 'SELECT alloy.seal()');
same('large seal');

# the standby refuses writes with a clear error
my ($ret, $out, $err) = $standby->psql('postgres',
	q{SELECT alloy.storage_append(ARRAY[1], ARRAY['2021-03-05']::timestamptz[], ARRAY[1])});
like($err, qr/cannot write samples in a read-only transaction/, 'a standby refuses sample writes');
($ret, $out, $err) = $standby->psql('postgres', 'SELECT alloy.seal()');
like($err, qr/cannot seal in a read-only transaction/, 'a standby refuses to seal');

$standby->stop;
$primary->stop;
done_testing();
