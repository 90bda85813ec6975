# The Prometheus HTTP API against the oracle: the same remote-write requests
# go into a real Prometheus 2.42 and into alloy, then the same query,
# query_range, series, labels and label-values requests go to both and the
# JSON answers must agree (series order aside; floats to 1e-9 relative).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Temp qw(tempdir);
use IPC::Run qw(start);
use JSON::PP;
use Time::HiRes qw(usleep);
use AlloyTest;

my ($prometheus) = map { "$_/prometheus" } grep { -x "$_/prometheus" } split /:/, $ENV{PATH};
BAIL_OUT('prometheus 2.42 is not installed (run scripts/install-deps)') unless $prometheus;

my $node = alloy_node('oracle', create_extension => 1);
ok(wait_for_http($node, '/-/ready'), 'alloy ready');

my $dir = tempdir(DIR => $PostgreSQL::Test::Utils::tmp_check, CLEANUP => 1);
my $prom_port = PostgreSQL::Test::Cluster::get_free_port();
open my $cfg, '>', "$dir/prometheus.yml" or die;
print $cfg "global:\n  scrape_interval: 1m\n";
close $cfg;
my ($out, $err) = ('', '');
my $h = start([ $prometheus, "--config.file=$dir/prometheus.yml",
		"--storage.tsdb.path=$dir/data", "--web.listen-address=127.0.0.1:$prom_port",
		'--web.enable-remote-write-receiver' ],
	'>', \$out, '2>', \$err);
my $prom = { alloy_http_port => $prom_port };
ok(wait_for_http($prom, '/-/ready'), 'prometheus ready');

# One hour of deterministic data, every 15s.
srand(42);
my $step = 15_000;
my $t0 = (int(time() / 3600) - 2) * 3600_000;
my $rounds = 240;
my $tend = $t0 + ($rounds - 1) * $step;
my @lines;
my @instances = map { "10.0.0.$_:9100" } 1 .. 4;
my %counter;
my %temp = map { $_ => 15 + 2 * $_ } 0 .. 3;
my @buckets = ('0.1', '0.5', '1', '+Inf');
my %bucket;
for my $r (0 .. $rounds - 1)
{
	my $t = $t0 + $r * $step;
	for my $i (0 .. 3)
	{
		my $inst = $instances[$i];
		my $upv = ($i == 3 && $r > 200) ? 0 : 1;
		push @lines, qq(up{job="node",instance="$inst"} $upv $t);
		for my $path ('/api/a', '/api/b', '/static')
		{
			my $k = "$inst$path";
			$counter{$k} += int(rand(20));
			$counter{$k} = 0 if $i == 1 && $path eq '/api/b' && $r == 120;	# a reset
			push @lines, qq(http_requests_total{job="api",instance="$inst",path="$path"} $counter{$k} $t);
		}
		$temp{$i} = sprintf('%.2f', $temp{$i} + rand(1) - 0.5);
		push @lines, qq(node_temp{job="node",instance="$inst"} $temp{$i} $t);
	}
	my $cum = 0;
	for my $le (@buckets)
	{
		$cum += int(rand(10));
		$bucket{$le} += $cum;
		push @lines, qq(req_duration_seconds_bucket{job="api",le="$le"} $bucket{$le} $t);
	}
	if ($r < 100)
	{
		push @lines, qq(stale_metric{job="x"} $r $t);
	}
	elsif ($r == 100)
	{
		push @lines, qq(stale_metric{job="x"} stale $t);
	}
}
my $data = join("\n", @lines) . "\n";
is(rw_send($prom, $data), 204, 'the oracle takes the data');
is(rw_send($node, $data), 204, 'alloy takes the same data');

# canonical forms for comparing answers
sub lkey { my $m = shift; join(',', map { "$_=$m->{$_}" } sort keys %$m) }

sub values_differ
{
	my ($a, $b) = @_;
	return 0 if $a eq $b;
	return 1 if $a !~ /^[-+0-9.eE]+$/ || $b !~ /^[-+0-9.eE]+$/;
	my $d = abs($a - $b);
	return 0 if $d == 0;
	return $d / (abs($a) + abs($b)) > 1e-9;
}

sub compare_data
{
	my ($what, $pj, $aj) = @_;
	return "status $pj->{status} vs $aj->{status}" if $pj->{status} ne $aj->{status};
	if ($pj->{status} eq 'error')
	{
		return "errorType $pj->{errorType} vs $aj->{errorType}" if $pj->{errorType} ne $aj->{errorType};
		# a parse error names the same place the same way ("1:5: parse error:");
		# the text after it is alloy's parser's own
		if ($pj->{error} =~ /^((?:invalid parameter "query": )?\d+:\d+: parse error:)/)
		{
			my $at = $1;
			return "error '$aj->{error}' does not start like '$at'" if index($aj->{error}, $at) != 0;
		}
		return undef;
	}
	my ($pd, $ad) = ($pj->{data}, $aj->{data});
	if (ref $pd eq 'ARRAY')
	{
		# series / labels / label values
		my @p = sort map { ref $_ ? lkey($_) : $_ } @$pd;
		my @a = sort map { ref $_ ? lkey($_) : $_ } @$ad;
		return "answers differ:\n  prometheus: @p\n  alloy:      @a" if "@p" ne "@a";
		return undef;
	}
	return "resultType $pd->{resultType} vs $ad->{resultType}" if $pd->{resultType} ne $ad->{resultType};
	if ($pd->{resultType} eq 'scalar' || $pd->{resultType} eq 'string')
	{
		return "scalar @{$pd->{result}} vs @{$ad->{result}}"
		  if $pd->{result}[0] != $ad->{result}[0] || values_differ($pd->{result}[1], $ad->{result}[1]);
		return undef;
	}
	my %p = map { lkey($_->{metric}) => $_ } @{ $pd->{result} };
	my %a = map { lkey($_->{metric}) => $_ } @{ $ad->{result} };
	for my $k (sort keys %p)
	{
		return "series {$k} missing in alloy" unless $a{$k};
		my @pv = $p{$k}{value} ? ($p{$k}{value}) : @{ $p{$k}{values} };
		my @av = $a{$k}{value} ? ($a{$k}{value}) : @{ $a{$k}{values} };
		return "series {$k}: " . scalar(@pv) . " points vs " . scalar(@av) if @pv != @av;
		for my $i (0 .. $#pv)
		{
			return "series {$k} point $i: [@{$pv[$i]}] vs [@{$av[$i]}]"
			  if $pv[$i][0] != $av[$i][0] || values_differ($pv[$i][1], $av[$i][1]);
		}
	}
	for my $k (sort keys %a)
	{
		return "series {$k} only in alloy" unless $p{$k};
	}
	return undef;
}

sub both
{
	my ($path) = @_;
	my (undef, $pj) = query_json($prom, $path);
	my (undef, $aj) = query_json($node, $path);
	return ($pj, $aj);
}

my @queries = (
	'up', 'http_requests_total', 'http_requests_total{path=~"/api/.*"}',
	'http_requests_total{path!~"/api/.*",job="api"}', 'rate(http_requests_total[5m])',
	'irate(http_requests_total[5m])', 'increase(http_requests_total[10m])',
	'sum by (path) (rate(http_requests_total[5m]))',
	'sum without (instance) (rate(http_requests_total[5m]))', 'avg(node_temp)',
	'max by (instance) (node_temp)', 'topk(2, node_temp)', 'bottomk(1, node_temp)',
	'quantile(0.5, node_temp)', 'count_values("v", up)', 'stddev(node_temp)',
	'avg_over_time(node_temp[10m])', 'max_over_time(node_temp[5m:1m])',
	'min_over_time(rate(http_requests_total[5m])[15m:1m])',
	'histogram_quantile(0.9, sum by (le) (rate(req_duration_seconds_bucket[5m])))',
	'histogram_quantile(0.5, rate(req_duration_seconds_bucket[5m]))',
	'predict_linear(node_temp[15m], 600)', 'deriv(node_temp[10m])', 'delta(node_temp[10m])',
	'changes(node_temp[10m])', 'resets(http_requests_total[30m])', 'node_temp offset 10m',
	'node_temp > 20', 'node_temp > bool 20', 'http_requests_total / on(instance) group_left up',
	'rate(http_requests_total[5m]) * 60',
	'sum(rate(http_requests_total[5m])) by (job) / scalar(count(up))',
	'absent(nonexistent_metric)', 'vector(1)', '1 + 1', 'time()',
	'label_replace(up, "host", "$1", "instance", "(.*):.*")', 'clamp_max(node_temp, 20)',
	'round(node_temp)', 'timestamp(node_temp)', 'stale_metric', 'count(stale_metric)',
	'-node_temp', 'node_temp and on(instance) up == 1', 'count by (job) (up == 0)',
	'avg by (job) (node_temp) unless on(job) up',
);

my $tq = $tend / 1000;
my $tstart = ($t0 + 600_000) / 1000;
for my $q (@queries)
{
	my $eq = uri_escape($q);
	my ($pj, $aj) = both("/api/v1/query?query=$eq&time=$tq");
	diag("$q => " . encode_json($aj)) if $ENV{ALLOY_DEBUG};
	my $diff = compare_data($q, $pj, $aj);
	ok(!defined $diff, "query $q") or diag($diff);
	($pj, $aj) = both("/api/v1/query_range?query=$eq&start=$tstart&end=$tq&step=60");
	$diff = compare_data($q, $pj, $aj);
	ok(!defined $diff, "query_range $q") or diag($diff);
}

# byte for byte: how floats and times are spelled (samples, scalars, strings)
for my $q ('1e-7', '1e21', '-0', '1e-300', '"a string"', 'time()', 'vector(1e-7)',
	'vector(1e21)', '0.1+0.2', '1/0', '-1/0', '0/0', 'vector(-0)', 'vector(123456.789)')
{
	for my $t ('1000.5', '0', '-5.25', $tq)
	{
		my $path = '/api/v1/query?query=' . uri_escape($q) . "&time=$t";
		my (undef, undef, $pc) = query_json($prom, $path);
		my (undef, undef, $ac) = query_json($node, $path);
		is($ac, $pc, "same bytes: $q at $t");
	}
}

# Grafana's request shapes: form-encoded POSTs, RFC 3339 times, duration
# steps, repeated match[], __name__ value lookups
sub post_both
{
	my ($path, $form) = @_;
	my @r;
	for my $n ($prom, $node)
	{
		my $res = http_request($n, 'POST', $path,
			headers => { 'Content-Type' => 'application/x-www-form-urlencoded' },
			content => $form);
		push @r, eval { decode_json($res->{content}) };
	}
	return @r;
}
sub rfc3339
{
	my @t = gmtime($_[0] / 1000);
	return sprintf('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0], $_[0] % 1000);
}
for my $form (
	'query=' . uri_escape('sum by (path) (rate(http_requests_total[5m]))') . '&start=' . uri_escape(rfc3339($t0 + 600_000))
	  . '&end=' . uri_escape(rfc3339($tend)) . '&step=30s',
	'query=' . uri_escape('histogram_quantile(0.9, sum by (le) (rate(req_duration_seconds_bucket[5m])))')
	  . "&start=$tstart&end=$tq&step=60.5",
	'query=' . uri_escape('1+1') . "&start=$tstart&end=$tq&step=300")
{
	my ($pj, $aj) = post_both('/api/v1/query_range', $form);
	my $diff = compare_data($form, $pj, $aj);
	ok(!defined $diff, "POST query_range $form") or diag($diff);
}
for my $form ('query=' . uri_escape('topk(3, node_temp)') . '&time=' . uri_escape(rfc3339($tend)),
	'query=' . uri_escape('up == 1') . "&time=$tq&timeout=30s")
{
	my ($pj, $aj) = post_both('/api/v1/query', $form);
	my $diff = compare_data($form, $pj, $aj);
	ok(!defined $diff, "POST query $form") or diag($diff);
}
for my $form ('match[]=' . uri_escape('{__name__=~"node_.*"}') . '&match[]=up' . "&start=$tstart&end=$tq",
	'match[]=' . uri_escape('http_requests_total{path="/static"}'))
{
	my ($pj, $aj) = post_both('/api/v1/series', $form);
	my $diff = compare_data($form, $pj, $aj);
	ok(!defined $diff, "POST series $form") or diag($diff);
	($pj, $aj) = post_both('/api/v1/labels', $form);
	$diff = compare_data($form, $pj, $aj);
	ok(!defined $diff, "POST labels $form") or diag($diff);
}

# the metadata endpoints
for my $path ('/api/v1/series?match[]=up', '/api/v1/series?match[]=' . uri_escape('{job="api"}'),
	'/api/v1/series?match[]=up&match[]=node_temp', '/api/v1/labels',
	'/api/v1/label/instance/values', '/api/v1/label/__name__/values',
	'/api/v1/labels?match[]=node_temp', '/api/v1/label/path/values?match[]=' . uri_escape('http_requests_total{instance="10.0.0.1:9100"}'))
{
	my ($pj, $aj) = both($path);
	my $diff = compare_data($path, $pj, $aj);
	ok(!defined $diff, "GET $path") or diag($diff);
}

# errors: same status and error type
for my $path ('/api/v1/query?query=' . uri_escape('sum('), '/api/v1/query?query=' . uri_escape('rate(up)'),
	"/api/v1/query_range?query=" . uri_escape('up{') . "&start=$tstart&end=$tq&step=60",
	'/api/v1/query?query=' . uri_escape("sum(\n  rate(up[5m]) +\n)"),
	"/api/v1/query_range?query=up&start=$tstart&end=$tq&step=0",
	"/api/v1/query_range?query=up&start=0&end=$tq&step=1", "/api/v1/query?query=up&time=notatime",
	'/api/v1/series', '/api/v1/query?query=' . uri_escape('http_requests_total + on(instance) up'))
{
	my ($ps) = query_json($prom, $path);
	my ($as) = query_json($node, $path);
	my ($pj, $aj) = both($path);
	is($as, $ps, "status of $path");
	my $diff = compare_data($path, $pj, $aj);
	ok(!defined $diff, "error of $path") or diag($diff);
}

# time parameters: the error text itself, word for word. Prometheus 2.42
# spells a bad time two ways: query_range's start and end say
# 'invalid parameter "start": cannot parse ...', every parameter read by its
# parseTimeParam (query's time, series, labels, label values, exemplars)
# wraps that in "Invalid time value for 'start': ...".
for my $path ("/api/v1/query?query=up&time=notatime", '/api/v1/query?query=up&time=1e400',
	'/api/v1/query?query=up&time=2015-02-30T20:10:51Z', '/api/v1/query?query=up&time=2015-07-01t20:10:51Z',
	'/api/v1/query?query=up&time=2015-07-01T20:10:60Z', '/api/v1/query?query=up&time=2015-07-01T20:10:51z',
	'/api/v1/query?query=up&time=2015-07-01T20:10:51.1234567891Z', '/api/v1/query?query=up&time=2015-07-01T20:10:51.Z',
	'/api/v1/query?query=up&time=0x10', '/api/v1/query?query=up&time=' . uri_escape(' 5'),
	'/api/v1/query?query=up&timeout=x',
	"/api/v1/query_range?query=up&start=x&end=$tq&step=60", "/api/v1/query_range?query=up&start=$tstart&end=x&step=60",
	"/api/v1/query_range?query=up&end=$tq&step=60", "/api/v1/query_range?query=up&start=$tstart&step=60",
	"/api/v1/query_range?query=up&start=&end=$tq&step=60", "/api/v1/query_range?query=up&start=x&end=y&step=z",
	"/api/v1/query_range?query=up&start=$tstart&end=$tq&step=x", "/api/v1/query_range?query=up&start=$tstart&end=$tq",
	"/api/v1/query_range?query=up&start=$tq&end=$tstart&step=60",
	'/api/v1/series?match[]=up&start=x', '/api/v1/series?match[]=up&end=x', '/api/v1/series?match[]=up&start=x&end=y',
	'/api/v1/series?match[]=up&start=2015-13-01T00:00:00Z', '/api/v1/labels?start=x', '/api/v1/labels?end=x',
	'/api/v1/label/job/values?start=x', '/api/v1/label/job/values?end=x',
	'/api/v1/query_exemplars?query=up&start=x', '/api/v1/query_exemplars?query=up&end=x')
{
	my ($ps, $pj) = query_json($prom, $path);
	my ($as, $aj) = query_json($node, $path);
	is($as, $ps, "status of $path");
	is($aj->{error} // '(none)', $pj->{error} // '(none)', "error text of $path");
	is($aj->{errorType} // '(none)', $pj->{errorType} // '(none)', "error type of $path");
}

# times both accept: a comma before the fraction, and Prometheus's own
# MinTime and MaxTime spelled out (clients echo them back)
for my $path ('/api/v1/query?query=up&time=' . uri_escape(rfc3339($tend) =~ s/\./,/r),
	'/api/v1/series?match[]=up&start=-292273086-05-16T16:47:06Z&end=292277025-08-18T07:12:54.999999999Z',
	'/api/v1/labels?start=-292273086-05-16T16:47:06Z&end=292277025-08-18T07:12:54.999999999Z',
	'/api/v1/series?match[]=up&start=' . uri_escape('2016-02-29T00:00:00Z'),
	'/api/v1/query?query=time()&time=0x1p30', "/api/v1/query?query=time()&time=$tq&timeout=0x1p4")
{
	my ($pj, $aj) = both($path);
	my $diff = compare_data($path, $pj, $aj);
	ok(!defined $diff, "GET $path") or diag($diff);
}

$h->signal('TERM');
$h->finish;
$node->stop;
done_testing();
