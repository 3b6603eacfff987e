// Package handlers holds the pages: each route parses and validates input, calls one
// service, and renders a page. It builds the Fiber app and mounts the JSON API (package
// apiv1) beside them; both share package web. It has no MongoDB code.
package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/gofiber/fiber/v2/middleware/etag"
	"github.com/gofiber/fiber/v2/middleware/helmet"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/erasure"
	"github.com/guyub/guyub/exports"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/followups"
	"github.com/guyub/guyub/frontend"
	"github.com/guyub/guyub/handlers/apiv1"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/idempotency"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/importer"
	"github.com/guyub/guyub/insights"
	"github.com/guyub/guyub/loyalty"
	"github.com/guyub/guyub/mail"
	"github.com/guyub/guyub/media"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/ratelimit"
	"github.com/guyub/guyub/reviews"
	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/webhooks"
)

// Config is what the web tier needs to know from the configuration.
type Config struct {
	SiteName        string
	DefaultLanguage string        // "en" or "id"
	BodyLimit       int           // bytes
	RateLimit       int           // requests per client IP per RateWindow; 0 disables
	RateWindow      time.Duration // default one minute
	TrustedProxies  []string      // load balancers whose X-Forwarded-For is believed
	SecureCookies   bool          // served over HTTPS: Secure, __Host- cookies and HSTS
	BaseURL         string        // the public address, for personal survey links
	Logger          *slog.Logger
}

// RateLimiter counts requests per key; ratelimit.Limiter implements it on MongoDB.
type RateLimiter interface {
	Allow(ctx context.Context, key string, limit int, per time.Duration) (ratelimit.Decision, error)
}

// ReadinessCheck is one dependency /readyz asks about. A failing critical check takes the
// instance out of the load balancer (503); a failing non-critical one reports "degraded".
type ReadinessCheck struct {
	Name     string
	Critical bool
	Check    func(context.Context) error
	Advice   string // shown with a failed check: what the operator should do
}

// Deps are the services the routes call.
type Deps struct {
	Customers  *customers.Service
	Identity   *identity.Service
	Reviews    *reviews.Service
	Community  *community.Service
	Moderation *moderation.Service
	Search     search.Index
	Feedback   *feedback.Service
	Insights   *insights.Service    // nil: no insights pages
	Providers  []*identity.Provider // enabled social logins
	Limiter    RateLimiter          // required when Config.RateLimit > 0
	Readiness  []ReadinessCheck
	Metrics    *prometheus.Registry // nil: a registry of its own
	Catalog    *frontend.Catalog    // nil: loaded here
	Pages      *PageCache           // nil: nothing is cached
	// Idempotency keeps answers to API writes sent with an Idempotency-Key (nil: the header
	// is ignored).
	Idempotency *idempotency.Keys
	// Outbox is every email sent, shown to admins at /admin/outbox (nil: no such page).
	Outbox *mail.Outbox
	// Media keeps uploaded pictures (nil: forms offer no uploads).
	Media *media.Service
	// Loyalty is the points, levels, badges and rewards programme (nil: none shown).
	Loyalty *loyalty.Service
	// FollowUps are the tasks that close the loop with unhappy customers (nil: none).
	FollowUps *followups.Service
	// Webhooks tell other systems what happens (nil: no webhook pages).
	Webhooks *webhooks.Service
	// Erasure deletes accounts on their members' request (nil: not offered).
	Erasure *erasure.Service
	// Importer brings content in from other systems through the API (nil: not offered).
	Importer *importer.Service
	// Exports answers a member's download of their data, preparing large ones in the
	// background (nil: none offered).
	Exports *exports.Service
}

// Server renders pages and answers the API.
type Server struct {
	cfg       Config
	deps      Deps
	log       *slog.Logger
	catalog   *frontend.Catalog
	assets    *frontend.Assets
	metrics   *httpMetrics
	nav       []navItem
	proxies   []*net.IPNet
	admission *admission
	api       *apiv1.API // the JSON API; the pages borrow its exports
	// handler serves a request in process: the page cache renders stale pages through it.
	handler fasthttp.RequestHandler
}

// New builds the Fiber app with its middleware and routes.
func New(cfg Config, deps Deps) (*fiber.App, error) {
	catalog := deps.Catalog
	if catalog == nil {
		var err error
		if catalog, err = frontend.LoadCatalog(); err != nil {
			return nil, err
		}
	}
	proxies, err := parseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	assets, err := frontend.LoadAssets()
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SiteName == "" {
		cfg.SiteName = "Guyub"
	}
	if cfg.DefaultLanguage == "" {
		cfg.DefaultLanguage = frontend.DefaultLanguage
	}
	if !catalog.Supports(cfg.DefaultLanguage) {
		return nil, fmt.Errorf("default language %q is not one of %v", cfg.DefaultLanguage, catalog.Languages())
	}
	if cfg.RateWindow == 0 {
		cfg.RateWindow = time.Minute
	}
	if cfg.RateLimit > 0 && deps.Limiter == nil {
		return nil, fmt.Errorf("rate limit %d set without a limiter", cfg.RateLimit)
	}
	if deps.Customers == nil || deps.Identity == nil || deps.Reviews == nil || deps.Community == nil || deps.Moderation == nil || deps.Search == nil || deps.Feedback == nil {
		return nil, fmt.Errorf("handlers need the customers, identity, reviews, community, moderation, search and feedback services")
	}
	if deps.Metrics == nil {
		deps.Metrics = prometheus.NewRegistry()
	}
	metrics, err := newHTTPMetrics(deps.Metrics)
	if err != nil {
		return nil, err
	}
	if deps.Pages != nil {
		if err := deps.Pages.register(deps.Metrics); err != nil {
			return nil, err
		}
	}
	s := &Server{
		admission: newAdmission(),
		cfg:       cfg,
		deps:      deps,
		log:       cfg.Logger,
		catalog:   catalog,
		assets:    assets,
		metrics:   metrics,
		nav: []navItem{{Label: "nav.home", URL: "/"}, {Label: "nav.forums", URL: "/forums"}, {Label: "nav.ideas", URL: "/ideas"},
			{Label: "roadmap.title", URL: "/roadmap"}, {Label: "nav.reviews", URL: "/products"}, {Label: "nav.testimonials", URL: "/testimonials"}, {Label: "nav.search", URL: "/search"}},
		proxies: proxies,
	}

	s.api = apiv1.New(apiv1.Deps{Customers: deps.Customers, Identity: deps.Identity, Reviews: deps.Reviews,
		Community: deps.Community, Moderation: deps.Moderation, Search: deps.Search, Feedback: deps.Feedback, Insights: deps.Insights,
		Loyalty: deps.Loyalty, Media: deps.Media, Importer: deps.Importer, Idempotency: deps.Idempotency, Catalog: catalog,
		Cached: s.cached, Timeline: s.timeline, Log: cfg.Logger})

	app := fiber.New(fiber.Config{
		AppName:               "guyub",
		Views:                 frontend.Templates(templateFuncs(assets)),
		ViewsLayout:           "layouts/base",
		ErrorHandler:          s.handleError,
		BodyLimit:             cfg.BodyLimit,
		ReadTimeout:           15 * time.Second,
		WriteTimeout:          requestDeadline,
		IdleTimeout:           2 * time.Minute,
		DisableStartupMessage: true,
	})

	// Random request IDs: Fiber's default counts up from a random start, so one ID told the
	// next request's.
	app.Use(requestid.New(requestid.Config{Generator: utils.UUIDv4}))
	app.Use(s.observe) // access log and metrics see every response, errors included
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: s.logPanic}))
	app.Use(helmet.New(helmet.Config{
		ContentSecurityPolicy: "default-src 'self'; img-src 'self' data: https:; object-src 'none'; " +
			"base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
		ReferrerPolicy:            "strict-origin-when-cross-origin",
		CrossOriginEmbedderPolicy: "unsafe-none", // provider avatars are cross-origin images
		HSTSMaxAge:                hstsMaxAge(cfg.SecureCookies),
	}))
	if cfg.SecureCookies {
		// Behind a TLS-terminating proxy Fiber sees plain HTTP and would leave HSTS out.
		app.Use(func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderStrictTransportSecurity, "max-age=31536000")
			return c.Next()
		})
	}
	app.Use(compress.New())
	// An ETag is a hash of the whole body: a streamed download (a member's archive, the
	// insights export) would be read into memory first, so it gets none.
	app.Use(etag.New(etag.Config{Next: func(c *fiber.Ctx) bool { return streamed(c.Path()) }}))

	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", s.metricsHandler())
	app.Get("/static/*", s.static)
	app.Get("/media/*", s.mediaFile)

	app.Use(s.identify)
	app.Use(s.chooseLanguage)
	app.Use(s.csrf)
	app.Use(s.servePages) // a page from the cache costs nothing: it is not counted or queued
	app.Use(s.rateLimit)
	app.Use(s.admit)
	app.Use(checkText) // after the limits: a flood is shed before its bodies are read
	app.Get("/", s.cached(s.home))
	s.authRoutes(app)
	s.profileRoutes(app)
	s.mediaRoutes(app)
	s.reviewRoutes(app)
	s.forumRoutes(app)
	s.ideaRoutes(app)
	s.notificationRoutes(app)
	s.testimonialRoutes(app)
	s.moderationRoutes(app)
	s.outboxRoutes(app)
	s.searchRoutes(app)
	s.recordRoutes(app)
	s.successRoutes(app)
	s.webhookRoutes(app)
	s.erasureRoutes(app)
	s.surveyRoutes(app)
	s.kpiRoutes(app)
	s.insightsRoutes(app)
	s.adminRoutes(app)
	s.loyaltyRoutes(app)
	s.seoRoutes(app)
	app.Get("/developers", s.cached(s.developersPage))
	s.api.Mount(app.Group("/api/v1"))
	s.handler = app.Handler()
	return app, nil
}

// streamed reports whether a path's answer is written as it is read, however long.
func streamed(path string) bool {
	return strings.HasPrefix(path, "/exports/") || strings.HasPrefix(path, "/insights/export") || path == "/api/v1/insights/export"
}

// requestDeadline is how long a request may work: Fiber's WriteTimeout, after which the
// answer could no longer be sent.
const requestDeadline = 30 * time.Second

func hstsMaxAge(https bool) int {
	if https {
		return 31536000
	}
	return 0
}

type homeData struct {
	Survey       *feedback.Survey // one survey the signed-in customer is asked, if any
	Question     string
	Threads      []threadView
	Ideas        []ideaView
	Reviews      []*reviews.Review
	Products     map[bson.ObjectID]*reviews.Product
	Testimonials []testimonialView
	ForYou       *forYou // a signed-in member's own suggestions
}

// home shows what is new in each section, once a section has anything.
func (s *Server) home(c *fiber.Ctx) error {
	var d homeData
	var err error
	if d.Reviews, d.Products, err = s.deps.Reviews.Latest(c.UserContext(), 3); err != nil {
		return err
	}
	wall, _, err := s.deps.Reviews.Wall(c.UserContext(), reviews.WallQuery{Limit: 2})
	if err != nil {
		return err
	}
	if d.Testimonials, err = s.testimonialViews(c, wall); err != nil {
		return err
	}
	threads, err := s.deps.Community.Threads(c.UserContext(), community.ThreadQuery{Limit: 4, Unpinned: true})
	if err != nil {
		return err
	}
	cats, err := s.deps.Community.Categories(c.UserContext())
	if err != nil {
		return err
	}
	if d.Threads, err = s.threadViews(c, threads.Threads, cats); err != nil {
		return err
	}
	ideas, err := s.deps.Community.Ideas(c.UserContext(), community.IdeaQuery{Sort: community.IdeasTrending, Limit: 3})
	if err != nil {
		return err
	}
	if len(ideas.Ideas) == 0 { // a quiet fortnight: show the most voted instead
		if ideas, err = s.deps.Community.Ideas(c.UserContext(), community.IdeaQuery{Limit: 3}); err != nil {
			return err
		}
	}
	if d.Ideas, err = s.ideaViews(c, ideas.Ideas); err != nil {
		return err
	}
	if u := web.User(c); u != nil {
		if d.ForYou, err = s.forYou(c, u); err != nil {
			return err
		}
		due, err := s.deps.Feedback.Due(c.UserContext(), u.ID)
		if err != nil {
			return err
		}
		if len(due) > 0 {
			d.Survey, d.Question = due[0], due[0].QuestionIn(s.language(c))
		}
	}
	return s.render(c, fiber.StatusOK, "home", "home.title", d)
}
