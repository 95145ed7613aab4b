#!/usr/bin/env bash
# Runs the mlxservice example on real MLX and drives it with a few requests: predictions, an
# allowed admin load, a language model load and an in-process generation, two policy denials (a pickle disguised as safetensors, a source outside
# the allowed directory), an integrity mismatch (a pinned digest that does not match) and a
# rejected input. Telemetry goes to OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, else to the
# console (kept in OUT/telemetry.log and summarized at the end).
#
# usage: demo.sh SERVICE_BINARY MODELS_DIR OUT_DIR PYTHON
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1 models=$2 out=$3 py=$4
mkdir -p "$out"
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
token=demo-admin-$RANDOM$RANDOM
wrong=$(printf 'ab%.0s' $(seq 32))

MLXSERVICE_ADMIN_TOKEN=$token OTEL_SERVICE_NAME=${OTEL_SERVICE_NAME:-mlxservice-demo} \
  OTEL_METRIC_EXPORT_INTERVAL=${OTEL_METRIC_EXPORT_INTERVAL:-2000} \
  "$bin" -addr "127.0.0.1:$port" -model "$models/classifier/classifier.safetensors" -models-dir "$models" \
  -pin "classifier-pinned=$wrong" >"$out/telemetry.log" 2>"$out/service.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
wait_ready "$url/healthz" $pid "$out/service.err" 50

step() { # name expected-status curl-args...
  local name=$1 want=$2; shift 2
  local code
  code=$(curl -sS -o "$out/last.json" -w '%{http_code}' "$@")
  printf '  %-58s %s (want %s)  %s\n' "$name" "$code" "$want" "$(head -c 140 "$out/last.json" | tr -d '\n')"
  [ "$code" = "$want" ] || { echo "demo-mlx: unexpected status" >&2; exit 1; }
}
row='[0.1,-0.2,0.3,0.4,-0.5,0.6,0.7,-0.8,0.9,1.0,-1.1,1.2,0.0,0.5,-0.5,0.25]'
echo "mlxservice on $url: $(curl -sS "$url/healthz" | head -c 200)"
for user in alice bob alice; do
  step "predict as $user" 200 -X POST "$url/v1/predict" -H "X-API-Key: sk-$user" -d "{\"inputs\":[$row,$row]}"
done
step "admin: load an allowed gguf" 201 -X POST "$url/admin/models" -H "Authorization: Bearer $token" \
  -d "{\"name\":\"classifier-gguf\",\"source\":\"file://$models/classifier/classifier.gguf\"}"
step "predict with the gguf model" 200 -X POST "$url/v1/predict" -H "X-User: carol" -d "{\"model\":\"classifier-gguf\",\"inputs\":[$row]}"
step "admin: load the tiny language model (a directory)" 201 -X POST "$url/admin/models" -H "Authorization: Bearer $token" \
  -d "{\"name\":\"tiny-lm\",\"source\":\"$models/tiny-lm\"}"
step "generate 16 tokens in process" 200 -X POST "$url/v1/generate" -H "X-API-Key: sk-alice" \
  -d '{"model":"tiny-lm","tokens":[378,295,333,14,362,367,365],"max_tokens":16}'
step "admin: pickle disguised as .safetensors (policy)" 403 -X POST "$url/admin/models" -H "Authorization: Bearer $token" \
  -d "{\"name\":\"evil\",\"source\":\"$models/unsafe/disguised.safetensors\"}"
step "admin: source outside the allowed directory" 403 -X POST "$url/admin/models" -H "Authorization: Bearer $token" \
  -d "{\"name\":\"remote\",\"source\":\"https://models.example.com/x.safetensors\",\"path\":\"$models/classifier/classifier.safetensors\"}"
step "admin: digest differs from the pinned one" 409 -X POST "$url/admin/models" -H "Authorization: Bearer $token" \
  -d "{\"name\":\"classifier-pinned\",\"source\":\"$models/classifier/classifier.npz\"}"
step "admin: no token" 401 -X POST "$url/admin/models" -d '{"name":"x","source":"y"}'
step "predict: wrong input size (rejected)" 400 -X POST "$url/v1/predict" -d '{"inputs":[[1,2,3]]}'
echo "health: $(curl -sS "$url/healthz" | head -c 400)"

kill -TERM $pid
wait $pid || true
trap - EXIT
if [ -n "${OTEL_EXPORTER_OTLP_ENDPOINT:-}" ]; then
  echo "telemetry exported over OTLP to $OTEL_EXPORTER_OTLP_ENDPOINT"
else
  "$(dirname "$0")/../telemetry-summary.sh" "$out/telemetry.log"
fi
