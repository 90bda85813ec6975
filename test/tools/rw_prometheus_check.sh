#!/bin/bash
# rw_prometheus_check.sh: prove rwclient's remote-write encoding against a real
# Prometheus (2.42 here), then measure Prometheus's own ingest rate as the
# benchmark oracle.
#
# Starts Prometheus with --web.enable-remote-write-receiver in a temporary
# directory on a free port (as user nobody when run as root: Prometheus does
# not need root and PostgreSQL-style tests here avoid it), sends samples with
# `rwclient` (remote write 1.0: Prometheus 2.42 has no 2.0 receiver), reads
# every one back through /api/v1/query and compares, including a stale marker
# that must end its series. Then `rwclient --bench` against it.
#
# usage: test/tools/rw_prometheus_check.sh [--no-bench] [bench options...]
# exit status 0 when every value read back matches.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
RW=$HERE/build/rwclient
PY=/usr/bin/python3
BENCH=1
if [ "${1:-}" = "--no-bench" ]; then BENCH=0; shift; fi
BENCH_ARGS=("$@")
[ ${#BENCH_ARGS[@]} -eq 0 ] && BENCH_ARGS=(--series 20000 --rounds 20 --samples-per-request 500 --connections 2)

[ -x "$RW" ] || make -C "$HERE" >/dev/null || exit 2
command -v prometheus >/dev/null || { echo "prometheus not installed"; exit 2; }

D=$(mktemp -d /tmp/rwprom.XXXXXX)
chmod 777 "$D"
printf 'global:\n  scrape_interval: 15s\n' > "$D/prometheus.yml"
chmod 644 "$D/prometheus.yml"
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RUN=()
[ "$(id -u)" = 0 ] && RUN=(runuser -u nobody --)
"${RUN[@]}" prometheus --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/data" \
	--web.listen-address=127.0.0.1:$PORT --web.enable-remote-write-receiver >"$D/prom.log" 2>&1 &
PROM=$!
cleanup() { kill $PROM 2>/dev/null; wait $PROM 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT
for _ in $(seq 100); do curl -sf 127.0.0.1:$PORT/-/ready >/dev/null && break; sleep 0.2; done

NOW=$(( $(date +%s) * 1000 ))
T1=$(( NOW - 60000 ))
T2=$(( NOW - 30000 ))
cat > "$D/in.txt" <<EOF
rwcheck_gauge{job="node",instance="a:9100"} 42.5 $T1
rwcheck_gauge{instance="a:9100",job="node"} 43.25 $T2
rwcheck_total{job="api",path="/x y",quote="say \"hi\"",utf="日本é"} 1e3 $T2
rwcheck_special{k="nan"} NaN $T2
rwcheck_special{k="inf"} +Inf $T2
rwcheck_special{k="neginf"} -Inf $T2
rwcheck_special{k="tiny"} 4.9e-324 $T2
rwcheck_special{k="big"} -1.7976931348623157e308 $T2
rwcheck_stale{k="s"} 7 $T1
rwcheck_stale{k="s"} stale $T2
EOF
echo "# send: $("$RW" -t tenant-a -f "$D/in.txt" 127.0.0.1:$PORT/api/v1/write | tr '\n' ' ')"

query() { curl -s 127.0.0.1:$PORT/api/v1/query --data-urlencode "query=$1" --data-urlencode "time=$2"; }
query '{__name__=~"rwcheck_.*"}' "$((T2 / 1000))" > "$D/at_t2.json"
query 'rwcheck_gauge[5m]' "$((NOW / 1000))" > "$D/range.json"
query 'rwcheck_stale' "$((T1 / 1000 + 1))" > "$D/stale_t1.json"

$PY - "$D" <<'EOF'
import json, sys
d = sys.argv[1]
def load(n): return json.load(open(f"{d}/{n}"))["data"]["result"]
fail = total = 0
def check(cond, what):
    global fail, total
    print(("ok   " if cond else "FAIL ") + what)
    fail += not cond
    total += 1
at = {tuple(sorted(r["metric"].items())): r["value"][1] for r in load("at_t2.json")}
def key(**kw): return tuple(sorted(kw.items()))
check(at.get(key(__name__="rwcheck_gauge", instance="a:9100", job="node")) == "43.25", "gauge latest value")
check(at.get(key(__name__="rwcheck_total", job="api", path="/x y", quote='say "hi"', utf="日本é")) == "1000",
      "escaped and utf-8 label values")
for k, v in [("nan", "NaN"), ("inf", "+Inf"), ("neginf", "-Inf"), ("tiny", "5e-324"),
             ("big", "-1.7976931348623157e+308")]:
    check(at.get(key(__name__="rwcheck_special", k=k)) == v, f"special value {k}")
check(not any(dict(m).get("__name__") == "rwcheck_stale" for m in at), "stale marker ends the series")
rng = load("range.json")
check(len(rng) == 1 and [v[1] for v in rng[0]["values"]] == ["42.5", "43.25"],
      "two samples of one series given with labels in different orders")
st = load("stale_t1.json")
check(len(st) == 1 and st[0]["value"][1] == "7", "value before the stale marker")
print(f"{total - fail} passed, {fail} failed")
sys.exit(1 if fail else 0)
EOF
STATUS=$?

# CPU seconds (user + system) used so far by the Prometheus process: on a
# shared machine this, per sample, is steadier than wall-clock samples/s.
prom_cpu() {
	local pid
	pid=$(pgrep -P $PROM prometheus || echo $PROM)
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($14 + $15) / hz }' /proc/$pid/stat
}

if [ $BENCH = 1 ]; then
	# the bench uses its own series, so the samples above do not interfere
	echo "# bench against Prometheus: ${BENCH_ARGS[*]}"
	C0=$(prom_cpu)
	"$RW" --bench "${BENCH_ARGS[@]}" 127.0.0.1:$PORT | tee "$D/bench.out"
	C1=$(prom_cpu)
	N=$(awk '/^samples:/ { print $2 }' "$D/bench.out")
	awk -v c0="$C0" -v c1="$C1" -v n="$N" \
		'BEGIN { printf "prometheus cpu: %.2f s, %.2f us/sample\n", c1 - c0, (c1 - c0) * 1e6 / n }'
fi
exit $STATUS
