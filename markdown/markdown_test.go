package markdown

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestHTML_KeepsFormattingRemovesScript(t *testing.T) {
	r := New()
	tests := []struct {
		in        string
		want      []string
		forbidden []string
	}{
		{"**bold** and `code`", []string{"<strong>bold</strong>", "<code>code</code>"}, nil},
		{"```go\nfmt.Println(1)\n```", []string{"<pre><code", "fmt.Println(1)"}, nil},
		{"[site](https://example.com)", []string{`href="https://example.com"`, `rel="ugc nofollow noreferrer`}, nil},
		{"see https://example.com/x", []string{`href="https://example.com/x"`, `rel="ugc nofollow`}, nil},
		{"<script>alert(1)</script>\n\nhello", []string{"hello"}, []string{"<script"}},
		{"[x](javascript:alert(1))", nil, []string{"javascript:"}},
		{`<img src=x onerror="alert(1)">`, nil, []string{"onerror"}},
		{`<a href="https://e.com" onclick="steal()">e</a>`, nil, []string{"onclick"}},
		{"| a | b |\n|---|---|\n| 1 | 2 |", []string{"<table>", "<td>1</td>"}, nil},
		// Pictures uploaded here are shown; any other becomes a link (no tracking pixels).
		{"![cup](/media/ab/" + strings.Repeat("ab", 32) + ".jpg)", []string{`<img src="/media/ab/`, `alt="cup"`}, nil},
		{"![pixel](https://tracker.example/p.gif) after", []string{`href="https://tracker.example/p.gif"`, ">pixel</a>", "after"}, []string{"<img"}},
		{"[![](https://e.example/i.png)](https://e.example)", []string{`href="https://e.example/i.png"`}, []string{"<img"}},
	}
	for _, tt := range tests {
		got := string(r.HTML(tt.in))
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("HTML(%q) = %q, want %q in it", tt.in, got, w)
			}
		}
		for _, f := range tt.forbidden {
			if strings.Contains(strings.ToLower(got), f) {
				t.Errorf("HTML(%q) = %q must not contain %q", tt.in, got, f)
			}
		}
	}
}

// FuzzHTML: whatever is written, no script-capable element, event handler or
// javascript:/data: URL comes out. The output is parsed as a browser would.
func FuzzHTML(f *testing.F) {
	for _, seed := range []string{"<script>x</script>", "[a](javascript:b)", "<img onerror=x>", "<svg onload=1>",
		"[a](JaVaScRiPt:alert(1))", "<a href='&#106;avascript:x'>", "<iframe src=x>", "**ok**", "![i](data:text/html,x)"} {
		f.Add(seed)
	}
	r := New()
	f.Fuzz(func(t *testing.T, in string) {
		out := string(r.HTML(in))
		if problem := unsafeHTML(out); problem != "" {
			t.Fatalf("HTML(%q) = %q: %s", in, out, problem)
		}
		if text := PlainText(r.HTML(in)); strings.ContainsAny(text, "<>") && !strings.ContainsAny(in, "<>&") {
			t.Fatalf("PlainText(%q) = %q: markup the source had not", in, text)
		}
	})
}

func unsafeHTML(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "script", "iframe", "svg", "style", "object", "embed", "form", "math":
				return "element " + tok.Data
			}
			for _, a := range tok.Attr {
				key, val := strings.ToLower(a.Key), strings.ToLower(strings.TrimSpace(a.Val))
				if strings.HasPrefix(key, "on") {
					return "event handler " + key
				}
				if (key == "href" || key == "src") && (strings.HasPrefix(val, "javascript:") || strings.HasPrefix(val, "data:") || strings.HasPrefix(val, "vbscript:")) {
					return key + "=" + val
				}
			}
		}
	}
}

// PlainText is what the page shows, no more: text in a raw HTML block never reaches search
// or structured data, while text between inline tags (which the page does show) does.
func TestPlainText_IsWhatThePageShows(t *testing.T) {
	r := New()
	tests := map[string]string{
		"<div hidden>\nBUY FOLLOWERS cheap-pills.example\n</div>\n\nMy router is great.": "My router is great.",
		"**Bagus** sekali &amp; murah\n\n- satu\n- dua":                                  "Bagus sekali & murah satu dua",
		"a <span style=\"display:none\">shown</span> b":                                  "a shown b",
		"<!-- comment text -->\nvisible":                                                 "visible",
		"```\nx < y\n```":                                                                "x < y",
	}
	for src, want := range tests {
		if got := PlainText(r.HTML(src)); got != want {
			t.Errorf("PlainText(%q) = %q, want %q", src, got, want)
		}
	}
}
