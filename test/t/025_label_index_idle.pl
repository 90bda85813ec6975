# An idle HTTP worker brings the label index it keeps up to date, so the
# first label lookup after a burst of new series does not pay for reading
# them; a worker that never served a lookup keeps no index; dropping the
# extension under a kept index is logged once, not every second. The same
# worker also catches up the head index its PromQL queries built.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use AlloyTest;

my $node = alloy_node('idle_index', create_extension => 1,
	conf => "alloy.http_workers = 1\nlog_min_messages = debug1\nalloy.retention = 0\n"
	  . "alloy.seal_interval = 3600\n");
ok(wait_for_http($node, '/-/ready'), 'ready');

sub burst
{
	my ($metric, $n) = @_;
	my $now = time() * 1000;
	return rw_send($node, join('', map { qq($metric\{i="$_"\} 1 $now\n) } 1 .. $n));
}

sub log_count
{
	my ($re) = @_;
	my $log = slurp_file($node->logfile);
	my @m = $log =~ /$re/g;
	return scalar @m;
}

is(burst('before_lookup', 50), 204, 'series written');
sleep 2;
is(log_count(qr/alloy label index caught up/), 0, 'no index before the first label lookup');

# label values with match[] are answered from the index, which this builds
my ($st, $json) = query_json($node, '/api/v1/label/i/values?match[]=before_lookup');
is(scalar @{ $json->{data} // [] }, 50, 'a label lookup with match[] builds the index');

is(burst('after_lookup', 500), 204, 'a burst of new series after it');
my $seen = 0;
for (1 .. 100)
{
	$seen = log_count(qr/alloy label index caught up (\d+) new series while idle/);
	last if $seen;
	usleep(100_000);
}
ok($seen, 'the idle worker caught its index up');
my $log = slurp_file($node->logfile);
my $caught = 0;
$caught += $_ for $log =~ /alloy label index caught up (\d+) new series while idle/g;
is($caught, 500, 'every new series added once, before any lookup asked');

($st, $json) = query_json($node, '/api/v1/label/__name__/values');
is_deeply($json->{data}, [ 'after_lookup', 'before_lookup' ], 'the lookup sees them all');
($st, $json) = query_json($node, '/api/v1/label/i/values?match[]=after_lookup');
is(scalar @{ $json->{data} }, 500, 'values with match[] from the caught-up index');

# a PromQL query for one series reads the unsealed head through the
# worker's head index (built now); the next burst is indexed while idle
is(log_count(qr/alloy head index caught up/), 0, 'no head index before a PromQL query');
($st, $json) = query_json($node, '/api/v1/query?query=' . uri_escape('count(after_lookup)'));
is($json->{data}{result}[0]{value}[1], '500', 'a PromQL query builds the head index');
my $t2 = time() * 1000 + 1000;
is(rw_send($node, join('', map { qq(after_lookup\{i="$_"\} 2 $t2\n) } 1 .. 500)), 204,
	'a second burst for the same series');
$seen = 0;
for (1 .. 100)
{
	$seen = log_count(qr/alloy head index caught up (\d+) new batches while idle/);
	last if $seen;
	usleep(100_000);
}
ok($seen, 'the idle worker caught its head index up');
($st, $json) = query_json($node, '/api/v1/query?query=' . uri_escape('sum(after_lookup)')
	  . '&time=' . ($t2 / 1000 + 1));
is($json->{data}{result}[0]{value}[1], '1000', 'a query after it sees the second burst');

# the catalog goes away under the kept index: one error, then silence
$node->safe_psql('postgres', 'DROP EXTENSION alloy');
sleep 4;
my $errors = log_count(qr/ERROR: .*alloy.*\n/);
cmp_ok($errors, '<=', 2, "dropping the extension is not an error every second ($errors)");
ok(wait_for_http($node, '/-/healthy'), 'the worker is still up');
$node->safe_psql('postgres', 'CREATE EXTENSION alloy');
ok(wait_for_http($node, '/-/ready'), 'ready again after CREATE EXTENSION');

$node->stop;
done_testing();
