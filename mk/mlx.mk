# Real MLX for tests, benchmarks and the demo (issue "Real MLX underneath").
#
#   make mlx-venv     .venv with the pinned MLX wheels (installed when missing)
#   make mlx-models   the tiny models, made locally with MLX from a fixed seed (nothing downloaded)
#   make test-mlx     runtime/mlxc (cgo, -tags mlx) + test/mlxserver (otelmlxhttp against a real
#                     mlx_lm.server) + mlxservice
#   make bench-mlx    inference overhead and load cost on real MLX, with ratio lines
#   make demo-mlx     the traced example service on real MLX, driven by a few requests
#
# The cgo flags are derived from the installed wheel by scripts/mlx/mlx-env.sh, never hard-coded.

MLX_PYTHON   ?= python3
MLX_VENV     := $(CURDIR)/.venv
MLX_PY       := $(MLX_VENV)/bin/python
MLX_VERSION_PIN := 0.32.4
MLX_LM_VERSION_PIN := 0.32.2
ifeq ($(shell uname -s),Darwin)
MLX_PKGS := mlx==$(MLX_VERSION_PIN) mlx-lm==$(MLX_LM_VERSION_PIN)
else
MLX_PKGS := 'mlx[cpu]==$(MLX_VERSION_PIN)' 'mlx-lm[cpu]==$(MLX_LM_VERSION_PIN)'
endif
MLX_STAMP    := $(MLX_VENV)/.otelmlx-mlx-$(MLX_VERSION_PIN)-lm-$(MLX_LM_VERSION_PIN)
MLX_MODELS   := $(CURDIR)/build/models
MLX_MODELS_STAMP := $(MLX_MODELS)/.stamp
MLX_BIG_MIB  ?= 256
MLX_ENV      = eval "$$($(CURDIR)/scripts/mlx/mlx-env.sh $(MLX_PY))"
MLX_BENCHTIME ?= 2s

TEST_EXTRA  += test-mlx
BENCH_EXTRA += bench-mlx
DEMO_EXTRA  += demo-mlx

.PHONY: mlx-venv mlx-models test-mlx bench-mlx demo-mlx mlx-env

mlx-venv: $(MLX_STAMP)

# The stamp names the pinned versions: changing a pin reinstalls. pip is asked only when the
# installed versions are not the pinned ones, so a warm venv costs nothing.
$(MLX_STAMP):
	@test -x $(MLX_PY) || $(MLX_PYTHON) -m venv $(MLX_VENV)
	@if ! $(MLX_PY) -c 'import importlib.metadata as m, sys; sys.exit(0 if m.version("mlx") == "$(MLX_VERSION_PIN)" and m.version("mlx-lm") == "$(MLX_LM_VERSION_PIN)" else 1)' 2>/dev/null; then \
	  echo "installing $(MLX_PKGS) into $(MLX_VENV)"; \
	  $(MLX_PY) -m pip install --disable-pip-version-check -q $(MLX_PKGS); \
	fi
	@$(MLX_PY) -c 'import mlx.core as mx, mlx_lm, tokenizers; print("mlx", mx.__version__, "ready")'
	@touch $@

mlx-models: $(MLX_MODELS_STAMP)

$(MLX_MODELS_STAMP): $(MLX_STAMP) scripts/mlx/make_models.py
	@$(MLX_PY) scripts/mlx/make_models.py $(MLX_MODELS)
	@touch $@

# Prints the environment the mlx targets use (for running things by hand).
mlx-env: $(MLX_STAMP)
	@$(CURDIR)/scripts/mlx/mlx-env.sh $(MLX_PY)

test-mlx: $(MLX_MODELS_STAMP)
	@$(MLX_ENV); echo "go test -race -tags mlx (mlxc on MLX $$MLX_VERSION at $$MLX_DIR)"; \
	  cd runtime/mlxc && $(GO) vet -tags mlx ./... && \
	  $(GO) test -c -race -tags mlx -o $(CURDIR)/build/mlxc.test . && \
	  if ldd $(CURDIR)/build/mlxc.test 2>/dev/null | grep -q 'not found'; then ldd $(CURDIR)/build/mlxc.test; exit 1; fi && \
	  OTELMLX_MODELS_DIR=$(MLX_MODELS) $(GO) test -race -count=1 -tags mlx ./...
	@$(MLX_ENV); echo "go test -race (test/mlxserver: otelmlxhttp and openai-go against mlx_lm.server)"; \
	  cd test/mlxserver && OTELMLX_LM_MODEL=$(MLX_MODELS)/tiny-lm $(GO) test -race -count=1 ./...
	@$(MLX_ENV); echo "go test -race -tags mlx (examples/mlxservice)"; \
	  cd examples && $(GO) vet -tags mlx ./mlxservice/... && \
	  OTELMLX_MODELS_DIR=$(MLX_MODELS) $(GO) test -race -count=1 -tags mlx ./mlxservice/...

MLX_BIG_MODEL := $(MLX_MODELS)/big/model.safetensors
$(MLX_BIG_MODEL): $(MLX_STAMP) scripts/mlx/make_models.py
	@$(MLX_PY) scripts/mlx/make_models.py $(MLX_MODELS) --big $(MLX_BIG_MIB) --only-big

# The issue's two numbers on real MLX, each bare and instrumented in the same run (alternating),
# then the ratio lines. Generation: 150 prompt+16-token greedy generations of the tiny LM each
# way. Load: 21 rounds of bare / digest-while-loading / cached-digest loads of a 256 MiB model.
bench-mlx: $(MLX_MODELS_STAMP) $(MLX_BIG_MODEL)
	@mkdir -p build
	@$(MLX_ENV); cd runtime/mlxc && \
	  OTELMLX_MODELS_DIR=$(MLX_MODELS) OTELMLX_BENCH_BIG_MODEL=$(MLX_BIG_MODEL) \
	  $(GO) test -tags mlx -run '^$$' -bench 'Generate' -benchtime 150x . | tee $(CURDIR)/build/bench-mlx.txt && \
	  OTELMLX_MODELS_DIR=$(MLX_MODELS) $(GO) test -tags mlx -run '^$$' -bench 'Predict' -benchtime 3s . | tee -a $(CURDIR)/build/bench-mlx.txt && \
	  OTELMLX_MODELS_DIR=$(MLX_MODELS) OTELMLX_BENCH_BIG_MODEL=$(MLX_BIG_MODEL) \
	  $(GO) test -tags mlx -run '^$$' -bench 'Load256MiB$$' -benchtime 21x . | tee -a $(CURDIR)/build/bench-mlx.txt && \
	  OTELMLX_MODELS_DIR=$(MLX_MODELS) OTELMLX_BENCH_BIG_MODEL=$(MLX_BIG_MODEL) \
	  $(GO) test -tags mlx -run '^$$' -bench 'Load256MiBCold' -benchtime 9x . | tee -a $(CURDIR)/build/bench-mlx.txt
	@awk '/^Benchmark/ { name=$$1; sub(/-[0-9]+$$/, "", name); for (i = 3; i < NF; i += 2) v[name, $$(i+1)] = $$i } \
	  END { \
	    printf "ratio: mlx inference (tiny LM, 16 tokens) instrumented/bare = %.4f (overhead %.2f%%, bare %.2f ms; issue: <= 1%%)\n", \
	      1 + v["BenchmarkGenerate", "overhead-%"] / 100, v["BenchmarkGenerate", "overhead-%"], v["BenchmarkGenerate", "bare-ns/inference"] / 1e6; \
	    printf "ratio: mlx predict (classifier, 1 row) instrumented/bare = %.4f (overhead %.2f%%, bare %.1f us; fixed cost of the SDK pipeline on a tiny call)\n", \
	      1 + v["BenchmarkPredict", "overhead-%"] / 100, v["BenchmarkPredict", "overhead-%"], v["BenchmarkPredict", "bare-ns/inference"] / 1e3; \
	    printf "ratio: mlx load %d MiB with digest+policy / bare = %.3f (%.1f ms vs %.1f ms; issue: <= 1.10)\n", \
	      v["BenchmarkLoad256MiB", "MiB"], v["BenchmarkLoad256MiB", "digest-ratio"], v["BenchmarkLoad256MiB", "digest-ms"], v["BenchmarkLoad256MiB", "bare-ms"]; \
	    printf "floor: SHA-256 of the same file alone %.1f ms; no digest-checking load can beat max(bare, hash)/bare = %.3f on this CPU\n", \
	      v["BenchmarkLoad256MiB", "hash-ms"], v["BenchmarkLoad256MiB", "floor-ratio"]; \
	    printf "ratio: mlx load %d MiB with digest+policy / its floor max(bare, hash alone) = %.3f (paired median; what the overlap of load and hash costs)\n", \
	      v["BenchmarkLoad256MiB", "MiB"], v["BenchmarkLoad256MiB", "digest-vs-floor"]; \
	    if (("BenchmarkLoad256MiB", "hash-vs-openssl") in v) \
	      printf "ratio: SHA-256 throughput Go / openssl dgst -sha256, same file, same page cache = %.3f (%.1f ms vs %.1f ms; issue: >= 0.9)\n", \
	        v["BenchmarkLoad256MiB", "hash-vs-openssl"], v["BenchmarkLoad256MiB", "hash-ms"], v["BenchmarkLoad256MiB", "openssl-ms"]; \
	    printf "ratio: mlx load %d MiB with cached digest / bare = %.3f (%.1f ms vs %.1f ms, paired median; issue: <= 1.01)\n", \
	      v["BenchmarkLoad256MiB", "MiB"], v["BenchmarkLoad256MiB", "cached-ratio"], v["BenchmarkLoad256MiB", "cached-ms"], v["BenchmarkLoad256MiB", "bare-ms"]; \
	    if (("BenchmarkLoad256MiBCold", "cold-digest-ratio") in v) \
	      printf "ratio: mlx load %d MiB from a cold page cache with digest+policy / bare = %.3f (%.1f ms vs %.1f ms; the service-start case)\n", \
	        v["BenchmarkLoad256MiB", "MiB"], v["BenchmarkLoad256MiBCold", "cold-digest-ratio"], v["BenchmarkLoad256MiBCold", "cold-digest-ms"], v["BenchmarkLoad256MiBCold", "cold-bare-ms"]; \
	    if (("BenchmarkLoad256MiBCold", "cold-floor-ratio") in v) \
	      printf "floor: SHA-256 of the file alone from a cold page cache %.1f ms; max(bare, hash)/bare = %.3f\n", \
	        v["BenchmarkLoad256MiBCold", "cold-hash-ms"], v["BenchmarkLoad256MiBCold", "cold-floor-ratio"]; \
	    if (("BenchmarkLoad256MiBCold", "cold-vs-floor") in v) \
	      printf "ratio: mlx load %d MiB from a cold page cache with digest+policy / max(bare, hash alone), both cold = %.3f (paired median; issue: <= 1.10)\n", \
	        v["BenchmarkLoad256MiB", "MiB"], v["BenchmarkLoad256MiBCold", "cold-vs-floor"]; \
	    printf "ratio: mlx load %d MiB cached-digest wrapper cost / bare load = %.4f (%.3f ms around a %.1f ms load)\n", \
	      v["BenchmarkLoad256MiB", "MiB"], 1 + v["BenchmarkLoad256MiB", "cached-wrapper-ms"] / v["BenchmarkLoad256MiB", "bare-ms"], v["BenchmarkLoad256MiB", "cached-wrapper-ms"], v["BenchmarkLoad256MiB", "bare-ms"]; \
	  }' $(CURDIR)/build/bench-mlx.txt

# The example service on real MLX, driven by scripts/mlx/demo.sh, then examples/mlxclient
# against a real mlx_lm.server (scripts/mlx/demo-http.sh); OTLP when
# OTEL_EXPORTER_OTLP_ENDPOINT is set, the console (build/demo-mlx/telemetry.log) otherwise.
demo-mlx: $(MLX_MODELS_STAMP)
	@mkdir -p $(BIN)
	@$(MLX_ENV); cd examples && $(GO) build -tags mlx -o $(BIN)/mlxservice ./mlxservice && $(GO) build -o $(BIN)/mlxclient ./mlxclient
	@$(CURDIR)/scripts/mlx/demo.sh $(BIN)/mlxservice $(MLX_MODELS) $(CURDIR)/build/demo-mlx $(MLX_PY)
	@$(CURDIR)/scripts/mlx/demo-http.sh $(BIN)/mlxclient $(MLX_VENV)/bin/mlx_lm.server $(MLX_MODELS)/tiny-lm $(CURDIR)/build/demo-mlx/http $(MLX_PY)
