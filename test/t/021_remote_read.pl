# Remote read (POST /api/v1/read), both response types.
#
# Data goes into alloy by remote write (and one long series by SQL). Then:
#  - a REAL Prometheus 2.42 with no local data and `remote_read` pointed at
#    alloy answers /api/v1/query and /api/v1/query_range from alloy's data
#    (Prometheus 2.42 asks for SAMPLES: it sends no accepted_response_types);
#    its answers must equal the values written and alloy's own PromQL answers;
#  - our own client (Python, written here from the protocol description, with
#    its own CRC32C and XOR-chunk decoder) checks SAMPLES and
#    STREAMED_XOR_CHUNKS byte by byte: frames, checksums, chunk sizes, frame
#    splitting of a long series, query_index, range trimming, negotiation;
#  - bad requests get 400/415, and tenants stay apart.
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
BAIL_OUT('prometheus 2.42 is not installed') unless $prometheus;
my $python = '/usr/bin/python3';
BAIL_OUT('/usr/bin/python3 with snappy is needed')
  unless system($python, '-c', 'import snappy') == 0;

# no background seals: the test seals when it wants chunks
my $node = alloy_node('rread', create_extension => 1, conf => "alloy.seal_interval = 3600\n");
ok(wait_for_http($node, '/-/ready'), 'alloy ready');
my $port = $node->{alloy_http_port};
my $dir = tempdir(DIR => $PostgreSQL::Test::Utils::tmp_check, CLEANUP => 1);

# ---------- the client ----------
my $client = "$dir/rrclient.py";
open my $pf, '>', $client or die;
print $pf <<'PY';
# Remote read client: request from JSON on stdin, decoded answer as JSON.
import json, struct, sys, urllib.request, urllib.error
import snappy

import os
sys.path.insert(0, os.path.join(os.environ['ALLOY_TOP'], 'test', 'tools'))
from remote_read_proto import *   # uvarint, field, parse, xor_decode, crc32c, ...

def main():
    req = json.load(sys.stdin)
    if 'raw_body_hex' in req:
        body = bytes.fromhex(req['raw_body_hex'])
    elif 'empty_queries' in req:
        body = snappy.compress(b'\x0a\x00' * req['empty_queries'])
    else:
        body = snappy.compress(encode_request(req))
    headers = {'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy',
               'X-Prometheus-Remote-Read-Version': '0.1.0'}
    headers.update(req.get('headers', {}))
    for k, v in list(headers.items()):
        if v is None:
            del headers[k]
    r = urllib.request.Request('http://127.0.0.1:%d/api/v1/read' % req['port'], data=body,
                               headers=headers, method='POST')
    try:
        resp = urllib.request.urlopen(r, timeout=120)
        status, data, h = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as e:
        status, data, h = e.code, e.read(), e.headers
    res = {'status': status, 'content_type': h.get('Content-Type'),
           'content_encoding': h.get('Content-Encoding')}
    if status != 200:
        res['text'] = data.decode('utf-8', 'replace')
        print(json.dumps(res)); return
    if h.get('Content-Type', '').startswith('application/x-streamed-protobuf'):
        results = [[] for _ in req['queries']]
        frames, max_frame, crc_ok, chunk_sizes, bad_chunks = 0, 0, True, [], []
        last = {}
        i = 0
        while i < len(data):
            n, i = read_uvarint(data, i)
            crc = struct.unpack('>I', data[i:i + 4])[0]; i += 4
            msg = data[i:i + n]; i += n
            frames += 1
            max_frame = max(max_frame, n)
            if crc32c(msg) != crc:
                crc_ok = False
            fields = parse(msg)
            qi = 0
            for f, _, v in fields:
                if f == 2:
                    qi = v
            nseries = 0
            for f, _, v in fields:
                if f != 1:
                    continue
                nseries += 1
                sf = parse(v)
                ls = labels_of(sf)
                key = json.dumps(ls, sort_keys=True)
                if last.get(qi) != key:
                    results[qi].append({'labels': ls, 'samples': [], 'chunks': 0})
                    last[qi] = key
                s = results[qi][-1]
                for ff, _, cv in sf:
                    if ff != 2:
                        continue
                    c = {k: vv for k, _, vv in parse(cv)}
                    mint, maxt = sint64(c.get(1, 0)), sint64(c.get(2, 0))
                    samples = xor_decode(c.get(4, b''))
                    chunk_sizes.append(len(samples))
                    if c.get(3) != 1 or not samples or samples[0][0] != mint or samples[-1][0] != maxt:
                        bad_chunks.append([mint, maxt, c.get(3)])
                    s['chunks'] += 1
                    s['samples'].extend([[t, fmt(b)] for t, b in samples])
            if nseries != 1:
                crc_ok = False
        res.update(results=results, frames=frames, max_frame=max_frame, crc_ok=crc_ok,
                   max_chunk=max(chunk_sizes or [0]), bad_chunks=bad_chunks)
    else:
        raw = snappy.uncompress(data)
        results = []
        for f, _, qr in parse(raw):
            if f != 1:
                continue
            series = []
            for ff, _, ts in parse(qr):
                if ff != 1:
                    continue
                tf = parse(ts)
                samples = []
                for sf, _, sv in tf:
                    if sf != 2:
                        continue
                    d = {k: vv for k, _, vv in parse(sv)}
                    bits = struct.unpack('<Q', d[1])[0] if 1 in d else 0
                    samples.append([sint64(d.get(2, 0)), fmt(bits)])
                series.append({'labels': labels_of(tf), 'samples': samples})
            results.append(series)
        res['results'] = results
    print(json.dumps(res))

main()
PY
close $pf;

my $json = JSON::PP->new->canonical;

# Run one remote read through the client; %req as in the client's input.
sub rread
{
	my (%req) = @_;
	$req{port} //= $port;
	my $in = $json->encode(\%req);
	my ($out, $err) = ('', '');
	IPC::Run::run([ $python, $client ], '<', \$in, '>', \$out, '2>', \$err);
	my $res = eval { decode_json($out) };
	diag("client failed: $err$out") unless $res;
	return $res // { status => 0 };
}

use constant { EQ => 0, NEQ => 1, RE => 2, NRE => 3, SAMPLES => 0, STREAMED => 1 };

# ---------- data ----------
my $step = 15_000;
my $t0 = (int(time() / 3600) - 2) * 3600_000;
my $rounds = 240;
my $tend = $t0 + ($rounds - 1) * $step;
my @instances = map { "10.0.0.$_:9100" } 1 .. 3;
my (@lines, %temp, %counter, %expect);
srand(7);
for my $r (0 .. $rounds - 1)
{
	my $t = $t0 + $r * $step;
	for my $i (0 .. $#instances)
	{
		my $inst = $instances[$i];
		push @lines, qq(up{job="node",instance="$inst"} 1 $t);
		my $v = sprintf('%.3f', 20 + $i + 3 * sin($r / 10) + rand(0.5));
		push @lines, qq(node_temp{job="node",instance="$inst"} $v $t);
		push @{ $expect{"node_temp|$inst"} }, [ $t, $v ];
		for my $path ('/api/a', '/api/b', '/static')
		{
			$counter{"$inst$path"} += int(rand(30));
			push @lines,
			  qq(http_requests_total{job="api",instance="$inst",path="$path"} $counter{"$inst$path"} $t);
		}
	}
	push @lines, qq(stale_metric{job="x"} $r $t) if $r < 100;
	push @lines, qq(stale_metric{job="x"} stale $t) if $r == 100;
}
is(rw_send($node, join("\n", @lines) . "\n"), 204, 'remote write of the test data');
is(rw_send($node, qq(secret_metric{job="b"} 42 $tend\nup{job="node",instance="team-b-host"} 1 $tend\n),
		tenant => 'team-b'), 204, 'remote write for tenant team-b');

# One long series (one sample a second) whose chunks need several frames.
my $nbig = 200_000;
my $big_start = $tend - ($nbig - 1) * 1000;
$node->safe_psql('postgres', qq{
	SELECT alloy.write('{"__name__":"big_series","job":"big"}'::jsonb,
		array_agg(to_timestamp(($big_start + i * 1000::bigint) / 1000.0) ORDER BY i),
		array_agg(((i * 7919) % 10007)::float8 / 7::float8 ORDER BY i))
	FROM generate_series(0, $nbig - 1) i});

# ---------- a real Prometheus reading through alloy ----------
my $prom_port = PostgreSQL::Test::Cluster::get_free_port();
open my $cfg, '>', "$dir/prometheus.yml" or die;
print $cfg <<"YML";
global:
  scrape_interval: 1m
remote_read:
  - url: http://127.0.0.1:$port/api/v1/read
    read_recent: true
YML
close $cfg;
my ($pout, $perr) = ('', '');
my $ph = start([ $prometheus, "--config.file=$dir/prometheus.yml",
		"--storage.tsdb.path=$dir/data", "--web.listen-address=127.0.0.1:$prom_port" ],
	'>', \$pout, '2>', \$perr);
my $prom = { alloy_http_port => $prom_port };
ok(wait_for_http($prom, '/-/ready'), 'prometheus ready');

sub prom_query
{
	my ($target, $path) = @_;
	my ($status, $data, $raw) = query_json($target, $path);
	diag("$path: $status $raw") unless $status == 200 && $data->{status} eq 'success';
	return $data // {};
}

sub lkey { my $m = shift; join(',', map { "$_=$m->{$_}" } sort keys %$m) }

# instant query at a sample's own time: exactly the written value
{
	my $r = 100;
	my $t = $t0 + $r * $step;
	my $d = prom_query($prom, '/api/v1/query?query=' . uri_escape('node_temp{instance="10.0.0.2:9100"}')
		  . '&time=' . ($t / 1000));
	my $res = $d->{data}{result} // [];
	is(scalar(@$res), 1, 'prometheus: one series for an = matcher');
	cmp_ok($res->[0]{value}[1], '==', $expect{'node_temp|10.0.0.2:9100'}[$r][1],
		'prometheus: exact value through remote read');
	is(lkey($res->[0]{metric}), '__name__=node_temp,instance=10.0.0.2:9100,job=node',
		'prometheus: labels through remote read');
	ok(!exists $d->{warnings}, 'prometheus: no remote read warnings') or diag(explain $d->{warnings});
}

# regex matcher (anchored: "10.0.0.1" alone must not match "10.0.0.1:9100")
{
	my $t = ($t0 + 150 * $step) / 1000;
	my $d = prom_query($prom, '/api/v1/query?query=' . uri_escape('node_temp{instance=~"10\\\\.0\\\\.0\\\\.[13]:9100"}')
		  . "&time=$t");
	my @got = sort map { "$_->{metric}{instance}=" . ($_->{value}[1] + 0) } @{ $d->{data}{result} // [] };
	my @want = sort map { "$_=" . ($expect{"node_temp|$_"}[150][1] + 0) } ('10.0.0.1:9100', '10.0.0.3:9100');
	is("@got", "@want", 'prometheus: regex matcher, exact values');
	$d = prom_query($prom, '/api/v1/query?query=' . uri_escape('count(node_temp{instance=~"10\\\\.0\\\\.0\\\\.1"})')
		  . "&time=$t");
	is(scalar(@{ $d->{data}{result} // [] }), 0, 'prometheus: regex matchers are fully anchored');
	$d = prom_query($prom, '/api/v1/query?query=' . uri_escape('count(up{instance!~"10.*"})') . "&time=$t");
	is(scalar(@{ $d->{data}{result} // [] }), 0, 'prometheus: negative regex matcher');
}

# range query: every point equals the written sample at that time
{
	my ($s, $e) = ($t0 / 1000 + 600, $t0 / 1000 + 3000);
	my $d = prom_query($prom, '/api/v1/query_range?query=' . uri_escape('node_temp{job="node"}')
		  . "&start=$s&end=$e&step=60");
	my $res = $d->{data}{result} // [];
	is(scalar(@$res), 3, 'prometheus range query: three series');
	my ($points, $bad) = (0, 0);
	for my $series (@$res)
	{
		my $exp = $expect{"node_temp|$series->{metric}{instance}"};
		for my $p (@{ $series->{values} })
		{
			my $r = ($p->[0] * 1000 - $t0) / $step;
			$points++;
			$bad++ unless $exp->[$r][1] == $p->[1];
		}
	}
	is($points, 3 * 41, 'prometheus range query: every step has a point');
	is($bad, 0, 'prometheus range query: exact values');
}

# functions over remote-read data agree with alloy's own PromQL engine
sub series_points
{
	my ($d) = @_;
	return { map { lkey($_->{metric}) => $_->{values} } @{ $d->{data}{result} // [] } };
}

sub points_differ
{
	my ($p, $a) = @_;
	return "one side missing" unless $p && $a;
	return scalar(@$p) . " points vs " . scalar(@$a) if @$p != @$a;
	for my $i (0 .. $#$p)
	{
		my ($x, $y) = ($p->[$i][1], $a->[$i][1]);
		return "point $i: [@{$p->[$i]}] vs [@{$a->[$i]}]"
		  if $p->[$i][0] != $a->[$i][0]
		  || ($x ne $y && abs($x - $y) > 1e-9 * (abs($x) + abs($y)));
	}
	return undef;
}

for my $q ('sum by (instance) (rate(http_requests_total{path=~"/api/.*"}[5m]))',
	'max_over_time(node_temp[10m])', 'stale_metric', 'count(up)')
{
	my ($s, $e) = ($t0 / 1000 + 300, $t0 / 1000 + 3300);
	my $path = '/api/v1/query_range?query=' . uri_escape($q) . "&start=$s&end=$e&step=120";
	my $p = series_points(prom_query($prom, $path));
	my $a = series_points(prom_query($node, $path));
	ok(scalar(keys %$p) > 0, "prometheus answers $q");
	my @diff;
	for my $k (sort(keys %{ { %$p, %$a } }))
	{
		my $why = points_differ($p->{$k}, $a->{$k});
		push @diff, "{$k}: $why" if $why;
	}
	is(join("\n", @diff), '', "prometheus over remote read = alloy for $q");
}

# tenants: Prometheus (default tenant) never sees team-b's series
{
	my $d = prom_query($prom, '/api/v1/query?query=' . uri_escape('count(up) or secret_metric') . '&time=' . ($tend / 1000));
	my @res = @{ $d->{data}{result} // [] };
	is(scalar(@res), 1, 'prometheus: other tenants stay invisible');
	is($res[0]{value}[1], '3', 'prometheus: default tenant has its three up series');
}

# ---------- our own client: SAMPLES and STREAMED_XOR_CHUNKS ----------
sub samples_text
{
	my ($series) = @_;
	return join(' ', map { "$_->[0]:$_->[1]{v}" } @{ $series->{samples} });
}

my $inst2 = '10.0.0.2:9100';
my @q_temp = ({ start => $t0, end => $tend,
	matchers => [ [ EQ, '__name__', 'node_temp' ], [ EQ, 'instance', $inst2 ] ] });
my $want_temp = join(' ', map { "$_->[0]:" . ($_->[1] + 0) } @{ $expect{"node_temp|$inst2"} });
# Python prints floats with repr: normalise both sides numerically
sub norm { join(' ', map { my ($t, $v) = split /:/; "$t:" . ($v + 0) } split / /, shift) }

{
	my $s = rread(queries => \@q_temp, types => [SAMPLES]);
	is($s->{status}, 200, 'SAMPLES: 200');
	is($s->{content_type}, 'application/x-protobuf', 'SAMPLES: content type');
	is($s->{content_encoding}, 'snappy', 'SAMPLES: snappy encoding');
	is(scalar(@{ $s->{results} }), 1, 'SAMPLES: one result per query');
	is(norm(samples_text($s->{results}[0][0])), $want_temp, 'SAMPLES: every sample, exact');

	my $x = rread(queries => \@q_temp, types => [ STREAMED, SAMPLES ]);
	is($x->{status}, 200, 'STREAMED_XOR_CHUNKS: 200');
	is($x->{content_type}, 'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse',
		'STREAMED_XOR_CHUNKS: content type');
	ok(!defined $x->{content_encoding}, 'STREAMED_XOR_CHUNKS: no content encoding');
	ok($x->{crc_ok}, 'STREAMED_XOR_CHUNKS: every frame checksum right, one series per frame');
	is_deeply($x->{bad_chunks}, [], 'STREAMED_XOR_CHUNKS: XOR chunks with right min/max time');
	is($x->{max_chunk}, 120, 'STREAMED_XOR_CHUNKS: at most 120 samples per chunk');
	is($x->{results}[0][0]{chunks}, 2, 'STREAMED_XOR_CHUNKS: 240 samples in two chunks');
	is(norm(samples_text($x->{results}[0][0])), $want_temp, 'STREAMED_XOR_CHUNKS: every sample, exact');
	is(lkey($x->{results}[0][0]{labels}), '__name__=node_temp,instance=10.0.0.2:9100,job=node',
		'STREAMED_XOR_CHUNKS: labels');
}

# several queries, range trimming, series order and query_index
{
	my @q = ({ start => $t0 + 15_000, end => $t0 + 45_000,
			matchers => [ [ RE, '__name__', 'node_te.p' ] ] },
		{ start => $tend - 15_000, end => $tend,
			matchers => [ [ EQ, '__name__', 'up' ], [ NEQ, 'instance', '10.0.0.1:9100' ] ] },
		{ start => $t0, end => $tend, matchers => [ [ EQ, '__name__', 'no_such_metric' ] ] });
	for my $type (SAMPLES, STREAMED)
	{
		my $name = $type ? 'STREAMED_XOR_CHUNKS' : 'SAMPLES';
		my $x = rread(queries => \@q, types => [$type]);
		my @r = @{ $x->{results} // [] };
		is(scalar(@r), 3, "$name: three queries answered");
		is(join(' ', map { $_->{labels}{instance} } @{ $r[0] }),
			join(' ', @instances), "$name: series in label order");
		is(join(' ', map { scalar(@{ $_->{samples} }) } @{ $r[0] }), '3 3 3',
			"$name: [start, end] inclusive");
		is($r[0][1]{samples}[0][0], $t0 + 15_000, "$name: first sample at start");
		is(join(' ', map { $_->{labels}{instance} . '=' . scalar(@{ $_->{samples} }) } @{ $r[1] }),
			'10.0.0.2:9100=2 10.0.0.3:9100=2', "$name: != matcher, second query");
		is(scalar(@{ $r[2] }), 0, "$name: no series for an unknown metric");
	}
	# out of range: a series without samples in range is left out
	my $x = rread(queries => [ { start => $tend + 1, end => $tend + 100_000,
				matchers => [ [ EQ, '__name__', 'node_temp' ] ] } ], types => [STREAMED]);
	is_deeply($x->{results}, [ [] ], 'series without samples in range are omitted');
}

# stale markers come back bit-exact
{
	my $x = rread(queries => [ { start => $t0 + 99 * $step, end => $t0 + 100 * $step,
				matchers => [ [ EQ, '__name__', 'stale_metric' ] ] } ], types => [STREAMED]);
	is($x->{results}[0][0]{samples}[1][1]{bits}, '7ff0000000000002', 'STREAMED_XOR_CHUNKS: stale marker bit-exact');
	my $s = rread(queries => [ { start => $t0 + 99 * $step, end => $t0 + 100 * $step,
				matchers => [ [ EQ, '__name__', 'stale_metric' ] ] } ]);
	is($s->{results}[0][0]{samples}[1][1]{bits}, '7ff0000000000002', 'SAMPLES: stale marker bit-exact');
}

# a long series is split across frames of about 1MB
{
	my $x = rread(queries => [ { start => 0, end => $tend, matchers => [ [ EQ, 'job', 'big' ] ] } ],
		types => [STREAMED]);
	is($x->{status}, 200, 'long series: 200');
	ok($x->{frames} >= 2, "long series: split into $x->{frames} frames");
	ok($x->{max_frame} <= 1024 * 1024 && $x->{max_frame} > 1000 * 1000, "long series: frames hold up to 1MiB (largest $x->{max_frame})");
	ok($x->{crc_ok}, 'long series: checksums right');
	is_deeply($x->{bad_chunks}, [], 'long series: chunk times right');
	my $series = $x->{results}[0];
	is(scalar(@$series), 1, 'long series: the frames join into one series');
	my @s = @{ $series->[0]{samples} };
	is(scalar(@s), $nbig, "long series: all $nbig samples");
	my $bad = 0;
	for my $i (0 .. $#s)
	{
		$bad++ if $s[$i][0] != $big_start + $i * 1000 || $s[$i][1]{v} != (($i * 7919) % 10007) / 7;
	}
	is($bad, 0, 'long series: every sample exact');
	my $sm = rread(queries => [ { start => 0, end => $tend, matchers => [ [ EQ, 'job', 'big' ] ] } ]);
	is(scalar(@{ $sm->{results}[0][0]{samples} }), $nbig, 'long series: SAMPLES has them all too');
}

# After a seal: stored XOR chunks go out as they are (xor_series repeats
# 1000 + k/3, which XOR stores in a bit a sample and the decimal encoding
# only as 70-bit exceptions, 17 digits being too many, so it seals as XOR), decimal chunks are re-encoded
# (node_temp has 3 decimals), and the samples stay the same. A head sample
# that overrides part of a stored chunk makes that chunk re-encoded.
sub read_chunks_metric
{
	my $m = http_request($node, 'GET', '/metrics');
	my %v = $m->{content} =~ /^alloy_remote_read_chunks_total\{source="(\w+)"\} (\d+)$/mg;
	return \%v;
}
{
	my $nx = 30_000;
	my $x_start = $tend - ($nx - 1) * 1000;
	$node->safe_psql('postgres', qq{
		SELECT alloy.write('{"__name__":"xor_series","job":"xor"}'::jsonb,
			array_agg(to_timestamp(($x_start + i * 1000::bigint) / 1000.0) ORDER BY i),
			array_agg((1000 + (i / 60) / 3.0)::float8 ORDER BY i))
		FROM generate_series(0, $nx - 1) i});
	my @q = ({ start => 0, end => $tend, matchers => [ [ EQ, 'job', 'xor' ] ] });
	my $before = rread(queries => \@q, types => [STREAMED]);
	# a seal moves only batches every snapshot sees: retry until the head is empty
	my $heads;
	for (1 .. 30)
	{
		$node->safe_psql('postgres', 'SELECT alloy.seal()');
		$heads = $node->safe_psql('postgres', q{SELECT sum((alloy.storage_info(c.oid)).head_pages)
			FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			WHERE i.inhparent = 'alloy.samples'::regclass});
		last if $heads eq '0';
		sleep 1;
	}
	is($heads, '0', 'everything sealed');
	my $m0 = read_chunks_metric();
	my $after = rread(queries => \@q, types => [STREAMED]);
	my $m1 = read_chunks_metric();
	my $nchunks = $after->{results}[0][0]{chunks};
	ok($nchunks >= $nx / 120, "sealed XOR chunks: $nchunks chunks");
	is($m1->{stored} - $m0->{stored}, $nchunks, 'sealed XOR chunks: all streamed as stored');
	is($m1->{encoded} - $m0->{encoded}, 0, 'sealed XOR chunks: none re-encoded');
	ok($after->{crc_ok}, 'sealed XOR chunks: checksums right');
	is_deeply($after->{bad_chunks}, [], 'sealed XOR chunks: chunk times right');
	is(scalar(@{ $after->{results}[0][0]{samples} }), $nx, 'sealed XOR chunks: every sample');
	is(samples_text($after->{results}[0][0]), samples_text($before->{results}[0][0]),
		'sealed XOR chunks: the same samples as before the seal');

	my $x = rread(queries => \@q_temp, types => [STREAMED]);
	my $m2 = read_chunks_metric();
	is(norm(samples_text($x->{results}[0][0])), $want_temp, 'decimal chunks: every sample, exact');
	is($m2->{stored} - $m1->{stored}, 0, 'decimal chunks: re-encoded, not streamed as stored');
	is($x->{max_chunk}, 120, 'decimal chunks: re-encoded in chunks of up to 120');

	# a range cutting into the first chunk, and a newer head sample in the middle of another
	my $tover = $x_start + 500 * 1000;
	$node->safe_psql('postgres', qq{SELECT alloy.write('{"__name__":"xor_series","job":"xor"}'::jsonb,
		to_timestamp($tover / 1000.0), 12345)});
	my @q2 = ({ start => $x_start + 50_500, end => $tend, matchers => [ [ EQ, 'job', 'xor' ] ] });
	$m0 = read_chunks_metric();
	$x = rread(queries => \@q2, types => [STREAMED]);
	$m1 = read_chunks_metric();
	my @s = @{ $x->{results}[0][0]{samples} };
	is(scalar(@s), $nx - 51, 'cut range: samples from the first one in range');
	is($s[0][0], $x_start + 51_000, 'cut range: first sample');
	my ($hit) = grep { $_->[0] == $tover } @s;
	cmp_ok($hit->[1]{v}, '==', 12345, 'unsealed overriding sample wins inside a stored chunk');
	is($m1->{encoded} - $m0->{encoded}, 2, 'the cut chunk and the overridden chunk are re-encoded');
	is($m1->{stored} - $m0->{stored}, $x->{results}[0][0]{chunks} - 2, 'every other chunk goes out as stored');
	is_deeply($x->{bad_chunks}, [], 'mixed stored and encoded chunks: chunk times right');

	# Prometheus reads the sealed data (decimal chunks) exactly too
	my ($st, $e) = ($t0 / 1000 + 600, $t0 / 1000 + 3000);
	my $d = prom_query($prom, '/api/v1/query_range?query=' . uri_escape('node_temp{job="node"}')
		  . "&start=$st&end=$e&step=60");
	my $bad = 0;
	for my $series (@{ $d->{data}{result} // [] })
	{
		my $exp = $expect{"node_temp|$series->{metric}{instance}"};
		$bad += grep { $exp->[($_->[0] * 1000 - $t0) / $step][1] != $_->[1] } @{ $series->{values} };
	}
	is(scalar(@{ $d->{data}{result} // [] }) . "/$bad", '3/0', 'prometheus over sealed data: exact values');
}

# response type negotiation
{
	my $x = rread(queries => \@q_temp, types => []);
	is($x->{content_type}, 'application/x-protobuf', 'no accepted types: SAMPLES');
	$x = rread(queries => \@q_temp, types => [ SAMPLES, STREAMED ]);
	is($x->{content_type}, 'application/x-protobuf', 'first accepted type wins');
	$x = rread(queries => \@q_temp, types => [ 7, STREAMED ]);
	like($x->{content_type}, qr/^application\/x-streamed-protobuf/, 'unknown types are skipped');
	$x = rread(queries => \@q_temp, types => [7]);
	is($x->{status}, 400, 'no supported type: 400');
	like($x->{text}, qr/server does not support any of the requested response types/, 'no supported type: reason');
}

# tenants
{
	my @q = ({ start => $t0, end => $tend, matchers => [ [ RE, 'job', '.+' ] ] });
	my $names = sub { join(' ', sort map { "$_->{labels}{__name__}" } @{ $_[0]{results}[0] // [] }) };
	my $b = rread(queries => \@q, headers => { 'X-Scope-OrgID' => 'team-b' }, types => [STREAMED]);
	is($names->($b), 'secret_metric up', 'tenant team-b sees its own series only');
	my $d = rread(queries => \@q, types => [SAMPLES]);
	ok($names->($d) !~ /secret_metric/, 'the default tenant does not see team-b');
	my $n = rread(queries => \@q, headers => { 'X-Scope-OrgID' => 'nobody' });
	is($n->{status}, 200, 'unknown tenant: 200');
	is_deeply($n->{results}, [ [] ], 'unknown tenant: no series');
}

# bad requests
{
	my $x = rread(raw_body_hex => unpack('H*', 'this is not snappy'), queries => []);
	is($x->{status}, 400, 'garbage body: 400');
	like($x->{text}, qr/snappy/, 'garbage body: one-line reason');
	# valid snappy (literal-only block) of bytes that are not a ReadRequest
	my $junk = "\xff\xff\xff\xff\x0f";
	my $block = chr(length $junk) . chr((length($junk) - 1) << 2) . $junk;
	$x = rread(raw_body_hex => unpack('H*', $block), queries => []);
	is($x->{status}, 400, 'snappy of a broken protobuf: 400');
	like($x->{text}, qr/ReadRequest/, 'broken protobuf: reason');
	$x = rread(queries => [ { start => $t0, end => $tend, matchers => [ [ RE, 'job', 'a(b' ] ] } ]);
	is($x->{status}, 400, 'bad regex: 400');
	like($x->{text}, qr/invalid regular expression/, 'bad regex: reason');
	$x = rread(queries => [ { start => $t0, end => $tend, matchers => [ [ RE, 'job', '(?=x)' ] ] } ]);
	is($x->{status}, 400, 'non-RE2 regex (lookahead): 400');
	$x = rread(queries => \@q_temp, headers => { 'Content-Encoding' => 'gzip' });
	is($x->{status}, 415, 'gzip content encoding: 415');
	$x = rread(queries => \@q_temp, headers => { 'Content-Encoding' => undef, 'Content-Type' => undef });
	is($x->{status}, 200, 'no content headers: taken as snappy protobuf, as Prometheus does');
	$x = rread(empty_queries => 200_000, queries => []);
	is($x->{status}, 413, 'a body that unpacks into a flood of empty messages: 413');
	$x = rread(empty_queries => 3, queries => [ {}, {}, {} ]);
	is_deeply($x->{results}, [ [], [], [] ], 'empty queries: one empty result each');
	my $res = http_request($node, 'GET', '/api/v1/read');
	isnt($res->{status}, 200, 'GET /api/v1/read is refused');
	ok(wait_for_http($node, '/-/ready'), 'alloy still ready after the bad requests');
}

# the sample limit (alloy.query_max_samples) bounds what one request may read
{
	$node->safe_psql('postgres', 'ALTER SYSTEM SET alloy.query_max_samples = 1000');
	$node->reload;
	my @q = ({ start => 0, end => $tend, matchers => [ [ EQ, 'job', 'big' ] ] });
	my $x;
	for (1 .. 50)
	{
		$x = rread(queries => \@q, types => [STREAMED]);
		last if $x->{status} == 400;
		sleep 1;
	}
	is($x->{status}, 400, 'over the sample limit: 400');
	like($x->{text} // '', qr/exceeded sample limit \(1000\)/, 'over the sample limit: reason');
	$x = rread(queries => \@q_temp, types => [SAMPLES]);
	is($x->{status}, 200, 'under the sample limit: 200');
	$node->safe_psql('postgres', 'ALTER SYSTEM RESET alloy.query_max_samples');
	$node->reload;
}

# alloy.query_timeout bounds a read; the worker serves the next request normally
{
	$node->safe_psql('postgres', 'ALTER SYSTEM SET alloy.query_timeout = 1');
	$node->reload;
	my @q = ({ start => 0, end => $tend, matchers => [ [ EQ, 'job', 'big' ] ] });
	my $x;
	for (1 .. 50)
	{
		$x = rread(queries => \@q, types => [STREAMED]);
		last if $x->{status} == 503;
		sleep 1;
	}
	is($x->{status}, 503, 'over alloy.query_timeout: 503');
	$node->safe_psql('postgres', 'ALTER SYSTEM RESET alloy.query_timeout');
	$node->reload;
	for (1 .. 50)
	{
		$x = rread(queries => \@q, types => [SAMPLES]);
		last if $x->{status} == 200;
		sleep 1;
	}
	is(scalar(@{ $x->{results}[0][0]{samples} // [] }), $nbig, 'after the timeout is lifted: the whole series');
	ok(wait_for_http($node, '/-/ready'), 'workers still ready');
}

$ph->kill_kill;
$node->stop;
done_testing();
