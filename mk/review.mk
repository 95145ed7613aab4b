# Issue 13: the review report, alert rules, dashboards, detection rules.
#
#   make test-review   cmd/mlxreview rendered in headless Chromium (Debian chromium, installed when missing)
#   make bench-review  one million records reviewed, beside the read and decode floors
#   make review        the review of the demo's recorded telemetry (REVIEW_IN, REVIEW_OUT)
#   make test-prometheus  promtool check + unit tests of deploy/prometheus (Debian prometheus when missing)
#   make test-alerts   alert rules end to end: otelcol-mlx, Prometheus, Alertmanager (Debian packages)
#   make demo-review   the review report of the demo's recorded telemetry (part of make demo)
#   make test-sigma    Sigma rules: sigma check, tags, conversion to SPL / ES|QL, execution in SQLite
#
# Debian packages are installed with apt-get only when their command is missing, so a warm
# machine pays nothing. The test output (the rendered report and its screenshot) is kept in
# build/test-output/.

ALERTS_OUT   := $(CURDIR)/build/test-output
REVIEW_IN    ?= $(CURDIR)/build/demo/telemetry
REVIEW_OUT   ?= $(CURDIR)/build/mlxreview.html

# $(call apt_need,COMMAND,PACKAGES): apt-get install PACKAGES when COMMAND is not on PATH.
define apt_need
	@command -v $(1) >/dev/null 2>&1 || { \
	  echo "installing Debian $(2) (for $(1))"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(2) >/dev/null; }
endef

TEST_EXTRA  += test-review test-sigma test-prometheus test-alerts
DEMO_EXTRA  += demo-review

# sigma-cli and its backends go into the project's .venv (the one mk/mlx.mk makes); the stamp
# names the pins, so changing one reinstalls.
SIGMA_PKGS  := sigma-cli==3.1.0 pysigma==1.5.1 pysigma-backend-splunk==2.1.0 \
               pysigma-backend-elasticsearch==2.1.1 pysigma-backend-sqlite==2.0.0
SIGMA_STAMP := $(MLX_VENV)/.otelmlx-sigma-cli-3.1.0-pysigma-1.5.1
BENCH_EXTRA += bench-review

.PHONY: test-review bench-review review mlxreview chromium sigma-venv test-sigma prometheus-tools test-prometheus alertmanager-tools test-alerts demo-review

mlxreview:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/mlxreview ./cmd/mlxreview

chromium:
	$(call apt_need,chromium,chromium)

test-review: chromium
	@mkdir -p $(ALERTS_OUT)/mlxreview
	@echo "go test (cmd/mlxreview in headless Chromium; report and screenshot in $(ALERTS_OUT)/mlxreview)"
	@OTELMLX_REQUIRE_CHROMIUM=1 MLXREVIEW_TEST_OUTPUT=$(ALERTS_OUT)/mlxreview \
	  $(GO) test -count=1 -run 'Chromium' -v ./cmd/mlxreview | grep -E '^(---|ok|FAIL|PASS)|screenshot'

# The 1M-record input is generated once into the temp directory (about a minute). Printed: the
# review (selective reader), the floor (reading and splitting the lines alone) and the
# reference (pdata's JSON decode alone, what the review cost at least before), with ratios by
# CPU time, which the load of a shared machine disturbs least.
bench-review:
	@out=$$($(GO) test -run '^$$' -bench 'Review1M' -benchtime 1x -timeout 30m ./cmd/mlxreview); echo "$$out"; \
	echo "$$out" | awk '/Review1M\// { name=$$1; for (i=3;i<NF;i++) { if ($$(i+1)=="s/1M-records") w[name]=$$i; if ($$(i+1)=="cpu-s/1M-records") c[name]=$$i } } \
	  END { for (n in w) { if (n ~ /\/review/) r=n; if (n ~ /ref-pdata-decode/) d=n; if (n ~ /floor-read/) f=n } \
	    printf "mlxreview: 1M records in %.2f s wall, %.2f CPU-s (%.2f s on 2 idle cores; issue: <= 10 s)\n", w[r], c[r], c[r]/2; \
	    printf "floor: reading the lines alone %.2f s wall, %.2f CPU-s; review / floor = %.1f (CPU)\n", w[f], c[f], c[r]/c[f]; \
	    printf "reference: pdata JSON decode alone %.2f s wall, %.2f CPU-s; review / pdata decode = %.3f (CPU)\n", w[d], c[d], c[r]/c[d] }'

sigma-venv: $(SIGMA_STAMP)

$(SIGMA_STAMP):
	@test -x $(MLX_PY) || $(MLX_PYTHON) -m venv $(MLX_VENV)
	@echo "installing $(SIGMA_PKGS) into $(MLX_VENV)"
	@$(MLX_PY) -m pip install --disable-pip-version-check -q $(SIGMA_PKGS)
	@touch $@

# Records the security events and findings of scenario traffic (with incidents, and quiet) and
# runs deploy/sigma/test_sigma.py over them.
test-sigma: $(SIGMA_STAMP)
	@mkdir -p $(ALERTS_OUT)/sigma
	@$(GO) run ./deploy/sigma/eventsgen -out $(ALERTS_OUT)/sigma
	@$(MLX_PY) deploy/sigma/test_sigma.py $(ALERTS_OUT)/sigma

prometheus-tools:
	$(call apt_need,promtool,prometheus)

test-prometheus: prometheus-tools
	@promtool check rules deploy/prometheus/mlx-alerts.yml
	@promtool test rules deploy/prometheus/mlx-alerts.test.yml

alertmanager-tools: prometheus-tools
	$(call apt_need,prometheus-alertmanager,prometheus-alertmanager)

# The alerting path end to end on the built distribution; its scrape then feeds the dashboard
# test (every metric the dashboards and rules read must be exported).
test-alerts: alertmanager-tools $(OTELCOL)
	@mkdir -p $(BIN) $(ALERTS_OUT)
	@$(GO) build -o $(BIN)/sendscenario ./deploy/prometheus/sendscenario
	@python3 deploy/prometheus/e2e.py --otelcol $(OTELCOL) --sender $(BIN)/sendscenario --scrape-out $(ALERTS_OUT)/otelcol-scrape.txt
	@python3 connector/mlxfinding/ecs_check.py --otelcol $(OTELCOL)
	@echo "go test (deploy/grafana/gen against the scrape of the running collector)"
	@cd deploy/grafana/gen && OTELMLX_SCRAPE_FILE=$(ALERTS_OUT)/otelcol-scrape.txt $(GO) test -count=1 -run Metrics -v . | grep -E '^(---|ok|FAIL)'

# The demo ends with the review of what the distribution recorded (its observability destination
# holds every span and event; the security destination repeats the flagged ones).
# It runs last: its prerequisites are every other demo step (expanded after all mk files are read).
.SECONDEXPANSION:
demo-review: $$(filter-out demo-review,$$(DEMO_EXTRA)) mlxreview
	@$(BIN)/mlxreview --html $(CURDIR)/build/demo-otelcol/mlxreview.html $(CURDIR)/build/demo-otelcol/data/observability | tail -n 25
	@echo "review report: $(CURDIR)/build/demo-otelcol/mlxreview.html"

review: mlxreview
	@$(BIN)/mlxreview --html $(REVIEW_OUT) $(REVIEW_IN)
