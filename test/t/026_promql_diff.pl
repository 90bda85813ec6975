# A short, fixed-seed run of the randomized differential PromQL tester
# (test/tools/promql_diff.py): it starts its own Prometheus 2.42, writes the
# same dataset to it and to this alloy node through remote write, and
# compares instant and range query answers for a few hundred generated
# expressions. Any mismatch fails the test and is printed with its repro.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run qw(run timeout);
use AlloyTest;

my ($prometheus) = map { "$_/prometheus" } grep { -x "$_/prometheus" } split /:/, $ENV{PATH};
BAIL_OUT('prometheus 2.42 is not installed (run scripts/install-deps)') unless $prometheus;
my $python = -x '/usr/bin/python3' ? '/usr/bin/python3' : 'python3';

my $node = alloy_node('promql_diff', create_extension => 1);
ok(wait_for_http($node, '/-/ready'), 'alloy ready');

my ($out, $err) = ('', '');
my @cmd = ($python, "$ENV{ALLOY_TOP}/test/tools/promql_diff.py",
	'--alloy', "http://127.0.0.1:$node->{alloy_http_port}",
	'--prometheus', $prometheus, '--seed', '26', '--count', '250');
run(\@cmd, '>', \$out, '2>', \$err, timeout(300));
my ($passed, $failed) = $out =~ /^(\d+) passed, (\d+) failed$/m;
ok(defined $passed, 'the differential run finished') or diag("$out\n$err");
diag($out) if $failed;
is($failed, 0, 'alloy and Prometheus 2.42 agree on every generated query');
cmp_ok($passed // 0, '>=', 1000, "enough evaluations compared ($passed)");

$node->stop;
done_testing();
