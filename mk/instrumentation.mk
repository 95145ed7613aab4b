# The otelmlx instrumentation library and its quickstart example.

# A service that imports the instrumentation must get neither the OpenTelemetry SDK nor any
# collector module in its build: the library depends on the API only.
deps-check:
	@bad=$$(cd instrumentation && $(GO) list -deps ./... | grep -E '^go.opentelemetry.io/(otel/sdk|collector)|^github.com/open-telemetry/opentelemetry-collector' || true); \
	  if [ -n "$$bad" ]; then echo "instrumentation pulls in SDK or collector packages:"; echo "$$bad"; exit 1; fi; \
	  echo "deps-check: instrumentation depends on the OpenTelemetry API only"
	@if grep -q 'openai' instrumentation/go.mod; then \
	  echo "instrumentation/go.mod lists openai-go: tests with heavy clients belong in test/mlxserver"; exit 1; fi
	@bad=$$(cd instrumentation && $(GO) list -f '{{join .Imports "\n"}}' ./mlxconv | grep '\.' | grep -vE '^go.opentelemetry.io/otel/(attribute|semconv/)' || true); \
	  if [ -n "$$bad" ]; then echo "mlxconv must stay dependency-free (attribute and semconv only), imports:"; echo "$$bad"; exit 1; fi; \
	  echo "deps-check: mlxconv imports the standard library, attribute and semconv only"
TEST_EXTRA += deps-check

# Telemetry goes to the console exporters (a file here, summarized), or over OTLP when
# OTEL_EXPORTER_OTLP_ENDPOINT is set.
QUICKSTART_OUT := $(CURDIR)/build/demo-quickstart
demo-quickstart:
	@echo "== quickstart: otelmlx on a model file, then three attacks on the model layer =="
	@mkdir -p $(QUICKSTART_OUT)
	@cd examples && $(GO) run ./quickstart > $(QUICKSTART_OUT)/telemetry.log
	@if [ -z "$${OTEL_EXPORTER_OTLP_ENDPOINT:-}" ]; then ./scripts/telemetry-summary.sh $(QUICKSTART_OUT)/telemetry.log; fi
DEMO_EXTRA += demo-quickstart

bench-instrumentation:
	@./scripts/bench-instrumentation.sh
BENCH_EXTRA += bench-instrumentation

.PHONY: deps-check demo-quickstart bench-instrumentation
