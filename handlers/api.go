package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/importer"
	"github.com/guyub/guyub/media"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
)

func (s *Server) apiRoutes(api fiber.Router) {
	product := web.RequireRole(customers.RoleProduct)
	api.Get("/me", web.SignedIn, s.apiMe)
	api.Get("/products", s.cached(s.apiProducts))
	api.Post("/products", product, s.apiProductCreate)
	api.Post("/products/import", product, s.apiProductImport)
	api.Get("/products/:slug", s.cached(s.apiProduct))
	api.Get("/products/:slug/reviews", s.cached(s.apiReviews))
	api.Post("/products/:slug/reviews", web.RequireActive, s.apiReviewCreate)
	api.Post("/uploads", web.RequireActive, s.uploadImage)
	api.Post("/reviews/:id/helpful", web.RequireActive, s.apiReviewHelpful)
	api.Post("/reviews/:id/reply", product, s.apiReviewReply)
	api.Post("/customers/:id/purchases", product, s.apiPurchase)
	if s.deps.Importer != nil {
		api.Post("/imports/:kind", web.RequireRole(customers.RoleAdmin), s.apiImport)
	}
	api.Get("/testimonials", s.cached(s.apiTestimonials))
	api.Post("/flags", web.RequireActive, s.apiFlag)
	moderator := web.RequireRole(customers.RoleModerator)
	api.Get("/moderation/queue", moderator, s.apiQueue)
	api.Post("/moderation/decisions", moderator, s.apiDecisions)
}

func (s *Server) apiFlag(c *fiber.Ctx) error {
	var in moderation.FlagInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	res, err := s.deps.Moderation.Flag(c.UserContext(), web.User(c), in)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if res.Counted {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(fiber.Map{"counted": res.Counted, "hidden": res.Hidden})
}

func (s *Server) apiQueue(c *fiber.Ctx) error {
	d, err := s.queueData(c)
	if err != nil {
		return err
	}
	items := make([]*moderation.Item, len(d.Items))
	for i, it := range d.Items {
		items[i] = it.Item
	}
	next := ""
	if d.Next != "" {
		next = "/api/v1/moderation/queue" + strings.TrimPrefix(d.Next, "/moderation")
	}
	return c.JSON(fiber.Map{"items": items, "next": next})
}

// apiDecisions takes one decision or a list: {"refs": [...], "action": "reject", "reason": "…"}
// or [{…}, {…}].
// maxDecisionBatch caps the decisions one API call may carry (each holds up to 100 refs).
const maxDecisionBatch = 100

func (s *Server) apiDecisions(c *fiber.Ctx) error {
	var many []moderation.DecisionInput
	body := bytes.TrimSpace(c.Body())
	if len(body) > 0 && body[0] == '[' {
		if err := json.Unmarshal(body, &many); err != nil {
			return fiber.NewError(fiber.StatusBadRequest, err.Error())
		}
	} else {
		var one moderation.DecisionInput
		if err := web.ParseJSON(c, &one); err != nil {
			return err
		}
		many = append(many, one)
	}
	if len(many) > maxDecisionBatch {
		return errs.Field("decisions", "moderation.too_many_items", "Max", maxDecisionBatch)
	}
	results := []moderation.DecisionResult{}
	for _, in := range many {
		if err := c.UserContext().Err(); err != nil {
			return err // past the request's deadline nobody reads the answer: stop deciding
		}
		res, err := s.deps.Moderation.Decide(c.UserContext(), web.User(c), in)
		results = append(results, res...)
		if err != nil {
			return err
		}
	}
	return c.JSON(fiber.Map{"results": results})
}

// meJSON is the caller's own record; email is theirs to see.
type meJSON struct {
	ID          string           `json:"id"`
	DisplayName string           `json:"display_name"`
	Email       string           `json:"email,omitempty"`
	Roles       []customers.Role `json:"roles"`
	Locale      string           `json:"locale,omitempty"`
	Status      customers.Status `json:"status"`
	AvatarURL   string           `json:"avatar_url,omitempty"`
}

func (s *Server) apiMe(c *fiber.Ctx) error {
	u := web.User(c)
	return c.JSON(meJSON{
		ID: u.ID.Hex(), DisplayName: u.DisplayName, Email: u.Email, Roles: u.Roles,
		Locale: u.Locale, Status: u.Status, AvatarURL: u.AvatarURL,
	})
}

// parseForm reads a page's form. Only a form is taken: Fiber's BodyParser would also read a
// JSON body, and through its JSON names set fields a page must never set (an answer's
// idempotency key and date are for staff integrations, form:"-").
func parseForm(c *fiber.Ctx, v any) error {
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	if !strings.HasPrefix(ct, fiber.MIMEApplicationForm) && !strings.HasPrefix(ct, fiber.MIMEMultipartForm) {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "send the form as a form")
	}
	if err := c.BodyParser(v); err != nil {
		return fiber.ErrBadRequest
	}
	return nil
}

func (s *Server) apiProducts(c *fiber.Ctx) error {
	limit, _ := strconv.Atoi(c.Query("limit"))
	list, next, err := s.deps.Reviews.Products(c.UserContext(), c.Query("after"), limit)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"products": list, "next": next})
}

func (s *Server) apiProduct(c *fiber.Ctx) error {
	p, err := s.deps.Reviews.Product(c.UserContext(), c.Params("slug"))
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (s *Server) apiProductCreate(c *fiber.Ctx) error {
	var in reviews.ProductInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	p, err := s.deps.Reviews.CreateProduct(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

// apiProductImport takes JSON Lines, one product per line, and answers per line.
func (s *Server) apiProductImport(c *fiber.Ctx) error {
	lang := s.language(c)
	results, err := s.deps.Reviews.ImportProducts(c.UserContext(), bytes.NewReader(c.Body()), func(err error) map[string]string {
		return map[string]string{"error": s.catalog.Describe(lang, err)}
	})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"results": results})
}

// apiImport takes JSON Lines of one kind (importer.Kinds) and answers per line, with the
// tally: importing the same lines again changes nothing.
func (s *Server) apiImport(c *fiber.Ctx) error {
	lang := s.language(c)
	results := []importer.Result{}
	tally := map[string]int{"created": 0, "unchanged": 0, "error": 0}
	err := s.deps.Importer.Import(c.UserContext(), c.Params("kind"), bytes.NewReader(c.Body()), func(err error) map[string]string {
		var f *errs.Fields
		if errors.As(err, &f) {
			return s.fieldMessages(lang, f)
		}
		return map[string]string{"line": s.catalog.Describe(lang, err)}
	}, func(r importer.Result) {
		results = append(results, r)
		tally[r.Status]++
	})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"results": results, "created": tally["created"], "unchanged": tally["unchanged"], "errors": tally["error"]})
}

// reviewJSON is a review with its author's public name.
type reviewJSON struct {
	*reviews.Review
	Author string `json:"author"`
}

func (s *Server) apiReviews(c *fiber.Ctx) error {
	d, err := s.productData(c)
	if err != nil {
		return err
	}
	out := make([]reviewJSON, len(d.Reviews))
	for i, r := range d.Reviews {
		out[i] = reviewJSON{Review: r.Review, Author: r.Author.DisplayName}
	}
	next := ""
	if d.nextQuery != nil {
		next = "/api/v1/products/" + d.Product.Slug + "/reviews?" + d.nextQuery.Encode()
	}
	return c.JSON(fiber.Map{"product": d.Product, "reviews": out, "next": next})
}

func (s *Server) apiReviewCreate(c *fiber.Ctx) error {
	var in reviews.Input
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	if len(in.PhotoKeys) > 0 {
		if s.deps.Media == nil || len(in.PhotoKeys) > media.MaxPerReview {
			return errs.Field("photos", "media.too_many", "Max", media.MaxPerReview)
		}
		photos, err := s.deps.Media.Photos(c.UserContext(), in.PhotoKeys)
		if err != nil {
			return media.AsField("photos", err)
		}
		in.Photos = photos
	}
	r, err := s.deps.Reviews.Create(c.UserContext(), web.User(c), c.Params("slug"), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(r)
}

func (s *Server) apiReviewHelpful(c *fiber.Ctx) error {
	id, err := s.reviewID(c)
	if err != nil {
		return err
	}
	var in struct {
		Helpful *bool `json:"helpful"`
	}
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	if in.Helpful == nil {
		return fiber.NewError(fiber.StatusBadRequest, `send {"helpful": true} or {"helpful": false}`)
	}
	r, err := s.deps.Reviews.Vote(c.UserContext(), web.User(c), id, *in.Helpful)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (s *Server) apiReviewReply(c *fiber.Ctx) error {
	id, err := s.reviewID(c)
	if err != nil {
		return err
	}
	var in reviews.ReplyInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	r, err := s.deps.Reviews.SetReply(c.UserContext(), web.User(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

// apiPurchase lets a shop or CRM report a purchase; the same order twice is recorded once.
func (s *Server) apiPurchase(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return customers.ErrNotFound
	}
	var in purchaseInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	p, err := s.purchase(c, in)
	if err != nil {
		return err
	}
	added, err := s.deps.Reviews.RecordPurchase(c.UserContext(), id, p)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if added {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(fiber.Map{"recorded": added})
}

// testimonialJSON is what the company's site may show of a testimonial.
type testimonialJSON struct {
	Quote     string `json:"quote"`
	Author    string `json:"author"`
	AvatarURL string `json:"avatar_url,omitempty"`
	Product   string `json:"product,omitempty"`
	Featured  bool   `json:"featured"`
}

func (s *Server) apiTestimonials(c *fiber.Ctx) error {
	limit, _ := strconv.Atoi(c.Query("limit"))
	views, next, _, err := s.wall(c, limit)
	if err != nil {
		return err
	}
	out := make([]testimonialJSON, len(views))
	for i, v := range views {
		out[i] = testimonialJSON{Quote: v.Quote, Author: v.Author.DisplayName, AvatarURL: v.Author.AvatarURL,
			Featured: v.Status == reviews.TestimonialFeatured}
		if v.Product != nil {
			out[i].Product = v.Product.Slug
		}
	}
	return c.JSON(fiber.Map{"testimonials": out, "next": next})
}
