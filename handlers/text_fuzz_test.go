package handlers

import (
	"encoding/json"
	"testing"
)

// badJSONText passes a body only if every string in it is clean text, and never panics.
func FuzzBadJSONText(f *testing.F) {
	for _, seed := range []string{`{"a":"b"}`, `{"a":"\u0000"}`, `{"t":["x","\u001b"]}`, "\xff", `{"a":{"b":"c\ud800"}}`, "{}\n{\"x\":1}"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if badJSONText(body) != "" || !json.Valid(body) {
			return
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return
		}
		var walk func(any)
		walk = func(v any) {
			switch v := v.(type) {
			case string:
				if !cleanText([]byte(v)) {
					t.Fatalf("%q passed with the string %q in it", body, v)
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			case map[string]any:
				for k, x := range v {
					walk(k)
					walk(x)
				}
			}
		}
		walk(v)
	})
}
