package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
	"github.com/guyub/guyub/webhooks"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// receiver is a webhook consumer as a shop or CRM would write one: it checks the Standard
// Webhooks signature and timestamp itself, and keeps what it accepted.
type receiver struct {
	t      *testing.T
	secret string
	fail   int // answer 500 to this many deliveries first
	mu     sync.Mutex
	got    []webhooks.Event
	ids    map[string]int
	server *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, ids: map[string]int{}}
	r.server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.server.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id, ts, sig := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature")
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	sec, err := strconv.ParseInt(ts, 10, 64)
	if sig != want || err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		r.t.Errorf("a delivery fails verification: signature %q, want %q; timestamp %q", sig, want, ts)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		http.Error(w, "database down", http.StatusInternalServerError)
		return
	}
	var ev webhooks.Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != id || ev.Version != webhooks.PayloadVersion {
		r.t.Errorf("payload %s: %v", body, err)
	}
	r.got = append(r.got, ev)
	r.ids[id]++
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) events() []webhooks.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]webhooks.Event(nil), r.got...)
}

func setup(t *testing.T, cfg webhooks.Config) (*mongo.Database, *webhooks.Service) {
	t.Helper()
	db := storetest.DB(t)
	if err := store.EnsureIndexes(context.Background(), db, webhooks.Indexes...); err != nil {
		t.Fatal(err)
	}
	return db, webhooks.New(db, cfg, nil)
}

func TestDeliveries_SignedOnceRetriedAndKeptAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	cfg := webhooks.Config{AllowPrivate: true, BaseURL: "https://portal.example"}
	db, s := setup(t, cfg)
	clock := time.Now().UTC()
	s.SetNow(func() time.Time { return clock })
	r := newReceiver(t)
	e, err := s.Create(ctx, bson.NewObjectID(), webhooks.Input{URL: r.server.URL + "/hooks", Events: []string{webhooks.ReviewCreated, webhooks.FlagRaised}})
	if err != nil {
		t.Fatal(err)
	}
	r.secret = e.Secret
	if !strings.HasPrefix(e.Secret, "whsec_") {
		t.Fatalf("secret %q", e.Secret)
	}
	// An event told twice, and one nobody subscribed to.
	for range 2 {
		if err := s.Emit(ctx, webhooks.ReviewCreated, "review.created:review-1", map[string]any{"id": "1"}); err != nil {
			t.Fatal(err)
		}
	}
	s.Emit(ctx, webhooks.ThreadCreated, "thread.created:thread-1", map[string]any{"id": "t"})
	if err := s.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.events(); len(got) != 1 || got[0].Type != webhooks.ReviewCreated || got[0].Data["id"] != "1" {
		t.Fatalf("received %+v, want the review once", got)
	}
	// A receiver that fails twice, then recovers: the same event, again, after the back-off.
	r.fail = 2
	s.Emit(ctx, webhooks.FlagRaised, "flag:1", map[string]any{"id": "f1"})
	for i, wait := range []time.Duration{0, 30 * time.Second, time.Minute} {
		clock = clock.Add(wait)
		if err := s.Pass(ctx); err != nil {
			t.Fatal(err)
		}
		if n := len(r.events()); (i < 2 && n != 1) || (i == 2 && n != 2) {
			t.Fatalf("after attempt %d: %d received", i+1, n)
		}
	}
	log, err := s.Log(ctx, e.ID, nil, 10)
	if err != nil || len(log) != 2 || log[0].Status != webhooks.StatusDelivered || len(log[0].Attempts) != 3 ||
		log[0].Attempts[0].Code != 500 || !strings.Contains(log[0].Attempts[0].Excerpt, "database down") || log[0].Attempts[2].Code != 204 {
		t.Fatalf("log: %+v, %v", log, err)
	}
	// Pending when the process stops: another process on the same database delivers it.
	s.Emit(ctx, webhooks.ReviewCreated, "review.created:review-2", map[string]any{"id": "2"})
	restarted := webhooks.New(db, cfg, nil)
	restarted.SetNow(func() time.Time { return clock })
	if err := restarted.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.events(); len(got) != 3 || got[2].Data["id"] != "2" {
		t.Fatalf("after a restart: %+v", got)
	}
	for id, n := range r.ids {
		if n != 1 {
			t.Errorf("event %s received %d times", id, n)
		}
	}
	// Redelivered on request: the same event ID again.
	if err := s.Redeliver(ctx, e.ID, log[1].ID); err != nil {
		t.Fatal(err)
	}
	s.Pass(ctx)
	if got := r.events(); len(got) != 4 || got[3].ID != got[0].ID {
		t.Fatalf("redelivery: %+v", got)
	}
}

func TestEndpoints_PrivateAddressesRefused(t *testing.T) {
	ctx := context.Background()
	_, s := setup(t, webhooks.Config{})
	for _, u := range []string{"http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]/x", "http://169.254.169.254/latest/meta-data",
		"http://10.0.0.7/x", "http://192.168.1.1/x", "ftp://example.com/x", "http://user:pw@example.com/x", "not a url"} {
		_, err := s.Create(ctx, bson.NewObjectID(), webhooks.Input{URL: u, Events: []string{webhooks.ReviewCreated}})
		var f *errs.Fields
		if !errors.As(err, &f) || f.ByName["url"].ID == "" {
			t.Errorf("%s: %v, want a message on url", u, err)
		}
	}
	if _, err := s.Create(ctx, bson.NewObjectID(), webhooks.Input{URL: "https://crm.example.com/hooks", Events: []string{"nonsense"}}); err == nil {
		t.Error("an unknown event was accepted")
	}
	// Registered while allowed, delivered when not: refused when connecting, whatever the
	// name resolved to when it was saved.
	r := newReceiver(t)
	db, allowed := setup(t, webhooks.Config{AllowPrivate: true})
	e, err := allowed.Create(ctx, bson.NewObjectID(), webhooks.Input{URL: r.server.URL, Events: []string{webhooks.ReviewCreated}})
	if err != nil {
		t.Fatal(err)
	}
	strict := webhooks.New(db, webhooks.Config{}, nil)
	strict.Emit(ctx, webhooks.ReviewCreated, "x", map[string]any{})
	if err := strict.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	log, _ := strict.Log(ctx, e.ID, nil, 1)
	if len(r.events()) != 0 || len(log) != 1 || log[0].Attempts[0].Code != 0 || !strings.Contains(log[0].Attempts[0].Error, "private") {
		t.Fatalf("a private address was called: %d received, log %+v", len(r.events()), log)
	}
}

func TestEndpoints_DisabledAfterFailingAndAdminsTold(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	store.EnsureIndexes(ctx, db, webhooks.Indexes...)
	var told []string
	s := webhooks.New(db, webhooks.Config{AllowPrivate: true}, func(_ context.Context, e *webhooks.Endpoint) error {
		told = append(told, e.URL)
		return nil
	})
	clock := time.Now().UTC()
	s.SetNow(func() time.Time { return clock })
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer down.Close()
	e, _ := s.Create(ctx, bson.NewObjectID(), webhooks.Input{URL: down.URL, Events: []string{webhooks.ReviewCreated}})
	for i := range 25 {
		s.Emit(ctx, webhooks.ReviewCreated, "r"+strconv.Itoa(i), map[string]any{})
	}
	for range 3 {
		s.Pass(ctx)
		clock = clock.Add(time.Hour)
	}
	got, _ := s.Get(ctx, e.ID)
	if got.Active || got.Disabled == "" || len(told) != 1 {
		t.Fatalf("after failing: active %v (%q), admins told %d times", got.Active, got.Disabled, len(told))
	}
	// Turned on again, its failures are forgotten.
	if got, _ = s.SetActive(ctx, e.ID, true); !got.Active || got.Failures != 0 {
		t.Fatalf("turned on: %+v", got)
	}
}

// The sync's changes become events: created once, updated when what readers see changes,
// hidden when taken away, an idea's status change; held content is told when published.
func TestSink_ContentChangesBecomeEvents(t *testing.T) {
	ctx := context.Background()
	_, s := setup(t, webhooks.Config{AllowPrivate: true, BaseURL: "https://portal.example"})
	r := newReceiver(t)
	e, _ := s.Create(ctx, bson.NewObjectID(), webhooks.Input{URL: r.server.URL, Events: webhooks.Events})
	r.secret = e.Secret
	sink := s.Sink()
	now := time.Now().Unix()
	review := search.Document{ID: "review-aa", Kind: "review", Title: "Enak", Body: "Mantap", Rating: 5, Status: "published", URL: "/products/kopi#review-aa", Product: "kopi", CreatedAt: now}
	idea := search.Document{ID: "idea-bb", Kind: "idea", Title: "Refill", Status: "published", State: "open", URL: "/ideas/refill-bb", CreatedAt: now}
	held := search.Document{ID: "thread-cc", Kind: "thread", Title: "Spam?", Status: "pending", URL: "/t/cc", CreatedAt: now}
	steps := []func() error{
		func() error { return sink.Upsert(ctx, []search.Document{review, idea, held}) },
		func() error { return sink.Upsert(ctx, []search.Document{review, idea}) }, // the sync going over them again
		func() error {
			review.Body, idea.State, held.Status = "Pahit sekali", "planned", "published"
			return sink.Upsert(ctx, []search.Document{review, idea, held})
		},
		func() error { return sink.Delete(ctx, []string{"review-aa", "never-published"}) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range r.events() {
		types = append(types, ev.Type)
	}
	joined := strings.Join(types, ",")
	for _, want := range []string{"review.created", "idea.created", "review.updated", "idea.status_changed", "thread.created", "review.hidden"} {
		if strings.Count(joined, want) != 1 {
			t.Errorf("%s told %d times in %s", want, strings.Count(joined, want), joined)
		}
	}
	if len(types) != 6 {
		t.Errorf("%d events: %s", len(types), joined)
	}
	for _, ev := range r.events() {
		if ev.Type == webhooks.IdeaStatusChanged && (ev.Data["status"] != "planned" || ev.Data["previous_status"] != "open") {
			t.Errorf("status change: %+v", ev.Data)
		}
		if ev.Type == webhooks.ReviewCreated && ev.Data["url"] != "https://portal.example/products/kopi#review-aa" {
			t.Errorf("links are absolute: %+v", ev.Data)
		}
	}
}

// BenchmarkDeliveries measures deliveries a second to a local receiver: queueing and
// delivering b.N events, each signed, sent and logged.
func BenchmarkDeliveries(b *testing.B) {
	ctx := context.Background()
	db := storetest.DB(b)
	store.EnsureIndexes(ctx, db, webhooks.Indexes...)
	s := webhooks.New(db, webhooks.Config{AllowPrivate: true}, nil)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	s.Create(ctx, bson.NewObjectID(), webhooks.Input{URL: recv.URL, Events: []string{webhooks.ReviewCreated}})
	b.ResetTimer()
	for i := range b.N {
		if err := s.Emit(ctx, webhooks.ReviewCreated, "bench:"+strconv.Itoa(i), map[string]any{"id": i, "title": "Enak sekali"}); err != nil {
			b.Fatal(err)
		}
	}
	for {
		n, _ := db.Collection("webhook_deliveries").CountDocuments(ctx, bson.M{"status": webhooks.StatusPending})
		if n == 0 {
			break
		}
		if err := s.Pass(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
