# otel-mlx build entry points. `make demo` and `make test` are the two commands a new user needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
# Every Go module in the repository; each is vetted, tidied and tested on its own.
MODULES   ?= . instrumentation runtime/mlxc test/mlxserver examples deploy/grafana/gen
FUZZTIME  ?= 8s
BENCHTIME ?= 1s
BIN       := $(CURDIR)/bin

# Component makefiles add their own targets and append to these hooks. They are read in name
# order, and a prerequisite is expanded when its file is read: a file whose rules name another's
# variables (MLX_VENV and MLX_MODELS_STAMP of mlx.mk, OTELCOL of otelcol.mk) must sort after it.
TEST_EXTRA  :=
BENCH_EXTRA :=
DEMO_EXTRA  :=
-include $(sort $(wildcard mk/*.mk))

.PHONY: help test check unit fuzz bench lint demo tidy-check
help:
	@echo "make demo   run the end-to-end demo on the embedded default"
	@echo "make test   formatting, vet, tidy, race tests and short fuzz runs for every module"
	@echo "make bench  benchmarks with the figures the issues ask for (ratio lines last)"
	@echo "make lint   gofmt, go vet and staticcheck for every module"

test: check unit fuzz $(TEST_EXTRA)
	@echo "make test: all checks passed"

check: lint tidy-check

# staticcheck 2026.1 (v0.8.x) is the release that supports Go 1.26; installed into bin/ once.
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK := $(BIN)/staticcheck-$(STATICCHECK_VERSION)

$(STATICCHECK):
	@mkdir -p $(BIN)/.staticcheck
	GOBIN=$(BIN)/.staticcheck $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@mv $(BIN)/.staticcheck/staticcheck $@

lint: $(STATICCHECK)
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null; git ls-files -o --exclude-standard '*.go' 2>/dev/null)); \
	  if [ -n "$$bad" ]; then echo "gofmt would change:"; echo "$$bad"; exit 1; fi
	@for m in $(MODULES); do echo "go vet + staticcheck ($$m)"; (cd $$m && $(GO) vet ./... && $(STATICCHECK) ./...); done

# go mod tidy -diff prints what tidy would change and fails, without touching the files.
tidy-check:
	@for m in $(MODULES); do \
	  (cd $$m && $(GO) mod tidy -diff) || { echo "go mod tidy changes $$m/go.mod or go.sum: run 'go mod tidy' there and commit"; exit 1; }; \
	done; echo "go mod tidy: no diff"

unit:
	@for m in $(MODULES); do echo "go test -race ($$m)"; (cd $$m && $(GO) test -race -count=1 ./...); done

# Runs every fuzz target in every module for FUZZTIME each; targets are found, not listed,
# so a new Fuzz function is fuzzed in CI without touching this file.
fuzz:
	@./scripts/fuzz-all.sh $(FUZZTIME) $(MODULES)

bench: $(BENCH_EXTRA)

demo: $(DEMO_EXTRA)
