// Command gen writes the otel-mlx Grafana dashboards (deploy/grafana/dashboards) from Go with
// grafana-foundation-sdk, so the JSON is valid by construction:
//
//	cd deploy/grafana/gen && go run . -out ../dashboards
//
// Every PromQL expression uses metrics the otelcol-mlx distribution exports (its prometheus
// exporter); gen_test.go parses each expression and checks its metrics against a scrape.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
)

// Metric selectors, one place each (the distribution's prometheus exporter names).
const (
	findings       = `{__name__=~"mlxanomaly_flagged_(spans|log_records)_total"}`
	securityEvents = `mlx_security_events_total`
	loads          = `mlx_model_loads_total`
	requests       = `mlx_inference_requests_total`
	calls          = `traces_span_metrics_calls_total{gen_ai_operation_name!="", gen_ai_operation_name!="load_model"}`
	durationBucket = `traces_span_metrics_duration_seconds_bucket{gen_ai_operation_name!="", gen_ai_operation_name!="load_model"}`
	gpuUtil        = `hw_gpu_utilization_ratio`
	gpuMemUsage    = `hw_gpu_memory_usage_bytes`
	gpuMemLimit    = `hw_gpu_memory_limit_bytes`
)

func ds() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}
}

func query(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Expr(expr).LegendFormat(legend).Datasource(ds())
}

func instant(expr string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Expr(expr).Instant().Format(prometheus.PromQueryFormatTable).Datasource(ds())
}

func statPanel(title, desc, expr string) *stat.PanelBuilder {
	return stat.NewPanelBuilder().Title(title).Description(desc).Datasource(ds()).Height(4).Span(6).
		WithTarget(query(expr, "")).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		GraphMode(common.BigValueGraphModeNone)
}

func series(title, desc, unit string, q ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().Title(title).Description(desc).Datasource(ds()).Unit(unit).Height(8).Span(12)
	for _, x := range q {
		p.WithTarget(x)
	}
	return p
}

// SecurityOverview is the MLX security overview dashboard.
func SecurityOverview() (dashboard.Dashboard, error) {
	b := dashboard.NewDashboardBuilder("MLX security overview").
		Uid("mlx-security-overview").
		Description("otel-mlx: model loads, denials, anomaly findings, callers, latency and errors per model, GPU.").
		Tags([]string{"mlx", "security", "otel-mlx"}).
		Refresh("1m").
		Time("now-24h", "now").
		Timezone("browser").
		Readonly().
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Prometheus").Type("prometheus"))

	b.WithRow(dashboard.NewRowBuilder("Security"))
	b.WithPanel(statPanel("Findings", "Anomaly onsets flagged by mlxanomaly in the time range.",
		`sum(increase(`+findings+`[$__range]))`))
	b.WithPanel(statPanel("Denied loads", "Model loads refused by the policy (mlx.model.policy.denied).",
		`sum(increase(`+securityEvents+`{event_name="`+mlxconv.EventModelPolicyDenied+`"}[$__range]))`))
	b.WithPanel(statPanel("Integrity mismatches", "Models whose digest differs from the pinned digest.",
		`sum(increase(`+securityEvents+`{event_name="`+mlxconv.EventModelIntegrityMismatch+`"}[$__range]))`))
	b.WithPanel(statPanel("Model digests loaded", "Distinct (model, digest) pairs loaded in the time range.",
		`count(count by (gen_ai_request_model, mlx_model_sha256) (increase(`+loads+`[$__range]) > 0))`))
	b.WithPanel(series("Findings over time by type", "mlxanomaly onsets per interval, by type.", "short",
		query(`sum by (mlxanomaly_type) (increase(`+findings+`[$__rate_interval]))`, "{{mlxanomaly_type}}")).
		DrawStyle(common.GraphDrawStyleBars).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)))
	b.WithPanel(series("Security events and denials", "MLX security events per interval, by name.", "short",
		query(`sum by (event_name) (increase(`+securityEvents+`[$__rate_interval]))`, "{{event_name}}")))

	b.WithRow(dashboard.NewRowBuilder("Models"))
	b.WithPanel(table.NewPanelBuilder().Title("Loads by source and digest").
		Description("Every model, source and digest loaded or refused in the time range, with the policy decision.").
		Datasource(ds()).Height(8).Span(12).
		WithTarget(instant(`sum by (gen_ai_request_model, mlx_model_source, mlx_model_sha256, mlx_policy_decision) (increase(` + loads + `[$__range]))`)))
	b.WithPanel(table.NewPanelBuilder().Title("Top callers").
		Description("Pseudonymous callers (enduser.pseudo.id) by requests in the time range.").
		Datasource(ds()).Height(8).Span(12).
		WithTarget(instant(`topk(10, sum by (enduser_pseudo_id) (increase(` + requests + `[$__range])))`)))
	b.WithPanel(series("Latency p95 per model", "95th percentile inference latency (spanmetrics).", "s",
		query(`histogram_quantile(0.95, sum by (gen_ai_request_model, le) (rate(`+durationBucket+`[$__rate_interval])))`, "{{gen_ai_request_model}}")))
	b.WithPanel(series("Error rate per model", "Share of inference spans with status Error.", "percentunit",
		query(`sum by (gen_ai_request_model) (rate(`+calls[:len(calls)-1]+`, status_code="STATUS_CODE_ERROR"}[$__rate_interval]))`+
			` / sum by (gen_ai_request_model) (rate(`+calls+`[$__rate_interval]))`, "{{gen_ai_request_model}}")))
	b.WithPanel(series("Requests per model", "Inference requests per second.", "reqps",
		query(`sum by (gen_ai_request_model) (rate(`+calls+`[$__rate_interval]))`, "{{gen_ai_request_model}}")))

	b.WithRow(dashboard.NewRowBuilder("GPU"))
	b.WithPanel(series("GPU utilization", "Metal GPU busy fraction (mlxmetal).", "percentunit",
		query(`max by (hw_id, hw_name) (`+gpuUtil+`)`, "{{hw_name}} {{hw_id}}")).Min(0).Max(1))
	b.WithPanel(series("GPU memory", "Unified memory held by the GPU, and its limit (mlxmetal).", "bytes",
		query(`max by (hw_id) (`+gpuMemUsage+`)`, "in use {{hw_id}}"),
		query(`max by (hw_id) (`+gpuMemLimit+`)`, "limit {{hw_id}}")))
	return b.Build()
}

// Dashboards lists every dashboard by file name.
var Dashboards = map[string]func() (dashboard.Dashboard, error){
	"mlx-security-overview.json": SecurityOverview,
}

func render(f func() (dashboard.Dashboard, error)) ([]byte, error) {
	d, err := f()
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func main() {
	out := flag.String("out", "../dashboards", "output folder")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	for name, f := range Dashboards {
		b, err := render(f)
		if err == nil {
			err = os.WriteFile(filepath.Join(*out, name), b, 0o644)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "gen: %s: %v\n", name, err)
			os.Exit(1)
		}
		fmt.Println("wrote", filepath.Join(*out, name))
	}
}
