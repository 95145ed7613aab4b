// Command mlxservice is a traced Go HTTP service that serves classifiers and small llama
// language models in process with real MLX (through the mlxc cgo shim) and records every model
// load and inference with otelmlx.
//
//	POST /v1/predict     {"model":"classifier","inputs":[[...16 floats...]]}  → class probabilities
//	POST /v1/generate    {"model":"tiny-lm","tokens":[...],"max_tokens":16}   → greedy continuation
//	POST /admin/models   {"name":"...","source":"file:///...","path":""}     → policy-checked load
//	GET  /healthz        MLX version, device, allocator figures, loaded models
//
// The caller's identity (X-API-Key, a bearer token or X-User) becomes enduser.pseudo.id, a
// keyed HMAC (key from MLXSERVICE_IDENTITY_KEY, else a random per-process key). Telemetry is
// exported as the standard OTEL_* variables say: OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set,
// the console otherwise.
//
// Build with the mlx tag and the MLX cgo flags (make demo-mlx does it); without the tag the
// service starts and reports that it has no MLX.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/otel-mlx/otel-mlx/examples/internal/otelsetup"
	"github.com/otel-mlx/otel-mlx/examples/mlxservice/internal/service"
	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
	"github.com/otel-mlx/otel-mlx/runtime/mlxc"
)

type pins map[string]string

func (p pins) String() string { return fmt.Sprint(map[string]string(p)) }
func (p pins) Set(v string) error {
	name, digest, ok := strings.Cut(v, "=")
	if !ok || name == "" || len(digest) != 64 {
		return errors.New("want NAME=SHA256HEX (64 hex digits)")
	}
	p[name] = strings.ToLower(digest)
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	modelPath := flag.String("model", "", "model loaded at start: a classifier (.safetensors, .gguf or .npz file) or a language model directory (mlx_lm layout)")
	modelName := flag.String("model-name", "classifier", "name the -model is served under (the \"model\" of requests)")
	modelsDir := flag.String("models-dir", "", "directory models may be loaded from (default: the directory of -model)")
	policyFile := flag.String("policy", "", "YAML model policy (default: enforce; sources under -models-dir; safetensors, gguf, npz)")
	pinned := pins{}
	flag.Var(pinned, "pin", "NAME=SHA256: pin a model's digest (repeatable)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *modelPath, *modelName, *modelsDir, *policyFile, pinned); err != nil {
		fmt.Fprintln(os.Stderr, "mlxservice:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, modelPath, modelName, modelsDir, policyFile string, pinned pins) error {
	if !mlxc.Available() {
		return mlxc.ErrNotBuilt
	}
	policy, err := buildPolicy(modelPath, modelsDir, policyFile, pinned)
	if err != nil {
		return err
	}
	providers, err := otelsetup.Setup(ctx, "mlxservice")
	if err != nil {
		return fmt.Errorf("setting up OpenTelemetry: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := providers.Shutdown(sctx); err != nil {
			fmt.Fprintln(os.Stderr, "mlxservice: flushing telemetry:", err)
		}
	}()
	opts := []otelmlx.Option{otelmlx.WithPolicy(policy), otelmlx.WithMemoryStats(mlxc.StatsSource{Dev: mlxc.CPU})}
	if k := os.Getenv("MLXSERVICE_IDENTITY_KEY"); k != "" {
		opts = append(opts, otelmlx.WithIdentityKey([]byte(k)))
	}
	in, err := otelmlx.New(opts...)
	if err != nil {
		return err
	}
	svc, err := service.New(service.Config{Instrumenter: in, Device: mlxc.CPU, AdminToken: os.Getenv("MLXSERVICE_ADMIN_TOKEN")})
	if err != nil {
		return err
	}
	defer svc.Close()
	if modelPath != "" {
		if _, err := svc.Load(ctx, modelName, modelPath, ""); err != nil {
			return fmt.Errorf("loading %s: %w", modelPath, err)
		}
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	handler := otelhttp.NewHandler(svc.Handler(), "mlxservice",
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if r.Pattern != "" {
				return r.Pattern
			}
			return r.Method
		}))
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10}
	fmt.Fprintf(os.Stderr, "mlxservice: MLX %s on %s, listening on http://%s\n", mlxc.Version(), mlxc.CPU, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func buildPolicy(modelPath, modelsDir, policyFile string, pinned pins) (*otelmlx.Policy, error) {
	var p *otelmlx.Policy
	if policyFile != "" {
		var err error
		if p, err = otelmlx.LoadPolicyFile(policyFile); err != nil {
			return nil, err
		}
	} else {
		if modelsDir == "" && modelPath != "" {
			modelsDir = filepath.Dir(modelPath)
		}
		if modelsDir == "" {
			return nil, errors.New("give -models-dir, -model or -policy: the default policy allows sources under the models directory only")
		}
		abs, err := filepath.Abs(modelsDir)
		if err != nil {
			return nil, err
		}
		deny := true
		p = &otelmlx.Policy{
			Mode:           otelmlx.Enforce,
			AllowedSources: []string{"file://" + filepath.ToSlash(abs) + "/"},
			AllowedFormats: []string{mlxconv.FormatSafetensors, mlxconv.FormatGGUF, mlxconv.FormatNPZ},
			DenyMalformed:  &deny,
		}
	}
	if len(pinned) > 0 {
		if p.PinnedDigests == nil {
			p.PinnedDigests = map[string]string{}
		}
		for k, v := range pinned {
			p.PinnedDigests[k] = v
		}
	}
	return p, p.Validate()
}
