# Without shared_preload_libraries there are no workers, but the extension
# still installs and SQL ingest and PromQL queries work.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('no_preload');
$node->init;
$node->start;

my ($ret, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION alloy');
is($ret, 0, 'CREATE EXTENSION works without preloading') or diag($err);
# a session loads the library with its first alloy call, as any extension
is($node->safe_psql('postgres', "SELECT alloy.version(); SHOW alloy.lookback_delta"), "0.1.0\n5min",
	'session settings exist once the library is loaded');
is($node->safe_psql('postgres',
		q{SELECT alloy.write('{"__name__":"np","a":"b"}', now() - interval '10 seconds', 4.5)}),
	'1', 'alloy.write works');
is($node->safe_psql('postgres', q{SELECT value FROM alloy.promql_instant('np * 2')}),
	'9', 'PromQL works');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'alloy%'"),
	'0', 'no alloy workers run');
# COPY as a session's first statement loads the library in the middle of
# the COPY; a stale marker in COPY's text form must still be read as one
# (what a parallel pg_restore worker does)
$node->safe_psql('postgres', "SELECT alloy.create_partitions('1904-01-01', '1904-01-02')");
$node->safe_psql('postgres', "COPY alloy.samples FROM STDIN;\n7\t1904-01-01 00:00:00.000001+00\tNaN\n\\.\n");
is($node->safe_psql('postgres',
		"SELECT float8send(value) FROM alloy.samples WHERE series_id = 7"),
	'\x7ff0000000000002', 'COPY FROM reads a stale marker in a fresh session');
is($node->safe_psql('postgres',
		"SET timezone = 'UTC'; COPY alloy.samples_19040101_000000 TO STDOUT"),
	"7\t1904-01-01 00:00:00.000001+00\tNaN", 'and COPY TO writes it so');
($ret, $out, $err) = $node->psql('postgres', 'SELECT alloy.version(); SHOW alloy.port');
isnt($ret, 0, 'worker settings exist only when preloaded');
$node->stop;
done_testing();
