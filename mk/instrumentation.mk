# The otelmlx instrumentation library and its quickstart example.

# A service that imports the instrumentation must get neither the OpenTelemetry SDK nor any
# collector module in its build: the library depends on the API only.
deps-check:
	@bad=$$(cd instrumentation && $(GO) list -deps ./... | grep -E '^go.opentelemetry.io/(otel/sdk|collector)|^github.com/open-telemetry/opentelemetry-collector' || true); \
	  if [ -n "$$bad" ]; then echo "instrumentation pulls in SDK or collector packages:"; echo "$$bad"; exit 1; fi; \
	  echo "deps-check: instrumentation depends on the OpenTelemetry API only"
TEST_EXTRA += deps-check

demo-quickstart:
	@echo "== quickstart: otelmlx on a model file, then three attacks on the model layer =="
	@cd examples && $(GO) run ./quickstart
DEMO_EXTRA += demo-quickstart

bench-instrumentation:
	@./scripts/bench-instrumentation.sh
BENCH_EXTRA += bench-instrumentation

.PHONY: deps-check demo-quickstart bench-instrumentation
