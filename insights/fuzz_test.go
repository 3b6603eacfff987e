package insights_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/guyub/guyub/insights"
)

// Any text, however broken, gets an answer of the documented shape, quickly.
func FuzzAnalyse(f *testing.F) {
	for _, seed := range []string{"", "gak enak bgt 😡", "Not bad!!!", "bagus, tapi mahal", "\xff\xfe", strings.Repeat("ab ", 5000), "n't n't", "'''"} {
		f.Add(seed)
	}
	a := analyser(f)
	f.Fuzz(func(t *testing.T, text string) {
		started := time.Now()
		r := a.Analyse(text, "")
		if took := time.Since(started); took > time.Second {
			t.Fatalf("took %s", took)
		}
		if r.Lang != insights.LangEnglish && r.Lang != insights.LangIndonesian && r.Lang != insights.LangMixed {
			t.Fatalf("language %q", r.Lang)
		}
		if r.Sentiment != insights.Positive && r.Sentiment != insights.Neutral && r.Sentiment != insights.Negative {
			t.Fatalf("sentiment %q", r.Sentiment)
		}
		if !(r.Score >= -1 && r.Score <= 1) || r.Themes == nil {
			t.Fatalf("%+v", r)
		}
		for _, th := range r.Themes {
			if !utf8.ValidString(th) {
				t.Fatalf("theme %q", th)
			}
		}
	})
}
