# Overload protection of the query API (src/httpd/http_admission.c).
#
# With alloy.http_max_concurrent_queries = 1, a query blocked on a lock (a
# psql session holds alloy.labels, which every selector reads) keeps the only
# slot. Another query then waits alloy.http_queue_timeout and gets 503 with
# Prometheus's "unavailable" JSON, or gets the slot when it frees in time;
# remote write is never throttled. Afterwards everything answers 200 and
# /metrics shows the slot count back at zero, also after errors and after a
# client that hangs up in the middle of a large streamed answer.
#
# The workers share the port through SO_REUSEPORT, so which worker a new
# connection reaches is the kernel's choice: a probe that lands on the worker
# stuck in the slow query just waits behind it. Probes therefore use short
# client timeouts and are repeated until one reaches the other worker.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IO::Socket::INET;
use Socket qw(PF_INET SOCK_STREAM SOL_SOCKET SO_RCVBUF inet_aton sockaddr_in);
use IO::Uncompress::Gunzip qw(gunzip);
use IPC::Run;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(usleep time);
use AlloyTest;

my $node = alloy_node('overload', create_extension => 1, conf => <<'CONF');
alloy.http_max_concurrent_queries = 1
alloy.http_queue_timeout = 300ms
alloy.retention = 0
CONF
ok(wait_for_http($node, '/-/ready'), 'ready');

# 200 series x 1440 points: a range query answers about 6MB of JSON
$node->safe_psql('postgres', <<'SQL');
SELECT alloy.write(jsonb_build_object('__name__', 'load_metric', 'job', 'j', 'i', i::text),
                   array_agg(to_timestamp(1700000000 + s * 60) ORDER BY s),
                   array_agg((s * i)::float8 ORDER BY s))
FROM generate_series(1, 200) i, generate_series(0, 1439) s GROUP BY i
SQL

my $query = '/api/v1/query?query=load_metric&time=1700050000';
my $range = '/api/v1/query_range?query=load_metric&start=1700000000&end=1700086340&step=60';

# The admission gauges and counters, read from whichever worker is free.
sub admission
{
	for (1 .. 50)
	{
		my $res = http_request($node, 'GET', '/metrics', timeout => 2);
		if ($res->{status} == 200)
		{
			my %m = $res->{content} =~ /^alloy_http_queries_(\w+) (\d+)$/mg;
			return \%m;
		}
	}
	die 'no worker answered /metrics';
}

# Poll until the slot count and the queue are back at zero.
sub wait_idle
{
	for (1 .. 100)
	{
		my $m = admission();
		return 1 if $m->{running} == 0 && $m->{queued} == 0;
		usleep(100_000);
	}
	return 0;
}

# Run an HTTP GET in a child process; its status is written to $file.
sub get_in_background
{
	my ($path, $file) = @_;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		my $res = http_request($node, 'GET', $path, timeout => 120);
		open my $fh, '>', $file or POSIX::_exit(1);
		print $fh "$res->{status}\n";
		close $fh;
		# skip the END blocks of the test modules, which belong to the parent
		POSIX::_exit(0);
	}
	return $pid;
}

sub slurp_status
{
	my ($file) = @_;
	open my $fh, '<', $file or return '';
	my $s = <$fh>;
	close $fh;
	chomp $s if defined $s;
	return $s // '';
}

my $m = admission();
is($m->{max}, 1, 'the limit is alloy.http_max_concurrent_queries');
my ($status, $json) = query_json($node, $query);
is($status, 200, 'a query answers 200 when idle');
is(scalar @{ $json->{data}{result} // [] }, 200, 'the query finds the data');
ok(wait_idle(), 'no slot is held when idle');

# --- a slow query holds the only slot: the next one is refused with 503 ---
my $lock = $node->background_psql('postgres');
$lock->query_safe('BEGIN; LOCK TABLE alloy.labels IN ACCESS EXCLUSIVE MODE');
my $tmp = $PostgreSQL::Test::Utils::tmp_check;
my $slow = get_in_background($query, "$tmp/slow1.txt");
ok($node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'alloy http' AND wait_event_type = 'Lock'"),
	'the slow query waits for the lock');
$m = admission();
is($m->{running}, 1, 'the slow query holds the slot');

my $got503;
my $elapsed;
for (1 .. 30)
{
	my $t0 = time();
	my $res = http_request($node, 'GET', $query, timeout => 3);
	if ($res->{status} == 503)
	{
		$elapsed = time() - $t0;
		$got503 = $res;
		last;
	}
}
ok($got503, 'a second query on the other worker is answered 503');
if ($got503)
{
	my $body = eval { decode_json($got503->{content}) } // {};
	is($body->{status}, 'error', '503 body has status error');
	is($body->{errorType}, 'unavailable', '503 errorType is Prometheus\'s "unavailable"');
	like($body->{error}, qr/too many concurrent queries/, '503 error says why');
	like($got503->{headers}{'content-type'}, qr{^application/json}, '503 is JSON');
	is($got503->{headers}{'retry-after'}, '1', '503 carries Retry-After');
	cmp_ok($elapsed, '>=', 0.25, 'the refused query waited alloy.http_queue_timeout first');
}
$m = admission();
cmp_ok($m->{rejected_total}, '>=', 1, 'the refusal is counted in /metrics');

# series and labels are query-class too; the health check is not
my $labels503 = 0;
for (1 .. 30)
{
	my $res = http_request($node, 'GET', '/api/v1/series?match[]=load_metric', timeout => 3);
	if ($res->{status} == 503) { $labels503 = 1; last; }
}
ok($labels503, '/api/v1/series is refused too');
my $healthy = 0;
for (1 .. 30)
{
	my $res = http_request($node, 'GET', '/-/healthy', timeout => 2);
	if ($res->{status} == 200) { $healthy = 1; last; }
}
ok($healthy, 'the health check still answers');

# remote write is not throttled: a write reaching the free worker gets 204
my $written = 0;
for my $i (1 .. 20)
{
	my $t = int(time()) * 1000;
	my ($out, $err) = ('', '');
	eval {
		IPC::Run::run([ "$ENV{ALLOY_TOP}/test/tools/build/rwclient", "127.0.0.1:$node->{alloy_http_port}" ],
			'<', \qq(load_metric{job="j",i="1"} $i $t\n), '>', \$out, '2>', \$err,
			IPC::Run::timeout(3));
	};
	if ($out =~ /^204/m) { $written = 1; last; }
}
ok($written, 'remote write answers 204 while the query slot is taken');

$lock->query_safe('COMMIT');
waitpid($slow, 0);
is(slurp_status("$tmp/slow1.txt"), '200', 'the slow query answers 200 once the lock is gone');
ok(wait_idle(), 'the slot is free again after the slow query');

# --- a waiting query gets the slot when it frees within the queue timeout ---
$node->append_conf('postgresql.conf', "alloy.http_queue_timeout = 60s\n");
$node->reload;
sleep(2);	# the workers reload between requests, at least once a second
$m = admission();
my $waited_before = $m->{waited_total};
my $rejected_before = $m->{rejected_total};
$lock->query_safe('BEGIN; LOCK TABLE alloy.labels IN ACCESS EXCLUSIVE MODE');
my @kids = (get_in_background($query, "$tmp/slow2.txt"));
ok($node->poll_query_until('postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'alloy http' AND wait_event_type = 'Lock'"),
	'a slow query holds the slot again');
# some of these land on the free worker and queue there
push @kids, get_in_background($query, "$tmp/wait$_.txt") for 1 .. 8;
my $queued = 0;
for (1 .. 100)
{
	$m = admission();
	if ($m->{queued} >= 1) { $queued = 1; last; }
	usleep(100_000);
}
ok($queued, 'queries wait in the queue while the slot is taken');
$lock->query_safe('COMMIT');
waitpid($_, 0) for @kids;
is(slurp_status("$tmp/slow2.txt"), '200', 'the slow query answers 200');
is(join(',', map { slurp_status("$tmp/wait$_.txt") } 1 .. 8), join(',', ('200') x 8),
	'every waiting query got its slot and answered 200');
$m = admission();
cmp_ok($m->{waited_total}, '>', $waited_before, 'waits are counted in /metrics');
is($m->{rejected_total}, $rejected_before, 'nothing was refused within the queue timeout');
ok(wait_idle(), 'the slot is free again after the queue drained');
$lock->quit;

# --- the slot comes back on every path ---
($status) = query_json($node, '/api/v1/query?query=sum(');
is($status, 400, 'a parse error answers 400');
($status) = query_json($node, '/api/v1/query?query=load_metric&time=x');
is($status, 400, 'a bad parameter answers 400');
ok(wait_idle(), 'no slot is held after errors');

# a client that hangs up in the middle of a large streamed answer
for (1 .. 4)
{
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $node->{alloy_http_port}, Proto => 'tcp')
	  or die "connect: $!";
	print $sock "GET $range HTTP/1.1\r\nHost: localhost\r\n\r\n";
	my $buf;
	sysread($sock, $buf, 1000);
	close($sock);
}
ok(wait_idle(), 'no slot is held after clients hung up mid-answer');

my $res = http_request($node, 'GET', $range);
is($res->{status}, 200, 'a large range query answers 200 afterwards');
my $data = eval { decode_json($res->{content}) };
is(scalar @{ $data->{data}{result} // [] }, 200, 'the streamed answer is complete JSON');
is($res->{headers}{'transfer-encoding'}, 'chunked', 'the large answer was streamed');
my $plain = $res->{content};
$res = http_request($node, 'GET', $range, headers => { 'Accept-Encoding' => 'gzip' });
is($res->{headers}{'content-encoding'}, 'gzip', 'a large answer is streamed gzipped');
my $unzipped;
gunzip(\$res->{content} => \$unzipped);
ok(defined $unzipped && $unzipped eq $plain, 'the gzipped stream unzips to the same answer');
ok(wait_idle(), 'the slot count is zero after the large answers');

# A client that stops reading in the middle of a large answer keeps its slot
# (the answer's result is still in memory) until the idle timeout closes it.
$node->append_conf('postgresql.conf', "alloy.http_idle_timeout = 2\n");
$node->restart;
ok(wait_for_http($node, '/-/ready'), 'ready after the restart');
my $big = '/api/v1/query_range?query=load_metric&start=1700000000&end=1700086340&step=15';
socket(my $stall, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
setsockopt($stall, SOL_SOCKET, SO_RCVBUF, 4096) or die "setsockopt: $!";
connect($stall, sockaddr_in($node->{alloy_http_port}, inet_aton('127.0.0.1'))) or die "connect: $!";
syswrite($stall, "GET $big HTTP/1.1\r\nHost: localhost\r\n\r\n");
my $head;
sysread($stall, $head, 1000);
like($head // '', qr{^HTTP/1\.1 200 }, 'the stalled client got the start of its answer');
$m = admission();
is($m->{running}, 1, 'the stalled answer still holds its slot');
ok(wait_idle(), 'the idle timeout closes the stalled answer and frees the slot');
close($stall);

$node->stop;
done_testing();
