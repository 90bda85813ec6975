# Authentication per tenant (basic and bearer), TLS on the alloy port, and
# gzip-compressed API answers.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IO::Uncompress::Gunzip qw(gunzip);
use IPC::Run qw(run);
use MIME::Base64 qw(encode_base64);
use AlloyTest;

# --- authentication
my $node = alloy_node('auth', create_extension => 1, conf => "alloy.http_auth = on\n");
ok(wait_for_http($node, '/-/ready'), 'health checks need no credentials');

my $token = $node->safe_psql('postgres', "SELECT alloy.add_credential('team-a')");
like($token, qr/^[0-9a-f]{64,}$/, 'add_credential makes a long random token');
$node->safe_psql('postgres', "SELECT alloy.add_credential(NULL, 'grafana-secret', 'grafana')");
is($node->safe_psql('postgres', "SELECT count(*) FROM alloy.http_credentials WHERE secret_sha256 LIKE '%grafana%'"),
	'0', 'secrets are stored only as digests');

my $now = int(time()) * 1000;
my $res = http_request($node, 'GET', '/api/v1/query?query=1');
is($res->{status}, 401, 'no credentials: 401');
like($res->{headers}{'www-authenticate'}, qr/^Basic realm="alloy"/, '401 asks for basic auth');
$res = http_request($node, 'GET', '/api/v1/query?query=1', headers => { Authorization => 'Bearer wrong' });
is($res->{status}, 401, 'wrong token: 401');

is(rw_send($node, qq(auth_metric{who="a"} 1 $now\n), header => "Authorization: Bearer $token"), 204,
	'a sender with a tenant token writes');
is(rw_send($node, qq(auth_metric{who="x"} 1 $now\n)), 401, 'a sender without credentials is refused');
is(rw_send($node, qq(auth_metric{who="x"} 1 $now\n), header => "Authorization: Bearer $token", tenant => 'team-b'),
	403, 'a token cannot write into another tenant');
is($node->safe_psql('postgres', "SELECT tenant FROM alloy.series WHERE metric = 'auth_metric'"),
	'team-a', 'the token decides the tenant');

my $basic = 'Basic ' . encode_base64('grafana:grafana-secret', '');
my ($st, $json) = query_json($node, '/api/v1/query?query=auth_metric&time=' . ($now / 1000),
	headers => { Authorization => "Bearer $token" });
is(scalar @{ $json->{data}{result} }, 1, 'the tenant token reads its series');
($st, $json) = query_json($node, '/api/v1/query?query=auth_metric&time=' . ($now / 1000),
	headers => { Authorization => $basic });
is($st, 200, 'basic auth works');
is(scalar @{ $json->{data}{result} }, 0, 'the default tenant does not see team-a');
$res = http_request($node, 'GET', '/api/v1/labels',
	headers => { Authorization => 'Basic ' . encode_base64('grafana:wrong', '') });
is($res->{status}, 401, 'wrong password: 401');

$node->safe_psql('postgres', "SELECT alloy.drop_credential('$token')");
my $revoked = 0;
for (1 .. 150)
{
	$res = http_request($node, 'GET', '/api/v1/query?query=1', headers => { Authorization => "Bearer $token" });
	if ($res->{status} == 401) { $revoked = 1; last; }
	select(undef, undef, undef, 0.1);
}
ok($revoked, 'a dropped credential stops working');
$node->stop;

# --- TLS
my $dir = $PostgreSQL::Test::Utils::tmp_check;
ok(run([ 'openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
			'-subj', '/CN=127.0.0.1', '-keyout', "$dir/alloy.key", '-out', "$dir/alloy.crt" ],
		'>', '/dev/null', '2>', '/dev/null'), 'made a test certificate');
my $tls = alloy_node('tls', create_extension => 1,
	conf => "alloy.tls_cert_file = '$dir/alloy.crt'\nalloy.tls_key_file = '$dir/alloy.key'\n");
my $port = $tls->{alloy_http_port};
my $out = '';
for (1 .. 100)
{
	run([ 'curl', '-sk', "https://127.0.0.1:$port/-/ready" ], '>', \$out, '2>', '/dev/null');
	last if $out =~ /Ready/;
	select(undef, undef, undef, 0.1);
}
like($out, qr/alloy is Ready/, 'the API answers over HTTPS');
run([ 'curl', '-s', '--cacert', "$dir/alloy.crt", "https://127.0.0.1:$port/api/v1/status/buildinfo" ],
	'>', \$out, '2>', '/dev/null');
like($out, qr/"version":"2\.42\.0"/, 'the certificate verifies');
$res = http_request($tls, 'GET', '/-/healthy', timeout => 5);
isnt($res->{status}, 200, 'plain HTTP is not served on a TLS port');

# --- gzip
$tls->safe_psql('postgres', qq(SELECT alloy.write(jsonb_build_object('__name__', 'gz_metric', 'i', i::text), now(), i) FROM generate_series(1, 300) i));
my ($plain, $zipped, $hdr) = ('', '', '');
my $qurl = "https://127.0.0.1:$port/api/v1/query?query=gz_metric&time=" . (time() + 1);
run([ 'curl', '-sk', $qurl ], '>', \$plain);
run([ 'curl', '-sk', '-D', "$dir/headers.txt", '-H', 'Accept-Encoding: gzip', $qurl ], '>', \$zipped);
$hdr = slurp_file("$dir/headers.txt");
like($hdr, qr/^Content-Encoding: gzip\r?$/mi, 'answers are gzipped when the client accepts it');
my $unzipped;
gunzip(\$zipped, \$unzipped);
ok($unzipped eq $plain, 'the gzipped answer is the same JSON');
cmp_ok(length($zipped), '<', length($plain) / 4, 'and much smaller');
unlike(`curl -sk -D - -o /dev/null -H 'Accept-Encoding: gzip;q=0' https://127.0.0.1:$port/api/v1/query?query=gz_metric`,
	qr/Content-Encoding: gzip/i, 'q=0 turns gzip off');
$tls->stop;
done_testing();
