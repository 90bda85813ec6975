# A real Prometheus 2.42 scrapes itself every second and remote-writes to
# alloy: every series it has arrives, and it reports no failed samples.
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

# the oracle is part of the test dependencies (scripts/install-deps)
my ($prometheus) = map { "$_/prometheus" } grep { -x "$_/prometheus" } split /:/, $ENV{PATH};
BAIL_OUT('prometheus 2.42 is not installed (run scripts/install-deps)') unless $prometheus;

my $node = alloy_node('prom_rw', create_extension => 1);
ok(wait_for_http($node, '/-/ready'), 'alloy ready');

my $dir = tempdir(DIR => $PostgreSQL::Test::Utils::tmp_check, CLEANUP => 1);
my $prom_port = PostgreSQL::Test::Cluster::get_free_port();
open my $cfg, '>', "$dir/prometheus.yml" or die;
print $cfg <<"YAML";
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$prom_port']
remote_write:
  - url: http://127.0.0.1:$node->{alloy_http_port}/api/v1/write
    queue_config:
      batch_send_deadline: 1s
      max_samples_per_send: 500
    metadata_config:
      send_interval: 1s
YAML
close $cfg;

my ($out, $err) = ('', '');
my $h = start([ $prometheus, "--config.file=$dir/prometheus.yml",
		"--storage.tsdb.path=$dir/data", "--web.listen-address=127.0.0.1:$prom_port" ],
	'>', \$out, '2>', \$err);

my $http = HTTP::Tiny->new(timeout => 10);
sub prom_query
{
	my ($q) = @_;
	my $r = $http->get("http://127.0.0.1:$prom_port/api/v1/query?query=" . $q);
	return undef unless $r->{success};
	return decode_json($r->{content})->{data}{result};
}

# let it scrape and send for a while
my $sent = 0;
for (1 .. 150)
{
	my $res = prom_query('prometheus_remote_storage_samples_total');
	$sent = $res->[0]{value}[1] if $res && @$res;
	last if $sent > 5000;
	usleep(200_000);
}
cmp_ok($sent, '>', 5000, 'Prometheus sent samples to alloy');

# every series Prometheus has shows up in alloy
my $r = $http->get("http://127.0.0.1:$prom_port/api/v1/series?match[]=" . '{job="prometheus"}');
my $prom_series = decode_json($r->{content})->{data};
cmp_ok(scalar @$prom_series, '>', 100, 'Prometheus has its own series');
my %want = map { my $s = $_; (join(',', map { "$_=$s->{$_}" } sort keys %$s) => 1) } @$prom_series;

my $missing;
for (1 .. 100)
{
	my ($st, $json) = query_json($node, '/api/v1/series?match[]=' . '{job="prometheus"}');
	my %have = map { my $s = $_; (join(',', map { "$_=$s->{$_}" } sort keys %$s) => 1) } @{ $json->{data} };
	$missing = grep { !$have{$_} } keys %want;
	last if $missing == 0;
	usleep(200_000);
}
is($missing, 0, 'every series of Prometheus arrived in alloy');

my $failed = prom_query('prometheus_remote_storage_samples_failed_total');
is($failed->[0]{value}[1], '0', 'Prometheus reports no failed samples');
my $dropped = prom_query('prometheus_remote_storage_samples_dropped_total');
is($dropped->[0]{value}[1], '0', 'Prometheus reports no dropped samples');

# the same value through alloy's API as in Prometheus, for a gauge that does not move
my ($st, $json) = query_json($node, '/api/v1/query?query=' . 'prometheus_config_last_reload_successful');
is($json->{data}{result}[0]{value}[1], '1', 'alloy answers PromQL over what Prometheus sent');

# metric metadata arrives too, as Prometheus itself reports it
my $meta_ok = 0;
my $want_meta = decode_json($http->get("http://127.0.0.1:$prom_port/api/v1/metadata?metric=prometheus_http_requests_total")->{content})->{data}{prometheus_http_requests_total}[0];
for (1 .. 50)
{
	my ($mst, $mj) = query_json($node, '/api/v1/metadata?metric=prometheus_http_requests_total');
	my $got = $mj->{data}{prometheus_http_requests_total};
	if ($got && $got->[0]{type} eq $want_meta->{type} && $got->[0]{help} eq $want_meta->{help})
	{
		$meta_ok = 1;
		last;
	}
	usleep(200_000);
}
ok($meta_ok, 'metric metadata (type and help) arrives and is served by /api/v1/metadata');
my ($mst, $mj) = query_json($node, '/api/v1/metadata?limit=3');
is(scalar keys %{ $mj->{data} }, 3, 'metadata limit is honoured');

$h->signal('TERM');
$h->finish;
$node->stop;
done_testing();
