package frontend

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"testing"
)

func TestCatalog_EveryLanguageHasEveryMessage(t *testing.T) {
	c, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Languages(), []string{"en", "id"}) {
		t.Fatalf("languages = %v", c.Languages())
	}
	en, err := c.MessageIDs("en")
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.MessageIDs("id")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range en {
		if !slices.Contains(id, m) {
			t.Errorf("id.json lacks %q", m)
		}
	}
	for _, m := range id {
		if !slices.Contains(en, m) {
			t.Errorf("en.json lacks %q", m)
		}
	}
}

// Every literal message ID a template asks for must exist; a gap would show the raw ID.
func TestTemplates_UseOnlyDefinedMessages(t *testing.T) {
	c, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	defined, _ := c.MessageIDs("en")
	call := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	err = fs.WalkDir(files, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			if !slices.Contains(defined, m[1]) {
				t.Errorf("%s uses undefined message %q", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCatalog_MatchAndTranslate(t *testing.T) {
	c, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ accept, want string }{
		{"id-ID,id;q=0.9", "id"},
		{"en-GB", "en"},
		{"ms-MY, id;q=0.5", "id"},
		{"fr-FR", "en"},
		{"", "en"},
		{";;;garbage", "en"},
	}
	for round := range 2 { // the second round is answered from what the first remembered
		for _, tt := range tests {
			if got := c.Match(tt.accept, "en"); got != tt.want {
				t.Errorf("round %d: Match(%q) = %q, want %q", round, tt.accept, got, tt.want)
			}
		}
	}
	if got := c.Match("fr-FR", "id"); got != "id" {
		t.Errorf("a remembered header without a match: %q, want the fallback id", got)
	}
	for i := range 2 * maxMatches {
		c.Match(fmt.Sprintf("x-%d", i), "en")
	}
	if n := c.matched.Load(); n > maxMatches {
		t.Errorf("%d matches kept, want at most %d", n, maxMatches)
	}
	if got := c.T("id", "home.heading", "Site", "Guyub"); got != "Selamat datang di Guyub" {
		t.Errorf("T = %q", got)
	}
	if got := c.T("id", "no.such.message"); got != "no.such.message" {
		t.Errorf("a missing message should show its ID, got %q", got)
	}
}

func TestAssets_URLsCarryContentHash(t *testing.T) {
	a, err := LoadAssets()
	if err != nil {
		t.Fatal(err)
	}
	url := a.URL("style.css")
	if !regexp.MustCompile(`^/static/style\.[0-9a-f]{10}\.css$`).MatchString(url) {
		t.Fatalf("URL = %q", url)
	}
	asset, ok := a.ByURL(url)
	if !ok || asset.ContentType != "text/css; charset=utf-8" || len(asset.Body) == 0 {
		t.Fatalf("asset = %+v", asset)
	}
}
