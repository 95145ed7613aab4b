// Package jsonexact reads JSON objects with exact key matching.
//
// encoding/json matches object keys to struct fields case-insensitively, so
// {"model":"a","MODEL":"b"} decodes as "b" although a server (Python's json, serde) reads "a":
// whatever records or checks a document must read the keys the consumer reads. Members walks
// an object's members in order with their keys exactly as written, leaving the choice of what
// a duplicate means to the caller.
package jsonexact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrNotObject is returned for a document that is not one JSON object.
var ErrNotObject = errors.New("not a JSON object")

// Members calls fn for each member of the JSON object in data, in document order, with the key
// exactly as written and the raw value. It fails on anything but one object (trailing data
// included) and stops at the first error fn returns.
func Members(data []byte, fn func(key string, value json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return ErrNotObject
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return ErrNotObject
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if err := fn(key, v); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the object", ErrNotObject)
	}
	return nil
}

// Unique is Members that fails on a key seen twice: a document two readers could read
// differently (first or last wins) is refused rather than read one way.
func Unique(data []byte, fn func(key string, value json.RawMessage) error) error {
	seen := map[string]struct{}{}
	return Members(data, func(k string, v json.RawMessage) error {
		if _, dup := seen[k]; dup {
			return fmt.Errorf("key %q appears twice", clip(k))
		}
		seen[k] = struct{}{}
		return fn(k, v)
	})
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
