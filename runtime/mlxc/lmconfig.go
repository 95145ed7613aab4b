package mlxc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// LMConfig is the shape of a llama-architecture language model in mlx_lm's layout, as its
// config.json states it.
type LMConfig struct {
	ModelType         string  `json:"model_type"`
	Hidden            int     `json:"hidden_size"`
	Layers            int     `json:"num_hidden_layers"`
	Heads             int     `json:"num_attention_heads"`
	KVHeads           int     `json:"num_key_value_heads"`
	Vocab             int     `json:"vocab_size"`
	RMSNormEps        float64 `json:"rms_norm_eps"`
	RopeTheta         float64 `json:"rope_theta"`
	TieWordEmbeddings bool    `json:"tie_word_embeddings"`
	RopeTraditional   bool    `json:"rope_traditional"`
	RopeScaling       any     `json:"rope_scaling"`
	EOSTokenID        any     `json:"eos_token_id"`
}

// maxConfigBytes bounds the config.json read.
const maxConfigBytes = 1 << 20

// MaxSequence is the most positions (prompt plus generated tokens) the shim runs.
const MaxSequence = 4096

// LoadLMConfig reads config.json of the model directory dir.
func LoadLMConfig(dir string) (LMConfig, error) {
	f, err := os.Open(filepath.Join(dir, "config.json"))
	if err != nil {
		return LMConfig{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return LMConfig{}, err
	}
	if len(b) > maxConfigBytes {
		return LMConfig{}, fmt.Errorf("mlxc: %s/config.json is larger than %d bytes", dir, maxConfigBytes)
	}
	return ParseLMConfig(b)
}

// ParseLMConfig parses and validates an mlx_lm config.json.
func ParseLMConfig(b []byte) (LMConfig, error) {
	c := LMConfig{RMSNormEps: 1e-6, RopeTheta: 10000}
	if err := json.Unmarshal(b, &c); err != nil {
		return LMConfig{}, fmt.Errorf("mlxc: config.json: %w", err)
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	return c, c.Validate()
}

// Validate says what in the config the shim cannot run.
func (c LMConfig) Validate() error {
	var errs []error
	if c.ModelType != "llama" {
		errs = append(errs, fmt.Errorf("model_type %q: only llama is supported", c.ModelType))
	}
	if c.RopeScaling != nil {
		errs = append(errs, errors.New("rope_scaling is not supported"))
	}
	bound := func(name string, v, hi int) {
		if v <= 0 || v > hi {
			errs = append(errs, fmt.Errorf("%s = %d, want 1..%d", name, v, hi))
		}
	}
	bound("hidden_size", c.Hidden, 1<<16)
	bound("num_hidden_layers", c.Layers, 1024)
	bound("num_attention_heads", c.Heads, 1024)
	bound("num_key_value_heads", c.KVHeads, 1024)
	bound("vocab_size", c.Vocab, 1<<22)
	if c.Heads > 0 && c.Hidden%c.Heads != 0 {
		errs = append(errs, errors.New("hidden_size is not a multiple of num_attention_heads"))
	}
	if c.KVHeads > 0 && c.Heads%c.KVHeads != 0 {
		errs = append(errs, errors.New("num_attention_heads is not a multiple of num_key_value_heads"))
	}
	if !(c.RMSNormEps > 0 && c.RMSNormEps < 1) || !(c.RopeTheta > 0 && c.RopeTheta < 1e12) {
		errs = append(errs, errors.New("rms_norm_eps or rope_theta out of range"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("mlxc: config.json: %w", errors.Join(errs...))
	}
	return nil
}

// EOS returns the first end-of-sequence token id, or -1.
func (c LMConfig) EOS() int32 {
	switch v := c.EOSTokenID.(type) {
	case float64:
		if v >= 0 && v < float64(c.Vocab) {
			return int32(v)
		}
	case []any:
		if len(v) > 0 {
			if f, ok := v[0].(float64); ok && f >= 0 && f < float64(c.Vocab) {
				return int32(f)
			}
		}
	}
	return -1
}
