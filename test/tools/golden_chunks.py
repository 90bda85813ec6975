#!/usr/bin/python3
"""golden_chunks.py: make XOR-chunk golden vectors with a real Prometheus.

alloy's codec (src/codec/xorchunk.c) must produce byte-identical chunks to
Prometheus 2.42, so remote read can stream stored chunks unchanged. This
script proves it with data from Prometheus itself: it starts a throw-away
Prometheus (remote-write receiver on, loopback only, as an unprivileged
user), pushes a set of series with remote write, reads them back with remote
read in STREAMED_XOR_CHUNKS mode and writes every chunk, with the samples it
holds, to test/unit/xorchunk_golden.h. test_xorchunk then checks that our
encoder makes the same bytes and our decoder returns the same samples.

Not part of the default test run (it needs /usr/bin/prometheus and a few
seconds). Run as root from anywhere:
    /usr/bin/python3 test/tools/golden_chunks.py [--out FILE] [--prometheus BIN]

The protobuf messages are encoded and decoded by hand below (a handful of
fields of prompb/remote.proto and types.proto), so nothing beyond the
python3-snappy module is needed.
"""

import argparse
import math
import os
import pwd
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import snappy

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "unit", "xorchunk_golden.h")

STALE_NAN = 0x7FF0000000000002     # Prometheus's staleness marker
GO_NAN = 0x7FF8000000000001        # what Go's math.NaN() returns


# ---------------------------------------------------------------- protobuf

def pb_varint(x):
    """Base-128 varint of a non-negative int (negative int64 as 2^64 + x)."""
    if x < 0:
        x += 1 << 64
    out = bytearray()
    while x >= 0x80:
        out.append((x & 0x7F) | 0x80)
        x >>= 7
    out.append(x)
    return bytes(out)


def pb_key(field, wire):
    return pb_varint((field << 3) | wire)


def pb_bytes(field, data):
    return pb_key(field, 2) + pb_varint(len(data)) + data


def pb_int(field, x):
    return pb_key(field, 0) + pb_varint(x)


def pb_double_bits(field, bits):
    return pb_key(field, 1) + struct.pack("<Q", bits)


def pb_parse(buf):
    """Yield (field, wire, value) of one message level."""
    i = 0
    while i < len(buf):
        key, i = read_uvarint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            val, i = read_uvarint(buf, i)
        elif wire == 1:
            val = buf[i:i + 8]
            i += 8
        elif wire == 2:
            n, i = read_uvarint(buf, i)
            val = buf[i:i + n]
            i += n
        elif wire == 5:
            val = buf[i:i + 4]
            i += 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield field, wire, val


def read_uvarint(buf, i):
    x = shift = 0
    while True:
        b = buf[i]
        i += 1
        x |= (b & 0x7F) << shift
        if b < 0x80:
            return x, i
        shift += 7


def to_int64(u):
    return u - (1 << 64) if u >= 1 << 63 else u


def labels_msg(labels):
    return b"".join(pb_bytes(1, pb_bytes(1, k.encode()) + pb_bytes(2, v.encode()))
                    for k, v in sorted(labels.items()))


def write_request(series):
    """WriteRequest{timeseries: [TimeSeries{labels, samples}]}."""
    out = b""
    for labels, samples in series:
        ts = labels_msg(labels)
        for t, vbits in samples:
            ts += pb_bytes(2, pb_double_bits(1, vbits) + pb_int(2, t))
        out += pb_bytes(1, ts)
    return out


def read_request(name, start, end):
    """ReadRequest for __name__=name, accepting STREAMED_XOR_CHUNKS only."""
    matcher = pb_int(1, 0) + pb_bytes(2, b"__name__") + pb_bytes(3, name.encode())
    query = pb_int(1, start) + pb_int(2, end) + pb_bytes(3, matcher)
    return pb_bytes(1, query) + pb_bytes(2, pb_varint(1))


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def parse_chunked_response(body):
    """Frames of uvarint size + BE CRC32C + ChunkedReadResponse -> chunks."""
    chunks = []
    i = 0
    while i < len(body):
        size, i = read_uvarint(body, i)
        crc = struct.unpack(">I", body[i:i + 4])[0]
        i += 4
        msg = body[i:i + size]
        i += size
        if crc32c(msg) != crc:
            raise ValueError("frame CRC mismatch")
        for f, _, series in pb_parse(msg):
            if f != 1:
                continue
            for f2, _, chunk in pb_parse(series):
                if f2 != 2:
                    continue
                c = {"min": 0, "max": 0, "type": 0, "data": b""}
                for f3, _, v in pb_parse(chunk):
                    if f3 == 1:
                        c["min"] = to_int64(v)
                    elif f3 == 2:
                        c["max"] = to_int64(v)
                    elif f3 == 3:
                        c["type"] = v
                    elif f3 == 4:
                        c["data"] = bytes(v)
                chunks.append(c)
    return chunks


# ---------------------------------------------------------------- data sets

def fbits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def make_series(base):
    """(name, [(t, value bits)]) for every golden series; base is 2h aligned."""
    rnd = random.Random(20261125)
    out = []

    out.append(("constant", [(base + i * 15000, fbits(1.0)) for i in range(100)]))

    # A counter scraped every 15 s with a few ms of jitter: 130 samples, so
    # Prometheus cuts two chunks.
    s, t, v = [], base, 0.0
    for _ in range(130):
        s.append((t, fbits(v)))
        v += rnd.choice([0, 1, 1, 2, 3, 5, 8, 40, 1000])
        t += 15000 + rnd.randint(-5, 5)
    out.append(("counter", s))

    # A gauge with two decimals (the classic worst case for XOR windows).
    s, g = [], 50.0
    for i in range(110):
        g = round(g + rnd.uniform(-3, 3), 2)
        s.append((base + i * 10000, fbits(g)))
    out.append(("gauge_decimals", s))

    # Negative and sign-changing values, 1 s interval.
    s, g = [], -1.5
    for i in range(90):
        g = round(g + rnd.uniform(-0.8, 0.7), 3)
        s.append((base + i * 1000, fbits(g)))
    out.append(("negative", s))

    # NaN payloads, the stale marker, infinities, signed zeros, extremes.
    specials = [fbits(1.0), STALE_NAN, fbits(2.0), GO_NAN, fbits(float("inf")),
                fbits(float("-inf")), fbits(-0.0), fbits(0.0), 0x7FF8DEADBEEF0001,
                STALE_NAN, STALE_NAN, 0x0000000000000001, 0x7FEFFFFFFFFFFFFF,
                fbits(-1e300), fbits(3.14159), fbits(3.14159), 0xFFF0000000000001,
                fbits(42.0), STALE_NAN, fbits(5e-324 * 7)]
    out.append(("special", [(base + i * 30000, b) for i, b in enumerate(specials)]))

    # Irregular intervals chosen so the delta of deltas lands in every bucket
    # and on its edges (14/17/20 bits, ranges -(2^(n-1)-1) .. 2^(n-1)), plus
    # 64-bit ones, with zero deltas skipped (Prometheus drops duplicates).
    dods = [0, 1, -1, 8191, -8191, 8192, 8193, -8192, 65535, -65535, 65536, 65537,
            -65536, 524287, -524287, 524288, 524289, -524288, 1200000, -1200000,
            0, 0, 3, 100000, -99000, 2500000, -2400000, 7, 0]
    s, t, d = [], base, 20000
    s.append((t, fbits(0.0)))
    t += d
    s.append((t, fbits(1.0)))
    for i, dod in enumerate(dods):
        d += dod
        if d <= 0:
            raise ValueError("bad irregular schedule at %d" % i)
        t += d
        s.append((t, fbits(float(i + 2))))
    out.append(("irregular", s))

    # Random walk with full-precision floats (rarely a reusable window).
    s, g = [], 0.0
    for i in range(120):
        g += rnd.gauss(0, 1)
        s.append((base + i * 5000, fbits(g)))
    out.append(("random_walk", s))

    # The shortest chunks: one and two samples (pad byte rules).
    out.append(("one_sample", [(base + 123, fbits(7.25))]))
    out.append(("two_samples", [(base + 5, fbits(-7.25)), (base + 60005, fbits(-7.25))]))

    # Integer gauge with occasional 1 ms timestamp nudges.
    s, t = [], base
    for i in range(60):
        s.append((t, fbits(float(rnd.randint(0, 3)))))
        t += 60000 + (1 if i % 7 == 3 else 0)
    out.append(("small_ints", s))
    return out


# Each run is its own Prometheus: the head only accepts samples within an
# hour of its newest, so unusual time ranges need a fresh TSDB.
RUNS = [
    ("", 1764072000000),                 # 2025-11-25T12:00:00Z, 2h aligned
    ("negts_", -86400000 * 365 * 3),     # 1967: negative timestamps
    ("farts_", 7200000 * 1500000),       # year 2312: 13-digit timestamps
]


# ---------------------------------------------------------------- prometheus

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_prometheus(binary, series, user):
    tmp = tempfile.mkdtemp(prefix="alloy-golden-")
    pw = pwd.getpwnam(user)
    os.chown(tmp, pw.pw_uid, pw.pw_gid)
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
    port = free_port()
    cmd = ["runuser", "-u", user, "--", binary,
           "--config.file=" + cfg,
           "--storage.tsdb.path=" + os.path.join(tmp, "data"),
           "--web.listen-address=127.0.0.1:%d" % port,
           "--web.enable-remote-write-receiver",
           "--log.level=warn"]
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    url = "http://127.0.0.1:%d" % port
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/-/ready", timeout=1).read()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        else:
            raise RuntimeError("prometheus did not become ready")

        body = snappy.compress(write_request(series))
        req = urllib.request.Request(url + "/api/v1/write", data=body, headers={
            "Content-Encoding": "snappy",
            "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0"})
        urllib.request.urlopen(req, timeout=10).read()

        result = {}
        for labels, samples in series:
            name = labels["__name__"]
            start = min(t for t, _ in samples)
            end = max(t for t, _ in samples)
            body = snappy.compress(read_request(name, start, end))
            req = urllib.request.Request(url + "/api/v1/read", data=body, headers={
                "Content-Encoding": "snappy",
                "Content-Type": "application/x-protobuf",
                "X-Prometheus-Remote-Read-Version": "0.1.0"})
            resp = urllib.request.urlopen(req, timeout=10)
            ctype = resp.headers.get("Content-Type", "")
            if "x-streamed-protobuf" not in ctype:
                raise RuntimeError("not a streamed response: %s" % ctype)
            result[name] = parse_chunked_response(resp.read())
        return result
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- output

def c_array(values, fmt, per_line):
    lines = []
    for i in range(0, len(values), per_line):
        lines.append("\t" + ", ".join(fmt % v for v in values[i:i + per_line]) + ",")
    return "\n".join(lines)


def emit(entries, version, out):
    h = []
    h.append("/*")
    h.append(" * xorchunk_golden.h: XOR chunks written by a real Prometheus, with their samples.")
    h.append(" *")
    h.append(" * GENERATED by test/tools/golden_chunks.py (do not edit): the samples were")
    h.append(" * pushed with remote write to")
    h.append(" *   %s" % version)
    h.append(" * and the chunks read back with remote read (STREAMED_XOR_CHUNKS).")
    h.append(" * test_xorchunk checks that our encoder makes identical bytes and our")
    h.append(" * decoder returns identical samples.")
    h.append(" */")
    h.append("#ifndef ALLOY_XORCHUNK_GOLDEN_H")
    h.append("#define ALLOY_XORCHUNK_GOLDEN_H")
    h.append("")
    h.append("#include <stddef.h>")
    h.append("#include <stdint.h>")
    h.append("")
    h.append("typedef struct XorGolden")
    h.append("{")
    h.append("\tconst char *name;")
    h.append("\tint\t\t\tnsamples;")
    h.append("\tconst int64_t *ts;")
    h.append("\tconst uint64_t *vbits;\t/* values as IEEE-754 bits */")
    h.append("\tconst uint8_t *chunk;")
    h.append("\tsize_t\t\tlen;")
    h.append("} XorGolden;")
    h.append("")
    for e in entries:
        n = e["id"]
        h.append("static const int64_t golden_%s_ts[] = {" % n)
        h.append(c_array(["INT64_C(%d)" % t for t, _ in e["samples"]], "%s", 4))
        h.append("};")
        h.append("static const uint64_t golden_%s_v[] = {" % n)
        h.append(c_array([b for _, b in e["samples"]], "UINT64_C(0x%016x)", 3))
        h.append("};")
        h.append("static const uint8_t golden_%s_chunk[] = {" % n)
        h.append(c_array(list(e["data"]), "0x%02x", 12))
        h.append("};")
        h.append("")
    h.append("static const XorGolden xor_golden[] = {")
    for e in entries:
        n = e["id"]
        h.append("\t{\"%s\", %d, golden_%s_ts, golden_%s_v, golden_%s_chunk, sizeof(golden_%s_chunk)},"
                 % (n, len(e["samples"]), n, n, n, n))
    h.append("};")
    h.append("")
    h.append("#define XOR_GOLDEN_COUNT ((int) (sizeof(xor_golden) / sizeof(xor_golden[0])))")
    h.append("")
    h.append("#endif\t\t\t\t\t\t\t/* ALLOY_XORCHUNK_GOLDEN_H */")
    with open(out, "w") as f:
        f.write("\n".join(h) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--prometheus", default="/usr/bin/prometheus")
    ap.add_argument("--user", default="nobody")
    args = ap.parse_args()

    version = subprocess.run([args.prometheus, "--version"], capture_output=True,
                             text=True).stdout.splitlines()[0].strip()
    entries = []
    for prefix, base in RUNS:
        series = [({"__name__": prefix + name, "job": "golden"}, samples)
                  for name, samples in make_series(base)]
        got = run_prometheus(args.prometheus, series, args.user)
        for labels, samples in series:
            name = labels["__name__"]
            chunks = got.get(name, [])
            if not chunks:
                raise RuntimeError("%s: no chunks came back" % name)
            covered = 0
            for k, c in enumerate(chunks):
                if c["type"] != 1:
                    raise RuntimeError("%s: chunk type %d" % (name, c["type"]))
                inside = [(t, b) for t, b in samples if c["min"] <= t <= c["max"]]
                count = (c["data"][0] << 8) | c["data"][1]
                if count != len(inside):
                    raise RuntimeError("%s chunk %d: header says %d samples, %d sent in range"
                                       % (name, k, count, len(inside)))
                covered += count
                entries.append({"id": "%s_%d" % (name, k) if len(chunks) > 1 else name,
                                "samples": inside, "data": c["data"]})
            if covered != len(samples):
                raise RuntimeError("%s: %d of %d samples came back" % (name, covered, len(samples)))
            print("%-26s %3d samples, %d chunk(s), %s bytes" % (
                name, len(samples), len(chunks), "+".join(str(len(c["data"])) for c in chunks)))
    emit(entries, version, args.out)
    print("wrote %d chunks to %s" % (len(entries), os.path.relpath(args.out)))


if __name__ == "__main__":
    sys.exit(main())
