package jsonexact

import (
	"encoding/json"
	"testing"
)

func TestMembersAreExact(t *testing.T) {
	var got []string
	err := Members([]byte(`{"model":"a","MODEL":"b","Model":{"x":1}}`), func(k string, v json.RawMessage) error {
		got = append(got, k+"="+string(v))
		return nil
	})
	if err != nil || len(got) != 3 || got[0] != `model="a"` || got[1] != `MODEL="b"` {
		t.Fatalf("%v %v", got, err)
	}
	if err := Unique([]byte(`{"a":1,"a":2}`), func(string, json.RawMessage) error { return nil }); err == nil {
		t.Fatal("duplicate accepted by Unique")
	}
	for _, bad := range []string{`[1]`, `"s"`, `{"a":1}{}`, `{"a":1`, `{1:2}`, ``} {
		if err := Members([]byte(bad), func(string, json.RawMessage) error { return nil }); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzMembers: every object json.Valid accepts is walked without error, each value is valid
// JSON, and nothing else is accepted.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":{"b":[1,2]},"A":"x"}`, `{"a":1,"a":2}`, `[]`, `{"a":`, ` {"a" : null } `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Members(b, func(k string, v json.RawMessage) error {
			if !json.Valid(v) {
				t.Fatalf("value %q of %q is not valid JSON", v, k)
			}
			return nil
		})
		var obj map[string]json.RawMessage
		std := json.Unmarshal(b, &obj)
		if (err == nil) != (std == nil && obj != nil) {
			t.Fatalf("Members err %v, encoding/json err %v (obj nil %v) for %q", err, std, obj == nil, b)
		}
	})
}
