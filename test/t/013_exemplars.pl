# Exemplars end to end: remote write 1.0 requests carrying exemplars go into
# alloy and into a real Prometheus 2.42 (--enable-feature=exemplar-storage),
# then /api/v1/query_exemplars must answer the same JSON from both. Remote
# write 2.0 (which Prometheus 2.42 cannot receive) is checked against alloy
# alone: the Exemplars-Written header, duplicates, invalid exemplars,
# tenants and /metrics.
#
# The requests are encoded here (protobuf by hand, snappy as literal-only
# blocks, which every snappy decoder accepts), because rwclient's text
# format has no syntax for exemplars.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Temp qw(tempdir);
use IPC::Run qw(start);
use JSON::PP;
use AlloyTest;

my ($prometheus) = map { "$_/prometheus" } grep { -x "$_/prometheus" } split /:/, $ENV{PATH};
BAIL_OUT('prometheus 2.42 is not installed (run scripts/install-deps)') unless $prometheus;

# ---------- a minimal remote-write encoder ----------

sub varint
{
	my ($n) = @_;
	my $out = '';
	while ($n >= 0x80)
	{
		$out .= chr(($n & 0x7f) | 0x80);
		$n >>= 7;
	}
	return $out . chr($n);
}
sub field_bytes { my ($f, $b) = @_; return varint($f << 3 | 2) . varint(length $b) . $b }
sub field_double { my ($f, $v) = @_; return varint($f << 3 | 1) . pack('d<', $v) }
sub field_varint { my ($f, $v) = @_; return varint($f << 3) . varint($v) }

# snappy block format with literal elements only
sub snappy
{
	my ($raw) = @_;
	my $out = varint(length $raw);
	for (my $i = 0; $i < length $raw; $i += 65536)
	{
		my $chunk = substr($raw, $i, 65536);
		$out .= chr(61 << 2) . pack('v', length($chunk) - 1) . $chunk;
	}
	return $out;
}

# series: [ [name => value, ...], [[value, ts], ...], [[ [labels], value, ts ], ...] ]
sub rw1
{
	my (@series) = @_;
	my $req = '';
	for my $s (@series)
	{
		my ($labels, $samples, $exemplars) = @$s;
		my $ts = '';
		for (my $i = 0; $i < @$labels; $i += 2)
		{
			$ts .= field_bytes(1, field_bytes(1, $labels->[$i]) . field_bytes(2, $labels->[ $i + 1 ]));
		}
		$ts .= field_bytes(2, field_double(1, $_->[0]) . field_varint(2, $_->[1])) for @$samples;
		for my $e (@{ $exemplars // [] })
		{
			my ($el, $v, $t) = @$e;
			my $m = '';
			for (my $i = 0; $i < @$el; $i += 2)
			{
				$m .= field_bytes(1, field_bytes(1, $el->[$i]) . field_bytes(2, $el->[ $i + 1 ]));
			}
			$ts .= field_bytes(3, $m . field_double(2, $v) . field_varint(3, $t));
		}
		$req .= field_bytes(1, $ts);
	}
	return $req;
}

# the same request shape as remote write 2.0 (symbols table, label refs)
sub rw2
{
	my (@series) = @_;
	my @syms = ('');
	my %ref = ('' => 0);
	my $sym = sub {
		my ($s) = @_;
		unless (exists $ref{$s}) { $ref{$s} = @syms; push @syms, $s }
		return $ref{$s};
	};
	my $body = '';
	for my $s (@series)
	{
		my ($labels, $samples, $exemplars) = @$s;
		my $ts = field_bytes(1, join('', map { varint($sym->($_)) } @$labels));
		$ts .= field_bytes(2, field_double(1, $_->[0]) . field_varint(2, $_->[1])) for @$samples;
		for my $e (@{ $exemplars // [] })
		{
			my ($el, $v, $t) = @$e;
			$ts .= field_bytes(4, field_bytes(1, join('', map { varint($sym->($_)) } @$el))
				  . field_double(2, $v) . field_varint(3, $t));
		}
		$body .= field_bytes(5, $ts);
	}
	return join('', map { field_bytes(4, $_) } @syms) . $body;
}

sub post_rw
{
	my ($node, $raw, %opts) = @_;
	my %headers = (
		'Content-Type' => $opts{v2} ? 'application/x-protobuf;proto=io.prometheus.write.v2.Request'
		: 'application/x-protobuf',
		'Content-Encoding' => 'snappy',
		'X-Prometheus-Remote-Write-Version' => $opts{v2} ? '2.0.0' : '0.1.0');
	$headers{'X-Scope-OrgID'} = $opts{tenant} if $opts{tenant};
	return http_request($node, 'POST', '/api/v1/write', headers => \%headers,
		content => snappy($raw));
}

# ---------- the two servers ----------

my $node = alloy_node('exemplars', create_extension => 1);
ok(wait_for_http($node, '/-/ready'), 'alloy ready');

my $dir = tempdir(DIR => $PostgreSQL::Test::Utils::tmp_check, CLEANUP => 1);
my $prom_port = PostgreSQL::Test::Cluster::get_free_port();
open my $cfg, '>', "$dir/prometheus.yml" or die;
print $cfg "global:\n  scrape_interval: 1m\n";
close $cfg;
my ($out, $err) = ('', '');
my $h = start([ $prometheus, "--config.file=$dir/prometheus.yml",
		"--storage.tsdb.path=$dir/data", "--web.listen-address=127.0.0.1:$prom_port",
		'--web.enable-remote-write-receiver', '--enable-feature=exemplar-storage' ],
	'>', \$out, '2>', \$err);
my $prom = { alloy_http_port => $prom_port };
ok(wait_for_http($prom, '/-/ready'), 'prometheus ready');

# ---------- the same data into both ----------

my $t0 = (int(time() / 60) - 30) * 60_000;
my $long = 'x' x 121;	# trace_id (8) + 121 > 128 runes: dropped by both
my @req1 = (
	[ [ __name__ => 'rpc_seconds_bucket', job => 'api', le => '0.5' ],
	  [ [ 3, $t0 ], [ 5, $t0 + 15_000 ], [ 8, $t0 + 30_000 ] ],
	  [ [ [ trace_id => 'abc', span_id => '' ], 0.25, $t0 + 1_479 ],
		[ [ trace_id => 'def', a_first => '1' ], 6, $t0 + 16_000 ],
		[ [ trace_id => 'def', a_first => '1' ], 6, $t0 + 16_000 ],	# a duplicate
		[ [ trace_id => $long ], 1, $t0 + 20_000 ],
		[ [], 0.125, $t0 + 31_000 ] ] ],
	[ [ __name__ => 'rpc_seconds_bucket', job => 'db', le => '+Inf' ],
	  [ [ 1, $t0 ] ],
	  [ [ [ trace_id => "\x{e9}t\x{e9}" ], 1e-7, $t0 + 2_000 ] ] ],
	[ [ __name__ => 'other_metric', job => 'api' ],
	  [ [ 1, $t0 ] ],
	  [ [ [ trace_id => 'zzz' ], 12345678.5, $t0 + 3_000 ] ] ],
	[ [ __name__ => 'no_exemplars', job => 'api' ], [ [ 1, $t0 ] ] ],
	# a new series whose exemplar comes in an entry of its own, as Prometheus sends them
	[ [ __name__ => 'sent_apart', job => 'api' ], [ [ 2, $t0 ] ] ],
	[ [ __name__ => 'sent_apart', job => 'api' ], [],
	  [ [ [ trace_id => 'apart' ], 2, $t0 + 4_000 ] ] ],
);
utf8::encode($_->[2][0][0][1]) for grep { $_->[0][3] eq 'db' } @req1;
my $raw1 = rw1(@req1);
my $pr = post_rw($prom, $raw1);
ok($pr->{status} == 204 || $pr->{status} == 200, "prometheus takes the request ($pr->{status})")
  or diag($pr->{content});
my $ar = post_rw($node, $raw1);
is($ar->{status}, 204, 'alloy takes the same request') or diag($ar->{content});
# a second request later in time: exemplars must stay in time order per series for Prometheus
my $raw2 = rw1([ [ __name__ => 'rpc_seconds_bucket', job => 'api', le => '0.5' ],
		[ [ 9, $t0 + 45_000 ] ],
		[ [ [ trace_id => 'ghi' ], 7, $t0 + 46_000 ] ] ]);
is(post_rw($prom, $raw2)->{status}, 204, 'prometheus takes request 2');
is(post_rw($node, $raw2)->{status}, 204, 'alloy takes request 2');
# the whole first request again (a retry): nothing new anywhere
post_rw($prom, $raw1);
is(post_rw($node, $raw1)->{status}, 204, 'alloy takes a resent request');
is($node->safe_psql('postgres', 'SELECT count(*) FROM alloy.exemplars'), '7',
	'duplicates and the over-long exemplar are not stored');

# ---------- compare the answers ----------

my $ts = sub { sprintf('%.3f', $_[0] / 1000) };
my ($s0, $s1) = ($ts->($t0), $ts->($t0 + 60_000));
my @queries = (
	"query=rpc_seconds_bucket&start=$s0&end=$s1",
	'query=' . uri_escape('{job="api"}') . "&start=$s0&end=$s1",
	'query=' . uri_escape('histogram_quantile(0.9, sum by (le) (rate(rpc_seconds_bucket[5m])))')
	  . "&start=$s0&end=$s1",
	'query=' . uri_escape('other_metric / on(job) group_left rpc_seconds_bucket{le="0.5"}')
	  . "&start=$s0&end=$s1",
	'query=' . uri_escape('rpc_seconds_bucket{job="api"}') . '&start=' . $ts->($t0 + 1_479)
	  . '&end=' . $ts->($t0 + 16_000),
	'query=rpc_seconds_bucket&start=' . $ts->($t0 + 100_000) . '&end=' . $ts->($t0 + 200_000),
	'query=rpc_seconds_bucket',
	'query=no_exemplars',
	'query=' . uri_escape('1 + 2'),
	'query=' . uri_escape('sum(rate(x[5m]'),
	'query=',
	'query=up&start=notatime',
	"query=up&start=$s1&end=$s0",
);
my $json = JSON::PP->new->canonical;
for my $q (@queries)
{
	my $path = "/api/v1/query_exemplars?$q";
	my $p = http_request($prom, 'GET', $path);
	my $a = http_request($node, 'GET', $path);
	is($a->{status}, $p->{status}, "status of $q");
	if ($p->{status} == 204)
	{
		is($a->{content} // '', '', "no body for $q");
		next;
	}
	my $pj = eval { decode_json($p->{content}) };
	my $aj = eval { decode_json($a->{content}) };
	ok($pj && $aj, "both answer JSON for $q") or diag("prometheus: $p->{content}\nalloy: $a->{content}");
	next unless $pj && $aj;
	# parse errors: the same position, but the text after it is alloy's parser's
	if ($pj->{status} eq 'error' && $pj->{error} =~ /^(\d+:\d+: parse error:)/ && $q ne 'query=')
	{
		my $at = $1;
		is($aj->{errorType}, $pj->{errorType}, "error type for $q");
		like($aj->{error}, qr/^\Q$at\E/, "a parse error at the same place for $q");
		next;
	}
	is($json->encode($aj), $json->encode($pj), "same answer for $q");
	(my $praw = $p->{content}) =~ s/\s+$//;
	is($a->{content}, $praw, "byte-identical answer for $q") if $pj->{status} eq 'success';
}
# POST with a form body works too
my $post = http_request($node, 'POST', '/api/v1/query_exemplars',
	headers => { 'Content-Type' => 'application/x-www-form-urlencoded' },
	content => "query=other_metric&start=$s0&end=$s1");
like($post->{content}, qr/"value":"12345678.5"/, 'POST form');

# ---------- remote write 2.0, alloy only ----------

my @req3 = (
	[ [ __name__ => 'v2_metric', job => 'v2' ],
	  [ [ 1, $t0 ] ],
	  [ [ [ trace_id => 'v2a' ], 1, $t0 + 1 ],
		[ [ 'bad-name' => 'x' ], 2, $t0 + 2 ],
		[ [ trace_id => 'v2b', trace_id => 'dup' ], 3, $t0 + 3 ],
		[ [ trace_id => 'v2c' ], 4, $t0 + 4 ] ] ],
	# exemplars of a series that does not exist and has no samples: dropped
	[ [ __name__ => 'v2_ghost', job => 'v2' ], [],
	  [ [ [ trace_id => 'ghost' ], 5, $t0 + 5 ] ] ],
	# no samples here, but the series exists: kept
	[ [ __name__ => 'other_metric', job => 'api' ], [],
	  [ [ [ trace_id => 'v2d' ], 6, $t0 + 6 ] ] ],
	# exemplars before the samples of a new series, in the same request: kept
	[ [ __name__ => 'v2_apart', job => 'v2' ], [],
	  [ [ [ trace_id => 'v2e' ], 7, $t0 + 7 ] ] ],
	[ [ __name__ => 'v2_apart', job => 'v2' ], [ [ 1, $t0 ] ] ],
);
my $r3 = post_rw($node, rw2(@req3), v2 => 1);
is($r3->{status}, 204, 'remote write 2.0 with exemplars') or diag($r3->{content});
is($r3->{headers}{'x-prometheus-remote-write-exemplars-written'}, '4', 'Exemplars-Written counts stored ones');
is($r3->{headers}{'x-prometheus-remote-write-samples-written'}, '2', 'Samples-Written');
$r3 = post_rw($node, rw2(@req3), v2 => 1);
is($r3->{headers}{'x-prometheus-remote-write-exemplars-written'}, '4',
	'a resent exemplar counts as written, as in Prometheus');
is($node->safe_psql('postgres', q{SELECT count(*) FROM alloy.exemplars e JOIN alloy.series s USING (series_id)
	WHERE s.labels->>'job' = 'v2' OR e.labels->>'trace_id' = 'v2d'}), '4', 'stored once');

# ---------- tenants ----------

my $r4 = post_rw($node, rw1([ [ __name__ => 'rpc_seconds_bucket', job => 'api', le => '0.5' ],
			[ [ 1, $t0 ] ], [ [ [ trace_id => 'team-b-only' ], 42, $t0 + 5_000 ] ] ]),
	tenant => 'team-b');
is($r4->{status}, 204, 'a tenant writes exemplars');
my ($st, $j) = query_json($node, "/api/v1/query_exemplars?query=rpc_seconds_bucket&start=$s0&end=$s1",
	headers => { 'X-Scope-OrgID' => 'team-b' });
is(scalar @{ $j->{data} }, 1, 'the tenant sees its one series');
is($j->{data}[0]{exemplars}[0]{labels}{trace_id}, 'team-b-only', 'and its own exemplar');
($st, $j) = query_json($node, "/api/v1/query_exemplars?query=rpc_seconds_bucket&start=$s0&end=$s1");
ok(!grep({ $_->{labels}{trace_id} eq 'team-b-only' } map { @{ $_->{exemplars} } } @{ $j->{data} }),
	'the default tenant does not see it');

# ---------- metrics and SQL ----------

my $metrics = http_request($node, 'GET', '/metrics')->{content};
my ($stored) = $metrics =~ /^alloy_exemplars_stored_total (\d+)/m;
my ($dropped) = $metrics =~ /^alloy_samples_dropped_total\{kind="exemplar"\} (\d+)/m;
my ($dups) = $metrics =~ /^alloy_exemplars_duplicate_total (\d+)/m;
# stored: 7 (1.0) + 4 (2.0) + 1 (tenant); dropped: 2 over-long (1.0) + 2 x 3 (2.0);
# duplicates: 1 + 7 (1.0 resent) + 4 (2.0 resent)
is($stored, 12, 'alloy_exemplars_stored_total');
is($dropped, 8, 'alloy_samples_dropped_total{kind="exemplar"}');
is($dups, 12, 'alloy_exemplars_duplicate_total');

is($node->safe_psql('postgres', qq{SELECT count(*) FROM alloy.query_exemplars('rpc_seconds_bucket',
	to_timestamp($s0), to_timestamp($s1))}), '5', 'alloy.query_exemplars over SQL');

$h->signal('TERM');
$h->finish;
$node->stop;
done_testing();
