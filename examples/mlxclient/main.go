// Command mlxclient calls an OpenAI-compatible MLX server (mlx_lm.server, vllm-mlx, LM Studio,
// Ollama's /v1) with the official openai-go client, through the otelmlxhttp transport: every
// call becomes an otel-mlx inference span (kind CLIENT) with usage, finish reasons, time to
// first token and model switches, and the server receives the trace context.
//
//	mlxclient -base-url http://127.0.0.1:8080/v1 -model default_model -prompt "hello"
//
// Telemetry is exported as the standard OTEL_* variables say (the console by default).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/otel-mlx/otel-mlx/examples/internal/otelsetup"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx/otelmlxhttp"
)

func main() {
	baseURL := flag.String("base-url", "http://127.0.0.1:8080/v1", "OpenAI-compatible API base URL")
	models := flag.String("model", "default_model", "comma-separated models to ask in turn (a change is a model switch)")
	prompt := flag.String("prompt", "hello, who are you?", "user message")
	maxTokens := flag.Int64("max-tokens", 16, "max tokens per answer")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *baseURL, strings.Split(*models, ","), *prompt, *maxTokens); err != nil {
		fmt.Fprintln(os.Stderr, "mlxclient:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, baseURL string, models []string, prompt string, maxTokens int64) error {
	providers, err := otelsetup.Setup(ctx, "mlxclient")
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		providers.Shutdown(sctx)
	}()
	in, err := otelmlx.New()
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: otelmlxhttp.NewTransport(nil, in), Timeout: 5 * time.Minute}
	client := openai.NewClient(option.WithBaseURL(strings.TrimSuffix(baseURL, "/")+"/"), option.WithAPIKey("unused"),
		option.WithHTTPClient(hc), option.WithMaxRetries(0))
	var errs []error
	for _, m := range models {
		params := openai.ChatCompletionNewParams{
			Model:     m,
			Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
			MaxTokens: openai.Int(maxTokens),
		}
		res, err := client.Chat.Completions.New(ctx, params)
		if err != nil {
			fmt.Fprintf(os.Stderr, "  chat %-40s error: %v\n", m, err)
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(os.Stderr, "  chat %-40s %d+%d tokens, finish %s\n", m, res.Usage.PromptTokens, res.Usage.CompletionTokens, res.Choices[0].FinishReason)

		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		stream := client.Chat.Completions.NewStreaming(ctx, params)
		chunks := 0
		for stream.Next() {
			chunks++
		}
		if err := stream.Err(); err != nil {
			errs = append(errs, err)
		}
		stream.Close()
		fmt.Fprintf(os.Stderr, "  stream %-38s %d chunks\n", m, chunks)
	}
	return errors.Join(errs...)
}
