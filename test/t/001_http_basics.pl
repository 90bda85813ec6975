# The HTTP workers: health and readiness, build info, /metrics in valid
# Prometheus text format, Prometheus-style errors, worker restarts and reloads.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run qw(run);
use IO::Socket::INET;
use AlloyTest;

my $node = alloy_node('http');

ok(wait_for_http($node, '/-/healthy', 200), 'healthy answers 200 once the workers run');
my $res = http_request($node, 'GET', '/-/ready');
is($res->{status}, 503, 'not ready before CREATE EXTENSION');
like($res->{content}, qr/CREATE EXTENSION alloy/, 'not-ready answer says what to do');

$node->safe_psql('postgres', 'CREATE EXTENSION alloy');
$res = http_request($node, 'GET', '/-/ready');
is($res->{status}, 200, 'ready after CREATE EXTENSION');

is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'alloy http'"),
	'2', 'alloy.http_workers processes run');

$res = http_request($node, 'GET', '/api/v1/status/buildinfo');
is($res->{status}, 200, 'buildinfo answers');
like($res->{content}, qr/^\{"status":"success","data":\{"version":"2\.42\.0"/,
	'buildinfo reports a Prometheus-compatible version');
like($res->{headers}{'content-type'}, qr{^application/json}, 'buildinfo is JSON');

$res = http_request($node, 'GET', '/api/v1/nonexistent');
is($res->{status}, 404, 'unknown endpoint is 404');
like($res->{content}, qr/^\{"status":"error","errorType":"not_found","error":".*nonexistent/,
	'404 body is Prometheus-style error JSON');

$res = http_request($node, 'DELETE', '/-/healthy');
is($res->{status}, 405, 'wrong method is 405');

# a declared body over alloy.max_request_bytes is refused before it is read
my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $node->{alloy_http_port}, Proto => 'tcp')
  or die "connect: $!";
print $sock "POST /api/v1/write HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-protobuf\r\n"
  . "Content-Length: 100000000\r\n\r\n";
my $status_line = <$sock>;
close($sock);
like($status_line, qr{^HTTP/1\.1 413 }, 'declared oversized body is 413 before any byte of it');

# many requests over the two workers, with keep-alive
my $http = HTTP::Tiny->new(keep_alive => 1, timeout => 10);
my $ok = 0;
for my $i (1 .. 200)
{
	my $r = $http->get("http://127.0.0.1:$node->{alloy_http_port}/-/healthy");
	$ok++ if $r->{status} == 200;
}
is($ok, 200, '200 keep-alive requests all answered');

# /metrics is valid exposition format, checked by Prometheus's own promtool
$res = http_request($node, 'GET', '/metrics');
is($res->{status}, 200, '/metrics answers');
like($res->{content}, qr/^alloy_http_requests_total\{handler="\/-\/healthy",code="200"\} \d+$/m,
	'/metrics counts requests by handler and code');
like($res->{content}, qr/^alloy_build_info\{version="[^"]+",prometheus_version="2\.42\.0"\} 1$/m,
	'/metrics has build info');
my ($out, $err) = ('', '');
my $promtool_ok = run([ 'promtool', 'check', 'metrics' ], '<', \$res->{content}, '>', \$out, '2>', \$err);
ok($promtool_ok, 'promtool check metrics accepts /metrics') or diag("promtool: $out $err");

# a terminated worker comes back and serves again
my $pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'alloy http' ORDER BY pid LIMIT 1");
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 2 AND bool_and(pid <> $pid) FROM pg_stat_activity WHERE backend_type = 'alloy http'"),
	'terminated worker is restarted');
ok(wait_for_http($node, '/-/ready', 200), 'restarted workers serve');

# reload keeps serving
$node->reload;
ok(wait_for_http($node, '/-/healthy', 200), 'workers serve after a reload');

$node->stop;
done_testing();
