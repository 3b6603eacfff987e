package reviews_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/guyub/guyub/reviews"
	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

// flaky is an index that can be down, and can run something in the middle of an upsert.
type flaky struct {
	search.Index
	down     atomic.Bool
	duringUp func()
}

var errDown = errors.New("index down")

func (f *flaky) Upsert(ctx context.Context, docs ...search.Document) error {
	if f.down.Load() {
		return errDown
	}
	if f.duringUp != nil {
		f.duringUp()
		f.duringUp = nil
	}
	return f.Index.Upsert(ctx, docs...)
}

func (f *flaky) Delete(ctx context.Context, ids ...string) error {
	if f.down.Load() {
		return errDown
	}
	return f.Index.Delete(ctx, ids...)
}

func (w *world) syncer(t *testing.T) (*search.Syncer, *flaky) {
	t.Helper()
	idx, err := search.OpenBleveMemory()
	if err != nil {
		t.Fatal(err)
	}
	f := &flaky{Index: idx}
	s := search.NewSyncer(f, store.NewLeases(storetest.DB(t)), "test", slog.New(slog.NewTextHandler(io.Discard, nil)),
		w.reviews.ReviewSource(), w.reviews.TestimonialSource())
	return s, f
}

func found(t *testing.T, idx search.Index, q search.Query) []string {
	t.Helper()
	r, err := idx.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range r.Hits {
		ids = append(ids, h.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestSync_WriteWithIndexDownIsIndexedWhenItReturns(t *testing.T) {
	w := newWorld(t)
	s, idx := w.syncer(t)
	p := w.product("Kopi")
	idx.down.Store(true)
	r := w.review(w.person("Ayu"), p, 5, "Aromanya harum sekali")
	if _, err := s.SyncOnce(w.ctx); err == nil {
		t.Fatal("the sync must report the index being down")
	}
	if err := s.Check(w.ctx); err == nil {
		t.Fatal("readiness should say search is degraded")
	}
	idx.down.Store(false)
	if _, err := s.SyncOnce(w.ctx); err != nil {
		t.Fatal(err)
	}
	if got := found(t, idx, search.Query{Text: "harum"}); len(got) != 1 || got[0] != "review-"+r.ID.Hex() {
		t.Fatalf("after the index returned: %v", got)
	}
	if err := s.Check(w.ctx); err != nil {
		t.Fatalf("healthy again: %v", err)
	}
}

func TestSync_HiddenReviewLeavesPublicResults(t *testing.T) {
	w := newWorld(t)
	s, idx := w.syncer(t)
	p := w.product("Lampu")
	r := w.review(w.person("Budi"), p, 1, "Lampunya berkedip terus")
	s.SyncOnce(w.ctx)
	if got := found(t, idx, search.Query{Text: "berkedip"}); len(got) != 1 {
		t.Fatalf("published: %v", got)
	}
	if _, err := w.reviews.SetStatus(w.ctx, r.ID, reviews.StatusHidden, "spam"); err != nil {
		t.Fatal(err)
	}
	s.SyncOnce(w.ctx)
	if got := found(t, idx, search.Query{Text: "berkedip", Statuses: []string{"published", "pending"}}); len(got) != 0 {
		t.Fatalf("a hidden review must leave the index: %v", got)
	}
}

func TestSync_EditDuringSyncIsNotLost(t *testing.T) {
	w := newWorld(t)
	s, idx := w.syncer(t)
	p := w.product("Teh")
	author := w.person("Citra")
	r := w.review(author, p, 3, "Tehnya biasa saja")
	// The author edits while the first batch is being written to the index.
	idx.duringUp = func() {
		if _, err := w.reviews.Update(w.ctx, author, r.ID, reviews.Input{Rating: 5, Body: "Ternyata wangi melati"}); err != nil {
			t.Error(err)
		}
	}
	s.SyncOnce(w.ctx)
	s.SyncOnce(w.ctx)
	if got := found(t, idx, search.Query{Text: "melati"}); len(got) != 1 {
		t.Fatalf("the edit made during the sync must be indexed: %v", got)
	}
	if got := found(t, idx, search.Query{Text: "biasa"}); len(got) != 0 {
		t.Fatalf("the old text must be gone: %v", got)
	}
}

func TestReindex_EqualsTheIncrementalIndex(t *testing.T) {
	w := newWorld(t)
	incremental, incIdx := w.syncer(t)
	p, q := w.product("Gula Aren"), w.product("Kopi Susu")
	for i, body := range []string{"manis legit", "terlalu manis", "pas rasanya", "kopi susu enak", "susu basi"} {
		author := w.person("Author" + string(rune('A'+i)))
		prod := p
		if i >= 3 {
			prod = q
		}
		r := w.review(author, prod, 1+i, body)
		if i == 4 {
			w.reviews.SetStatus(w.ctx, r.ID, reviews.StatusHidden, "no")
		}
		incremental.SyncOnce(w.ctx)
	}
	rebuilt, rebIdx := w.syncer(t)
	var calls int
	if err := rebuilt.Reindex(w.ctx, func(done, total int) { calls++ }); err != nil {
		t.Fatal(err)
	}
	for _, q := range []search.Query{{}, {Text: "manis"}, {Text: "susu"}, {Product: p.Slug}, {Rating: 4}} {
		a, b := found(t, incIdx, q), found(t, rebIdx, q)
		if !slices.Equal(a, b) {
			t.Fatalf("query %+v: incremental %v, reindex %v", q, a, b)
		}
	}
	if calls < 2 {
		t.Fatalf("progress was reported %d times", calls)
	}
}
