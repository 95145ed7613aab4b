#!/usr/bin/env bash
# Collector cost of mlxanomaly, measured on the built distribution (issue 11 "Numbers").
#
#   scripts/otelcol/bench.sh OTELCOL TELEMETRYGEN [ROUNDS]
#
# One run, alternating the two pipelines ROUNDS times (default 2) so both see the same machine:
#   pass: OTLP in -> memory_limiter -> batch -> OTLP out
#   mlx:  OTLP in -> memory_limiter -> mlxanomaly -> batch -> OTLP out
# Fixed rate: telemetrygen sends 10k MLX inference spans/s (4 workers x 2500) for BENCH_FIXED_S;
#   collector CPU (utime+stime from /proc/PID/stat) over the middle of the window, and peak VmRSS.
# Saturation: telemetrygen unthrottled (BENCH_SAT_WORKERS workers) for BENCH_SAT_S; spans accepted
#   per CPU-second of the collector, checked against what the sink received (nothing dropped).
# The sink is a second otelcol-mlx (OTLP in, debug exporter sampling 1 in 100000), not measured.
# Figures are medians over the rounds; ratio lines last.
set -euo pipefail
otelcol=$1 tg=$2 rounds=${3:-2}
here=$(cd "$(dirname "$0")" && pwd)
fixed_s=${BENCH_FIXED_S:-30} sat_s=${BENCH_SAT_S:-20} sat_workers=${BENCH_SAT_WORKERS:-6}
work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
metric() { # url name [label-filter]: sum of the samples of counter NAME (with or without _total)
  curl -sf "$1" | awk -v n="$2" -v f="${3:-}" '!/^#/ { split($1, a, "{"); m = a[1]; sub(/_total$/, "", m); if (m == n && index($0, f)) s += $NF } END { printf "%.0f\n", s+0 }'
}
wait_up() { for _ in $(seq 200); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "bench: $1 not up" >&2; return 1; }

attrs=(--telemetry-attributes 'gen_ai.operation.name="chat"' --telemetry-attributes 'gen_ai.provider.name="mlx"'
       --telemetry-attributes 'gen_ai.request.model="bench-model"' --telemetry-attributes 'gen_ai.usage.input_tokens=120'
       --telemetry-attributes 'gen_ai.usage.output_tokens=24' --telemetry-attributes 'enduser.pseudo.id="5f2b9c0d7e1a4b3c8d9e0f1a2b3c4d5e"'
       --telemetry-attributes 'mlx.device="cpu"')

sink=127.0.0.1:$(port); sink_tel=$(port)
BENCH_SINK=$sink BENCH_SINK_TELEMETRY_PORT=$sink_tel "$otelcol" --config "$here/bench-sink.yaml" >"$work/sink.log" 2>&1 &
pids+=($!); wait_up "http://127.0.0.1:$sink_tel/metrics"
sink_m=http://127.0.0.1:$sink_tel/metrics

results=$work/results.txt; : >"$results"
for r in $(seq "$rounds"); do
  for mode in pass mlx; do
    procs='[memory_limiter, batch]'; [ $mode = mlx ] && procs='[memory_limiter, mlxanomaly, batch]'
    otlp=127.0.0.1:$(port); tel=$(port)
    BENCH_OTLP=$otlp BENCH_SINK=$sink BENCH_TELEMETRY_PORT=$tel BENCH_PROCESSORS=$procs \
      "$otelcol" --config "$here/bench-collector.yaml" >"$work/col-$mode-$r.log" 2>&1 &
    cpid=$!; pids+=($cpid); m=http://127.0.0.1:$tel/metrics; wait_up "$m"
    sink0=$(metric "$sink_m" otelcol_exporter_sent_spans)

    # Fixed rate: 10k spans/s.
    "$tg" traces --otlp-endpoint "$otlp" --otlp-insecure --workers 4 --rate 2500 --duration "${fixed_s}s" \
      --child-spans 0 --span-duration 150ms --service bench-svc "${attrs[@]}" >"$work/tg-fixed.log" 2>&1 &
    tgpid=$!
    sleep $(( fixed_s / 4 ))
    a0=$(metric "$m" otelcol_receiver_accepted_spans); c0=$(cpu_ticks $cpid); t0=$(date +%s.%N); rss=0
    for _ in $(seq $(( fixed_s / 2 ))); do sleep 1; v=$(rss_kib $cpid); [ "$v" -gt "$rss" ] && rss=$v; done
    a1=$(metric "$m" otelcol_receiver_accepted_spans); c1=$(cpu_ticks $cpid); t1=$(date +%s.%N)
    wait $tgpid || { echo "bench: telemetrygen failed"; cat "$work/tg-fixed.log"; exit 1; }
    echo "$mode fixed $(awk -v a0=$a0 -v a1=$a1 -v c0=$c0 -v c1=$c1 -v t0=$t0 -v t1=$t1 -v tck=$tck -v rss=$rss \
      'BEGIN { dt=t1-t0; printf "rate=%.0f cpu=%.4f rss_mib=%.1f", (a1-a0)/dt, (c1-c0)/tck/dt, rss/1024 }')" | tee -a "$results"

    # Saturation: unthrottled.
    a0=$(metric "$m" otelcol_receiver_accepted_spans); c0=$(cpu_ticks $cpid); t0=$(date +%s.%N)
    "$tg" traces --otlp-endpoint "$otlp" --otlp-insecure --workers "$sat_workers" --rate 0 --duration "${sat_s}s" \
      --child-spans 0 --span-duration 150ms --service bench-svc "${attrs[@]}" >"$work/tg-sat.log" 2>&1 || true
    sleep 2 # the last batch (timeout 1 s) leaves
    a1=$(metric "$m" otelcol_receiver_accepted_spans); c1=$(cpu_ticks $cpid); t1=$(date +%s.%N)
    refused=$(metric "$m" otelcol_receiver_refused_spans); failed=$(metric "$m" otelcol_exporter_send_failed_spans)
    sent=$(metric "$m" otelcol_exporter_sent_spans); acc=$(metric "$m" otelcol_receiver_accepted_spans)
    for _ in $(seq 50); do sink1=$(metric "$sink_m" otelcol_exporter_sent_spans); [ $(( sink1 - sink0 )) -ge "$acc" ] && break; sleep 0.2; done
    echo "$mode sat $(awk -v a0=$a0 -v a1=$a1 -v c0=$c0 -v c1=$c1 -v t0=$t0 -v t1=$t1 -v tck=$tck \
      'BEGIN { cpu=(c1-c0)/tck; printf "spans=%d cpu_s=%.2f per_core=%.0f rate=%.0f", a1-a0, cpu, (a1-a0)/cpu, (a1-a0)/(t1-t0) }') accepted=$acc sent=$sent sink=$(( sink1 - sink0 )) refused=$refused failed=$failed" | tee -a "$results"
    kill $cpid; wait $cpid 2>/dev/null || true
  done
done

awk '
  function med(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
  { for (i = 3; i <= NF; i++) { split($i, kv, "="); v[$1, $2, kv[1], ++cnt[$1, $2, kv[1]]] = kv[2] } }
  $2 == "sat" { for (i = 3; i <= NF; i++) { split($i, kv, "="); x[kv[1]] = kv[2] } if (x["refused"] + x["failed"] > 0 || x["sink"] < x["accepted"]) lost[$1] = 1 }
  END {
    for (m in cnt) { split(m, k, SUBSEP); n = cnt[m]; delete a; for (i = 1; i <= n; i++) a[i] = v[k[1], k[2], k[3], i]; M[k[1], k[2], k[3]] = med(a, n) }
    printf "otelcol-mlx at a fixed rate (%.0f / %.0f spans/s measured): CPU %.3f cores without mlxanomaly, %.3f with; peak RSS %.1f MiB without, %.1f MiB with\n", M["pass","fixed","rate"], M["mlx","fixed","rate"], M["pass","fixed","cpu"], M["mlx","fixed","cpu"], M["pass","fixed","rss_mib"], M["mlx","fixed","rss_mib"]
    if (M["pass","fixed","rate"] < 9500 || M["mlx","fixed","rate"] < 9500) printf "WARNING: telemetrygen reached %.0f / %.0f spans/s, not 10000: the machine is short of CPU for the load generator; the ratios below hold at that rate\n", M["pass","fixed","rate"], M["mlx","fixed","rate"]
    printf "otelcol-mlx saturation: %.0f spans per CPU-second without mlxanomaly, %.0f with (%s)\n", M["pass","sat","per_core"], M["mlx","sat","per_core"], (lost["pass"] || lost["mlx"]) ? "SPANS REFUSED OR LOST: see the lines above" : "nothing refused or lost: sink received every accepted span"
    printf "ratio: collector CPU at 10k spans/s, with / without mlxanomaly = %.3f (issue: <= 1.10)\n", M["mlx","fixed","cpu"] / M["pass","fixed","cpu"]
    printf "ratio: collector peak RSS at 10k spans/s with mlxanomaly = %.1f MiB (issue: <= 200 MiB)\n", M["mlx","fixed","rss_mib"]
    printf "ratio: saturation spans per core, with / without mlxanomaly = %.3f (issue: >= 0.9)\n", M["mlx","sat","per_core"] / M["pass","sat","per_core"]
  }' "$results"
