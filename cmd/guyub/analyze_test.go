package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// guyub analyze reads a text a line and writes a JSON object a line, in order.
func TestAnalyze_OneJSONObjectPerLine(t *testing.T) {
	in := "Barangnya bagus banget, pengiriman cepat!\nStopped working after two days, waste of money.\n\nkecewa bgt 😡\n"
	var out, errs bytes.Buffer
	p := program{stdin: strings.NewReader(in), stdout: &out, stderr: &errs}
	if err := p.run(context.Background(), []string{"analyze"}); err != nil {
		t.Fatal(err, errs.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := []struct{ lang, sentiment string }{{"id", "positive"}, {"en", "negative"}, {"en", "neutral"}, {"id", "negative"}}
	if len(lines) != len(want) {
		t.Fatalf("%d lines for %d texts:\n%s", len(lines), len(want), out.String())
	}
	for i, line := range lines {
		var r struct {
			Lang, Sentiment string
			Score           *float64
			Themes          []string
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Score == nil || r.Themes == nil {
			t.Fatalf("line %d: %q (%v)", i+1, line, err)
		}
		if r.Lang != want[i].lang || r.Sentiment != want[i].sentiment {
			t.Errorf("line %d: %s %s, want %s %s", i+1, r.Lang, r.Sentiment, want[i].lang, want[i].sentiment)
		}
	}
	if !strings.Contains(lines[0], `"themes":["delivery"]`) {
		t.Errorf("themes: %s", lines[0])
	}
	// --lang says the language instead of telling it.
	out.Reset()
	p.stdin = strings.NewReader("bagus\n")
	if err := p.run(context.Background(), []string{"analyze", "--lang", "en"}); err != nil || !strings.Contains(out.String(), `"lang":"en"`) {
		t.Fatalf("--lang en: %v %s", err, out.String())
	}
	if err := p.run(context.Background(), []string{"analyze", "--lang", "fr"}); err == nil {
		t.Fatal("--lang fr was accepted")
	}
}
