// Command quickstart shows otelmlx on a real model file end to end: it writes a small
// classifier in safetensors, loads it through otelmlx.Load under an embedded policy, serves
// inferences through otelmlx.Infer, then plays three attacks on the model layer (a pickle
// disguised as safetensors, a model from an unexpected source, and a poisoned model swapped in
// place) and shows how each is refused and recorded.
//
// Telemetry goes to stdout, or to an OTLP endpoint when OTEL_EXPORTER_OTLP_ENDPOINT is set.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"

	"github.com/otel-mlx/otel-mlx/examples/internal/otelsetup"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
)

//go:embed policy.yaml
var policyYAML []byte

func main() {
	requests := flag.Int("requests", 20, "inferences to run in the first phase")
	dir := flag.String("dir", "", "working directory for the model store (default: a temporary directory)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := mainErr(ctx, *dir, *requests); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func mainErr(ctx context.Context, dir string, requests int) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "otelmlx-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	providers, err := otelsetup.Setup(ctx, "otelmlx-quickstart")
	if err != nil {
		return fmt.Errorf("setting up OpenTelemetry: %w", err)
	}
	s, runErr := run(ctx, dir, requests, os.Stderr)
	if err := providers.Shutdown(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart: flushing telemetry:", err)
	}
	if runErr != nil {
		return runErr
	}
	fmt.Fprintf(os.Stderr, "\nquickstart summary: %d load ok, %d inferences (%d rejected), %d policy denials, %d integrity mismatches\n",
		s.Loaded, s.Inferences, s.Rejected, s.Denied, s.Mismatches)
	return nil
}

type summary struct {
	Loaded, Inferences, Rejected, Denied, Mismatches int
	Digest                                           string
}

// run plays both phases with the instrumenter options given (the global providers by default).
func run(ctx context.Context, root string, requests int, out io.Writer, opts ...otelmlx.Option) (summary, error) {
	var s summary
	store := filepath.Join(root, "otelmlx-quickstart", "store")
	if err := os.MkdirAll(store, 0o755); err != nil {
		return s, err
	}
	modelPath := filepath.Join(store, "classifier.safetensors")
	weights := encodeSafetensors(classifierTensors())
	if err := os.WriteFile(modelPath, weights, 0o644); err != nil {
		return s, err
	}
	policy, err := otelmlx.ParsePolicy(policyYAML)
	if err != nil {
		return s, fmt.Errorf("embedded policy: %w", err)
	}
	in, err := otelmlx.New(append(opts, otelmlx.WithPolicy(policy))...)
	if err != nil {
		return s, err
	}
	loader := func(path string) func(context.Context) (*classifier, error) {
		return func(context.Context) (*classifier, error) { return loadClassifier(path) }
	}

	fmt.Fprintln(out, "phase 1: load the classifier and serve inferences")
	model, info, err := otelmlx.Load(ctx, in, otelmlx.ModelRef{Name: "classifier", Source: modelPath}, loader(modelPath))
	if err != nil {
		return s, fmt.Errorf("loading the classifier: %w", err)
	}
	s.Loaded, s.Digest = 1, info.SHA256
	fmt.Fprintf(out, "  loaded %s: format %s, sha256 %s, policy %s (%s)\n", info.Name, info.Format, info.SHA256, info.Decision, info.Rule)

	r := rand.New(rand.NewPCG(1, 2))
	callers := []string{"api-key-alice", "api-key-bob", "api-key-carol"}
	for i := range requests {
		features := nIn
		if i%7 == 6 {
			features = nIn + 3 // a malformed request the service refuses
		}
		x := make([]float32, features)
		for j := range x {
			x[j] = float32(r.NormFloat64())
		}
		req := otelmlx.Request{
			Operation: otelmlx.OperationPredict, Model: "classifier", ModelSHA256: info.SHA256,
			RequestID: "req-" + strconv.Itoa(i+1), Identity: callers[i%len(callers)], ClientAddress: "127.0.0.1",
			InputSize: int64(len(x)),
		}
		probs, err := otelmlx.Infer(ctx, in, req, func(context.Context) ([]float32, otelmlx.Response, error) {
			p, err := model.predict(x)
			if err != nil {
				return nil, otelmlx.Response{}, otelmlx.Reject(err.Error())
			}
			return p, otelmlx.Response{Model: "classifier", FinishReasons: []string{"stop"}}, nil
		})
		s.Inferences++
		if errors.Is(err, otelmlx.ErrRejected) {
			s.Rejected++
			continue
		}
		if err != nil {
			return s, err
		}
		_ = probs
	}
	fmt.Fprintf(out, "  %d inferences, %d rejected by input validation\n", s.Inferences, s.Rejected)

	fmt.Fprintln(out, "phase 2: attacks on the model layer")
	// 1. A pickle renamed .safetensors: the format comes from content, and pickle runs code.
	evil := filepath.Join(store, "classifier-v2.safetensors")
	if err := os.WriteFile(evil, []byte("\x80\x04\x95\x1a\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R."), 0o644); err != nil {
		return s, err
	}
	// 2. A model from a source the policy does not list.
	// 3. The pinned classifier replaced by a poisoned copy of the same size and name.
	poisoned := append([]byte(nil), weights...)
	poisoned[len(poisoned)-1] ^= 0x40
	attacks := []struct {
		what string
		ref  otelmlx.ModelRef
		prep func() error
	}{
		{"pickle disguised as safetensors", otelmlx.ModelRef{Name: "classifier-v2", Source: evil}, nil},
		{"model from an unlisted source", otelmlx.ModelRef{Name: "classifier", Source: "hf://unknown-org/classifier"}, nil},
		{"poisoned model swapped in place", otelmlx.ModelRef{Name: "classifier", Source: modelPath}, func() error { return os.WriteFile(modelPath, poisoned, 0o644) }},
	}
	for _, a := range attacks {
		if a.prep != nil {
			if err := a.prep(); err != nil {
				return s, err
			}
		}
		_, _, err := otelmlx.Load(ctx, in, a.ref, loader(a.ref.Source))
		var pe *otelmlx.PolicyError
		var ie *otelmlx.IntegrityError
		switch {
		case errors.As(err, &pe):
			s.Denied++
			fmt.Fprintf(out, "  %s: denied (rule %s)\n", a.what, pe.Rule)
		case errors.As(err, &ie):
			s.Mismatches++
			fmt.Fprintf(out, "  %s: refused, sha256 %s is not the pinned %s\n", a.what, ie.Actual, ie.Expected)
		case err == nil:
			return s, fmt.Errorf("%s was loaded: the policy did not stop it", a.what)
		default:
			return s, fmt.Errorf("%s: unexpected error: %w", a.what, err)
		}
	}
	return s, nil
}
