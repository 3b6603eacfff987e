package content_test

import (
	"testing"

	"github.com/guyub/guyub/content"
)

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{"Kopi Arabika Gayo!": "kopi-arabika-gayo", "Café  Crème": "cafe-creme", "  --X--  ": "x", "Teh 100%": "teh-100"} {
		if got := content.Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}
