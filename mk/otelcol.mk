# otelcol-mlx: the collector distribution (builder-config.yaml), its end-to-end tests, demo and
# throughput figures.
#
#   make otelcol          bin/otelcol-mlx (ocb v0.165.0; rebuilt only when an input changes)
#   make otelcol-darwin   bin/otelcol-mlx-darwin-arm64 (CGO_ENABLED=0, same generated sources)
#   make e2e              end-to-end tests on the built binary with Jaeger, VictoriaLogs, telemetrygen
#   make demo-otelcol     collector + example service on real MLX, quiet phase then incidents
#   make bench-otelcol    CPU, RSS and saturation with and without mlxanomaly (ratio lines last)

OCB_VERSION    := v0.165.0
OCB            := $(BIN)/builder
OCB_STAMP      := $(BIN)/.builder-$(OCB_VERSION)
OTELCOL        := $(BIN)/otelcol-mlx
OTELCOL_DARWIN := $(BIN)/otelcol-mlx-darwin-arm64
OTELCOL_SRC    := $(CURDIR)/build/otelcol-mlx
# What the binary is made of: the config, the build script, and the root module's (and the
# instrumentation module's) non-test Go sources.
OTELCOL_INPUTS := builder-config.yaml scripts/otelcol/build.sh go.mod go.sum \
  $(shell find processor receiver connector internal instrumentation -name '*.go' -not -name '*_test.go' 2>/dev/null) \
  $(wildcard instrumentation/go.mod instrumentation/go.sum)
BACKENDS_DIR   := $(CURDIR)/test/backends
JAEGER         := $(BIN)/jaeger
VLOGS          := $(BIN)/victoria-logs
TELEMETRYGEN   := $(BIN)/telemetrygen

.PHONY: otelcol otelcol-validate otelcol-darwin otelcol-components e2e e2e-backends demo-otelcol bench-otelcol

$(OCB_STAMP):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install go.opentelemetry.io/collector/cmd/builder@$(OCB_VERSION)
	@touch $@

otelcol: $(OTELCOL)

$(OTELCOL): $(OCB_STAMP) $(OTELCOL_INPUTS)
	@echo "otelcol: building $@ with ocb $(OCB_VERSION) (several minutes on 2 cores the first time)"
	@start=$$(date +%s); OTELCOL_CORE_VERSION=$(OCB_VERSION) ./scripts/otelcol/build.sh $(OCB) $@; echo "otelcol: built in $$(( $$(date +%s) - start )) s"
	@$@ components >/dev/null

# The same generated sources for macOS on Apple silicon, without cgo (mlxmetal uses purego).
otelcol-darwin: $(OTELCOL_DARWIN)

$(OTELCOL_DARWIN): $(OTELCOL)
	@echo "otelcol-darwin: GOOS=darwin GOARCH=arm64 CGO_ENABLED=0"
	@start=$$(date +%s); cd $(OTELCOL_SRC) && GOFLAGS=-mod=mod GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 \
	  $(GO) build -trimpath -ldflags='-s -w' -o $@ . ; echo "otelcol-darwin: built in $$(( $$(date +%s) - start )) s"
	@file $@ 2>/dev/null | grep -q 'Mach-O 64-bit arm64' || { echo "otelcol-darwin: $@ is not a Mach-O arm64 binary"; exit 1; }

# Prints the components and checks the list against builder-config.yaml's intent.
otelcol-components: $(OTELCOL)
	@$(OTELCOL) components

# Backends for the end-to-end tests, each a Go tool of its own module under test/backends
# (VictoriaLogs, jaeger/, telemetrygen/): their dependencies need different collector versions.
$(JAEGER): $(BACKENDS_DIR)/jaeger/go.mod $(BACKENDS_DIR)/jaeger/go.sum
	@echo "e2e: building Jaeger (about 4 minutes on 2 cores, once)"
	@start=$$(date +%s); cd $(BACKENDS_DIR)/jaeger && $(GO) build -o $@ github.com/jaegertracing/jaeger/cmd/jaeger; echo "e2e: Jaeger built in $$(( $$(date +%s) - start )) s"
$(VLOGS): $(BACKENDS_DIR)/go.mod $(BACKENDS_DIR)/go.sum
	cd $(BACKENDS_DIR) && $(GO) build -o $@ github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs
$(TELEMETRYGEN): $(BACKENDS_DIR)/telemetrygen/go.mod $(BACKENDS_DIR)/telemetrygen/go.sum
	cd $(BACKENDS_DIR)/telemetrygen && $(GO) build -o $@ github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen

e2e-backends: $(JAEGER) $(VLOGS) $(TELEMETRYGEN)

e2e: $(OTELCOL) e2e-backends $(MLX_MODELS_STAMP)
	@$(MLX_ENV); cd examples && $(GO) build -tags mlx -o $(BIN)/mlxservice ./mlxservice
	cd test/e2e && $(GO) vet ./...
	cd test/e2e && OTELCOL_MLX_BIN=$(OTELCOL) JAEGER_BIN=$(JAEGER) VLOGS_BIN=$(VLOGS) TELEMETRYGEN_BIN=$(TELEMETRYGEN) \
	  MLXSERVICE_BIN=$(BIN)/mlxservice OTELMLX_MODELS_DIR=$(MLX_MODELS) OTELCOL_MLX_CONFIG_DIR=$(CURDIR) \
	  $(GO) test -count=1 -timeout 15m -v ./...

# Every shipped configuration, the main file alone and with each overlay merged after it (lists
# such as a pipeline's exporters are replaced, not merged, so an overlay can drop a connector's
# other end). The secure overlay reads its certificate paths from the environment.
OTELCOL_OVERLAYS := $(filter-out otelcol-config.yaml,$(wildcard otelcol-config*.yaml))
otelcol-validate: $(OTELCOL)
	@$(OTELCOL) validate --config otelcol-config.yaml
	@for o in $(OTELCOL_OVERLAYS); do \
	  OTELCOL_MLX_TLS_CERT=/dev/null OTELCOL_MLX_TLS_KEY=/dev/null $(OTELCOL) validate --config otelcol-config.yaml --config $$o || \
	    { echo "otelcol-validate: otelcol-config.yaml + $$o does not validate"; exit 1; }; \
	done; echo "otelcol-validate: otelcol-config.yaml alone and with $(OTELCOL_OVERLAYS)"

TEST_EXTRA += otelcol-validate otelcol-darwin e2e

# The demo: collector + example service on real MLX, quiet phase then every incident kind.
# Leaves the data in build/demo-otelcol (data/observability, data/security, data/queue, logs).
demo-otelcol: $(OTELCOL) $(MLX_MODELS_STAMP)
	@$(MLX_ENV); cd examples && $(GO) build -tags mlx -o $(BIN)/mlxservice ./mlxservice
	@python3 scripts/demo/otelcol_demo.py --otelcol $(OTELCOL) --service $(BIN)/mlxservice --models $(MLX_MODELS) \
	  --out $(CURDIR)/build/demo-otelcol --config-dir $(CURDIR) --python $(MLX_PY)
DEMO_EXTRA += demo-otelcol

# CPU, RSS and saturation of the collector with and without mlxanomaly, in one run (A/B/A/B),
# under MLX spans from cmd/mlxload. BENCH_SHORT=1: a quick check of the procedure (rough figures).
MLXLOAD := $(BIN)/mlxload
$(MLXLOAD): $(wildcard cmd/mlxload/*.go) go.mod go.sum
	$(GO) build -o $@ ./cmd/mlxload

bench-otelcol: $(OTELCOL) $(MLXLOAD)
	@./scripts/otelcol/bench.sh $(OTELCOL) $(MLXLOAD) $${BENCH_ROUNDS:-}
BENCH_EXTRA += bench-otelcol
