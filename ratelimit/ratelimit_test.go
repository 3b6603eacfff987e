package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func newLimiter(t *testing.T, now *time.Time) *Limiter {
	t.Helper()
	db := storetest.DB(t)
	if err := store.EnsureIndexes(context.Background(), db, Indexes); err != nil {
		t.Fatal(err)
	}
	l := New(db)
	l.now = func() time.Time { return *now }
	return l
}

func TestAllow_RefusesAfterLimitUntilWindowEnds(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 5, 0, time.UTC)
	l := newLimiter(t, &now)

	for i := 1; i <= 3; i++ {
		d, err := l.Allow(ctx, "ip:1.2.3.4", 3, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed || d.Remaining != 3-i {
			t.Fatalf("request %d: %+v, want allowed with %d remaining", i, d, 3-i)
		}
	}
	d, err := l.Allow(ctx, "ip:1.2.3.4", 3, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed {
		t.Fatal("fourth request in the window should be refused")
	}
	if got := d.RetryAfter(now); got != 55*time.Second {
		t.Fatalf("RetryAfter = %v, want 55s", got)
	}
	if d, _ := l.Allow(ctx, "ip:5.6.7.8", 3, time.Minute); !d.Allowed {
		t.Fatal("another key has its own count")
	}

	now = now.Add(time.Minute)
	if d, _ := l.Allow(ctx, "ip:1.2.3.4", 3, time.Minute); !d.Allowed {
		t.Fatal("a new window starts a new count")
	}
}

func TestAllow_CountsConcurrentRequestsExactly(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	l := newLimiter(t, &now)

	const requests, limit = 40, 25
	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for range requests {
		wg.Go(func() {
			d, err := l.Allow(ctx, "burst", limit, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			if d.Allowed {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != limit {
		t.Fatalf("allowed %d of %d concurrent requests, want exactly %d", allowed, requests, limit)
	}
}

func TestPurge_RemovesOnlyEndedWindows(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	l := newLimiter(t, &now)
	if _, err := l.Allow(ctx, "old", 5, time.Minute); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := l.Allow(ctx, "current", 5, time.Minute); err != nil {
		t.Fatal(err)
	}
	n, err := l.Purge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("purged %d windows, want 1", n)
	}
	if d, _ := l.Allow(ctx, "current", 5, time.Minute); d.Remaining != 3 {
		t.Fatalf("current window lost its count: %+v", d)
	}
}

func BenchmarkAllow(b *testing.B) {
	ctx := context.Background()
	l := New(storetest.DB(b))
	for b.Loop() {
		if _, err := l.Allow(ctx, "bench", 1<<30, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}
