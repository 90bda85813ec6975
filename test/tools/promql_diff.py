#!/usr/bin/python3
"""promql_diff.py: randomized differential testing of alloy's PromQL engine
against a real Prometheus 2.42.

Why: the conformance scripts and TAP 020 only try the queries someone wrote
down. This tool starts a throw-away Prometheus (--web.enable-remote-write-
receiver, its own temporary directory and free port), writes the same
deterministic dataset to it and to the alloy server given by --alloy through
remote write, then generates random PromQL expressions from a grammar (seeded,
so a run is reproducible) and sends each as instant queries at a few times and
as range queries with a few start/end/step choices to both servers. Answers
are compared: status, errorType, result type, series label sets (as sets),
timestamps exactly and values to 1e-9 relative (NaN equals NaN, infinities by
sign). Every mismatch is printed with the expression and curl-able URLs; the
last line is "N passed, M failed" (N+M = expressions * evaluations).

Usage:
  promql_diff.py --alloy http://127.0.0.1:PORT [--seed S] [--count N]
                 [--prometheus PATH] [--keep] [--t0 MS]
                 [--prometheus-url URL --no-write]
--keep leaves the Prometheus server running (and its directory) so the printed
repro URLs keep working; --prometheus-url/--no-write/--t0 reuse servers that
already hold the dataset written with that --t0 (fast iterations).
"""
import argparse
import json
import math
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import snappy

from remote_read_proto import uvarint

STEP_MS = 15000
ROUNDS = 480                     # two hours at 15s
STALE_NAN = 0x7ff0000000000002


# ---------------------------------------------------------------- remote write

def pb_bytes(num, payload):
    return uvarint((num << 3) | 2) + uvarint(len(payload)) + payload


def encode_write_request(series):
    """series: list of (labels dict, [(ts_ms, value or 'stale'), ...]) ->
    prometheus.WriteRequest bytes (labels sorted by name, as the spec asks)."""
    body = bytearray()
    for labels, samples in series:
        ts = bytearray()
        for name in sorted(labels):
            ts += pb_bytes(1, pb_bytes(1, name.encode()) + pb_bytes(2, labels[name].encode()))
        for t, v in samples:
            if v == 'stale':
                vb = struct.pack('<Q', STALE_NAN)
            else:
                vb = struct.pack('<d', v)
            sb = b'\x09' + vb + b'\x10' + uvarint(t)
            ts += pb_bytes(2, bytes(sb))
        body += pb_bytes(1, bytes(ts))
    return bytes(body)


def remote_write(url, series):
    data = snappy.compress(encode_write_request(series))
    req = urllib.request.Request(url.rstrip('/') + '/api/v1/write', data=data, method='POST', headers={
        'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf',
        'X-Prometheus-Remote-Write-Version': '0.1.0'})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode(errors='replace')
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors='replace')


# ---------------------------------------------------------------- dataset

def make_dataset(t0):
    """Deterministic series: {labels-tuple: (labels, [(t, v)])}."""
    rnd = random.Random(1234)
    out = {}

    def add(labels, t, v):
        key = tuple(sorted(labels.items()))
        out.setdefault(key, (labels, []))[1].append((t, v))

    insts = ['10.0.0.%d:9100' % i for i in range(1, 5)]
    counters = {}
    temp = {i: 5.0 - 4 * i for i in range(4)}
    hist = {}
    for r in range(ROUNDS):
        t = t0 + r * STEP_MS
        for i, inst in enumerate(insts):
            # up: instance 4 goes down near the end
            add({'__name__': 'up', 'job': 'node', 'instance': inst}, t, 0.0 if (i == 3 and r > 400) else 1.0)
            for path in ('/api/a', '/api/b', '/static'):
                if i == 2 and path == '/static' and r < 120:
                    continue                        # starts mid-range
                if i == 0 and path == '/api/a' and r > 300:
                    continue                        # stops mid-range (no stale marker)
                k = (inst, path)
                counters[k] = counters.get(k, 0) + rnd.randrange(0, 25)
                if (i == 1 and path == '/api/b' and r in (120, 333)) or (i == 3 and r == 200):
                    counters[k] = rnd.randrange(0, 3)   # counter resets
                add({'__name__': 'http_requests_total', 'job': 'api', 'instance': inst, 'path': path,
                     'method': 'GET' if path != '/api/b' else 'POST'}, t, float(counters[k]))
            # gauges, going negative for some instances
            temp[i] = round(temp[i] + rnd.uniform(-0.5, 0.5), 2)
            lab = {'__name__': 'node_temp', 'job': 'node', 'instance': inst}
            if i < 2:
                lab['env'] = 'prod' if i == 0 else 'dev'
            add(lab, t, temp[i])
            # a gauge with many samples missing
            if rnd.random() < 0.3:
                add({'__name__': 'gappy', 'job': 'node', 'instance': inst, 'env': 'prod'}, t,
                    round(rnd.uniform(-100, 100), 3))
        # classic histogram for two instances
        for inst in insts[:2]:
            cum = 0
            for le in ('0.05', '0.1', '0.5', '1', '5', '+Inf'):
                cum += rnd.randrange(0, 8)
                k = (inst, le)
                hist[k] = hist.get(k, 0) + cum
                add({'__name__': 'req_duration_seconds_bucket', 'job': 'api', 'instance': inst, 'le': le},
                    t, float(hist[k]))
            add({'__name__': 'req_duration_seconds_count', 'job': 'api', 'instance': inst}, t,
                float(hist[(inst, '+Inf')]))
            add({'__name__': 'req_duration_seconds_sum', 'job': 'api', 'instance': inst}, t,
                float(r * 3 + (1 if inst == insts[0] else 2) * r * r / 100.0))
        # special float values
        sv = [1.5, -2.25, float('nan'), float('inf'), float('-inf'), 0.0, -0.0, 1e300][r % 8]
        add({'__name__': 'special', 'job': 'x', 'kind': 'mixed'}, t, sv)
        add({'__name__': 'special', 'job': 'x', 'kind': 'nan'}, t, float('nan') if r % 5 == 0 else r / 7.0)
        add({'__name__': 'special', 'job': 'y', 'kind': 'inf'}, t, float('inf') if r > 240 else -r)
        # a series ended by a stale marker, another restarting after one
        if r < 200:
            add({'__name__': 'stale_metric', 'job': 'x'}, t, float(r))
        elif r == 200:
            add({'__name__': 'stale_metric', 'job': 'x'}, t, 'stale')
        if r < 100 or r > 150:
            add({'__name__': 'stale_metric', 'job': 'y'}, t, float(-r))
        elif r == 100:
            add({'__name__': 'stale_metric', 'job': 'y'}, t, 'stale')
        # a histogram with buckets out of order (counts going down, le not
        # sorted on the wire) and one without +Inf
        for job, les in (('odd', ('10', '0.1', '+Inf', '1')), ('noinf', ('0.1', '1', '10'))):
            for j, le in enumerate(les):
                add({'__name__': 'odd_bucket', 'job': job, 'le': le}, t,
                    float((r * (j + 1)) % 37 if job == 'odd' else r * (j + 1)))
        # large values with small changes (summation order shows)
        add({'__name__': 'big_gauge', 'job': 'x', 'instance': insts[0]}, t, 1e9 + rnd.randrange(0, 1000) / 8.0)
        add({'__name__': 'big_gauge', 'job': 'x', 'instance': insts[1]}, t, -1e9 + r * 0.1)
        # a counter with an occasional NaN
        add({'__name__': 'nan_counter', 'job': 'api'}, t, float('nan') if r % 37 == 5 else float(r * 3))
        # a metric sharing label names with others, job-less
        if r % 4 == 0:
            add({'__name__': 'sparse', 'instance': insts[r % 3], 'path': '/api/a'}, t, float(r % 13))
    return out


def write_dataset(url, data, t0):
    """Time-ordered batches of 20 minutes so that Prometheus's head never
    sees a sample older than its appendable window."""
    batch_ms = 20 * 60 * 1000
    t = t0
    tend = t0 + ROUNDS * STEP_MS
    while t < tend:
        series = []
        for labels, samples in data.values():
            part = [(ts, v) for ts, v in samples if t <= ts < t + batch_ms]
            if part:
                series.append((labels, part))
        status, body = remote_write(url, series)
        if status // 100 != 2:
            sys.exit('remote write to %s failed: %s %s' % (url, status, body[:300]))
        t += batch_ms


# ---------------------------------------------------------------- generator

METRICS = {
    'http_requests_total': ['job', 'instance', 'path', 'method'],
    'node_temp': ['job', 'instance', 'env'],
    'up': ['job', 'instance'],
    'gappy': ['job', 'instance', 'env'],
    'req_duration_seconds_bucket': ['job', 'instance', 'le'],
    'req_duration_seconds_count': ['job', 'instance'],
    'req_duration_seconds_sum': ['job', 'instance'],
    'special': ['job', 'kind'],
    'stale_metric': ['job'],
    'sparse': ['instance', 'path'],
    'no_such_metric': ['job'],
    'odd_bucket': ['job', 'le'],
    'big_gauge': ['job', 'instance'],
    'nan_counter': ['job'],
}
LABEL_VALUES = {
    'job': ['node', 'api', 'x', 'y', '', 'odd', 'noinf'],
    'instance': ['10.0.0.1:9100', '10.0.0.2:9100', '10.0.0.3:9100', '10.0.0.4:9100', ''],
    'path': ['/api/a', '/api/b', '/static', ''],
    'method': ['GET', 'POST'],
    'env': ['prod', 'dev', ''],
    'le': ['0.05', '0.1', '0.5', '1', '5', '+Inf'],
    'kind': ['mixed', 'nan', 'inf'],
}
REGEXES = {
    'job': ['node|api', 'n.*', '.*', '.+', 'x|y|', '[a-n]+', '(api|x)', '^node$', 'NODE', ''],
    'instance': ['10\\\\.0\\\\.0\\\\.[12]:9100', '.*:9100', '.*[34].*', '10.0.0.1.*', '.*', ''],
    'path': ['/api/.*', '/api/(a|b)', '/(static|nothing)', '.*b', '/[a-s]+', ''],
    'method': ['GET|POST', 'G.*', '[^G].*'],
    'env': ['prod|dev', '.+', '', 'p.*|'],
    'le': ['0\\\\..*', '\\\\+Inf', '[0-9]+', '.*'],
    'kind': ['nan|inf', '.*n.*', 'mi[a-z]ed'],
    '__name__': ['node_.*', 'req_duration_seconds_(count|sum)', 'up|special', 'stale.*', 'sp.*'],
}
ALL_LABELS = ['job', 'instance', 'path', 'method', 'env', 'le', 'kind', 'nolabel']
DURATIONS = ['30s', '1m', '90s', '2m', '5m', '10m', '15m', '1h', '300000ms', '1m30s', '3m', '45s', '20m',
             '1h5m', '2h', '1d', '25m30s']
ODD_DURATIONS = ['0s', '0m', '1.5m', '5M', '1w', '1y', '1m1m', '1s1m', '100', '1d1h']
SMALL_DURATIONS = ['15s', '20s', '30s', '1m', '2m', '45s', '5m']
OFFSETS = ['1m', '5m', '10m', '1h', '-2m', '30s', '7m30s']

INSTANT_FUNCS_1 = ['abs', 'ceil', 'floor', 'exp', 'ln', 'log2', 'log10', 'sqrt', 'sgn', 'acos', 'acosh',
                   'asin', 'asinh', 'atan', 'atanh', 'cos', 'cosh', 'sin', 'sinh', 'tan', 'tanh', 'deg',
                   'rad', 'timestamp', 'sort', 'sort_desc']
TIME_FUNCS = ['days_in_month', 'day_of_month', 'day_of_week', 'day_of_year', 'hour', 'minute', 'month',
              'year']
RANGE_FUNCS = ['rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'changes', 'resets',
               'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time',
               'stddev_over_time', 'stdvar_over_time', 'last_over_time', 'present_over_time',
               'absent_over_time']
AGGS = ['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'group']
ARITH = ['+', '-', '*', '/', '%', '^', 'atan2']
CMP = ['==', '!=', '>', '<', '>=', '<=']
SETOPS = ['and', 'or', 'unless']


class Gen:
    def __init__(self, rnd, t0):
        self.r = rnd
        self.t0 = t0
        self.max_depth = 3

    def pick(self, xs):
        return self.r.choice(xs)

    def chance(self, p):
        return self.r.random() < p

    def number(self):
        c = self.r.randrange(16)
        if c < 6:
            return str(self.pick([0, 1, 2, 3, 5, 10, 100, 0.5, 0.25, 1.5, 20, 60]))
        return self.pick(['-1', '0.1', '1e3', '2.5e-1', '0x1f', '0X0A', 'NaN', 'Inf', '-Inf', '+Inf',
                          '.5', '5.', '1E2', '-0.5', 'nan', 'inf', '1e308', '1e-320', '017', '0x', '1e',
                          '1_000', '0.0', '-0', 'iNf', '+5', '9007199254740993'])

    def phi(self):
        return self.pick(['0', '0.1', '0.5', '0.9', '0.99', '1', '-0.5', '1.5', 'NaN'])

    def matcher(self, names):
        name = self.pick(names + ['__name__'] if self.chance(0.1) else names)
        op = self.pick(['=', '!=', '=~', '!~'])
        if op in ('=~', '!~'):
            val = self.pick(REGEXES.get(name, ['.*']))
        else:
            val = self.pick(LABEL_VALUES.get(name, ['x', '']))
        return '%s%s"%s"' % (name, op, val)

    def selector(self):
        metric = self.pick(list(METRICS))
        names = METRICS[metric] + (['nolabel'] if self.chance(0.1) else [])
        ms = [self.matcher(names) for _ in range(self.r.randrange(0, 3) if self.chance(0.6) else 0)]
        if self.chance(0.08):
            # name only through __name__ matchers
            ms = ['__name__=~"%s"' % self.pick(REGEXES['__name__'])] + ms
            return '{' + ', '.join(ms) + '}'
        if ms:
            return '%s{%s}' % (metric, ','.join(ms))
        return metric if self.chance(0.8) else metric + '{}'

    def modifiers(self):
        s = ''
        parts = []
        if self.chance(0.15):
            parts.append(' offset ' + self.pick(OFFSETS))
        if self.chance(0.12):
            at = self.pick(['start()', 'end()', str((self.t0 + 3600000) / 1000.0),
                            str(self.t0 // 1000 + 1800), str((self.t0 + 7200000) // 1000 + 120)])
            parts.append(' @ ' + at)
        if self.chance(0.5):
            parts.reverse()
        return s + ''.join(parts)

    def matrix(self, d, at=True):
        mods = self.modifiers() if at else (' offset ' + self.pick(OFFSETS) if self.chance(0.15) else '')
        if at and self.chance(0.04):
            # modifiers before the range: allowed for @ start()/end() only
            return '%s%s[%s]' % (self.selector(), self.pick([' @ start()', ' @ end()', ' offset 1m', ' @ 100']),
                                 self.pick(DURATIONS))
        if self.chance(0.02):
            return '%s[%s]' % (self.selector(), self.pick(ODD_DURATIONS))
        if d > 0 and self.chance(0.15):
            step = ':' + (self.pick(SMALL_DURATIONS) if self.chance(0.6) else '')
            inner = self.vector(d - 1)
            return '(%s)[%s%s]%s' % (inner, self.pick(DURATIONS), step, mods)
        return '%s[%s]%s' % (self.selector(), self.pick(DURATIONS), mods)

    def string(self):
        return self.pick(['"a"', '"new"', '"job"', '"instance"', '"x-y"', '""'])

    def scalar(self, d):
        c = self.r.randrange(10)
        if d <= 0 or c < 4:
            return self.number()
        if c == 4:
            return 'time()'
        if c == 5:
            return 'scalar(%s)' % self.vector(d - 1)
        if c == 6:
            return '(%s %s %s)' % (self.scalar(d - 1), self.pick(ARITH + CMP[:0]), self.scalar(d - 1))
        if c == 7:
            return self.pick(['pi()', '-time()', '(%s)' % self.number()])
        if c == 8:
            return '%s %s%s %s' % (self.scalar(d - 1), self.pick(CMP), ' bool' if self.chance(0.9) else '',
                                   self.scalar(d - 1))
        return '-' + self.scalar(d - 1)

    def grouping(self):
        labels = self.r.sample(ALL_LABELS, self.r.randrange(0, 3))
        return '%s (%s)' % (self.pick(['by', 'without']), ', '.join(labels))

    def aggregation(self, d):
        c = self.r.randrange(10)
        g = self.grouping() if self.chance(0.6) else ''
        if c < 6:
            op = self.pick(AGGS)
            body = '(%s)' % self.vector(d - 1)
        elif c < 8:
            op = self.pick(['topk', 'bottomk'])
            k = self.pick(['1', '2', '3', '0', '5', 'scalar(up)', '1.5', '-1'])
            body = '(%s, %s)' % (k, self.vector(d - 1))
        elif c == 8:
            op = 'quantile'
            body = '(%s, %s)' % (self.phi(), self.vector(d - 1))
        else:
            op = 'count_values'
            body = '(%s, %s)' % (self.pick(['"value"', '"job"', '"v"', '"le"', '"1x"', '"__name__"']),
                                 self.vector(d - 1))
        if g and self.chance(0.5):
            return '%s %s %s' % (op, g, body)
        return '%s%s %s' % (op, body, g) if g else op + body

    def vector_matching(self, op):
        s = ''
        if self.chance(0.5):
            kw = self.pick(['on', 'ignoring'])
            labels = self.r.sample(ALL_LABELS, self.r.randrange(0, 3))
            s = ' %s(%s)' % (kw, ', '.join(labels))
            if op not in SETOPS and self.chance(0.35):
                extra = self.r.sample(ALL_LABELS, self.r.randrange(0, 2))
                s += ' %s(%s)' % (self.pick(['group_left', 'group_right']), ', '.join(extra)) \
                    if extra or self.chance(0.5) else ' ' + self.pick(['group_left', 'group_right'])
        return s

    def binary(self, d):
        c = self.r.randrange(10)
        if c < 3:
            op = self.pick(ARITH + CMP)
            boolkw = ' bool' if op in CMP and self.chance(0.4) else ''
            a, b = self.vector(d - 1), self.scalar(d - 1)
            if self.chance(0.5):
                a, b = b, a
            return '%s %s%s %s' % (a, op, boolkw, b)
        if c < 6:
            op = self.pick(ARITH + CMP)
            boolkw = ' bool' if op in CMP and self.chance(0.4) else ''
            return '%s %s%s%s %s' % (self.vector(d - 1), op, boolkw, self.vector_matching(op),
                                     self.vector(d - 1))
        op = self.pick(SETOPS)
        return '%s %s%s %s' % (self.vector(d - 1), op, self.vector_matching(op), self.vector(d - 1))

    def function(self, d):
        c = self.r.randrange(22)
        if c < 5:
            return '%s(%s)' % (self.pick(RANGE_FUNCS), self.matrix(d - 1))
        if c < 8:
            return '%s(%s)' % (self.pick(INSTANT_FUNCS_1), self.vector(d - 1))
        if c == 8:
            return 'quantile_over_time(%s, %s)' % (self.phi(), self.matrix(d - 1))
        if c == 9:
            # no @ here: 2.42 evaluates an @-pinned range of predict_linear
            # at each step's own time over whatever chunks the pinned fetch
            # returned (see docs/testing.md), which alloy does not imitate
            return 'predict_linear(%s, %s)' % (self.matrix(d - 1, at=False), self.pick(['600', '0', '-60', '3600.5']))
        if c == 10:
            return 'holt_winters(%s, %s, %s)' % (self.matrix(d - 1), self.pick(['0.5', '0.1', '0.9', '0', '1']),
                                                  self.pick(['0.5', '0.3', '1', '0', '0.99']))
        if c == 11:
            if self.chance(0.5):
                return 'round(%s)' % self.vector(d - 1)
            return 'round(%s, %s)' % (self.vector(d - 1), self.pick(['0.1', '5', '0.25', '2', '-1', '0']))
        if c == 12:
            f = self.pick(['clamp', 'clamp_min', 'clamp_max'])
            if f == 'clamp':
                return 'clamp(%s, %s, %s)' % (self.vector(d - 1), self.scalar(0), self.scalar(0))
            return '%s(%s, %s)' % (f, self.vector(d - 1), self.scalar(d - 1))
        if c == 13:
            return 'label_replace(%s, %s, %s, %s, %s)' % (
                self.vector(d - 1), self.pick(['"dst"', '"job"', '"instance"', '"host"', '"x-y"', '"__name__"']),
                self.pick(['"$1"', '"${1}-x"', '"$2"', '""', '"v$0"', '"$name"']),
                self.pick(['"instance"', '"job"', '"path"', '"nolabel"']),
                self.pick(['"(.*):.*"', '"(.*)"', '"10\\\\.(.*)"', '"/(api)/(.*)"', '".*"', '"n(?P<name>.*)"']))
        if c == 14:
            n = self.r.randrange(0, 4)
            srcs = ', '.join(self.pick(['"job"', '"instance"', '"path"', '"env"', '"nolabel"']) for _ in range(n))
            return 'label_join(%s, %s, %s%s)' % (self.vector(d - 1), self.pick(['"dst"', '"job"', '"all"']),
                                                  self.pick(['"-"', '""', '","']),
                                                  ', ' + srcs if srcs else '')
        if c == 15:
            return 'histogram_quantile(%s, %s)' % (self.phi(), self.pick([
                'rate(req_duration_seconds_bucket[5m])',
                'sum by (le) (rate(req_duration_seconds_bucket[%s]))' % self.pick(DURATIONS),
                'sum by (le, instance) (increase(req_duration_seconds_bucket{instance=~"%s"}[10m]))'
                % self.pick(REGEXES['instance']),
                'req_duration_seconds_bucket', 'req_duration_seconds_bucket offset 1h',
                'sum without (instance) (req_duration_seconds_bucket)',
                'req_duration_seconds_bucket{le!="+Inf"}', 'req_duration_seconds_bucket{le=~"0.*|1"}',
                'odd_bucket', 'rate(odd_bucket[5m])', 'sum by (le) (odd_bucket)', 'odd_bucket{job="noinf"}',
                self.vector(d - 1)]))
        if c == 16:
            if self.chance(0.5):
                return '%s()' % self.pick(TIME_FUNCS)
            return '%s(%s)' % (self.pick(TIME_FUNCS), self.vector(d - 1))
        if c == 17:
            return 'vector(%s)' % self.scalar(d - 1)
        if c == 18:
            return 'absent(%s)' % self.vector(d - 1)
        if c == 19:
            return self.pick(['exp', 'ln', 'sqrt', 'abs'])+ '(%s)' % self.vector(d - 1)
        if c == 20:
            return 'sort_desc(%s)' % self.vector(d - 1)
        return 'timestamp(%s)' % self.vector(d - 1)

    def vector(self, d):
        if d <= 0:
            return self.selector() + self.modifiers()
        c = self.r.randrange(20)
        if c < 5:
            return self.selector() + self.modifiers()
        if c < 10:
            return self.function(d)
        if c < 13:
            return self.aggregation(d)
        if c < 17:
            return self.binary(d)
        if c == 17:
            return '-' + self.vector(d - 1)
        if c == 18:
            return '(%s)' % self.vector(d - 1)
        return self.function(d)

    def expression(self):
        d = self.r.randrange(1, self.max_depth + 1)
        c = self.r.randrange(100)
        if c < 80:
            e = self.vector(d)
        elif c < 85:
            e = self.scalar(d)
        elif c < 88:
            e = self.matrix(d)
        elif c < 90:
            e = self.pick(['"a string"', '"x"', '\'single\'', '`raw`'])
        else:
            e = self.invalid(self.vector(d))
        return e

    def invalid(self, e):
        """Mostly-plausible broken expressions; both servers must reject."""
        c = self.r.randrange(10)
        if c == 0 and len(e) > 2:
            i = self.r.randrange(len(e))
            return e[:i] + e[i + 1:]                     # a character dropped (may still be valid)
        if c == 1:
            return 'rate(%s)' % e                         # instant vector where a range is needed
        if c == 2:
            return 'sum(%s' % e
        if c == 3:
            return '%s[5m]' % e if '[' not in e else e + ' +'
        if c == 4:
            return 'abs(%s, 1)' % e
        if c == 5:
            return '%s and 1' % e
        if c == 6:
            return 'topk(%s)' % e
        if c == 7:
            return 'label_replace(%s, "x", "y", "z", "(")' % e   # bad regex: an evaluation error
        if c == 8:
            return self.pick(['{job=""}', '{job=~".*"}', '{job!="x"}', '{__name__=""}', '{job=~"x|"}',
                              'up{job="x"', 'up{job=~"("}', 'up{1job="x"}', 'up{job="x",}', '{}',
                              'sum by (job) (up) by (x)', 'topk(up, up)', 'quantile("a", up)',
                              'count_values(1, up)', 'label_join(up, "a")', 'scalar("x")',
                              '"a" + 1', 'up + "a"', 'time(1)', 'vector(up)', 'abs(1)', 'rate(1)',
                              'up[5m] + 1', '-"a"', 'sum(up[5m])', 'up @ foo()', 'up offset 5m offset 1m',
                              'up @ 1 @ 2', 'up @ NaN', 'up @ Inf', 'up @ -1', '1 == 1', '(1 == bool 1) > 0',
                              'up and 1', 'up == bool on(job) up', 'sum without () (up)', 'up[5m:1m:1m]',
                              'holt_winters(up[5m], 0.5)', 'round(up, 1, 2)', 'absent()', 'day_of_week(up, up)'])
        return e + ' offset 5'


# ---------------------------------------------------------------- comparison

def parse_value(s):
    return float(s)    # 'NaN', '+Inf', '-Inf' parse too


def values_equal(a, b):
    fa, fb = parse_value(a), parse_value(b)
    if math.isnan(fa) or math.isnan(fb):
        return math.isnan(fa) and math.isnan(fb)
    if math.isinf(fa) or math.isinf(fb):
        return fa == fb
    if fa == fb:
        return True
    return abs(fa - fb) <= 1e-9 * max(abs(fa), abs(fb))


def lkey(m):
    return ','.join('%s=%s' % (k, json.dumps(m[k])) for k in sorted(m))


def fuzzy_value(v):
    """A label value that is a number (count_values output), rounded: Go's
    trigonometry and glibc's may differ in the last bit."""
    try:
        f = float(v)
    except ValueError:
        return v
    return v if math.isnan(f) or math.isinf(f) else '%.12g' % f


def fuzzy_result(r):
    return [dict(s, metric={k: fuzzy_value(v) for k, v in s['metric'].items()}) for s in r]


def same_values_per_step(p, a):
    """For topk/bottomk ties: the same multiset of values at every time."""
    def per_step(d):
        out = {}
        for s in d['result']:
            for t, v in ([s['value']] if 'value' in s else s['values']):
                out.setdefault(t, []).append(parse_value(v))
        return {t: sorted(vs, key=lambda x: (math.isnan(x), x)) for t, vs in out.items()}
    ps, as_ = per_step(p['data']), per_step(a['data'])
    if set(ps) != set(as_):
        return False
    for t in ps:
        if len(ps[t]) != len(as_[t]):
            return False
        for x, y in zip(ps[t], as_[t]):
            if not values_equal(repr(x), repr(y)):
                return False
    return True


def compare(p, a):
    """None if the answers agree, otherwise a short description."""
    if p is None or a is None:
        return 'no JSON answer (prometheus %s, alloy %s)' % (p is not None, a is not None)
    if p.get('status') != a.get('status'):
        return 'status %s vs %s (prometheus error: %s; alloy error: %s)' % (
            p.get('status'), a.get('status'), p.get('error'), a.get('error'))
    if p['status'] == 'error':
        if p.get('errorType') != a.get('errorType'):
            return 'errorType %s vs %s (%s | %s)' % (p.get('errorType'), a.get('errorType'),
                                                     p.get('error'), a.get('error'))
        return None
    pd, ad = p['data'], a['data']
    if pd['resultType'] != ad['resultType']:
        return 'resultType %s vs %s' % (pd['resultType'], ad['resultType'])
    if pd['resultType'] in ('scalar', 'string'):
        pr, ar = pd['result'], ad['result']
        if pr[0] != ar[0]:
            return 'time %s vs %s' % (pr[0], ar[0])
        if pd['resultType'] == 'string':
            return None if pr[1] == ar[1] else 'string %r vs %r' % (pr[1], ar[1])
        return None if values_equal(pr[1], ar[1]) else 'scalar %s vs %s' % (pr[1], ar[1])
    ps, as_ = {}, {}
    for s in pd['result']:
        k = lkey(s['metric'])
        if k in ps:
            return 'prometheus answered {%s} twice' % k
        ps[k] = s
    for s in ad['result']:
        k = lkey(s['metric'])
        if k in as_:
            return 'alloy answered {%s} twice' % k
        as_[k] = s
    only_p = sorted(set(ps) - set(as_))
    only_a = sorted(set(as_) - set(ps))
    if only_p or only_a:
        return 'series differ:\n    only in prometheus: %s\n    only in alloy: %s' % (
            ' '.join('{%s}' % k for k in only_p[:5]), ' '.join('{%s}' % k for k in only_a[:5]))
    for k in sorted(ps):
        pv = [ps[k]['value']] if 'value' in ps[k] else ps[k]['values']
        av = [as_[k]['value']] if 'value' in as_[k] else as_[k]['values']
        if len(pv) != len(av):
            pt = set(x[0] for x in pv)
            at = set(x[0] for x in av)
            return 'series {%s}: %d points vs %d (times only in prometheus %s, only in alloy %s)' % (
                k, len(pv), len(av), sorted(pt - at)[:4], sorted(at - pt)[:4])
        for x, y in zip(pv, av):
            if x[0] != y[0]:
                return 'series {%s}: timestamp %s vs %s' % (k, x[0], y[0])
            if not values_equal(x[1], y[1]):
                return 'series {%s} at %s: prometheus %s, alloy %s' % (k, x[0], x[1], y[1])
    return None


def get_json(base, path, params):
    url = base.rstrip('/') + path + '?' + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            body = r.read()
    except urllib.error.HTTPError as e:
        body = e.read()
    except Exception as e:         # connection trouble: report, do not crash the run
        return None, url, str(e)
    try:
        return json.loads(body), url, None
    except ValueError:
        return None, url, body[:200]


# ---------------------------------------------------------------- servers

def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_ready(base, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + '/-/ready', timeout=2) as r:
                if r.status == 200:
                    return True
        except Exception:
            pass
        time.sleep(0.2)
    return False


def start_prometheus(binary, keep):
    tmp = tempfile.mkdtemp(prefix='promql_diff.')
    with open(os.path.join(tmp, 'prometheus.yml'), 'w') as f:
        f.write('global:\n  scrape_interval: 1m\n')
    port = free_port()
    log = open(os.path.join(tmp, 'prometheus.log'), 'w')
    proc = subprocess.Popen([binary, '--config.file=' + os.path.join(tmp, 'prometheus.yml'),
                             '--storage.tsdb.path=' + os.path.join(tmp, 'data'),
                             '--web.listen-address=127.0.0.1:%d' % port,
                             '--web.enable-remote-write-receiver'],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=keep)
    base = 'http://127.0.0.1:%d' % port
    if not wait_ready(base):
        proc.kill()
        sys.exit('prometheus did not become ready, log in ' + tmp)
    return proc, base, tmp


def find_prometheus():
    for d in os.environ.get('PATH', '').split(':') + ['/usr/bin']:
        p = os.path.join(d, 'prometheus')
        if os.access(p, os.X_OK):
            return p
    return None


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--alloy', required=True, help='alloy HTTP base URL')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--count', type=int, default=200, help='expressions to generate')
    ap.add_argument('--prometheus', default=None, help='prometheus 2.42 binary')
    ap.add_argument('--prometheus-url', default=None, help='use a running Prometheus holding the data')
    ap.add_argument('--no-write', action='store_true', help='the servers already hold the dataset')
    ap.add_argument('--t0', type=int, default=None, help='dataset start in ms (default: now - 3h, aligned)')
    ap.add_argument('--keep', action='store_true', help='leave Prometheus and its directory behind')
    ap.add_argument('--max-print', type=int, default=50, help='mismatches printed in full')
    ap.add_argument('--depth', type=int, default=3, help='maximum expression depth')
    ap.add_argument('--verbose', action='store_true')
    args = ap.parse_args()

    t0 = args.t0 if args.t0 is not None else (int(time.time()) // 3600 - 3) * 3600 * 1000
    proc = tmp = None
    if args.prometheus_url:
        prom = args.prometheus_url.rstrip('/')
    else:
        binary = args.prometheus or find_prometheus()
        if not binary:
            sys.exit('no prometheus binary (use --prometheus)')
        proc, prom, tmp = start_prometheus(binary, args.keep)
    alloy = args.alloy.rstrip('/')
    try:
        if not wait_ready(alloy):
            sys.exit('alloy at %s is not ready' % alloy)
        if not args.no_write:
            data = make_dataset(t0)
            write_dataset(prom, data, t0)
            write_dataset(alloy, data, t0)
        print('# t0=%d prometheus=%s alloy=%s seed=%d count=%d' % (t0, prom, alloy, args.seed, args.count))
        sys.stdout.flush()

        tend = t0 + (ROUNDS - 1) * STEP_MS
        s = lambda ms: '%.3f' % (ms / 1000.0)
        instants = [s(t0 + 3600000), s(t0), s(tend), s(tend + 180000), s(t0 + 200 * STEP_MS + 120000),
                    s(t0 + 1234567), s(t0 - 60000)]
        ranges = [(s(t0 - 300000), s(tend + 300000), '60'), (s(t0 + 2700000), s(t0 + 3900000), '17'),
                  (s(tend - 600000), s(tend + 600000), '30'), (s(t0 + 1000000), s(t0 + 4000000), '600'),
                  (s(t0 + 3600000), s(t0 + 3600000), '60')]
        rnd = random.Random(args.seed)
        gen = Gen(rnd, t0)
        gen.max_depth = args.depth
        passed = failed = printed = ambiguous = 0
        for n in range(args.count):
            expr = gen.expression()
            # a few instant times and range settings for each expression
            # plus one random time and one random range, to ms precision
            rt = t0 + rnd.randrange(-600000, ROUNDS * STEP_MS + 600000)
            rs = t0 + rnd.randrange(-600000, ROUNDS * STEP_MS)
            rstep = rnd.choice([1000, 7000, 15000, 45500, 60000, 300000])
            rlen = min(rnd.randrange(0, 2400000), rstep * 300)
            evals = [('/api/v1/query', {'query': expr, 'time': t}) for t in rnd.sample(instants, 2) + [s(rt)]]
            for (st, en, step) in rnd.sample(ranges, 1) + [(s(rs), s(rs + rlen), '%g' % (rstep / 1000.0))]:
                evals.append(('/api/v1/query_range', {'query': expr, 'start': st, 'end': en, 'step': step}))
            for path, params in evals:
                pj, purl, perr = get_json(prom, path, params)
                aj, aurl, aerr = get_json(alloy, path, params)
                diff = compare(pj, aj)
                if (diff is not None and pj is not None and aj is not None and pj.get('status') == 'success'
                        and aj.get('status') == 'success' and isinstance(pj['data'].get('result'), list)
                        and isinstance(aj['data'].get('result'), list)):
                    # number-valued labels may differ in the last bit (sin,
                    # exp...: Go's math library is not glibc's)
                    fp = dict(pj, data=dict(pj['data'], result=fuzzy_result(pj['data']['result'])))
                    fa = dict(aj, data=dict(aj['data'], result=fuzzy_result(aj['data']['result'])))
                    if compare(fp, fa) is None:
                        diff = None
                        ambiguous += 1
                    elif ('topk' in expr or 'bottomk' in expr) and same_values_per_step(pj, aj):
                        # ties: which series wins depends on Go map order
                        diff = None
                        ambiguous += 1
                if diff is not None and pj is not None and aj is not None:
                    # Some answers are not deterministic in Prometheus itself:
                    # topk/bottomk ties after a step whose output order comes
                    # from a Go map. Alloy's answer counts if Prometheus gives
                    # it too when asked again.
                    for _ in range(8):
                        pj2, _, _ = get_json(prom, path, params)
                        if compare(pj2, aj) is None:
                            diff = None
                            ambiguous += 1
                            break
                if diff is None:
                    passed += 1
                    continue
                failed += 1
                if printed < args.max_print:
                    printed += 1
                    print('MISMATCH #%d (expression %d): %s' % (failed, n, expr))
                    print('  %s %s' % (path, ' '.join('%s=%s' % kv for kv in params.items() if kv[0] != 'query')))
                    print('  ' + diff.replace('\n', '\n  '))
                    for e in (perr, aerr):
                        if e:
                            print('  transport: %s' % e)
                    print("  curl -s '%s'" % purl)
                    print("  curl -s '%s'" % aurl)
                    sys.stdout.flush()
            if args.verbose:
                print('# %d %s' % (n, expr))
        if ambiguous:
            print('# %d answers agreed only up to ties, label float spelling or Prometheus\'s own '
                  'non-determinism' % ambiguous)
        print('%d passed, %d failed' % (passed, failed))
        return 0 if failed == 0 else 1
    finally:
        if proc is not None:
            if args.keep:
                print('# kept: prometheus at %s (pid %d), directory %s; --prometheus-url %s --no-write --t0 %d'
                      % (prom, proc.pid, tmp, prom, t0))
            else:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
