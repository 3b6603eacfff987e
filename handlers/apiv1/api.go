package apiv1

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

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

func (a *API) apiFlag(c *fiber.Ctx) error {
	var in moderation.FlagInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	res, err := a.Moderation.Flag(c.UserContext(), web.User(c), in)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if res.Counted {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(flagJSON{Counted: res.Counted, Hidden: res.Hidden})
}

func (a *API) apiQueue(c *fiber.Ctx) error {
	q, err := web.QueueQuery(c, a.Reviews)
	if err != nil {
		return err
	}
	items, after, err := a.Moderation.Queue(c.UserContext(), q)
	if err != nil {
		return err
	}
	items = orEmpty(items)
	next := ""
	if after != "" {
		next = "/api/v1/moderation/queue?" + web.QueueNext(c, after).Encode()
	}
	return c.JSON(queueJSON{Items: items, Next: next})
}

// maxDecisionBatch caps the decisions one API call may carry (each holds up to 100 refs).
const maxDecisionBatch = 100

// apiDecisions takes one decision or a list: {"refs": [...], "action": "reject", "reason": "…"}
// or [{…}, {…}].
func (a *API) apiDecisions(c *fiber.Ctx) error {
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
		res, err := a.Moderation.Decide(c.UserContext(), web.User(c), in)
		results = append(results, res...)
		if err != nil {
			return err
		}
	}
	return c.JSON(decisionsJSON{Results: results})
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

func (a *API) apiMe(c *fiber.Ctx) error {
	u := web.User(c)
	return c.JSON(meJSON{
		ID: u.ID.Hex(), DisplayName: u.DisplayName, Email: u.Email, Roles: u.Roles,
		Locale: u.Locale, Status: u.Status, AvatarURL: u.AvatarURL,
	})
}

func (a *API) apiProducts(c *fiber.Ctx) error {
	limit, _ := strconv.Atoi(c.Query("limit"))
	list, next, err := a.Reviews.Products(c.UserContext(), c.Query("after"), limit)
	if err != nil {
		return err
	}
	return c.JSON(productsJSON{Products: list, Next: next})
}

func (a *API) apiProduct(c *fiber.Ctx) error {
	p, err := a.Reviews.Product(c.UserContext(), c.Params("slug"))
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (a *API) apiProductCreate(c *fiber.Ctx) error {
	var in reviews.ProductInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	p, err := a.Reviews.CreateProduct(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

// apiProductImport takes JSON Lines, one product per line, and answers per line.
func (a *API) apiProductImport(c *fiber.Ctx) error {
	lang := web.Language(c)
	results, err := a.Reviews.ImportProducts(c.UserContext(), bytes.NewReader(c.Body()), func(err error) map[string]string {
		return map[string]string{"error": a.Catalog.Describe(lang, err)}
	})
	if err != nil {
		return err
	}
	return c.JSON(productImportJSON{Results: results})
}

// apiImport takes JSON Lines of one kind (importer.Kinds) and answers per line, with the
// tally: importing the same lines again changes nothing.
func (a *API) apiImport(c *fiber.Ctx) error {
	lang := web.Language(c)
	results := []importer.Result{}
	tally := map[string]int{"created": 0, "unchanged": 0, "error": 0}
	err := a.Importer.Import(c.UserContext(), c.Params("kind"), bytes.NewReader(c.Body()), func(err error) map[string]string {
		var f *errs.Fields
		if errors.As(err, &f) {
			return web.FieldMessages(a.Catalog, lang, f)
		}
		return map[string]string{"line": a.Catalog.Describe(lang, err)}
	}, func(r importer.Result) {
		results = append(results, r)
		tally[r.Status]++
	})
	if err != nil {
		return err
	}
	return c.JSON(importJSON{Results: results, Created: tally["created"], Unchanged: tally["unchanged"], Errors: tally["error"]})
}

// reviewJSON is a review with its author's public name.
type reviewJSON struct {
	*reviews.Review
	Author string `json:"author"`
}

func (a *API) apiReviews(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p, err := a.Reviews.Product(ctx, c.Params("slug"))
	if err != nil {
		return err
	}
	q := web.ReviewQuery(c, p.ID)
	page, err := a.Reviews.Reviews(ctx, q)
	if err != nil {
		return err
	}
	ids := make([]bson.ObjectID, len(page.Reviews))
	for i, r := range page.Reviews {
		ids[i] = r.AuthorID
	}
	authors, err := a.Customers.Profiles(ctx, ids) // one query for the page's authors
	if err != nil {
		return err
	}
	out := make([]reviewJSON, len(page.Reviews))
	for i, r := range page.Reviews {
		out[i] = reviewJSON{Review: r, Author: displayName(authors[r.AuthorID])}
	}
	next := ""
	if page.Next != "" {
		next = "/api/v1/products/" + p.Slug + "/reviews?" + web.ReviewNextQuery(q, page.Next).Encode()
	}
	return c.JSON(reviewsJSON{Product: p, Reviews: out, Next: next})
}

func (a *API) apiReviewCreate(c *fiber.Ctx) error {
	var in reviews.Input
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	if len(in.PhotoKeys) > 0 {
		if a.Media == nil || len(in.PhotoKeys) > media.MaxPerReview {
			return errs.Field("photos", "media.too_many", "Max", media.MaxPerReview)
		}
		photos, err := a.Media.Photos(c.UserContext(), in.PhotoKeys)
		if err != nil {
			return media.AsField("photos", err)
		}
		in.Photos = photos
	}
	r, err := a.Reviews.Create(c.UserContext(), web.User(c), c.Params("slug"), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(r)
}

func (a *API) apiReviewHelpful(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", reviews.ErrReviewNotFound)
	if err != nil {
		return err
	}
	var in helpfulInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	if in.Helpful == nil {
		return fiber.NewError(fiber.StatusBadRequest, `send {"helpful": true} or {"helpful": false}`)
	}
	r, err := a.Reviews.Vote(c.UserContext(), web.User(c), id, *in.Helpful)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

func (a *API) apiReviewReply(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", reviews.ErrReviewNotFound)
	if err != nil {
		return err
	}
	var in reviews.ReplyInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	r, err := a.Reviews.SetReply(c.UserContext(), web.User(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(r)
}

// apiPurchase lets a shop or CRM report a purchase; the same order twice is recorded once.
func (a *API) apiPurchase(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", customers.ErrNotFound)
	if err != nil {
		return err
	}
	var in web.PurchaseInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	p, err := web.Purchase(c, a.Customers, a.Reviews, in)
	if err != nil {
		return err
	}
	added, err := a.Reviews.RecordPurchase(c.UserContext(), id, p)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if added {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(purchaseJSON{Recorded: added})
}

// testimonialJSON is what the company's site may show of a testimonial.
type testimonialJSON struct {
	Quote     string `json:"quote"`
	Author    string `json:"author"`
	AvatarURL string `json:"avatar_url,omitempty"`
	Product   string `json:"product,omitempty"`
	Featured  bool   `json:"featured"`
}

func (a *API) apiTestimonials(c *fiber.Ctx) error {
	limit, _ := strconv.Atoi(c.Query("limit"))
	q, err := web.WallQuery(c, a.Reviews, limit)
	if err != nil {
		return err
	}
	list, next, err := a.Reviews.Wall(c.UserContext(), q)
	if err != nil {
		return err
	}
	ids := make([]bson.ObjectID, len(list))
	for i, t := range list {
		ids[i] = t.AuthorID
	}
	authors, err := a.Customers.Profiles(c.UserContext(), ids)
	if err != nil {
		return err
	}
	products, err := a.Reviews.TestimonialProducts(c.UserContext(), list)
	if err != nil {
		return err
	}
	out := make([]testimonialJSON, len(list))
	for i, t := range list {
		out[i] = testimonialJSON{Quote: t.Quote, Author: displayName(authors[t.AuthorID]), Featured: t.Status == reviews.TestimonialFeatured}
		if m := authors[t.AuthorID]; m != nil {
			out[i].AvatarURL = m.AvatarURL
		}
		if t.ProductID != nil && products[*t.ProductID] != nil {
			out[i].Product = products[*t.ProductID].Slug
		}
	}
	return c.JSON(testimonialsJSON{Testimonials: out, Next: next})
}
