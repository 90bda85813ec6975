# Remote write: 1.0 and 2.0 requests land in alloy.samples bit-exact, bad
# requests get Prometheus's status codes and do not disturb the next good
# one, tenants are isolated, and /metrics counts it all.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use AlloyTest;
use Time::HiRes qw(usleep);

my $node = alloy_node('remote_write', create_extension => 1,
	conf => "alloy.max_request_bytes = '1MB'\nalloy.tenant_max_samples_per_second = 1000\n"
	  . "alloy.tenant_burst_seconds = 1\nalloy.tenant_max_series = 100\n");
ok(wait_for_http($node, '/-/ready'), 'ready');

my $now = int(time()) * 1000;
my $t1 = $now - 60000;

is(rw_send($node, <<"EOF"), 204, 'remote write 1.0 answers 204');
rw_metric{job="api",instance="a"} 1.5 $t1
rw_metric{job="api",instance="b"} -2.25 $t1
rw_metric{job="api",instance="a"} 3 $now
rw_special{kind="stale"} stale $t1
rw_special{kind="nan"} NaN $t1
rw_special{kind="inf"} +Inf $t1
EOF
is(rw_send($node, qq(rw_v2{job="v2"} 42 $now\n), protocol => 2), 204,
	'remote write 2.0 answers 204');

is($node->safe_psql('postgres', <<'SQL'),
SELECT s.labels->>'instance', (extract(epoch FROM d.time) * 1000)::bigint, d.value
FROM alloy.samples d JOIN alloy.series s USING (series_id)
WHERE s.metric = 'rw_metric' ORDER BY 1, 2
SQL
	"a|$t1|1.5\na|$now|3\nb|$t1|-2.25", 'samples are stored with their labels and times');
is($node->safe_psql('postgres', <<'SQL'),
SELECT s.labels->>'kind', alloy.is_stale_marker(d.value), d.value::text
FROM alloy.samples d JOIN alloy.series s USING (series_id)
WHERE s.metric = 'rw_special' ORDER BY 1
SQL
	"inf|f|Infinity\nnan|f|NaN\nstale|t|NaN", 'stale marker kept bit-exact, other NaN is not stale');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM alloy.samples d JOIN alloy.series s USING (series_id) WHERE s.metric = 'rw_v2'"),
	'1', 'the 2.0 sample is stored');

# identical retries never duplicate
is(rw_send($node, qq(rw_metric{job="api",instance="a"} 3 $now\n)), 204, 'retry accepted');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM alloy.samples d JOIN alloy.series s USING (series_id) WHERE s.metric = 'rw_metric'"),
	'3', 'an identical retry adds no sample');

# bad requests and their codes
sub post
{
	my (%h) = @_;
	return http_request($node, 'POST', '/api/v1/write',
		headers => { 'Content-Type' => $h{type} // 'application/x-protobuf',
			'Content-Encoding' => $h{encoding} // 'snappy' },
		content => $h{body});
}
my $res = post(body => 'this is not snappy');
is($res->{status}, 400, 'garbage body is 400');
like($res->{content}, qr/snappy/, '400 says why');
$res = post(body => "\x05" . 'abc');
is($res->{status}, 400, 'truncated snappy is 400');
$res = post(type => 'application/json', body => '{}');
is($res->{status}, 415, 'unknown content type is 415');
# a snappy header that declares 1GB decompressed, in a tiny body
$res = post(body => "\x80\x80\x80\x80\x04" . ('x' x 20));
is($res->{status}, 413, 'declared decompressed size over the limit is 413');
# a chunked body (no Content-Length) that grows past alloy.max_request_bytes
my $chunks = 0;
$res = http_request($node, 'POST', '/api/v1/write',
	headers => { 'Content-Type' => 'application/x-protobuf', 'Content-Encoding' => 'snappy' },
	content => sub { return $chunks++ < 64 ? ('x' x 65536) : undef });
is($res->{status}, 413, 'chunked body over alloy.max_request_bytes is 413');
is(rw_send($node, qq(rw_after{ok="1"} 1 $now\n)), 204, 'a good request after bad ones works');

# tenants
is(rw_send($node, qq(tenant_metric{who="a"} 1 $now\n), tenant => 'team-a'), 204, 'tenant a writes');
is(rw_send($node, qq(tenant_metric{who="b"} 2 $now\n), tenant => 'team-b'), 204, 'tenant b writes');
my ($st, $json) = query_json($node, "/api/v1/query?query=tenant_metric&time=" . ($now / 1000),
	headers => { 'X-Scope-OrgID' => 'team-a' });
is($st, 200, 'tenant query answers');
is_deeply([ map { $_->{metric}{who} } @{ $json->{data}{result} } ], ['a'], 'tenant a sees only its series');
($st, $json) = query_json($node, "/api/v1/query?query=tenant_metric&time=" . ($now / 1000));
is(scalar @{ $json->{data}{result} }, 0, 'the default tenant sees neither');

# per-tenant rate limit: a burst over it is refused whole with 429
my $big = join('', map { qq(limited_metric{i="$_"} 1 $now\n) } 1 .. 1500);
is(rw_send($node, $big, tenant => 'limited'), 429, 'a request over the tenant rate is 429');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM alloy.series WHERE metric = 'limited_metric'"),
	'0', 'nothing of a refused request is stored');
is(rw_send($node, qq(limited_metric{i="1"} 1 $now\n), tenant => 'limited'), 204,
	'a small request of the same tenant still passes');
is(rw_send($node, qq(other_metric{i="1"} 1 $now\n), tenant => 'team-a'), 204,
	'other tenants are not limited by it');

# per-tenant series limit: a request that would pass it is refused whole
my $many = join('', map { qq(card_metric{i="$_"} 1 $now\n) } 1 .. 60);
is(rw_send($node, $many, tenant => 'cardinality'), 204, '60 new series fit under the limit of 100');
$many = join('', map { qq(card_metric{i="$_"} 1 $now\n) } 61 .. 120);
is(rw_send($node, $many, tenant => 'cardinality'), 429, 'a request that would pass 100 series is 429');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM alloy.series WHERE tenant = 'cardinality'"),
	'60', 'no series of the refused request is created');
is(rw_send($node, qq(card_metric{i="5"} 2 $now\n), tenant => 'cardinality'), 204,
	'known series of a tenant at its limit are still written');

# /metrics counts what happened
$res = http_request($node, 'GET', '/metrics');
my ($ingested) = $res->{content} =~ /^alloy_samples_ingested_total (\d+)$/m;
is($ingested, 74, 'every acknowledged sample counted once');
like($res->{content}, qr/^alloy_remote_write_rejected_requests_total\{reason="invalid"\} 2$/m,
	'invalid requests counted');
like($res->{content}, qr/^alloy_remote_write_rejected_requests_total\{reason="rate_limited"\} 1$/m,
	'rate-limited requests counted');
like($res->{content}, qr/^alloy_http_requests_total\{handler="\/api\/v1\/write",code="415"\} 1$/m,
	'415 counted by handler and code');
my ($nseries) = $res->{content} =~ /^alloy_series (\d+)$/m;
is($nseries, $node->safe_psql('postgres', 'SELECT count(*) FROM alloy.series'),
	'/metrics counts the series in the catalog');
my ($hits) = $res->{content} =~ /^alloy_series_cache_hits_total (\d+)$/m;
cmp_ok($hits, '>', 0, 'repeated series are served by the cache');

# the HTTP workers report their statistics: the catalog inserts they made show
# in pg_stat_user_tables (autovacuum and autoanalyze go by them)
my $ins = 0;
for (1 .. 100)
{
	$ins = $node->safe_psql('postgres', q{SELECT pg_stat_force_next_flush();
		SELECT coalesce(sum(n_tup_ins), 0) FROM pg_stat_user_tables
		 WHERE schemaname = 'alloy' AND relname = 'series_catalog'});
	last if $ins >= $nseries && $nseries > 0;
	usleep(100_000);
}
cmp_ok($ins, '>=', $nseries, "the workers' catalog inserts reach pg_stat_user_tables ($ins of $nseries)");

$node->stop;
done_testing();
