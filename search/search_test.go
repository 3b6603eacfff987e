package search

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Whatever spans an engine sends, highlight neither panics nor breaks characters.
func FuzzHighlight(f *testing.F) {
	f.Add("héllo wörld kopi", 1, 3, 100)
	f.Add("abc", 5, 9, 2)
	f.Add("日本語のテキスト", 1, 4, 3)
	f.Fuzz(func(t *testing.T, text string, start, end, snippet int) {
		if !utf8.ValidString(text) || snippet > 10000 {
			return
		}
		out := string(highlight(text, []Span{{start, end}}, snippet%1000))
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8: %q", out)
		}
		if strings.Contains(out, "<") && !strings.Contains(out, "<mark>") {
			t.Fatalf("unescaped markup: %q", out)
		}
	})
}
