// Package apiv1 is the JSON API under /api/v1, for shops, CRMs, help desks and apps:
// its routes, their guards, and the OpenAPI description of all of them. It answers in JSON
// through the services, as the pages (package handlers) answer in HTML; both share package
// web for who is asking and for mapping errors to status codes.
package apiv1

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/frontend"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/idempotency"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/importer"
	"github.com/guyub/guyub/insights"
	"github.com/guyub/guyub/loyalty"
	"github.com/guyub/guyub/media"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
	"github.com/guyub/guyub/search"
)

// Deps are the services the API calls, and what it borrows from the pages' server.
type Deps struct {
	Customers  *customers.Service
	Identity   *identity.Service
	Reviews    *reviews.Service
	Community  *community.Service
	Moderation *moderation.Service
	Search     search.Index
	Feedback   *feedback.Service
	Insights   *insights.Service // nil: no insights routes
	Loyalty    *loyalty.Service  // nil: no loyalty routes
	Media      *media.Service    // nil: no uploads
	Importer   *importer.Service // nil: no imports
	// Idempotency keeps answers to writes sent with an Idempotency-Key (nil: the header is
	// ignored).
	Idempotency *idempotency.Keys
	Catalog     *frontend.Catalog
	// Cached serves a public answer from the page cache, and keeps it there.
	Cached func(fiber.Handler) fiber.Handler
	// Timeline is a customer's timeline before a time, newest first, as the record page
	// shows it (full: product staff's, with follow-ups).
	Timeline func(c *fiber.Ctx, m *customers.Customer, before time.Time, full bool) ([]web.TimelineEntry, map[bson.ObjectID]*reviews.Product, error)
	Log      *slog.Logger
}

// API answers /api/v1.
type API struct {
	Deps
	exports chan struct{} // the insights exports streaming now, a few at most
}

// New makes the API on its services.
func New(d Deps) *API {
	return &API{Deps: d, exports: make(chan struct{}, 2)}
}

// Mount adds every /api/v1 route to r, the group for /api/v1.
func (a *API) Mount(r fiber.Router) {
	r.Use(a.scopes, a.private, a.idempotent)
	r.Get("/openapi.json", a.openAPI)
	for _, op := range a.operations() {
		if !op.off {
			r.Add(op.Method, op.fiberPath(), op.handlers(a.Cached)...)
		}
	}
}

// displayName is a person's public name; "—" for one no longer there.
func displayName(m *customers.Customer) string {
	if m == nil {
		return "—"
	}
	return m.DisplayName
}

// private marks an answer given to a signed-in caller as theirs alone: no shared cache (a
// proxy, a CDN) may keep it.
func (a *API) private(c *fiber.Ctx) error {
	if web.User(c) != nil {
		c.Set(fiber.HeaderCacheControl, "private, no-store")
	}
	return c.Next()
}

// scopes holds a token to its scopes: reading needs "read", anything else "write". A browser
// session calling the API may do what the customer may.
func (a *API) scopes(c *fiber.Ctx) error {
	tok := web.Token(c)
	if tok == nil {
		return c.Next()
	}
	need := identity.ScopeWrite
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
		need = identity.ScopeRead
	}
	if !tok.Allows(need) {
		return errs.New(errs.ErrForbidden, "api.scope_missing", "Scope", string(need))
	}
	return c.Next()
}

// contentLanguage is the language a client says its text is in, if the portal has it;
// otherwise the request's language.
func (a *API) contentLanguage(c *fiber.Ctx, claimed string) string {
	if a.Catalog.Supports(claimed) {
		return claimed
	}
	return web.Language(c)
}

// orEmpty is list, or an empty one for nil: lists are answered as [], never null.
func orEmpty[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}
