package mlxc

import (
	"os"
	"strings"
	"testing"
)

func TestParseLMConfig(t *testing.T) {
	good := `{"model_type":"llama","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":384,"eos_token_id":[5,6]}`
	c, err := ParseLMConfig([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.EOS() != 5 || c.RopeTheta != 10000 || c.KVHeads != 2 {
		t.Fatalf("%+v eos %d", c, c.EOS())
	}
	for _, bad := range []string{
		`{"model_type":"mistral"}`,
		`{"model_type":"llama","hidden_size":65,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":10}`,
		`{"model_type":"llama","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":3,"vocab_size":10}`,
		`{"model_type":"llama","hidden_size":64,"num_hidden_layers":99999,"num_attention_heads":4,"vocab_size":10}`,
		`{"model_type":"llama","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":10,"rope_scaling":{"type":"linear"}}`,
		`[1,2]`,
	} {
		if _, err := ParseLMConfig([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		} else if !strings.HasPrefix(err.Error(), "mlxc: config.json") {
			t.Errorf("error %q", err)
		}
	}
}

func FuzzParseLMConfig(f *testing.F) {
	f.Add([]byte(`{"model_type":"llama","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":384,"eos_token_id":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseLMConfig(b)
		if err != nil {
			return
		}
		if c.Hidden%c.Heads != 0 || c.Heads%c.KVHeads != 0 || c.Vocab <= 0 {
			t.Fatalf("invalid config accepted: %+v", c)
		}
		if e := c.EOS(); e < -1 || int(e) >= c.Vocab {
			t.Fatalf("eos %d", e)
		}
	})
}

func FuzzSniffFormat(f *testing.F) {
	f.Add([]byte("GGUF\x03"))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := t.TempDir() + "/f"
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		SniffFormat(p) // must not panic
	})
}
