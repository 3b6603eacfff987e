package search_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/search/searchtest"
)

// fakeMeili answers like Meilisearch and records what the adapter sent.
type fakeMeili struct {
	mu       sync.Mutex
	requests []recorded
	tasks    int
	failTask map[int]string // task number → error message
	search   string         // the search response body
}

type recorded struct {
	Method, Path, Query, Auth string
	Body                      map[string]any
	Raw                       string
}

func (f *fakeMeili) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	raw, _ := io.ReadAll(r.Body)
	rec := recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"), Raw: string(raw)}
	_ = json.Unmarshal(raw, &rec.Body)
	f.requests = append(f.requests, rec)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/tasks/"):
		n := strings.TrimPrefix(r.URL.Path, "/tasks/")
		for task, msg := range f.failTask {
			if n == itoa(task) {
				w.Write([]byte(`{"uid":` + n + `,"status":"failed","error":{"message":"` + msg + `","code":"invalid_document_id","type":"invalid_request"}}`))
				return
			}
		}
		w.Write([]byte(`{"uid":` + n + `,"status":"succeeded"}`))
	case r.URL.Path == "/indexes/guyub/search":
		w.Write([]byte(f.search))
	case r.URL.Path == "/health":
		w.Write([]byte(`{"status":"available"}`))
	default:
		f.tasks++
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"taskUid":` + itoa(f.tasks) + `,"indexUid":"guyub","status":"enqueued","type":"x","enqueuedAt":"2026-11-23T10:00:00Z"}`))
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func (f *fakeMeili) find(method, path string) *recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.requests) - 1; i >= 0; i-- {
		if f.requests[i].Method == method && f.requests[i].Path == path {
			return &f.requests[i]
		}
	}
	return nil
}

func TestMeili_SettingsDocumentsAndSearchRequests(t *testing.T) {
	ctx := context.Background()
	fake := &fakeMeili{search: `{"hits":[{"id":"review-1","kind":"review","title":"Great review","body":"so <b>good</b>","status":"published","_matchesPosition":{"title":[{"start":6,"length":6}]}}],
		"totalHits":1,"totalPages":1,"page":1,"hitsPerPage":10,"facetDistribution":{"kind":{"review":1}},"processingTimeMs":2}`}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	m, err := search.OpenMeili(ctx, srv.URL, "secret-key", "guyub")
	if err != nil {
		t.Fatal(err)
	}
	create := fake.find("POST", "/indexes")
	if create == nil || create.Body["uid"] != "guyub" || create.Body["primaryKey"] != "id" || create.Auth != "Bearer secret-key" {
		t.Fatalf("create index: %+v", create)
	}
	settings := fake.find("PATCH", "/indexes/guyub/settings")
	if settings == nil {
		t.Fatal("no settings request")
	}
	syn, _ := settings.Body["synonyms"].(map[string]any)
	if syn["kopi"] == nil || !strings.Contains(settings.Raw, `"filterableAttributes":["kind","product","category","forum","rating","lang","status","visibility","tags"]`) ||
		!strings.Contains(settings.Raw, `"sortableAttributes":["created_at","rating"]`) || !strings.Contains(settings.Raw, `"oneTypo":5`) {
		t.Fatalf("settings sent: %s", settings.Raw)
	}

	if err := m.Upsert(ctx, search.Document{ID: "review-1", Kind: "review", Title: "Great review", Status: "published"}); err != nil {
		t.Fatal(err)
	}
	docs := fake.find("POST", "/indexes/guyub/documents")
	if docs == nil || docs.Query != "primaryKey=id" || !strings.Contains(docs.Raw, `[{"id":"review-1","kind":"review","title":"Great review"`) {
		t.Fatalf("documents: %+v", docs)
	}
	if err := m.Delete(ctx, "review-9"); err != nil {
		t.Fatal(err)
	}
	if del := fake.find("POST", "/indexes/guyub/documents/delete-batch"); del == nil || del.Raw != `["review-9"]` {
		t.Fatalf("delete: %+v", del)
	}

	res, err := m.Search(ctx, search.Query{Text: "review", Product: `kopi" OR status = "hidden`, Category: `a\b`, Forum: "help", Rating: 5, Sort: search.SortNewest, Page: 2, PerPage: 5})
	if err != nil {
		t.Fatal(err)
	}
	req := fake.find("POST", "/indexes/guyub/search")
	wantFilter := `status IN ["published"] AND product = "kopi\" OR status = \"hidden" AND category = "a\\b" AND forum = "help" AND rating = 5`
	if req.Body["filter"] != wantFilter {
		t.Fatalf("filter = %q, want %q (user input must stay inside quotes)", req.Body["filter"], wantFilter)
	}
	if req.Body["q"] != "review" || req.Body["page"] != float64(2) || req.Body["hitsPerPage"] != float64(5) ||
		!strings.Contains(req.Raw, `"sort":["created_at:desc"]`) || !strings.Contains(req.Raw, `"facets":["kind","product","category","forum","rating","lang"]`) ||
		req.Body["showMatchesPosition"] != true {
		t.Fatalf("search request: %s", req.Raw)
	}
	if res.Total != 1 || res.Facets["kind"]["review"] != 1 || string(res.Hits[0].TitleHTML) != "Great <mark>review</mark>" || string(res.Hits[0].SnippetHTML) != "so &lt;b&gt;good&lt;/b&gt;" {
		t.Fatalf("results: %+v", res.Hits)
	}
}

func TestMeili_TaskFailureIsAnError(t *testing.T) {
	ctx := context.Background()
	fake := &fakeMeili{failTask: map[int]string{3: "Document identifier `bad id` is invalid"}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	m, err := search.OpenMeili(ctx, srv.URL, "", "guyub")
	if err != nil {
		t.Fatal(err)
	}
	err = m.Upsert(ctx, search.Document{ID: "bad id"})
	if err == nil || !strings.Contains(err.Error(), "failed: Document identifier `bad id` is invalid") {
		t.Fatalf("a failed task must be reported: %v", err)
	}
}

// The contract against a real Meilisearch, when one is configured.
func TestMeili_Contract(t *testing.T) {
	url := os.Getenv("MEILISEARCH_URL")
	if url == "" {
		t.Skip("MEILISEARCH_URL is not set: the Meilisearch contract test runs against a real server only")
	}
	searchtest.Run(t, func(t *testing.T) search.Index {
		uid := "guyub_test_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))
		m, err := search.OpenMeili(context.Background(), url, os.Getenv("MEILISEARCH_API_KEY"), uid)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Clear(context.Background()); err != nil {
			t.Fatal(err)
		}
		return m
	})
}
