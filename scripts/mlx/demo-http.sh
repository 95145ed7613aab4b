#!/usr/bin/env bash
# The over-HTTP half of demo-mlx: a real mlx_lm.server on a free loopback port serving the tiny
# model, called by examples/mlxclient (openai-go through otelmlxhttp): chat and streaming on the
# default model, then on the model directory (the server loads it: a model switch), then an
# unknown model (404).
#
# usage: demo-http.sh CLIENT_BINARY MLX_LM_SERVER MODEL_DIR OUT_DIR PYTHON
set -euo pipefail
. "$(dirname "$0")/lib.sh"
client=$1 server=$2 model=$3 out=$4 py=$5
mkdir -p "$out"
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$server" --model "$model" --host 127.0.0.1 --port "$port" >"$out/mlx_lm.server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
wait_ready "http://127.0.0.1:$port/v1/models" $pid "$out/mlx_lm.server.log" 300
echo "mlx_lm.server (MLX on this machine) on 127.0.0.1:$port; mlxclient through otelmlxhttp:"
OTEL_SERVICE_NAME=${OTEL_SERVICE_NAME:-mlxclient-demo} "$client" -base-url "http://127.0.0.1:$port/v1" \
  -model "default_model,$model" >"$out/telemetry.log"
if OTEL_SERVICE_NAME=${OTEL_SERVICE_NAME:-mlxclient-demo} "$client" -base-url "http://127.0.0.1:$port/v1" \
  -model "no-such-org/no-such-model" >>"$out/telemetry.log" 2>"$out/unknown-model.err"; then
  echo "demo-mlx: the unknown model was served" >&2; exit 1
fi
# mlx_lm.server answers 404 with a body openai-go cannot decode; the span records the 404.
echo "  chat no-such-org/no-such-model                refused by the server, as expected (see error.type below)"
if [ -z "${OTEL_EXPORTER_OTLP_ENDPOINT:-}" ]; then
  "$(dirname "$0")/../telemetry-summary.sh" "$out/telemetry.log"
  echo "  switch: $(grep -o '"Key":"mlx.model.switch"' "$out/telemetry.log" | wc -l) span(s) with mlx.model.switch; error.type values: $(grep -o '"Key":"error.type","Value":{"Type":"STRING","Value":"[^"]*"' "$out/telemetry.log" | sed 's/.*"Value":"//; s/"$//' | sort -u | tr '\n' ' ')"
fi
