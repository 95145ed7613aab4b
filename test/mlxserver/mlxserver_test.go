package mlxserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/otel-mlx/otel-mlx/instrumentation/mlxconv"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Integration tests against a real mlx_lm.server (MLX on this machine's CPU, or Metal on a
// Mac) serving the tiny model that scripts/mlx/make_models.py makes, driven by the official
// openai-go client. `make test-mlx` sets the two variables; plain `go test` skips.
const (
	envServer = "OTELMLX_MLX_LM_SERVER" // path of the mlx_lm.server executable
	envModel  = "OTELMLX_LM_MODEL"      // directory of the tiny mlx_lm model
)

// mlxServer is one mlx_lm.server process on a free loopback port.
type mlxServer struct {
	cmd  *exec.Cmd
	url  string
	logs *boundedBuffer
	done chan struct{}
}

// boundedBuffer keeps the last bytes of the server's output for failure messages.
type boundedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 16<<10 {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-16<<10:]...)
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func serverEnv(t testing.TB) (bin, model string) {
	bin, model = os.Getenv(envServer), os.Getenv(envModel)
	if bin == "" || model == "" {
		t.Skipf("%s and %s are not set: run `make test-mlx` to test against a real mlx_lm.server", envServer, envModel)
	}
	return bin, model
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startServer(t testing.TB) *mlxServer {
	bin, model := serverEnv(t)
	port := freePort(t)
	s := &mlxServer{url: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &boundedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "--model", model, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--max-tokens", "64")
	// Offline: an unknown model must fail at once instead of trying the hub.
	s.cmd.Env = append(os.Environ(), "HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1", "HF_HUB_DISABLE_TELEMETRY=1")
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(s.url + "/v1/models")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case <-s.done:
			t.Fatalf("mlx_lm.server exited: %s", s.logs)
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			t.Fatalf("mlx_lm.server not ready after 90s: %s", s.logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *mlxServer) stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
	}
	<-s.done
}

var (
	sharedOnce sync.Once
	shared     *mlxServer
	sharedErr  string
)

// sharedServer is started once for the tests that do not kill it.
func sharedServer(t *testing.T) *mlxServer {
	serverEnv(t)
	sharedOnce.Do(func() {
		ok := false
		defer func() {
			if !ok {
				sharedErr = "starting the shared mlx_lm.server failed (see the first failing test)"
			}
		}()
		shared = startServer(t)
		ok = true
	})
	if shared == nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.stop()
	}
	os.Exit(code)
}

func openaiClient(h *harness, s *mlxServer) openai.Client {
	return openai.NewClient(option.WithBaseURL(s.url+"/v1/"), option.WithAPIKey("unused"),
		option.WithHTTPClient(h.client()), option.WithMaxRetries(0))
}

func chatParams(model string, maxTokens int64) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:     model,
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello, who are you?")},
		MaxTokens: openai.Int(maxTokens),
	}
}

// checkTraceparent: what went on the wire carries the span's trace and span id.
func checkTraceparent(t *testing.T, h *harness, i int, sc trace.SpanContext) {
	t.Helper()
	sent := h.sent.headers()
	if len(sent) <= i {
		t.Fatalf("%d requests sent", len(sent))
	}
	want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
	if got := sent[i].Get("traceparent"); got != want {
		t.Fatalf("traceparent %q, want %q", got, want)
	}
}

func TestMLXServerChat(t *testing.T) {
	s := sharedServer(t)
	h := newHarness(t, nil)
	c := openaiClient(h, s)
	res, err := c.Chat.Completions.New(context.Background(), chatParams("default_model", 8))
	if err != nil {
		t.Fatal(err)
	}
	spans := h.ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	sp := spans[0]
	if sp.Name() != "chat default_model" || sp.SpanKind() != trace.SpanKindClient {
		t.Fatalf("span %q kind %v", sp.Name(), sp.SpanKind())
	}
	a := attrs(sp)
	port, _ := strconv.Atoi(s.url[strings.LastIndexByte(s.url, ':')+1:])
	checks := map[string]any{
		"gen_ai.operation.name":      "chat",
		"gen_ai.provider.name":       "mlx",
		"gen_ai.request.model":       "default_model",
		"gen_ai.request.max_tokens":  int64(8),
		"gen_ai.response.id":         res.ID,
		"gen_ai.response.model":      res.Model,
		"gen_ai.usage.input_tokens":  res.Usage.PromptTokens,
		"gen_ai.usage.output_tokens": res.Usage.CompletionTokens,
		"server.address":             "127.0.0.1",
		"server.port":                int64(port),
	}
	for k, want := range checks {
		if got := a[k].AsInterface(); got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	if fr := a["gen_ai.response.finish_reasons"].AsStringSlice(); len(fr) != 1 || fr[0] != res.Choices[0].FinishReason {
		t.Errorf("finish reasons %v, response says %q", fr, res.Choices[0].FinishReason)
	}
	if res.Usage.CompletionTokens == 0 {
		t.Error("the server reported no output tokens")
	}
	checkTraceparent(t, h, 0, sp.SpanContext())
	m := h.metricNames(t)
	for _, name := range []string{"gen_ai.client.operation.duration", "gen_ai.client.token.usage"} {
		if _, ok := m[name]; !ok {
			t.Errorf("no %s metric", name)
		}
	}
	if !strings.Contains(strings.Join(h.eventNames(), ","), "mlx.inference.completed") {
		t.Errorf("events %v", h.eventNames())
	}
}

func TestMLXServerStreaming(t *testing.T) {
	s := sharedServer(t)
	for _, withUsage := range []bool{true, false} {
		t.Run(fmt.Sprintf("include_usage=%v", withUsage), func(t *testing.T) {
			h := newHarness(t, nil)
			c := openaiClient(h, s)
			p := chatParams("default_model", 12)
			if withUsage {
				p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			stream := c.Chat.Completions.NewStreaming(context.Background(), p)
			var contentChunks, outTokens int64
			var id string
			for stream.Next() {
				ch := stream.Current()
				id = ch.ID
				for _, choice := range ch.Choices {
					if choice.Delta.Content != "" {
						contentChunks++
					}
				}
				if ch.Usage.CompletionTokens > 0 {
					outTokens = ch.Usage.CompletionTokens
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			stream.Close()
			spans := h.ended()
			if len(spans) != 1 {
				t.Fatalf("%d spans", len(spans))
			}
			a := attrs(spans[0])
			if spans[0].Status().Code == codes.Error {
				t.Fatalf("status %v", spans[0].Status())
			}
			if a["gen_ai.response.id"].AsString() != id {
				t.Errorf("response id %q, stream said %q", a["gen_ai.response.id"].AsString(), id)
			}
			if ttft := a["gen_ai.response.time_to_first_chunk"].AsFloat64(); ttft <= 0 || ttft > spans[0].EndTime().Sub(spans[0].StartTime()).Seconds() {
				t.Errorf("time to first token %v", ttft)
			}
			got := a["gen_ai.usage.output_tokens"].AsInt64()
			if withUsage {
				if outTokens == 0 || got != outTokens || a["mlx.usage.estimated"].AsBool() {
					t.Errorf("output tokens %d (estimated %v), stream usage said %d", got, a["mlx.usage.estimated"].AsBool(), outTokens)
				}
			} else if got != contentChunks || !a["mlx.usage.estimated"].AsBool() {
				t.Errorf("output tokens %d (estimated %v), client counted %d content chunks", got, a["mlx.usage.estimated"].AsBool(), contentChunks)
			}
			checkTraceparent(t, h, 0, spans[0].SpanContext())
		})
	}
}

func TestMLXServerUnknownModel(t *testing.T) {
	s := sharedServer(t)
	h := newHarness(t, nil)
	c := openaiClient(h, s)
	_, err := c.Chat.Completions.New(context.Background(), chatParams("no-such-org/no-such-model", 4))
	if err == nil {
		t.Fatal("unknown model accepted")
	}
	// mlx_lm.server sends {"error": "<text>"}, which openai-go cannot decode into its error
	// type; when it can (other servers), it must carry the 404.
	var apiErr *openai.Error
	if errors.As(err, &apiErr) && apiErr.StatusCode != http.StatusNotFound {
		t.Fatalf("err = %v, want a 404 from the server", err)
	}
	if got := h.sent.headers(); len(got) != 1 {
		t.Fatalf("%d requests sent", len(got))
	}
	sp := h.ended()[0]
	if attrs(sp)["http.response.status_code"].AsInt64() != http.StatusNotFound {
		t.Fatalf("status code attribute %v", attrs(sp)["http.response.status_code"].String())
	}
	if sp.Status().Code != codes.Error || attrs(sp)["error.type"].AsString() != "404" {
		t.Fatalf("status %v error.type %v", sp.Status(), attrs(sp)["error.type"].String())
	}
	if !strings.Contains(strings.Join(h.eventNames(), ","), "mlx.inference.failed") {
		t.Fatalf("events %v", h.eventNames())
	}
}

// Asking the server for another model makes it load that model while answering: a switch,
// whose span's duration is the switch cost.
func TestMLXServerModelSwitch(t *testing.T) {
	s := sharedServer(t)
	_, model := serverEnv(t)
	abs, _ := filepath.Abs(model)
	h := newHarness(t, nil)
	c := openaiClient(h, s)
	for _, m := range []string{"default_model", abs, abs} {
		if _, err := c.Chat.Completions.New(context.Background(), chatParams(m, 2)); err != nil {
			t.Fatalf("model %s: %v", m, err)
		}
	}
	spans := h.ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans", len(spans))
	}
	if _, ok := attrs(spans[0])["mlx.model.switch"]; ok {
		t.Error("first request marked as a switch")
	}
	a := attrs(spans[1])
	if !a["mlx.model.switch"].AsBool() || a["mlx.model.previous"].AsString() != "default_model" {
		t.Errorf("switch attributes %v", spans[1].Attributes())
	}
	if _, ok := attrs(spans[2])["mlx.model.switch"]; ok {
		t.Error("same model again marked as a switch")
	}
	t.Logf("switch cost %v (loading the model in the server), next request %v",
		spans[1].EndTime().Sub(spans[1].StartTime()), spans[2].EndTime().Sub(spans[2].StartTime()))
}

// The server dies in the middle of a stream: the client gets an error (not a silently short
// answer), the span ends with an error, and no goroutine or connection is left behind.
func TestMLXServerKilledMidStream(t *testing.T) {
	s := startServer(t)
	defer s.stop()
	base := &http.Transport{}
	before := runtime.NumGoroutine()
	h := newHarness(t, base)
	c := openaiClient(h, s)
	p := chatParams("default_model", 100000)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stream := c.Chat.Completions.NewStreaming(ctx, p)
	n := 0
	for stream.Next() {
		n++
		if n == 3 {
			if err := s.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
		}
	}
	err := stream.Err()
	stream.Close()
	if ctx.Err() != nil {
		t.Fatal("the stream hung until the timeout")
	}
	// The transport never changes what the client reads: mlx_lm.server's stream is delimited by
	// the connection's close, so whether the client sees an error is up to the client. The span
	// must say what happened either way.
	t.Logf("client after %d chunks: err=%v", n, err)
	spans := h.ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans ended", len(spans))
	}
	sp := spans[0]
	if sp.Status().Code != codes.Error {
		t.Fatalf("span status %v", sp.Status())
	}
	if et := attrs(sp)["error.type"].AsString(); et == "" || (err == nil && et != mlxconv.ErrorTypeStreamTruncated) {
		t.Fatalf("error.type %q after a stream the client read without error (%v)", et, err)
	}
	t.Logf("span error.type=%s", attrs(sp)["error.type"].AsString())
	if !strings.Contains(strings.Join(h.eventNames(), ","), "mlx.inference.failed") {
		t.Fatalf("events %v", h.eventNames())
	}
	base.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines %d, %d before:\n%s", runtime.NumGoroutine(), before, bytes.TrimSpace(buf[:runtime.Stack(buf, true)]))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
