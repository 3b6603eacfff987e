package handlers_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/alexedwards/argon2id"
	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/erasure"
	"github.com/guyub/guyub/exports"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/followups"
	"github.com/guyub/guyub/frontend"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/idempotency"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/importer"
	"github.com/guyub/guyub/insights"
	"github.com/guyub/guyub/loyalty"
	"github.com/guyub/guyub/mail"
	"github.com/guyub/guyub/markdown"
	"github.com/guyub/guyub/media"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/ratelimit"
	"github.com/guyub/guyub/reviews"
	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
	"github.com/guyub/guyub/webhooks"
)

// env is one test's world: a fresh database and the services on it.
type env struct {
	t          testing.TB
	db         *mongo.Database
	customers  *customers.Service
	identity   *identity.Service
	reviews    *reviews.Service
	community  *community.Service
	moderation *moderation.Service
	feedback   *feedback.Service
	insights   *insights.Service
	search     *search.Bleve
	syncer     *search.Syncer
	limiter    *ratelimit.Limiter
	outbox     *mail.Outbox // no SMTP server: emails are kept, as in the embedded default
	media      *media.Service
	loyalty    *loyalty.Service
	followups  *followups.Service
	webhooks   *webhooks.Service
	erasure    *erasure.Service
	exports    *exports.Service
}

// cheap keeps tests fast; production uses argon2id's defaults (64 MiB).
var cheap = &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	db := storetest.DB(t)
	all := []store.Indexes{ratelimit.Indexes, mail.Indexes, idempotency.Indexes}
	for _, sets := range [][]store.Indexes{customers.Indexes, identity.Indexes, reviews.Indexes, community.Indexes, moderation.Indexes, feedback.Indexes, insights.Indexes, loyalty.Indexes, followups.Indexes, webhooks.Indexes, importer.Indexes, media.Indexes, exports.Indexes} {
		all = append(all, sets...)
	}
	if err := store.EnsureIndexes(ctx, db, all...); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, customers: customers.NewService(db, []string{"en", "id"}), limiter: ratelimit.New(db)}
	var err error
	if e.identity, err = identity.New(ctx, db, e.customers, e.limiter, identity.Config{PasswordParams: cheap}); err != nil {
		t.Fatal(err)
	}
	catalog, err := frontend.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	e.outbox = mail.NewOutbox(db, nil, mail.Writer{T: catalog.T, BaseURL: "http://portal.example", Site: "Guyub"}, slog.New(slog.DiscardHandler))
	e.identity.SetMailer(e.outbox)
	e.reviews = reviews.NewService(db, e.customers, e.customers, markdown.New())
	e.community = community.New(db, e.customers, e.customers, e.reviews, markdown.New())
	e.moderation = moderation.New(db, e.customers, map[content.Kind]moderation.Publisher{content.KindReview: e.reviews,
		content.KindThread: e.community.ThreadPublisher(), content.KindPost: e.community.PostPublisher(), content.KindIdea: e.community.IdeaPublisher()})
	e.moderation.SetAuthorNotices(e.community)
	e.community.SetMailer(e.outbox, e.identity.UnsubscribeLink)
	e.reviews.SetMailer(e.outbox, 0, e.identity.UnsubscribeLink)
	e.reviews.SetScreener(e.moderation)
	e.community.SetScreener(e.moderation)
	e.feedback = feedback.New(db, e.customers, e.customers)
	e.feedback.SetMailer(e.outbox, e.identity.UnsubscribeLink)
	if e.search, err = search.OpenBleveMemory(); err != nil {
		t.Fatal(err)
	}
	e.syncer = search.NewSyncer(e.search, store.NewLeases(db), "test", slog.New(slog.DiscardHandler), e.reviews.ProductSource(), e.reviews.ReviewSource(), e.reviews.TestimonialSource(),
		e.community.ThreadSource(), e.community.PostSource(), e.community.IdeaSource(), e.feedback.CommentSource())
	if e.insights, err = insights.NewService(db, e.customers, e.customers); err != nil {
		t.Fatal(err)
	}
	e.syncer.AlsoTo(e.insights)
	dir, err := media.NewDir(filepath.Join(t.TempDir(), "uploads"))
	if err != nil {
		t.Fatal(err)
	}
	e.media = media.NewService(db, dir)
	e.loyalty = loyalty.New(db, e.customers, slog.New(slog.DiscardHandler))
	e.loyalty.SetNotifier(e.community)
	e.reviews.SetRewarder(e.loyalty)
	e.community.SetRewarder(e.loyalty)
	e.feedback.SetRewarder(e.loyalty)
	e.moderation.SetStanding(e.loyalty)
	e.followups = followups.New(db, e.customers, e.community.Heard)
	e.customers.Watch(e.followups.Watch)
	// Tests' receivers listen on loopback.
	e.webhooks = webhooks.New(db, webhooks.Config{AllowPrivate: true, BaseURL: "http://portal.example"}, nil)
	e.customers.Watch(e.webhooks.Watch)
	e.syncer.AlsoTo(e.webhooks.Sink())
	e.moderation.SetFlagListener(e.webhooks.FlagRaised)
	e.erasure = erasure.New(db, e.customers, e.moderation, erasure.Places(), erasure.Refs(), []erasure.Remover{e.reviews, e.community},
		erasure.Forget(e.outbox, e.limiter, idempotency.New(db), e.webhooks, e.loyalty, e.feedback))
	e.exports = e.newExports(exports.Config{})
	return e
}

// newExports is the data downloads on the env's database, as the server wires them.
func (e *env) newExports(cfg exports.Config) *exports.Service {
	if cfg.Owner == "" {
		cfg.Owner = "test"
	}
	x := exports.New(e.db, erasure.Places(), cfg)
	x.SetTeller(e.customers, e.community, e.outbox)
	return x
}

// app builds the web tier on the env's services (deps may override them).
func (e *env) app(cfg handlers.Config, deps handlers.Deps) *fiber.App {
	e.t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	if deps.Customers == nil {
		deps.Customers = e.customers
	}
	if deps.Identity == nil {
		deps.Identity = e.identity
	}
	if deps.Reviews == nil {
		deps.Reviews = e.reviews
	}
	if deps.Community == nil {
		deps.Community = e.community
	}
	if deps.Moderation == nil {
		deps.Moderation = e.moderation
	}
	if deps.Search == nil {
		deps.Search = e.search
	}
	if deps.Feedback == nil {
		deps.Feedback = e.feedback
	}
	if deps.Insights == nil {
		deps.Insights = e.insights
	}
	if deps.Idempotency == nil {
		deps.Idempotency = idempotency.New(e.db)
	}
	if deps.Outbox == nil {
		deps.Outbox = e.outbox
	}
	if deps.Media == nil {
		deps.Media = e.media
	}
	if deps.Importer == nil {
		deps.Importer = importer.New(e.db, e.customers, e.reviews, e.community)
	}
	if deps.Erasure == nil {
		deps.Erasure = e.erasure
	}
	if deps.Webhooks == nil {
		deps.Webhooks = e.webhooks
	}
	if deps.FollowUps == nil {
		deps.FollowUps = e.followups
	}
	if deps.Loyalty == nil {
		deps.Loyalty = e.loyalty
	}
	if deps.Exports == nil {
		deps.Exports = e.exports
	}
	if cfg.RateLimit > 0 && deps.Limiter == nil {
		deps.Limiter = e.limiter
	}
	app, err := handlers.New(cfg, deps)
	if err != nil {
		e.t.Fatal(err)
	}
	return app
}

// newApp is an app on a fresh env, for tests that need nothing else.
func newApp(t *testing.T, cfg handlers.Config, deps handlers.Deps) *fiber.App {
	t.Helper()
	return newEnv(t).app(cfg, deps)
}

// listen serves app on a random loopback port, for what only a real connection shows.
func listen(t testing.TB, app *fiber.App) string {
	t.Helper()
	ln, base := loopback(t)
	serve(t, app, ln)
	return base
}

// loopback opens a listener first, for an app that must know its own URL (OAuth callbacks).
func loopback(t testing.TB) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, "http://" + ln.Addr().String()
}

func serve(t testing.TB, app *fiber.App, ln net.Listener) {
	go app.Listener(ln)
	t.Cleanup(func() { _ = app.Shutdown() })
}

// person makes an account with a password, and roles.
func (e *env) person(email string, roles ...customers.Role) *customers.Customer {
	e.t.Helper()
	c, err := e.identity.CreateAccount(context.Background(), identity.SignUp{Email: email, DisplayName: strings.Split(email, "@")[0], Password: "correct horse battery"}, false)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(roles) > 0 {
		if err := e.customers.SetRoles(context.Background(), c.ID, roles); err != nil {
			e.t.Fatal(err)
		}
		if c, err = e.customers.Get(context.Background(), c.ID); err != nil {
			e.t.Fatal(err)
		}
	}
	return c
}

// browser is an HTTP client with its own cookies, as one person's browser.
type browser struct {
	t    testing.TB
	base string
	http *http.Client
	last response
}

func newBrowser(t testing.TB, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// following lets the browser follow redirects, also to other hosts (an OIDC provider).
func (b *browser) following() *browser {
	b.http.CheckRedirect = nil
	return b
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	res, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	checkAPIAnswer(b.t, req, res, body)
	b.last = response{res, string(body)}
	return b.last
}

func (b *browser) get(path string) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// csrf is the token of the last page's forms, loading a page first if need be.
func (b *browser) csrf() string {
	b.t.Helper()
	if m := csrfInput.FindStringSubmatch(b.last.body); m != nil {
		return m[1]
	}
	for _, page := range []string{"/signin", "/profile"} { // signed out, signed in
		if m := csrfInput.FindStringSubmatch(b.get(page).body); m != nil {
			return m[1]
		}
	}
	b.t.Fatalf("no CSRF token on the page:\n%s", b.last.body)
	return ""
}

// post submits a form as the page would, with its CSRF token.
func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", b.csrf())
	}
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// upload is a file a form sends.
type upload struct {
	field, name string
	data        []byte
}

// postFiles submits a form with files as the page would (multipart, with its CSRF token).
func (b *browser) postFiles(path string, form url.Values, files ...upload) response {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", b.csrf())
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, vs := range form {
		for _, v := range vs {
			_ = w.WriteField(k, v)
		}
	}
	for _, f := range files {
		part, _ := w.CreateFormFile(f.field, f.name)
		_, _ = part.Write(f.data)
	}
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(req)
}

// signIn signs in with the password every test person has.
func (b *browser) signIn(email string) {
	b.t.Helper()
	res := b.post("/signin", url.Values{"email": {email}, "password": {"correct horse battery"}})
	if res.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign in as %s: status %d\n%s", email, res.StatusCode, res.body)
	}
}

func mustObjectID(t *testing.T, hex string) bson.ObjectID {
	t.Helper()
	id, err := bson.ObjectIDFromHex(hex)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// email returns the newest email the portal wrote to to with a link whose path starts with
// prefix ("/reset/"), and that path, as its recipient would follow it.
func (e *env) email(to, prefix string) (*mail.Message, string) {
	e.t.Helper()
	e.identity.Drain() // account emails are queued after the answer
	list, _, err := e.outbox.List(context.Background(), bson.ObjectID{}, 50)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range list {
		if m.To != to {
			continue
		}
		full, err := e.outbox.Get(context.Background(), m.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		if link := regexp.MustCompile(`http://portal\.example(` + regexp.QuoteMeta(prefix) + `[A-Za-z0-9_-]*)`).FindStringSubmatch(full.Text); link != nil {
			return full, link[1]
		}
	}
	e.t.Fatalf("no email to %s with a %s link", to, prefix)
	return nil, ""
}

// emailsTo lists the emails the portal wrote to to, newest first, whole.
func (e *env) emailsTo(to string) []*mail.Message {
	e.t.Helper()
	e.identity.Drain()
	list, _, err := e.outbox.List(context.Background(), bson.ObjectID{}, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*mail.Message
	for _, m := range list {
		if m.To == to {
			full, err := e.outbox.Get(context.Background(), m.ID)
			if err != nil {
				e.t.Fatal(err)
			}
			out = append(out, full)
		}
	}
	return out
}
