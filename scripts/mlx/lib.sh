# Shared by the demo scripts (sourced, not run).

# wait_ready URL PID LOG TRIES: polls URL every 0.2 s until it answers, failing with LOG
# when the process PID dies first or TRIES polls pass.
wait_ready() {
  local url=$1 pid=$2 log=$3 tries=$4
  for _ in $(seq 1 "$tries"); do
    curl -fsS "$url" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log"; return 1; }
    sleep 0.2
  done
  echo "no answer from $url after $tries tries" >&2; cat "$log"; return 1
}
