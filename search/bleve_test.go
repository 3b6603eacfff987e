package search_test

import (
	"testing"

	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/search/searchtest"
)

func TestBleve_Contract(t *testing.T) {
	searchtest.Run(t, func(t *testing.T) search.Index {
		idx, err := search.OpenBleve(t.TempDir() + "/index")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { idx.Close() })
		return idx
	})
}
