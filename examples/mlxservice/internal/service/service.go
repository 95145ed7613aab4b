// Package service is the HTTP service of the mlxservice example: classifier models served in
// process by MLX (through mlxc), every load and inference recorded by otelmlx.
package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/otel-mlx/otel-mlx/instrumentation/otelmlx"
	"github.com/otel-mlx/otel-mlx/runtime/mlxc"
)

// Limits of one request; they keep a client from making the service allocate without bound.
const (
	DefaultMaxBody = 1 << 20
	DefaultMaxRows = 256
	maxIDLen       = 128
)

// Config configures a Service.
type Config struct {
	Instrumenter *otelmlx.Instrumenter
	Device       mlxc.Device
	// AdminToken, when set, must be sent as "Authorization: Bearer <token>" to the admin
	// endpoints. Leave it empty only on a loopback-only service.
	AdminToken string
	MaxBody    int64 // bytes of a request body (DefaultMaxBody)
	MaxRows    int   // rows of one prediction (DefaultMaxRows)
}

// Service serves the models it has loaded.
type Service struct {
	cfg    Config
	mu     sync.RWMutex
	models map[string]*model
}

type model struct {
	w     *mlxc.Weights
	info  otelmlx.ModelInfo
	inDim int            // classifier: features per input row
	lm    *mlxc.LMConfig // language model: its config.json
}

// New returns a Service with no model loaded.
func New(cfg Config) (*Service, error) {
	if cfg.Instrumenter == nil {
		return nil, errors.New("service: an Instrumenter is required")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = DefaultMaxRows
	}
	return &Service{cfg: cfg, models: map[string]*model{}}, nil
}

// LoadError says why a load failed and which HTTP status tells the client.
type LoadError struct {
	Status int
	Err    error
}

func (e *LoadError) Error() string { return e.Err.Error() }
func (e *LoadError) Unwrap() error { return e.Err }

// Load loads a model from source (a path or file:// URI; path names the local copy of a
// remote source) under name, through the policy, and replaces any model of that name.
func (s *Service) Load(ctx context.Context, name, source, path string) (otelmlx.ModelInfo, error) {
	if name == "" || source == "" {
		return otelmlx.ModelInfo{}, &LoadError{http.StatusBadRequest, errors.New("name and source are required")}
	}
	ref := otelmlx.ModelRef{Name: name, Source: source, Path: path}
	m, info, err := otelmlx.Load(ctx, s.cfg.Instrumenter, ref, func(ctx context.Context) (*model, error) {
		local, err := localFile(source, path)
		if err != nil {
			return nil, err
		}
		if st, err := os.Stat(local); err == nil && st.IsDir() {
			return loadLM(local, s.cfg.Device)
		}
		w, err := mlxc.Load(local, mlxc.FormatAuto, s.cfg.Device)
		if err != nil {
			return nil, err
		}
		shape := w.Shape("layers.0.weight")
		if len(shape) != 2 || shape[1] <= 0 {
			w.Close()
			return nil, errors.New("not a classifier: no 2-D layers.0.weight")
		}
		return &model{w: w, inDim: int(shape[1])}, nil
	})
	var pe *otelmlx.PolicyError
	var ie *otelmlx.IntegrityError
	switch {
	case errors.As(err, &pe):
		return info, &LoadError{http.StatusForbidden, err}
	case errors.As(err, &ie):
		return info, &LoadError{http.StatusConflict, err}
	case err != nil:
		return info, &LoadError{http.StatusUnprocessableEntity, err}
	}
	m.info = info
	s.mu.Lock()
	old := s.models[name]
	s.models[name] = m
	s.mu.Unlock()
	if old != nil {
		old.w.Close() // waits for the inferences that still use it
	}
	return info, nil
}

// loadLM loads a language model directory in mlx_lm's layout (config.json, model.safetensors).
func loadLM(dir string, dev mlxc.Device) (*model, error) {
	cfg, err := mlxc.LoadLMConfig(dir)
	if err != nil {
		return nil, err
	}
	w, err := mlxc.Load(filepath.Join(dir, "model.safetensors"), mlxc.FormatSafetensors, dev)
	if err != nil {
		return nil, err
	}
	return &model{w: w, lm: &cfg}, nil
}

// Close frees every model.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, m := range s.models {
		m.w.Close()
		delete(s.models, name)
	}
}

// Close implements io.Closer for the loaded model, so otelmlx discards a model whose digest
// does not match its pin.
func (m *model) Close() error { return m.w.Close() }

// localFile turns a source into the file MLX reads.
func localFile(source, path string) (string, error) {
	if path != "" {
		return path, nil
	}
	if strings.HasPrefix(source, "file://") {
		u, err := url.Parse(source)
		if err != nil {
			return "", err
		}
		return u.Path, nil
	}
	if strings.Contains(source, "://") {
		return "", errors.New("a remote source needs the path of its local copy")
	}
	return source, nil
}

// Handler returns the service's routes.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/predict", s.predict)
	mux.HandleFunc("POST /v1/generate", s.generate)
	mux.HandleFunc("POST /admin/models", s.admin(s.loadModel))
	mux.HandleFunc("GET /healthz", s.health)
	return mux
}

type predictRequest struct {
	Model  string      `json:"model"`
	Inputs [][]float32 `json:"inputs"`
}

type predictResponse struct {
	Model   string      `json:"model"`
	SHA256  string      `json:"sha256"`
	Classes []int       `json:"classes"`
	Probs   [][]float32 `json:"probs"`
}

func (s *Service) predict(w http.ResponseWriter, r *http.Request) {
	var req predictRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	dec.DisallowUnknownFields()
	decodeErr := dec.Decode(&req)
	if req.Model == "" {
		req.Model = "classifier"
	}
	s.mu.RLock()
	m := s.models[req.Model]
	s.mu.RUnlock()
	rows, cols := len(req.Inputs), 0
	if rows > 0 {
		cols = len(req.Inputs[0])
	}
	oreq := otelmlx.Request{
		Operation:     otelmlx.OperationPredict,
		Model:         req.Model,
		RequestID:     requestID(r),
		Identity:      identity(r),
		ClientAddress: clientAddress(r),
		InputSize:     int64(rows) * int64(cols),
	}
	if m != nil {
		oreq.ModelSHA256 = m.info.SHA256
	}
	type result struct {
		probs   []float32
		classes int
	}
	res, err := otelmlx.Infer(r.Context(), s.cfg.Instrumenter, oreq, func(ctx context.Context) (result, otelmlx.Response, error) {
		switch {
		case decodeErr != nil:
			return result{}, otelmlx.Response{}, otelmlx.Reject("malformed request body")
		case m == nil:
			return result{}, otelmlx.Response{}, otelmlx.Reject("unknown model")
		case rows == 0 || rows > s.cfg.MaxRows:
			return result{}, otelmlx.Response{}, otelmlx.Reject(fmt.Sprintf("need 1 to %d input rows", s.cfg.MaxRows))
		}
		if m.lm != nil {
			return result{}, otelmlx.Response{}, otelmlx.Reject("model is a language model: use /v1/generate")
		}
		flat := make([]float32, 0, rows*m.inDim)
		for _, row := range req.Inputs {
			if len(row) != m.inDim {
				return result{}, otelmlx.Response{}, otelmlx.Reject(fmt.Sprintf("every input row needs %d values", m.inDim))
			}
			flat = append(flat, row...)
		}
		probs, classes, err := m.w.PredictMLP(flat, rows)
		return result{probs, classes}, otelmlx.Response{Model: m.info.Name}, err
	})
	if err != nil {
		writeInferenceError(w, err, m == nil && decodeErr == nil)
		return
	}
	out := predictResponse{Model: req.Model, SHA256: m.info.SHA256}
	for i := 0; i < rows; i++ {
		row := res.probs[i*res.classes : (i+1)*res.classes]
		best := 0
		for j, p := range row {
			if p > row[best] {
				best = j
			}
		}
		out.Classes = append(out.Classes, best)
		out.Probs = append(out.Probs, row)
	}
	writeJSON(w, http.StatusOK, out)
}

// MaxNewTokens bounds one generation.
const MaxNewTokens = 256

type generateRequest struct {
	Model     string  `json:"model"`
	Tokens    []int32 `json:"tokens"`
	MaxTokens int     `json:"max_tokens"`
}

type generateResponse struct {
	Model        string  `json:"model"`
	SHA256       string  `json:"sha256"`
	Tokens       []int32 `json:"tokens"`
	FinishReason string  `json:"finish_reason"`
}

// generate continues a token sequence with a language model, greedily, in process.
func (s *Service) generate(w http.ResponseWriter, r *http.Request) {
	var req generateRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	dec.DisallowUnknownFields()
	decodeErr := dec.Decode(&req)
	if req.MaxTokens == 0 {
		req.MaxTokens = 16
	}
	s.mu.RLock()
	m := s.models[req.Model]
	s.mu.RUnlock()
	oreq := otelmlx.Request{
		Operation:     otelmlx.OperationTextCompletion,
		Model:         req.Model,
		RequestID:     requestID(r),
		Identity:      identity(r),
		ClientAddress: clientAddress(r),
		MaxTokens:     max(req.MaxTokens, 0),
		InputSize:     int64(len(req.Tokens)),
	}
	if m != nil {
		oreq.ModelSHA256 = m.info.SHA256
	}
	out, err := otelmlx.Infer(r.Context(), s.cfg.Instrumenter, oreq, func(ctx context.Context) (generateResponse, otelmlx.Response, error) {
		switch {
		case decodeErr != nil:
			return generateResponse{}, otelmlx.Response{}, otelmlx.Reject("malformed request body")
		case m == nil:
			return generateResponse{}, otelmlx.Response{}, otelmlx.Reject("unknown model")
		case m.lm == nil:
			return generateResponse{}, otelmlx.Response{}, otelmlx.Reject("model is not a language model")
		case req.MaxTokens < 1 || req.MaxTokens > MaxNewTokens:
			return generateResponse{}, otelmlx.Response{}, otelmlx.Reject(fmt.Sprintf("max_tokens must be 1 to %d", MaxNewTokens))
		case len(req.Tokens) == 0 || len(req.Tokens)+req.MaxTokens > mlxc.MaxSequence:
			return generateResponse{}, otelmlx.Response{}, otelmlx.Reject(fmt.Sprintf("need 1 to %d prompt tokens", mlxc.MaxSequence-req.MaxTokens))
		}
		for _, t := range req.Tokens {
			if t < 0 || int(t) >= m.lm.Vocab {
				return generateResponse{}, otelmlx.Response{}, otelmlx.Reject("token id outside the vocabulary")
			}
		}
		toks, err := m.w.Generate(*m.lm, req.Tokens, req.MaxTokens, m.lm.EOS())
		if err != nil {
			return generateResponse{}, otelmlx.Response{}, err
		}
		finish := "length" // Generate stops early only at the end-of-sequence token
		if n := len(toks); n > 0 && m.lm.EOS() >= 0 && toks[n-1] == m.lm.EOS() {
			finish = "stop"
		}
		resp := generateResponse{Model: req.Model, SHA256: m.info.SHA256, Tokens: toks, FinishReason: finish}
		return resp, otelmlx.Response{Model: m.info.Name, InputTokens: int64(len(req.Tokens)), OutputTokens: int64(len(toks)),
			FinishReasons: []string{finish}}, nil
	})
	if err != nil {
		writeInferenceError(w, err, m == nil && decodeErr == nil)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

type loadRequest struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	Path   string `json:"path"`
}

func (s *Service) loadModel(w http.ResponseWriter, r *http.Request) {
	var req loadRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed request body"})
		return
	}
	info, err := s.Load(r.Context(), req.Name, req.Source, req.Path)
	if err != nil {
		var le *LoadError
		status := http.StatusInternalServerError
		if errors.As(err, &le) {
			status = le.Status
		}
		// The error text is built by otelmlx from sanitized values.
		writeJSON(w, status, map[string]any{"error": s.cfg.Instrumenter.Sanitize(err.Error()), "decision": info.Decision, "rule": info.Rule})
		return
	}
	writeJSON(w, http.StatusCreated, info)
}

// admin guards the admin endpoints with the bearer token, compared in constant time.
func (s *Service) admin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.AdminToken != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || !constantTimeEqual(got, s.cfg.AdminToken) {
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "admin token required"})
				return
			}
		}
		next(w, r)
	}
}

func constantTimeEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v byte
	for i := 0; i < len(a); i++ {
		v |= a[i] ^ b[i]
	}
	return v == 0
}

type healthModel struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Format string `json:"format"`
	Source string `json:"source"`
}

func (s *Service) health(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	models := make([]healthModel, 0, len(s.models))
	for name, m := range s.models {
		models = append(models, healthModel{Name: name, SHA256: m.info.SHA256, Format: m.info.Format, Source: m.info.SourceURI})
	}
	s.mu.RUnlock()
	sort.Slice(models, func(i, j int) bool { return models[i].Name < models[j].Name })
	mem, err := mlxc.Memory()
	status := "ok"
	if err != nil {
		status = "mlx unavailable: " + err.Error()
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status": status, "mlx_version": mlxc.Version(), "device": s.cfg.Device.String(),
		"memory": mem, "models": models,
	})
}

// identity is the caller: an API key, or else a user name from a trusted proxy header. Only
// its keyed HMAC is recorded (enduser.pseudo.id).
func identity(r *http.Request) string {
	if k := r.Header.Get("X-API-Key"); k != "" {
		return "key:" + k
	}
	if k, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && k != "" {
		return "key:" + k
	}
	if u := r.Header.Get("X-User"); u != "" {
		return "user:" + u
	}
	return ""
}

func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= maxIDLen {
		return id
	}
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		fmt.Fprintln(os.Stderr, "mlxservice: writing response:", err)
	}
}

// writeInferenceError answers a failed inference: 404 for a request that named no loaded model,
// 400 for other input the service refused, 500 for a failure of the model itself.
func writeInferenceError(w http.ResponseWriter, err error, unknownModel bool) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, otelmlx.ErrRejected) && unknownModel:
		status = http.StatusNotFound
	case errors.Is(err, otelmlx.ErrRejected):
		status = http.StatusBadRequest
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
