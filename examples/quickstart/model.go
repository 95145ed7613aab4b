package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
)

// The quickstart model is a two-layer classifier (8 inputs, 16 hidden units, 3 classes) in
// safetensors, the format MLX saves with mx.save_safetensors. Weights come from a fixed seed, so
// the file and its digest are the same on every machine and the embedded policy can pin it.

const (
	nIn, nHidden, nOut = 8, 16, 3
	seed               = 20261126
)

type tensor struct {
	shape []int
	data  []float32
}

func classifierTensors() map[string]tensor {
	r := rand.New(rand.NewPCG(seed, seed))
	mk := func(shape ...int) tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		t := tensor{shape: shape, data: make([]float32, n)}
		for i := range t.data {
			t.data[i] = float32(r.NormFloat64() * 0.5)
		}
		return t
	}
	return map[string]tensor{
		"layers.0.weight": mk(nHidden, nIn),
		"layers.0.bias":   mk(nHidden),
		"layers.1.weight": mk(nOut, nHidden),
		"layers.1.bias":   mk(nOut),
	}
}

// encodeSafetensors writes tensors in safetensors layout: little-endian header length, JSON
// header with dtype, shape and data offsets, then the data in header order.
func encodeSafetensors(ts map[string]tensor) []byte {
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{"__metadata__": map[string]string{"format": "mlx"}}
	var data bytes.Buffer
	for _, n := range names {
		t := ts[n]
		begin := data.Len()
		binary.Write(&data, binary.LittleEndian, t.data)
		header[n] = map[string]any{"dtype": "F32", "shape": t.shape, "data_offsets": []int{begin, data.Len()}}
	}
	h, _ := json.Marshal(header)
	for len(h)%8 != 0 { // keep tensor data 8-byte aligned, as writers do
		h = append(h, ' ')
	}
	var out bytes.Buffer
	binary.Write(&out, binary.LittleEndian, uint64(len(h)))
	out.Write(h)
	out.Write(data.Bytes())
	return out.Bytes()
}

// classifier is a loaded model.
type classifier struct {
	w0, b0, w1, b1 []float32
}

// loadClassifier reads the safetensors file back: the example's stand-in for an MLX load.
func loadClassifier(path string) (*classifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 8 {
		return nil, errors.New("safetensors: file too short")
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("safetensors: header length %d exceeds file", n)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &header); err != nil {
		return nil, fmt.Errorf("safetensors: bad header: %w", err)
	}
	data := b[8+n:]
	get := func(name string, want int) ([]float32, error) {
		var ti struct {
			Dtype   string `json:"dtype"`
			Offsets [2]int `json:"data_offsets"`
		}
		raw, ok := header[name]
		if !ok {
			return nil, fmt.Errorf("safetensors: missing tensor %s", name)
		}
		if err := json.Unmarshal(raw, &ti); err != nil || ti.Dtype != "F32" {
			return nil, fmt.Errorf("safetensors: tensor %s: unsupported entry", name)
		}
		if ti.Offsets[0] < 0 || ti.Offsets[1] > len(data) || ti.Offsets[1]-ti.Offsets[0] != want*4 {
			return nil, fmt.Errorf("safetensors: tensor %s: bad offsets", name)
		}
		out := make([]float32, want)
		binary.Read(bytes.NewReader(data[ti.Offsets[0]:ti.Offsets[1]]), binary.LittleEndian, out)
		return out, nil
	}
	var c classifier
	for _, t := range []struct {
		dst  *[]float32
		name string
		n    int
	}{{&c.w0, "layers.0.weight", nHidden * nIn}, {&c.b0, "layers.0.bias", nHidden}, {&c.w1, "layers.1.weight", nOut * nHidden}, {&c.b1, "layers.1.bias", nOut}} {
		if *t.dst, err = get(t.name, t.n); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// predict runs the forward pass and returns class probabilities.
func (c *classifier) predict(x []float32) ([]float32, error) {
	if len(x) != nIn {
		return nil, fmt.Errorf("input has %d features, the model takes %d", len(x), nIn)
	}
	h := make([]float32, nHidden)
	for i := range h {
		s := c.b0[i]
		for j, v := range x {
			s += c.w0[i*nIn+j] * v
		}
		h[i] = max(s, 0)
	}
	out := make([]float32, nOut)
	var sum float64
	for i := range out {
		s := c.b1[i]
		for j, v := range h {
			s += c.w1[i*nHidden+j] * v
		}
		out[i] = float32(math.Exp(float64(s)))
		sum += float64(out[i])
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / sum)
	}
	return out, nil
}
