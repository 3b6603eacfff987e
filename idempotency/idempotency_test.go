package idempotency

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/guyub/guyub/store/storetest"
)

// While the first request runs, a retry is told to wait; if the first died unanswered, a
// later retry runs it; expired answers are purged.
func TestKeys_InFlightStaleAndPurge(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	k := New(storetest.DB(t))
	k.now = func() time.Time { return now }
	r := Request{Caller: "c1", Key: "k", Method: "POST", Path: "/api/v1/threads", Body: []byte(`{}`)}
	if a, err := k.Begin(ctx, r); a != nil || err != nil {
		t.Fatalf("first: %v %v", a, err)
	}
	if _, err := k.Begin(ctx, r); !errors.Is(err, ErrInFlight) {
		t.Fatalf("a retry while the first runs: %v", err)
	}
	other := r
	other.Caller = "c2"
	if a, err := k.Begin(ctx, other); a != nil || err != nil {
		t.Fatalf("the same key from another caller is its own: %v %v", a, err)
	}
	now = now.Add(staleAfter + time.Second)
	if a, err := k.Begin(ctx, r); a != nil || err != nil {
		t.Fatalf("a retry after the first died: %v %v", a, err)
	}
	if err := k.Finish(ctx, r, Answer{Status: 201, ContentType: "application/json", Body: []byte(`{"id":1}`)}); err != nil {
		t.Fatal(err)
	}
	if a, err := k.Begin(ctx, r); err != nil || a == nil || a.Status != 201 || string(a.Body) != `{"id":1}` {
		t.Fatalf("the answer: %+v %v", a, err)
	}
	now = now.Add(Lifetime + time.Minute)
	if err := k.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := k.coll.CountDocuments(ctx, map[string]any{}); n != 0 {
		t.Fatalf("%d entries left after their lifetime", n)
	}
}
