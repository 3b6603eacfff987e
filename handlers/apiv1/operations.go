package apiv1

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/insights"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
	"github.com/guyub/guyub/search"
)

// access is who may call an operation.
type access int

const (
	anyone    access = iota // no account needed
	member                  // signed in
	publisher               // signed in and not suspended: what publishes
	moderator               // moderators (and admins)
	product                 // product staff (and admins)
	staff                   // moderators and product staff
	admin
)

// operation is one route of the API and its description: the route is mounted from it
// and the OpenAPI document is made from it, so the two cannot drift apart.
type operation struct {
	Method  string
	Path    string // OpenAPI's form: /products/{slug}
	Tag     string
	Summary string
	Access  access
	Cached  bool    // a public read, kept in the page cache until a write changes it
	Query   []Param // the query string it reads
	Body    any     // what it takes, by a value of its type (nil: no body)
	// BodyOptional: no body at all is fine (a like likes); OrList: a list of bodies too.
	BodyOptional, OrList bool
	Headers              []Param // headers it requires
	Status               int     // its success status (0: 200)
	Also200              bool    // answers 200 instead when it was done before (an idempotent create)
	Returns              any     // what it answers, by a value of its type (nil: no body)
	Format               string  // a body that is not JSON: its media type
	Handle               fiber.Handler
	off                  bool // the optional service it needs is not there: not mounted
}

// param is a query parameter.
type Param struct {
	Name, Type, Description string
}

func q(name, description string) Param { return Param{name, "string", description} }

// oneOf writes the values a parameter takes, the default first.
func oneOf[T ~string](values []T) string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return strings.Join(out, ", ") + " (" + out[0] + " by default)"
}
func qInt(name, description string) Param { return Param{name, "integer", description} }

var afterParam = q("after", "the previous page's next: pages are read by key")

// operations is the whole API.
func (a *API) operations() []operation {
	return []operation{
		{Method: "GET", Path: "/me", Tag: "account", Summary: "The caller's own account", Access: member, Returns: meJSON{}, Handle: a.apiMe},
		{Method: "GET", Path: "/me/notification-preferences", Tag: "account", Summary: "How each kind of notification is emailed to the caller",
			Access: member, Returns: emailPrefsJSON{}, Handle: a.apiEmailPrefs},
		{Method: "PATCH", Path: "/me/notification-preferences", Tag: "account", Summary: "Set how some kinds of notification are emailed (off, instant, daily, weekly)",
			Access: member, Body: emailPrefsJSON{}, Returns: emailPrefsJSON{}, Handle: a.apiEmailPrefsSave},
		{Method: "GET", Path: "/notifications", Tag: "account", Summary: "The caller's notifications, newest first", Access: member,
			Query: []Param{q("before", "the previous page's next"), qInt("limit", "how many (up to 100)")}, Returns: notificationsJSON{}, Handle: a.apiNotifications},

		{Method: "GET", Path: "/products", Tag: "products", Summary: "The catalogue, by name", Access: anyone, Cached: true,
			Query: []Param{afterParam, qInt("limit", "how many (up to 100)")}, Returns: productsJSON{}, Handle: a.apiProducts},
		{Method: "POST", Path: "/products", Tag: "products", Summary: "Add a product", Access: product, Body: reviews.ProductInput{},
			Status: http.StatusCreated, Returns: &reviews.Product{}, Handle: a.apiProductCreate},
		{Method: "POST", Path: "/products/import", Tag: "products", Summary: "Add or update products from JSON Lines, one product a line",
			Access: product, Format: "application/x-ndjson", Returns: productImportJSON{}, Handle: a.apiProductImport},
		{Method: "GET", Path: "/products/{slug}", Tag: "products", Summary: "A product with its rating", Access: anyone, Cached: true,
			Returns: &reviews.Product{}, Handle: a.apiProduct},
		{Method: "PATCH", Path: "/products/{slug}", Tag: "products", Summary: "Change a product, or archive it (no longer sold)", Access: product,
			Body: reviews.ProductInput{}, Returns: &reviews.Product{}, Handle: a.apiProductUpdate},
		{Method: "GET", Path: "/products/{slug}/reviews", Tag: "reviews", Summary: "A product's published reviews", Access: anyone, Cached: true,
			Query: []Param{q("sort", oneOf(reviews.Sorts)), qInt("stars", "only this rating, 1–5"),
				q("verified", "1: verified purchases only"), q("photos", "1: with photos only"), afterParam},
			Returns: reviewsJSON{}, Handle: a.apiReviews},
		{Method: "POST", Path: "/products/{slug}/reviews", Tag: "reviews", Summary: "Review a product (one review per customer and product)",
			Access: publisher, Body: reviews.Input{}, Status: http.StatusCreated, Returns: &reviews.Review{}, Handle: a.apiReviewCreate},
		{Method: "POST", Path: "/reviews/{id}/helpful", Tag: "reviews", Summary: "Say whether a review helped", Access: publisher,
			Body: helpfulInput{}, Returns: &reviews.Review{}, Handle: a.apiReviewHelpful},
		{Method: "POST", Path: "/reviews/{id}/reply", Tag: "reviews", Summary: "The company's public reply to a review", Access: product,
			Body: reviews.ReplyInput{}, Returns: &reviews.Review{}, Handle: a.apiReviewReply},
		{Method: "POST", Path: "/uploads", Tag: "reviews", Summary: "Upload a picture (multipart, field file) for a review or a post",
			Access: publisher, Format: "multipart/form-data", Status: http.StatusCreated, Returns: uploadJSON{}, Handle: a.Upload},

		{Method: "GET", Path: "/testimonials", Tag: "testimonials", Summary: "The wall of approved testimonials", Access: anyone, Cached: true,
			Query: []Param{q("product", "a product's slug"), afterParam, qInt("limit", "how many (up to 50)")}, Returns: testimonialsJSON{}, Handle: a.apiTestimonials},
		{Method: "POST", Path: "/testimonials", Tag: "testimonials", Summary: "Submit a testimonial, with consent to show it", Access: publisher,
			Body: reviews.TestimonialInput{}, Status: http.StatusCreated, Returns: &reviews.Testimonial{}, Handle: a.apiTestimonialSubmit},
		{Method: "GET", Path: "/testimonials/pending", Tag: "testimonials", Summary: "Testimonials waiting for a decision", Access: moderator,
			Query: []Param{qInt("limit", "how many (up to 200)")}, Returns: pendingTestimonialsJSON{}, Handle: a.apiTestimonialsPending},
		{Method: "POST", Path: "/testimonials/{id}/decision", Tag: "testimonials", Summary: "Approve, feature, unfeature or reject a testimonial",
			Access: moderator, Body: testimonialDecision{}, Returns: &reviews.Testimonial{}, Handle: a.apiTestimonialDecide},

		{Method: "GET", Path: "/categories", Tag: "forums", Summary: "The forums", Access: anyone, Cached: true, Returns: categoriesJSON{}, Handle: a.apiCategories},
		{Method: "GET", Path: "/threads", Tag: "forums", Summary: "Threads, latest activity first", Access: anyone, Cached: true,
			Query: []Param{q("category", "a forum's slug"), q("tag", "a tag"), q("sort", oneOf(community.ThreadSorts)), afterParam,
				qInt("limit", "how many (up to 100)")}, Returns: community.ThreadPage{}, Handle: a.apiThreads},
		{Method: "POST", Path: "/threads", Tag: "forums", Summary: "Start a thread", Access: publisher, Body: community.ThreadInput{},
			Status: http.StatusCreated, Returns: &community.Thread{}, Handle: a.apiThreadCreate},
		{Method: "GET", Path: "/threads/{id}", Tag: "forums", Summary: "A thread, its opening post and a page of replies", Access: anyone, Cached: true,
			Query: []Param{afterParam}, Returns: threadJSON{}, Handle: a.apiThread},
		{Method: "POST", Path: "/threads/{id}/posts", Tag: "forums", Summary: "Reply to a thread", Access: publisher, Body: community.PostInput{},
			Status: http.StatusCreated, Returns: &community.Post{}, Handle: a.apiThreadReply},
		{Method: "POST", Path: "/threads/{id}/accept", Tag: "forums", Summary: "Mark the reply that answers a question (the asker or staff)",
			Access: publisher, Body: acceptInput{}, Returns: &community.Thread{}, Handle: a.apiThreadAccept},
		{Method: "POST", Path: "/posts/{id}/like", Tag: "forums", Summary: "Like a post, or take the like back", Access: publisher,
			Body: likeInput{}, BodyOptional: true, Returns: likeJSON{}, Handle: a.apiPostLike},
		{Method: "PATCH", Path: "/posts/{id}", Tag: "forums", Summary: "Edit a post (its author or a moderator)", Access: publisher,
			Body: community.EditInput{}, Returns: &community.Post{}, Handle: a.apiPostEdit},
		{Method: "DELETE", Path: "/posts/{id}", Tag: "forums", Summary: "Delete a post (its author or a moderator)", Access: member,
			Status: http.StatusNoContent, Handle: a.apiPostDelete},

		{Method: "GET", Path: "/ideas", Tag: "ideas", Summary: "Ideas, most voted first", Access: anyone, Cached: true,
			Query: []Param{q("sort", oneOf(community.IdeaSorts)+"; "+community.IdeasVotersValue+" for product staff"), q("status", oneOf(community.IdeaStates)),
				q("product", "a product's slug"), afterParam, qInt("limit", "how many (up to 100)")}, Returns: community.IdeaPage{}, Handle: a.apiIdeas},
		{Method: "POST", Path: "/ideas", Tag: "ideas", Summary: "Propose an idea", Access: publisher, Body: ideaInput{},
			Status: http.StatusCreated, Returns: &community.Idea{}, Handle: a.apiIdeaCreate},
		{Method: "GET", Path: "/ideas/{id}", Tag: "ideas", Summary: "An idea", Access: anyone, Cached: true, Returns: &community.Idea{}, Handle: a.apiIdea},
		{Method: "PATCH", Path: "/ideas/{id}", Tag: "ideas", Summary: "Set an idea's state, with a public response",
			Access: product, Body: community.StatusInput{}, Returns: &community.Idea{}, Handle: a.apiIdeaState},
		{Method: "POST", Path: "/ideas/{id}/vote", Tag: "ideas", Summary: "Vote for an idea, or take the vote back", Access: publisher,
			Body: voteInput{}, BodyOptional: true, Returns: voteJSON{}, Handle: a.apiIdeaVote},
		{Method: "POST", Path: "/ideas/{id}/merge", Tag: "ideas", Summary: "Merge a duplicate into another idea, with its votes", Access: product,
			Body: mergeInput{}, Returns: &community.Idea{}, Handle: a.apiIdeaMerge},
		{Method: "POST", Path: "/ideas/{id}/comments", Tag: "ideas", Summary: "Comment on an idea", Access: publisher, Body: community.PostInput{},
			Status: http.StatusCreated, Returns: &community.Post{}, Handle: a.apiIdeaComment},

		{Method: "GET", Path: "/search", Tag: "search", Summary: "Search reviews, threads, posts and ideas", Access: anyone,
			Query: []Param{q("q", "the words"), q("kind", "review, thread, post or idea"), q("product", "a product's slug"),
				q("category", "a product category"), q("forum", "a forum's slug"), q("lang_filter", "en or id"),
				qInt("rating", "reviews with these stars"), q("sort", oneOf([]string{search.SortRelevance, search.SortNewest, search.SortRating})), q("status", "pending or published (staff)"), qInt("page", "from 1")},
			Returns: search.Results{}, Handle: a.apiSearch},

		{Method: "POST", Path: "/flags", Tag: "moderation", Summary: "Flag content for moderators", Access: publisher, Body: moderation.FlagInput{},
			Status: http.StatusCreated, Also200: true, Returns: flagJSON{}, Handle: a.apiFlag},
		{Method: "GET", Path: "/moderation/queue", Tag: "moderation", Summary: "What waits for a moderator, oldest first", Access: moderator,
			Query: []Param{q("kind", "review, thread, post or idea"), q("product", "a product's slug"), q("category", "a forum's slug"),
				q("rule", "the rule that held it"), afterParam}, Returns: queueJSON{}, Handle: a.apiQueue},
		{Method: "POST", Path: "/moderation/decisions", Tag: "moderation", Summary: "Approve, reject or hide content: one decision or a list of up to 100",
			Access: moderator, Body: moderation.DecisionInput{}, OrList: true, Returns: decisionsJSON{}, Handle: a.apiDecisions},

		{Method: "GET", Path: "/surveys", Tag: "surveys", Summary: "The surveys, with their last 30 days", Access: product, Returns: surveysJSON{}, Handle: a.apiSurveys},
		{Method: "POST", Path: "/surveys", Tag: "surveys", Summary: "Create a survey (NPS, CSAT or CES)", Access: product, Body: feedback.SurveyInput{},
			Status: http.StatusCreated, Returns: &feedback.Survey{}, Handle: a.apiSurveySave},
		{Method: "PATCH", Path: "/surveys/{id}", Tag: "surveys", Summary: "Change a survey (the whole survey again)", Access: product,
			Body: feedback.SurveyInput{}, Returns: &feedback.Survey{}, Handle: a.apiSurveySave},
		{Method: "GET", Path: "/surveys/{id}/results", Tag: "surveys", Summary: "A survey's score over the last days", Access: product,
			Query: []Param{qInt("days", "1–365, 30 by default")}, Returns: surveyResultsJSON{}, Handle: a.apiSurveyResults},
		{Method: "POST", Path: "/surveys/{id}/responses", Tag: "surveys", Summary: "Record an answer collected elsewhere (the same key twice records it once)",
			Access: product, Body: answerInput{}, Status: http.StatusCreated, Also200: true, Returns: &feedback.Response{}, Handle: a.apiSurveyResponse},

		{Method: "GET", Path: "/customers", Tag: "customers", Summary: "Customer records, newest first, or the one with an email address (product staff)",
			Access: staff, Query: []Param{q("email", "find one customer by address"), q("stage", "a lifecycle stage"), q("band", "a satisfaction band"),
				q("nps", "promoter, passive or detractor"), q("before", "the previous page's next_before")}, Returns: customersJSON{}, Handle: a.apiCustomers},
		{Method: "GET", Path: "/customers/{id}", Tag: "customers", Summary: "A customer record (email, purchases and value for product staff)",
			Access: staff, Returns: customerJSON{}, Handle: a.apiCustomer},
		{Method: "GET", Path: "/customers/{id}/timeline", Tag: "customers", Summary: "Everything a customer did, newest first", Access: staff,
			Query: []Param{q("before", "the previous page's next")}, Returns: timelinePageJSON{}, Handle: a.apiTimeline},
		{Method: "POST", Path: "/customers/{id}/purchases", Tag: "customers", Summary: "Record a purchase (the same order twice is recorded once)",
			Access: product, Body: web.PurchaseInput{}, Status: http.StatusCreated, Also200: true, Returns: purchaseJSON{}, Handle: a.apiPurchase},
		{Method: "POST", Path: "/imports/{kind}", Tag: "customers", Summary: "Import JSON Lines of customers, purchases, reviews, threads or ideas, idempotent by external_id",
			Access: admin, Format: "application/x-ndjson", Returns: importJSON{}, Handle: a.apiImport, off: a.Importer == nil},

		{Method: "GET", Path: "/insights/kpis", Tag: "insights", Summary: "NPS, CSAT and CES over a period", Access: product,
			Query: []Param{qInt("days", "30, 90 (default) or 365"), q("from", "a start date, YYYY-MM-DD"), q("to", "an end date, YYYY-MM-DD"),
				q("touchpoint", "a touchpoint"), q("product", "a product's slug")}, Returns: &feedback.KPIs{}, Handle: a.apiKPIs},
		{Method: "GET", Path: "/insights/themes", Tag: "insights", Summary: "What feedback is about: themes, emerging phrases, products",
			Access: product, Query: insightsParams, Returns: themesJSON{}, Handle: a.apiInsightThemes, off: a.Insights == nil},
		{Method: "GET", Path: "/insights/sentiment", Tag: "insights", Summary: "Sentiment of feedback over time", Access: product,
			Query: insightsParams, Returns: sentimentJSON{}, Handle: a.apiInsightSentiment, off: a.Insights == nil},
		{Method: "GET", Path: "/insights/export", Tag: "insights", Summary: "Every piece of feedback the filter chooses, analysed, as CSV or JSON Lines",
			Access: product, Query: append([]Param{q("format", "csv (default) or jsonl")}, insightsParams...), Format: "text/csv",
			Returns: insights.Item{}, Handle: a.InsightsExport, off: a.Insights == nil},

		{Method: "GET", Path: "/members/{id}/badges", Tag: "loyalty", Summary: "A member's level, points and badges", Access: anyone,
			Returns: badgesJSON{}, Handle: a.apiMemberBadges, off: a.Loyalty == nil},
		{Method: "GET", Path: "/leaderboard", Tag: "loyalty", Summary: "The members with the most points", Access: anyone,
			Query: []Param{q("period", "month (default) or all"), q("product", "a product's slug")}, Returns: leaderboardJSON{}, Handle: a.apiLeaderboard, off: a.Loyalty == nil},
		{Method: "POST", Path: "/rewards/{id}/redeem", Tag: "loyalty", Summary: "Redeem a reward with points", Access: publisher,
			Headers: []Param{{"Idempotency-Key", "string", "names the redemption: sent again, it redeems once"}},
			Status:  http.StatusCreated, Returns: redemptionJSON{}, Handle: a.apiRedeem, off: a.Loyalty == nil},
	}
}

var insightsParams = []Param{q("product", "a product's slug (repeat for several)"), q("source", "review, post, idea or survey"),
	q("touchpoint", "a touchpoint"), q("language", "en or id"), q("stage", "a lifecycle stage"), q("band", "a satisfaction band"),
	qInt("days", "the period, in days")}

var pathParam = regexp.MustCompile(`\{(\w+)\}`)

// fiberPath is the path in Fiber's form: /products/:slug.
func (op operation) fiberPath() string {
	return pathParam.ReplaceAllString(op.Path, ":$1")
}

// handlers are the route's guards, then its handler (from the cache for public reads).
func (op operation) handlers(cached func(fiber.Handler) fiber.Handler) []fiber.Handler {
	h := op.Handle
	if op.Cached && cached != nil {
		h = cached(h)
	}
	switch op.Access {
	case member:
		return []fiber.Handler{web.SignedIn, h}
	case publisher:
		return []fiber.Handler{web.RequireActive, h}
	case moderator:
		return []fiber.Handler{web.RequireRole(customers.RoleModerator), h}
	case product:
		return []fiber.Handler{web.RequireRole(customers.RoleProduct), h}
	case staff:
		return []fiber.Handler{web.RequireRole(customers.RoleModerator, customers.RoleProduct), h}
	case admin:
		return []fiber.Handler{web.RequireRole(customers.RoleAdmin), h}
	}
	return []fiber.Handler{h}
}
