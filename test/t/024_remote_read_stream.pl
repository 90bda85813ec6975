# Remote read STREAMED_XOR_CHUNKS answers are streamed, not buffered.
#
# Two million samples (200 series of 10,000 random floats, sealed into
# chunks) are read back in one streamed remote read through one HTTP worker:
#  - the answer arrives chunked (Transfer-Encoding: chunked), every frame's
#    CRC32C holds, every frame is at most 1MiB, series come in label order,
#    every sample is there, and one series decodes to exactly what SQL holds;
#  - the worker's peak RSS during the read (VmHWM, reset through
#    /proc/PID/clear_refs) grows by less than about one copy of the answer:
#    buffering it whole took two to three copies (the answer, a grown
#    StringInfo's old half, libmicrohttpd's copy);
#  - a large SAMPLES answer (one snappy block by protocol) goes out in
#    pieces too, and decompresses whole;
#  - a client that hangs up mid-stream leaves the worker serving (same pid),
#    its query slot released (alloy_http_queries_running back to 0), and the
#    next read whole.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Temp qw(tempdir);
use IPC::Run qw(run);
use JSON::PP;
use Time::HiRes qw(usleep);
use AlloyTest;

my $python = '/usr/bin/python3';
BAIL_OUT('/usr/bin/python3 with snappy is needed')
  unless system($python, '-c', 'import snappy') == 0;

# one HTTP worker, so the pid measured is the one that answers
my $node = alloy_node('rstream', create_extension => 1,
	conf => "alloy.http_workers = 1\nalloy.seal_interval = 3600\n");
ok(wait_for_http($node, '/-/ready'), 'alloy ready');
my $port = $node->{alloy_http_port};
my $dir = tempdir(DIR => $PostgreSQL::Test::Utils::tmp_check, CLEANUP => 1);

my $nseries = 200;
my $nper = 10_000;
my $t0 = 1_700_000_000_000;
my $step = 15_000;
my $tend = $t0 + ($nper - 1) * $step;
$node->safe_psql('postgres', qq{
	SELECT sum(n) FROM (
		SELECT alloy.write(jsonb_build_object('__name__', 'big', 'i', lpad(i::text, 3, '0')),
						   array_agg(to_timestamp(($t0 + j * $step) / 1000.0) ORDER BY j),
						   array_agg(random() * 1000 ORDER BY j)) AS n
		FROM generate_series(1, $nseries) i, generate_series(0, $nper - 1) j GROUP BY i) w;
	SELECT alloy.seal();
});
is($node->safe_psql('postgres', "SELECT count(*) FROM alloy.series WHERE metric = 'big'"),
	$nseries, 'series written');

# ---------- the client ----------
my $client = "$dir/rsclient.py";
open my $pf, '>', $client or die;
print $pf <<'PY';
# Streamed remote read client: reads the answer as it arrives and checks it.
import http.client, json, socket, struct, sys
import snappy
try:
    import crcmod.predefined
    crc32c = crcmod.predefined.mkCrcFun('crc-32c')
except ImportError:
    crc32c = None

import os
sys.path.insert(0, os.path.join(os.environ['ALLOY_TOP'], 'test', 'tools'))
from remote_read_proto import uvarint, field, read_uvarint, parse, xor_decode

def main():
    req = json.load(sys.stdin)
    q = field(1, 0, req['start']) + field(2, 0, req['end'])
    q += field(3, 2, field(2, 2, b'__name__') + field(3, 2, req['metric'].encode()))
    if req.get('i_re'):
        q += field(3, 2, field(1, 0, 2) + field(2, 2, b'i') + field(3, 2, req['i_re'].encode()))
    rtype = 0 if req.get('samples') else 1
    body = snappy.compress(field(1, 2, q) + field(2, 2, uvarint(rtype)))
    hdrs = {'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy',
            'Accept-Encoding': 'snappy', 'X-Prometheus-Remote-Read-Version': '0.1.0'}
    if req.get('hangup_after'):
        # read a little of the answer, then drop the connection
        s = socket.create_connection(('127.0.0.1', req['port']))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        head = 'POST /api/v1/read HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n' % len(body)
        head += ''.join('%s: %s\r\n' % kv for kv in hdrs.items()) + '\r\n'
        s.sendall(head.encode() + body)
        got = 0
        while got < req['hangup_after']:
            d = s.recv(65536)
            if not d:
                break
            got += len(d)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.close()
        print(json.dumps({'received': got}))
        return
    c = http.client.HTTPConnection('127.0.0.1', req['port'], timeout=300)
    c.request('POST', '/api/v1/read', body=body, headers=hdrs)
    r = c.getresponse()
    res = {'status': r.status, 'content_type': r.getheader('Content-Type'),
           'transfer_encoding': r.getheader('Transfer-Encoding'),
           'content_encoding': r.getheader('Content-Encoding')}
    if r.status != 200:
        res['text'] = r.read().decode('utf-8', 'replace')
        print(json.dumps(res)); return
    if rtype == 0:
        # SAMPLES: one snappy block holding a ReadResponse
        raw = r.read()
        msg = snappy.uncompress(raw)
        nseries = nsamples = 0
        for f, _, qr in parse(msg):
            for ff, _, ts in parse(qr):
                nseries += 1
                nsamples += sum(1 for k, _, _ in parse(ts) if k == 2)
        res.update({'bytes': len(raw), 'series': nseries, 'samples': nsamples})
        print(json.dumps(res)); return
    buf = bytearray()
    frames = max_frame = samples = chunks = nbytes = 0
    crc_bad = 0
    series = []
    decoded = []
    eof = False
    while True:
        # one frame at a time, as it arrives
        try:
            n, i = read_uvarint(buf, 0)
            if len(buf) < i + 4 + n:
                raise IndexError
        except IndexError:
            if eof:
                break
            d = r.read(65536)
            if not d:
                eof = True
            nbytes += len(d)
            buf += d
            continue
        crc = struct.unpack('>I', bytes(buf[i:i + 4]))[0]
        msg = bytes(buf[i + 4:i + 4 + n])
        del buf[:i + 4 + n]
        frames += 1
        max_frame = max(max_frame, n)
        if crc32c is not None and crc32c(msg) != crc:
            crc_bad += 1
        for f, _, v in parse(msg):
            if f != 1:
                continue
            ls = {}
            for ff, _, vv in parse(v):
                if ff == 1:
                    d = {k: x for k, _, x in parse(vv)}
                    ls[d.get(1, b'').decode()] = d.get(2, b'').decode()
                elif ff == 2:
                    ch = {k: x for k, _, x in parse(vv)}
                    samples += struct.unpack('>H', ch[4][:2])[0]
                    chunks += 1
                    if ls.get('i') == req['decode']:
                        decoded.extend((t, '%016x' % v) for t, v in xor_decode(ch[4]))
            key = ls.get('i')
            if not series or series[-1] != key:
                series.append(key)
    res.update({'frames': frames, 'max_frame': max_frame, 'samples': samples,
                'chunks': chunks, 'bytes': nbytes, 'crc_checked': crc32c is not None,
                'crc_bad': crc_bad, 'leftover': len(buf), 'series': series,
                'decoded': decoded})
    print(json.dumps(res))

main()
PY
close $pf;

sub rs
{
	my (%req) = @_;
	my ($in, $out, $err) = (encode_json({ port => $port, metric => 'big', start => $t0,
		end => $tend, decode => '007', %req }), '', '');
	run([ $python, $client ], '<', \$in, '>', \$out, '2>', \$err);
	diag($err) if $err;
	return eval { decode_json($out) } // { status => 0, text => "$out $err" };
}

my $pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'alloy http'");
like($pid, qr/^\d+$/, 'one HTTP worker');

sub proc_kb
{
	my ($key) = @_;
	open my $fh, '<', "/proc/$pid/status" or return undef;
	while (<$fh>)
	{
		return $1 if /^$key:\s+(\d+) kB/;
	}
	return undef;
}

sub queries_running
{
	my $res = http_request($node, 'GET', '/metrics');
	return $res->{content} =~ /^alloy_http_queries_running (\d+)/m ? $1 : -1;
}

# a first read warms the worker's caches (catalog, label index, storage)
my $r = rs();
is($r->{status}, 200, 'warm-up read answers 200') or diag($r->{text});

# the measured read: peak RSS against the RSS before it
my $can_reset = open(my $cr, '>', "/proc/$pid/clear_refs");
if ($can_reset)
{
	print $cr "5\n";
	close $cr;
}
my $rss_before = proc_kb('VmRSS');
$r = rs();
my $hwm = proc_kb('VmHWM');
is($r->{status}, 200, 'streamed read answers 200');
is($r->{content_type}, 'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse',
	'streamed content type');
is($r->{transfer_encoding}, 'chunked', 'the answer is sent chunked, as it is produced');
is($r->{samples}, $nseries * $nper, 'every sample arrives');
is(scalar(@{ $r->{series} }), $nseries, 'every series arrives, each in one run of frames');
is_deeply($r->{series}, [ sort @{ $r->{series} } ], 'series in label order');
ok($r->{max_frame} <= 1024 * 1024, "frames at most 1MiB (largest $r->{max_frame})");
is($r->{leftover}, 0, 'the stream ends on a frame boundary');
SKIP:
{
	skip 'no crcmod for python', 1 unless $r->{crc_checked};
	is($r->{crc_bad}, 0, "CRC32C of all $r->{frames} frames");
}
my $want = $node->safe_psql('postgres', q{
	SELECT string_agg(((extract(epoch FROM s."time") * 1000)::bigint)::text || ' ' ||
		encode(float8send(s.value), 'hex'), ',' ORDER BY s."time")
	FROM alloy.samples s JOIN alloy.series r USING (series_id)
	WHERE r.metric = 'big' AND r.labels->>'i' = '007'});
my $got = join(',', map { "$_->[0] $_->[1]" } @{ $r->{decoded} // [] });
ok($got eq $want, 'series i=007 decodes to exactly the stored samples')
  or diag(substr($got, 0, 200) . "\nvs\n" . substr($want, 0, 200));

SKIP:
{
	skip 'cannot reset the worker\'s peak RSS', 1 unless $can_reset && defined $hwm;
	my $growth = ($hwm - $rss_before) * 1024;
	my $answer = $r->{bytes};
	diag(sprintf('answer %.1f MB, worker peak RSS grew %.1f MB', $answer / 1e6, $growth / 1e6));
	# one copy of the answer (its frames, kept between the transaction and
	# the send) plus reading slack; buffering took two to three copies
	ok($growth < 1.4 * $answer + 8e6,
		sprintf('worker peak memory bounded: +%.1f MB for a %.1f MB answer', $growth / 1e6, $answer / 1e6));
}

# SAMPLES stays one snappy block by protocol; a large one is handed out in
# pieces too (chunked), and decompresses whole
$r = rs(samples => 1, i_re => '0[0-2].');
is($r->{status}, 200, 'SAMPLES read answers 200');
is($r->{content_encoding}, 'snappy', 'SAMPLES: snappy block');
is($r->{transfer_encoding}, 'chunked', "SAMPLES: $r->{bytes} bytes sent chunked");
is($r->{series}, 29, 'SAMPLES: every matching series');
is($r->{samples}, 29 * $nper, 'SAMPLES: every sample');

# ---------- a client that hangs up mid-stream ----------
is(queries_running(), 0, 'no query slot held before');
for my $k (1 .. 3)
{
	$r = rs(hangup_after => 256 * 1024);
	ok($r->{received} >= 256 * 1024, "hang-up $k: client read $r->{received} bytes, then left");
}
my $running = -1;
for (1 .. 100)
{
	$running = queries_running();
	last if $running == 0;
	usleep(100_000);
}
is($running, 0, 'query slots released after the hang-ups');
is($node->safe_psql('postgres', "SELECT pid FROM pg_stat_activity WHERE backend_type = 'alloy http'"),
	$pid, 'the same worker goes on serving');
$r = rs();
is($r->{status}, 200, 'a read after the hang-ups answers 200');
is($r->{samples}, $nseries * $nper, 'and is whole');
is(queries_running(), 0, 'no query slot held after');

$node->stop;
done_testing();
