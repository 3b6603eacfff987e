package search_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guyub/guyub/search"
)

// A quiet server gives the pages of the index's mapped files back: they leave the
// process's resident memory, and the next search reads them again and finds the same.
func TestBleve_PageOutGivesBackTheIndexFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir() + "/index"
	idx, err := search.OpenBleve(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	var docs []search.Document
	for i := range 3000 {
		docs = append(docs, search.Document{ID: fmt.Sprintf("post-%d", i), Kind: "post", Status: "published", Visibility: "public",
			Title: fmt.Sprintf("Rice cooker %d", i), Body: fmt.Sprintf("The lid seal of cooker %d leaks steam; kata%d kerja %d", i, i, i*7)})
	}
	if err := idx.Upsert(ctx, docs...); err != nil {
		t.Fatal(err)
	}
	search := func() int {
		res, err := idx.Search(ctx, search.Query{Text: "lid seal", Kind: "post"})
		if err != nil {
			t.Fatal(err)
		}
		return res.Total
	}
	// The batch is written to a segment file and mapped in the background.
	deadline := time.Now().Add(10 * time.Second)
	for residentUnder(t, dir) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the index's files were never mapped")
		}
		search()
		time.Sleep(50 * time.Millisecond)
	}
	want := search()
	before := residentUnder(t, dir)

	asked, err := idx.PageOut()
	t.Logf("resident before %d kB, asked %d kB, after %d kB", before>>10, asked>>10, residentUnder(t, dir)>>10)
	if err != nil {
		t.Fatal(err)
	}
	if after := residentUnder(t, dir); asked < before || after > before/4 {
		t.Fatalf("resident pages of the index: %d kB before, %d kB after asking for %d kB", before>>10, after>>10, asked>>10)
	}
	if got := search(); got != want || got != len(docs) {
		t.Fatalf("after paging out, the search found %d, before %d, of %d", got, want, len(docs))
	}
	if residentUnder(t, dir) == 0 {
		t.Fatal("the search did not read the index's pages again")
	}
}

// residentUnder is how many bytes of files under dir this process has mapped and resident.
func residentUnder(t *testing.T, dir string) int64 {
	t.Helper()
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var total int64
	under := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			under = len(fields) >= 6 && strings.HasPrefix(fields[5], dir+"/")
		case under && fields[0] == "Rss:":
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			total += kb << 10
		}
	}
	return total
}
