#!/usr/bin/env bash
# Summarizes a console-exporter telemetry log of the demos: span names and event names with
# their counts, on two lines. Usage: telemetry-summary.sh FILE
set -euo pipefail
f=$1
count() { sort | uniq -c | sort -rn | awk '{$1=$1};1' | tr '\n' ';'; }
echo "telemetry (console exporters) in $f:"
echo "  spans:  $(grep -o '"Name":"[^"]*","SpanContext"' "$f" | sed 's/,"SpanContext"//' | count)"
echo "  events: $(grep -o '"EventName":"[a-z.]*"' "$f" | count)"
