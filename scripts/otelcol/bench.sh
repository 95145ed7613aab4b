#!/usr/bin/env bash
# Collector cost of mlxanomaly, measured on the built distribution (issue 11 "Numbers").
#
#   scripts/otelcol/bench.sh OTELCOL MLXLOAD [ROUNDS]
#
# One run, alternating the two pipelines ROUNDS times (default 2: A/B/A/B) so both see the same
# machine:
#   pass: OTLP in -> memory_limiter -> batch -> OTLP out
#   floor: OTLP in -> memory_limiter -> attributes/score -> batch -> OTLP out: the contract's
#         floor, mlxanomaly.score written on every span and nothing detected
#   mlx:  OTLP in -> memory_limiter -> mlxanomaly -> batch -> OTLP out
# The load is MLX inference spans from MLXLOAD (cmd/mlxload: pre-built OTLP batches of 500 spans,
# timestamps rewritten per request, paced on a schedule), sent over OTLP/gRPC.
# Fixed rate: BENCH_RATE spans/s (default 10000) for BENCH_FIXED_S; collector CPU (utime+stime
#   from /proc/PID/stat) over the middle half of the window, peak RSS (VmHWM) at its end.
# Saturation: MLXLOAD unthrottled (BENCH_SAT_WORKERS requests in flight) for BENCH_SAT_S; spans the
#   sink received per CPU-second of the collector (utime+stime from the start of the load until the
#   sink holds every span). A figure of the collector, not of the generator: the generator's speed
#   changes the seconds, not the spans per CPU-second.
# Nothing dropped: every span the generator had accepted is counted at the sink (a second
#   otelcol-mlx, OTLP in, debug exporter sampling 1 in 100000; not measured), and the collector
#   refused and failed none.
# BENCH_SHORT=1: a short check of the whole procedure (8 s fixed, 6 s saturation, 1 round); the
# figures it prints are rough. Figures are medians over the rounds; ratio lines last.
set -euo pipefail
otelcol=$1 load=$2
here=$(cd "$(dirname "$0")" && pwd)
if [ "${BENCH_SHORT:-0}" = 1 ]; then
  rounds=${3:-1} fixed_s=${BENCH_FIXED_S:-8} sat_s=${BENCH_SAT_S:-6}
else
  rounds=${3:-2} fixed_s=${BENCH_FIXED_S:-30} sat_s=${BENCH_SAT_S:-20}
fi
rate=${BENCH_RATE:-10000} sat_workers=${BENCH_SAT_WORKERS:-4} batch=${BENCH_BATCH:-500} callers=${BENCH_CALLERS:-10000}
work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
metric() { # url name: sum of the samples of counter NAME (with or without _total)
  curl -sf "$1" | awk -v n="$2" '!/^#/ { split($1, a, "{"); m = a[1]; sub(/_total$/, "", m); if (m == n) s += $NF } END { printf "%.0f\n", s+0 }'
}
field() { tr ' ' '\n' <"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }
wait_up() { for _ in $(seq 200); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "bench: $1 not up" >&2; return 1; }
# wait_sink N: until the sink has received N spans since sink0 (at most 20 s); prints the count.
wait_sink() { local n; for _ in $(seq 100); do n=$(( $(metric "$sink_m" otelcol_receiver_accepted_spans) - sink0 )); [ "$n" -ge "$1" ] && break; sleep 0.2; done; echo "$n"; }

sink=127.0.0.1:$(port); sink_tel=$(port)
BENCH_SINK=$sink BENCH_SINK_TELEMETRY_PORT=$sink_tel "$otelcol" --config "$here/bench-sink.yaml" >"$work/sink.log" 2>&1 &
pids+=($!); wait_up "http://127.0.0.1:$sink_tel/metrics"
sink_m=http://127.0.0.1:$sink_tel/metrics
echo "bench: $rounds round(s) of pass/floor/mlx; fixed ${rate} spans/s for ${fixed_s} s, saturation ${sat_s} s with ${sat_workers} requests in flight, ${batch} spans a request from ${callers} callers"

results=$work/results.txt; : >"$results"
for r in $(seq "$rounds"); do
  for mode in pass floor mlx; do
    procs='[memory_limiter, batch]'
    [ $mode = floor ] && procs='[memory_limiter, attributes/score, batch]'
    [ $mode = mlx ] && procs='[memory_limiter, mlxanomaly, batch]'
    otlp=127.0.0.1:$(port); tel=$(port)
    BENCH_OTLP=$otlp BENCH_SINK=$sink BENCH_TELEMETRY_PORT=$tel BENCH_PROCESSORS=$procs \
      "$otelcol" --config "$here/bench-collector.yaml" >"$work/col-$mode-$r.log" 2>&1 &
    cpid=$!; pids+=($cpid); m=http://127.0.0.1:$tel/metrics; wait_up "$m"

    # Fixed rate.
    sink0=$(metric "$sink_m" otelcol_receiver_accepted_spans)
    "$load" -endpoint "$otlp" -rate "$rate" -duration "${fixed_s}s" -batch "$batch" -callers "$callers" -workers 4 >"$work/load-fixed.txt" 2>&1 &
    lpid=$!
    sleep "$(awk -v s="$fixed_s" 'BEGIN { print s / 4 }')"
    a0=$(metric "$m" otelcol_receiver_accepted_spans); c0=$(cpu_ticks $cpid); t0=$(date +%s.%N)
    sleep "$(awk -v s="$fixed_s" 'BEGIN { print s / 2 }')"
    a1=$(metric "$m" otelcol_receiver_accepted_spans); c1=$(cpu_ticks $cpid); t1=$(date +%s.%N)
    wait $lpid || { echo "bench: mlxload failed at the fixed rate (spans refused or lost):"; cat "$work/load-fixed.txt"; exit 1; }
    hwm=$(hwm_kib $cpid)
    sent=$(field "$work/load-fixed.txt" sent); lcpu=$(field "$work/load-fixed.txt" cpu_s)
    got=$(wait_sink "$sent")
    echo "$mode fixed $(awk -v a0=$a0 -v a1=$a1 -v c0=$c0 -v c1=$c1 -v t0=$t0 -v t1=$t1 -v tck=$tck -v hwm=$hwm -v lcpu=$lcpu -v sent=$sent \
      'BEGIN { dt=t1-t0; printf "rate=%.0f cpu=%.4f rss_mib=%.1f gen_cpu_us_per_span=%.2f", (a1-a0)/dt, (c1-c0)/tck/dt, hwm/1024, lcpu/sent*1e6 }') sent=$sent sink=$got" | tee -a "$results"

    # Saturation.
    sink0=$(metric "$sink_m" otelcol_receiver_accepted_spans); c0=$(cpu_ticks $cpid); t0=$(date +%s.%N)
    "$load" -endpoint "$otlp" -rate 0 -duration "${sat_s}s" -batch "$batch" -callers "$callers" -workers "$sat_workers" >"$work/load-sat.txt" 2>&1 || true
    sent=$(field "$work/load-sat.txt" sent); failed=$(field "$work/load-sat.txt" failed)
    got=$(wait_sink "$sent")
    c1=$(cpu_ticks $cpid); t1=$(date +%s.%N)
    refused=$(metric "$m" otelcol_receiver_refused_spans); efailed=$(metric "$m" otelcol_exporter_send_failed_spans)
    flags=$(metric "$m" otelcol_processor_mlxanomaly_flags)
    echo "$mode sat $(awk -v n=$got -v c0=$c0 -v c1=$c1 -v t0=$t0 -v t1=$t1 -v tck=$tck \
      'BEGIN { cpu=(c1-c0)/tck; printf "cpu_s=%.2f per_cpu_s=%.0f rate=%.0f", cpu, n/cpu, n/(t1-t0) }') sent=$sent sink=$got failed=$failed refused=$refused export_failed=$efailed flags=$flags" | tee -a "$results"
    kill $cpid; wait $cpid 2>/dev/null || true
  done
done

awk -v want="$rate" '
  function med(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
  { delete x; for (i = 3; i <= NF; i++) { split($i, kv, "="); x[kv[1]] = kv[2]; v[$1, $2, kv[1], ++cnt[$1, $2, kv[1]]] = kv[2] }
    if (x["sink"] < x["sent"] || x["failed"] + x["refused"] + x["export_failed"] > 0) lost = 1 }
  END {
    for (m in cnt) { split(m, k, SUBSEP); n = cnt[m]; delete a; for (i = 1; i <= n; i++) a[i] = v[k[1], k[2], k[3], i]; M[k[1], k[2], k[3]] = med(a, n) }
    printf "otelcol-mlx at a fixed rate (%.0f / %.0f spans/s measured, %.0f asked): CPU %.3f cores without mlxanomaly, %.3f with; peak RSS %.1f MiB without, %.1f MiB with (generator: %.2f / %.2f CPU-us per span)\n", M["pass","fixed","rate"], M["mlx","fixed","rate"], want, M["pass","fixed","cpu"], M["mlx","fixed","cpu"], M["pass","fixed","rss_mib"], M["mlx","fixed","rss_mib"], M["pass","fixed","gen_cpu_us_per_span"], M["mlx","fixed","gen_cpu_us_per_span"]
    if (M["pass","fixed","rate"] < 0.95 * want || M["mlx","fixed","rate"] < 0.95 * want) printf "WARNING: the collector accepted %.0f / %.0f spans/s, not %.0f: the machine is short of CPU; the ratios below hold at that rate\n", M["pass","fixed","rate"], M["mlx","fixed","rate"], want
    printf "otelcol-mlx saturation: %.0f spans per collector CPU-second without mlxanomaly, %.0f with (%.0f / %.0f spans/s delivered); %s\n", M["pass","sat","per_cpu_s"], M["mlx","sat","per_cpu_s"], M["pass","sat","rate"], M["mlx","sat","rate"], lost ? "SPANS REFUSED OR LOST: see the lines above" : "nothing refused or lost: the sink received every span sent, in every run"
    printf "ratio: collector CPU at %.0f spans/s, with / without mlxanomaly = %.3f (issue: <= 1.10)\n", want, M["mlx","fixed","cpu"] / M["pass","fixed","cpu"]
    printf "ratio: collector peak RSS at %.0f spans/s with mlxanomaly = %.1f MiB (issue: <= 200 MiB; without: %.1f MiB)\n", want, M["mlx","fixed","rss_mib"], M["pass","fixed","rss_mib"]
    printf "ratio: saturation spans per collector CPU-second, with / without mlxanomaly = %.3f (issue: >= 0.9)\n", M["mlx","sat","per_cpu_s"] / M["pass","sat","per_cpu_s"]
    printf "floor (mlxanomaly.score written on every span by the attributes processor, nothing detected): CPU %.3f cores at %.0f spans/s, %.0f spans per collector CPU-second\n", M["floor","fixed","cpu"], M["floor","fixed","rate"], M["floor","sat","per_cpu_s"]
    printf "ratio: floor / without: CPU %.3f, saturation %.3f; mlxanomaly / floor: CPU %.3f, saturation %.3f\n", M["floor","fixed","cpu"] / M["pass","fixed","cpu"], M["floor","sat","per_cpu_s"] / M["pass","sat","per_cpu_s"], M["mlx","fixed","cpu"] / M["floor","fixed","cpu"], M["mlx","sat","per_cpu_s"] / M["floor","sat","per_cpu_s"]
    exit lost
  }' "$results"
