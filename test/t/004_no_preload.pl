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
($ret, $out, $err) = $node->psql('postgres', 'SELECT alloy.version(); SHOW alloy.port');
isnt($ret, 0, 'worker settings exist only when preloaded');
$node->stop;
done_testing();
