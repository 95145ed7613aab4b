# Model supply chain (issue 14): pickle scanning, the Hugging Face cache, model signatures.
#
#   make supply-tools  picklescan and model-signing (PyPI) in .venv, for the tests that compare
#                      the pickle scanner with picklescan and verify what model-signing signs
#   make test-supply   those tests, with the tools installed (part of make test)
#   make bench-supply  pickle scanning throughput and signature verification cost
#
# The Go tests find the tools through OTELMLX_PYTHON (set here) or the repository's .venv; a
# plain `go test` without them skips only those comparisons and says how to run them.

SUPPLY_PICKLESCAN_PIN := 1.0.5
SUPPLY_MODEL_SIGNING_PIN := 1.1.1
# model-signing imports OpenSSL (pyOpenSSL) without declaring it; picklescan needs numpy for .npy.
SUPPLY_PY_PKGS := picklescan==$(SUPPLY_PICKLESCAN_PIN) model-signing==$(SUPPLY_MODEL_SIGNING_PIN) pyopenssl numpy
SUPPLY_STAMP := $(MLX_VENV)/.otelmlx-supply-picklescan-$(SUPPLY_PICKLESCAN_PIN)-model-signing-$(SUPPLY_MODEL_SIGNING_PIN)
SUPPLY_PKGS := ./otelmlx/internal/pickle ./otelmlx/internal/modelscan ./otelmlx/internal/modelsig ./otelmlx/internal/hfcache

.PHONY: supply-tools test-supply bench-supply
TEST_EXTRA  += test-supply
BENCH_EXTRA += bench-supply

supply-tools: $(SUPPLY_STAMP)

$(SUPPLY_STAMP):
	@test -x $(MLX_PY) || $(MLX_PYTHON) -m venv $(MLX_VENV)
	@if ! $(MLX_PY) -c 'import importlib.metadata as m, sys, numpy, OpenSSL; sys.exit(0 if m.version("picklescan") == "$(SUPPLY_PICKLESCAN_PIN)" and m.version("model-signing") == "$(SUPPLY_MODEL_SIGNING_PIN)" else 1)' 2>/dev/null; then \
	  echo "installing $(SUPPLY_PY_PKGS) into $(MLX_VENV)"; \
	  $(MLX_PY) -m pip install --disable-pip-version-check -q $(SUPPLY_PY_PKGS); \
	fi
	@$(MLX_PY) -c 'import picklescan, model_signing, numpy; print("supply-tools: picklescan and model-signing ready")'
	@touch $@

test-supply: $(SUPPLY_STAMP)
	@echo "go test (pickle scanner vs picklescan, signatures made by model-signing)"
	@cd instrumentation && OTELMLX_PYTHON=$(MLX_PY) $(GO) test -count=1 $(SUPPLY_PKGS) ./otelmlx

# Wall-clock figures and, beside them, the same per second of process CPU time (cpu-MB/s,
# cpu-ms/op): on a shared machine the wall clock includes waiting for a core. This machine's speed
# drifts by up to a third from minute to minute, so the benchmarks run SUPPLY_BENCH_COUNT rounds,
# each round every benchmark once (interleaved, unlike -count, which repeats one benchmark before
# the next), and the lines give the median, with the lowest and highest round.
SUPPLY_BENCH_COUNT ?= 5
bench-supply: $(SUPPLY_STAMP)
	@mkdir -p $(CURDIR)/build
	@cd instrumentation && $(GO) test -c -o $(CURDIR)/build/bench-pickle.test ./otelmlx/internal/pickle && $(GO) test -c -o $(CURDIR)/build/bench-modelsig.test ./otelmlx/internal/modelsig
	@for i in $$(seq $(SUPPLY_BENCH_COUNT)); do \
	  (cd instrumentation/otelmlx/internal/pickle && $(CURDIR)/build/bench-pickle.test -test.run '^$$' -test.bench 'Scan$$|ScanDense|ScanHostile' -test.benchmem -test.benchtime $(BENCHTIME)) && \
	  (cd instrumentation/otelmlx/internal/modelsig && OTELMLX_PYTHON=$(MLX_PY) $(CURDIR)/build/bench-modelsig.test -test.run '^$$' -test.bench 'Verify' -test.benchmem -test.benchtime $(BENCHTIME)) || exit 1; \
	done | tee $(CURDIR)/build/bench-supply.txt | grep '^Benchmark'
	@awk -f scripts/supply/bench-summary.awk $(CURDIR)/build/bench-supply.txt
