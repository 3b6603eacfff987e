package handlers

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/guyub/guyub/handlers/web"
)

// badJSONText passes a body only if every string in it is clean text, and never panics.
func FuzzBadJSONText(f *testing.F) {
	for _, seed := range []string{`{"a":"b"}`, `{"a":"\u0000"}`, `{"t":["x","\u001b"]}`, "\xff", `{"a":{"b":"c\ud800"}}`, "{}\n{\"x\":1}", "x\n{\"slug\":\"a\",\"name\":\"\\u0000\"}", "{\"a\":\"\x7f\"}", `{"a":"\ud800"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if badJSONText(body) != "" {
			return
		}
		// What a handler decodes: the body, or each line of JSON Lines.
		docs := [][]byte{body}
		if !json.Valid(body) {
			docs = bytes.Split(body, []byte("\n"))
		}
		for _, doc := range docs {
			var v any
			if json.Unmarshal(doc, &v) == nil {
				walkStrings(t, body, v)
			}
		}
	})
}

func walkStrings(t *testing.T, body []byte, v any) {
	{
		switch v := v.(type) {
		case string:
			if !web.CleanText([]byte(v)) {
				t.Fatalf("%q passed with the string %q in it", body, v)
			}
		case []any:
			for _, x := range v {
				walkStrings(t, body, x)
			}
		case map[string]any:
			for k, x := range v {
				walkStrings(t, body, k)
				walkStrings(t, body, x)
			}
		}
	}
}
