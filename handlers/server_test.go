package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/ratelimit"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m, everyOperationChecked) }

type response struct {
	*http.Response
	body string
}

func do(t *testing.T, app *fiber.App, req *http.Request) response {
	t.Helper()
	res, err := app.Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res, string(b)}
}

func get(t *testing.T, app *fiber.App, target string, headers ...string) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return do(t, app, req)
}

func TestHome_ChoosesLanguage(t *testing.T) {
	app := newApp(t, handlers.Config{}, handlers.Deps{})
	tests := []struct {
		name, target string
		headers      []string
		want, lang   string
	}{
		{"default is English", "/", nil, "Welcome to Guyub", "en"},
		{"Accept-Language id", "/", []string{"Accept-Language", "id-ID,id;q=0.9,en;q=0.5"}, "Selamat datang di Guyub", "id"},
		{"query beats header", "/?lang=en", []string{"Accept-Language", "id"}, "Welcome to Guyub", "en"},
		{"cookie from the switch", "/", []string{"Cookie", "guyub_lang=id"}, "Selamat datang di Guyub", "id"},
		{"unknown lang ignored", "/?lang=xx", nil, "Welcome to Guyub", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := get(t, app, tt.target, tt.headers...)
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			if !strings.Contains(res.body, tt.want) || !strings.Contains(res.body, `<html lang="`+tt.lang+`">`) {
				t.Fatalf("want %q in lang %s, got:\n%s", tt.want, tt.lang, res.body)
			}
		})
	}
}

func TestHome_DefaultLanguageFromConfig(t *testing.T) {
	e := newEnv(t)
	app := e.app(handlers.Config{DefaultLanguage: "id"}, handlers.Deps{})
	if res := get(t, app, "/"); !strings.Contains(res.body, "Selamat datang") {
		t.Fatalf("default language id not used:\n%s", res.body)
	}
	_, err := handlers.New(handlers.Config{DefaultLanguage: "fr"}, handlers.Deps{Customers: e.customers, Identity: e.identity, Reviews: e.reviews, Community: e.community, Moderation: e.moderation, Search: e.search, Feedback: e.feedback})
	if err == nil || !strings.Contains(err.Error(), `"fr"`) {
		t.Fatalf("an unsupported default language must be refused: %v", err)
	}
}

func TestLanguageSwitch_RemembersChoiceAndKeepsPage(t *testing.T) {
	app := newApp(t, handlers.Config{}, handlers.Deps{})
	res := get(t, app, "/?lang=id&x=1")
	cookie := res.Header.Get("Set-Cookie")
	if !strings.Contains(cookie, "guyub_lang=id") || !strings.Contains(strings.ToLower(cookie), "samesite=lax") {
		t.Fatalf("Set-Cookie = %q", cookie)
	}
	if !strings.Contains(res.body, `href="/?lang=en&amp;x=1"`) {
		t.Fatalf("switch back to English should keep the page and its query:\n%s", res.body)
	}
}

func TestNotFound_LocalisedPageAndJSON(t *testing.T) {
	app := newApp(t, handlers.Config{}, handlers.Deps{})
	res := get(t, app, "/no/such/page")
	if res.StatusCode != 404 || !strings.Contains(res.body, "Page not found") {
		t.Fatalf("status %d body:\n%s", res.StatusCode, res.body)
	}
	res = get(t, app, "/no/such/page?lang=id")
	if res.StatusCode != 404 || !strings.Contains(res.body, "Halaman tidak ditemukan") {
		t.Fatalf("status %d body:\n%s", res.StatusCode, res.body)
	}
	res = get(t, app, "/api/v1/nothing", "Accept-Language", "id")
	var body struct {
		Error struct {
			Status  int
			Message string
		}
	}
	if err := json.Unmarshal([]byte(res.body), &body); err != nil || res.StatusCode != 404 {
		t.Fatalf("status %d, body %s (%v)", res.StatusCode, res.body, err)
	}
	if body.Error.Status != 404 || !strings.Contains(body.Error.Message, "Kami tidak menemukan") {
		t.Fatalf("API error = %+v", body.Error)
	}
}

func TestPanic_LocalisedServerErrorWithoutInternals(t *testing.T) {
	app := newApp(t, handlers.Config{}, handlers.Deps{})
	app.Get("/boom", func(*fiber.Ctx) error { panic("secret internal detail") })
	app.Get("/fail", func(*fiber.Ctx) error { return errors.New("db password is hunter2") })
	for _, path := range []string{"/boom", "/fail"} {
		res := get(t, app, path+"?lang=id")
		if res.StatusCode != 500 {
			t.Fatalf("%s: status %d", path, res.StatusCode)
		}
		if !strings.Contains(res.body, "Terjadi kesalahan") {
			t.Fatalf("%s: want the Indonesian 500 page:\n%s", path, res.body)
		}
		if strings.Contains(res.body, "secret") || strings.Contains(res.body, "hunter2") || strings.Contains(res.body, "goroutine") {
			t.Fatalf("%s: internals leaked:\n%s", path, res.body)
		}
		if id := res.Header.Get("X-Request-ID"); id == "" || !strings.Contains(res.body, id) {
			t.Fatalf("%s: the page should show the request ID %q for support", path, id)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	app := newApp(t, handlers.Config{}, handlers.Deps{})
	res := get(t, app, "/")
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP = %q", csp)
	}
	for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "X-Request-ID"} {
		if res.Header.Get(h) == "" {
			t.Errorf("missing header %s", h)
		}
	}
}

func TestCompressionAndETag(t *testing.T) {
	app := newApp(t, handlers.Config{}, handlers.Deps{})
	res := get(t, app, "/", "Accept-Encoding", "gzip")
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q", res.Header.Get("Content-Encoding"))
	}
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if again := get(t, app, "/", "Accept-Encoding", "gzip", "If-None-Match", etag); again.StatusCode != 304 {
		t.Fatalf("conditional GET: status %d, want 304", again.StatusCode)
	}
}

func TestStatic_HashedURLsCachedForAYear(t *testing.T) {
	app := newApp(t, handlers.Config{}, handlers.Deps{})
	home := get(t, app, "/")
	start := strings.Index(home.body, `href="/static/style.`)
	if start < 0 {
		t.Fatalf("no hashed stylesheet link in:\n%s", home.body)
	}
	url := home.body[start+len(`href="`):]
	url = url[:strings.IndexByte(url, '"')]
	res := get(t, app, url)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("%s: status %d type %q", url, res.StatusCode, res.Header.Get("Content-Type"))
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
		t.Fatalf("Cache-Control = %q", cc)
	}
	if res := get(t, app, "/static/style.0000000000.css"); res.StatusCode != 404 {
		t.Fatalf("a stale hash must not be served: status %d", res.StatusCode)
	}
}

func TestBodyLimit_413(t *testing.T) {
	app := newApp(t, handlers.Config{BodyLimit: 1024}, handlers.Deps{})
	base := listen(t, app)
	res, err := http.Post(base+"/?lang=id", "text/plain", strings.NewReader(strings.Repeat("x", 4096)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 413 || !strings.Contains(string(body), "Terlalu besar") {
		t.Fatalf("status %d body:\n%s", res.StatusCode, body)
	}
}

func TestRateLimit_429AfterLimitSharedAcrossInstances(t *testing.T) {
	e := newEnv(t)
	cfg := handlers.Config{RateLimit: 3}
	// Two instances of the web tier on one database share the counter.
	a := e.app(cfg, handlers.Deps{Limiter: ratelimit.New(e.db)})
	b := e.app(cfg, handlers.Deps{Limiter: ratelimit.New(e.db)})
	for i, app := range []*fiber.App{a, b, a} {
		if res := get(t, app, "/"); res.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i+1, res.StatusCode)
		}
	}
	res := get(t, b, "/?lang=id")
	if res.StatusCode != 429 {
		t.Fatalf("fourth request: status %d, want 429", res.StatusCode)
	}
	if !strings.Contains(res.body, "Terlalu banyak permintaan") || res.Header.Get("Retry-After") == "" {
		t.Fatalf("429 page should be localised and say when to retry: Retry-After=%q\n%s", res.Header.Get("Retry-After"), res.body)
	}
	if res := get(t, b, "/healthz"); res.StatusCode != 200 {
		t.Fatalf("health checks are not rate limited: status %d", res.StatusCode)
	}
}

func TestReadyz(t *testing.T) {
	up := storetest.Server(t)
	// The driver connects lazily, so an unreachable server is only found out by the ping.
	down, _, err := store.Connect("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300&connectTimeoutMS=300")
	if err != nil {
		t.Fatal(err)
	}
	defer down.Disconnect(context.Background())
	failing := func(context.Context) error { return errors.New("connection refused") }

	tests := []struct {
		name       string
		checks     []handlers.ReadinessCheck
		wantStatus int
		wantState  string
	}{
		{"mongodb up", []handlers.ReadinessCheck{{Name: "mongodb", Critical: true, Check: up.Ping}}, 200, "ok"},
		{"mongodb unreachable", []handlers.ReadinessCheck{{Name: "mongodb", Critical: true,
			Check: func(ctx context.Context) error { return down.Ping(ctx, nil) }}}, 503, "unavailable"},
		{"non-critical down", []handlers.ReadinessCheck{{Name: "mongodb", Critical: true, Check: up.Ping},
			{Name: "search", Check: failing}}, 200, "degraded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newApp(t, handlers.Config{}, handlers.Deps{Readiness: tt.checks})
			res := get(t, app, "/readyz")
			var body struct {
				Status string
				Checks map[string]string
			}
			if err := json.Unmarshal([]byte(res.body), &body); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.wantStatus || body.Status != tt.wantState {
				t.Fatalf("status %d %q, want %d %q: %s", res.StatusCode, body.Status, tt.wantStatus, tt.wantState, res.body)
			}
			if strings.Contains(res.body, "refused") || strings.Contains(res.body, "127.0.0.1") {
				t.Fatalf("the cause of a failure belongs in the log, not the public answer: %s", res.body)
			}
		})
	}
}

func TestMetrics_CountRequestsByRoute(t *testing.T) {
	reg := prometheus.NewRegistry()
	app := newApp(t, handlers.Config{}, handlers.Deps{Metrics: reg})
	get(t, app, "/")
	get(t, app, "/")
	get(t, app, "/missing/1")
	get(t, app, "/missing/2")
	res := get(t, app, "/metrics")
	for _, want := range []string{
		`guyub_http_requests_total{method="GET",route="/",status="200"} 2`,
		`guyub_http_requests_total{method="GET",route="unmatched",status="404"} 2`,
		`guyub_http_request_duration_seconds_bucket{method="GET",route="/",le=`,
		`go_goroutines`,
	} {
		if !strings.Contains(res.body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Log(res.body)
	}
}

func BenchmarkHome(b *testing.B) {
	app := newEnv(b).app(handlers.Config{}, handlers.Deps{})
	for b.Loop() {
		res, err := app.Test(httptest.NewRequest(http.MethodGet, "/", nil), -1)
		if err != nil || res.StatusCode != 200 {
			b.Fatal(res.StatusCode, err)
		}
	}
}

func BenchmarkHomeRateLimited(b *testing.B) {
	app := newEnv(b).app(handlers.Config{RateLimit: 1 << 30, RateWindow: time.Hour}, handlers.Deps{})
	for b.Loop() {
		res, err := app.Test(httptest.NewRequest(http.MethodGet, "/", nil), -1)
		if err != nil || res.StatusCode != 200 {
			b.Fatal(res.StatusCode, err)
		}
	}
}

// BenchmarkProfileSignedIn is a signed-in page: session and customer look-ups on the
// embedded FerretDB, then the render.
func BenchmarkProfileSignedIn(b *testing.B) {
	e := newEnv(b)
	e.person("bench@example.com")
	app := e.app(handlers.Config{}, handlers.Deps{})
	c, _ := e.customers.FindByEmail(context.Background(), "bench@example.com")
	token, err := e.identity.StartSession(context.Background(), c.ID, "", "")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/profile", nil)
		req.Header.Set("Cookie", "guyub_session="+token)
		res, err := app.Test(req, -1)
		if err != nil || res.StatusCode != 200 {
			b.Fatal(res.StatusCode, err)
		}
	}
}

// Fiber reuses the strings of one request for the next; a metric label kept from one (the
// method) changed under the registry and broke /metrics after a few hundred requests.
func TestMetrics_SurviveMixedTraffic(t *testing.T) {
	reg := prometheus.NewRegistry()
	base := listen(t, newApp(t, handlers.Config{}, handlers.Deps{Metrics: reg}))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}} // reuse connections, as a busy server does
	methods := []string{http.MethodGet, http.MethodPost, http.MethodHead, http.MethodDelete, "PATCH", http.MethodOptions}
	paths := []string{"/", "/forums", "/missing/x", "/api/v1/threads", "/ideas", "/signin", "/static/none.css"}
	for i := range 400 {
		req, _ := http.NewRequest(methods[i%len(methods)], base+paths[i%len(paths)]+"?n="+strconv.Itoa(i), strings.NewReader("x=1"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	for range 3 {
		res, err := client.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("/metrics after mixed traffic: %d\n%s", res.StatusCode, body)
		}
		for _, line := range strings.Split(string(body), "\n") {
			if m := regexp.MustCompile(`method="([^"]*)"`).FindStringSubmatch(line); m != nil && !slices.Contains(methods, m[1]) {
				t.Fatalf("a metric with a garbled method: %s", line)
			}
		}
	}
}

// Request IDs are random (version 4 UUIDs): Fiber's default counts up, so one told the next.
func TestRequestIDs_AreRandom(t *testing.T) {
	app := newApp(t, handlers.Config{}, handlers.Deps{})
	seen := map[string]bool{} // the last 12 digits: a counter leaves them alike
	for range 20 {
		id := get(t, app, "/healthz").Header.Get("X-Request-ID")
		if len(id) != 36 || id[14] != '4' || seen[id[24:]] {
			t.Fatalf("request ID %q is not a fresh random UUID", id)
		}
		seen[id[24:]] = true
	}
}
