package handlers

import (
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
)

func (s *Server) testimonialRoutes(app *fiber.App) {
	app.Get("/testimonials", s.wallPage)
	app.Get("/testimonials/new", web.SignedIn, s.testimonialForm)
	app.Post("/testimonials", web.RequireActive, s.testimonialSubmit)
	app.Post("/testimonials/:id/consent", web.SignedIn, s.testimonialConsent)
	app.Get("/embed/testimonials", s.embedTestimonials)
	staff := app.Group("/admin/testimonials", web.RequireRole(customers.RoleModerator))
	staff.Get("/", s.testimonialQueue)
	staff.Post("/:id/decision", s.testimonialDecide)
}

// testimonialView is a testimonial with who said it and about what.
type testimonialView struct {
	*reviews.Testimonial
	Author  *customers.Customer
	Product *reviews.Product
	Rating  int // the stars of the review it was quoted from, if any
}

// testimonialViews loads the authors, products and quoted reviews' ratings of a list in
// three queries.
func (s *Server) testimonialViews(c *fiber.Ctx, list []*reviews.Testimonial) ([]testimonialView, error) {
	ids := make([]bson.ObjectID, len(list))
	for i, t := range list {
		ids[i] = t.AuthorID
	}
	authors, err := s.deps.Customers.Profiles(c.UserContext(), ids)
	if err != nil {
		return nil, err
	}
	products, err := s.deps.Reviews.TestimonialProducts(c.UserContext(), list)
	if err != nil {
		return nil, err
	}
	ratings, err := s.deps.Reviews.QuotedRatings(c.UserContext(), list)
	if err != nil {
		return nil, err
	}
	out := make([]testimonialView, 0, len(list))
	for _, t := range list {
		v := testimonialView{Testimonial: t, Author: authors[t.AuthorID], Rating: ratings[t.ID]}
		if v.Author == nil {
			v.Author = &customers.Customer{DisplayName: "—"}
		}
		if t.ProductID != nil {
			v.Product = products[*t.ProductID]
		}
		out = append(out, v)
	}
	return out, nil
}

type wallData struct {
	Testimonials []testimonialView
	Products     []*reviews.Product
	Product      string
	Next         string
}

// wall reads the wall page's and the widget's testimonials.
func (s *Server) wall(c *fiber.Ctx, limit int) ([]testimonialView, string, string, error) {
	q, err := web.WallQuery(c, s.deps.Reviews, limit)
	if err != nil {
		return nil, "", "", err
	}
	slug := c.Query("product")
	list, next, err := s.deps.Reviews.Wall(c.UserContext(), q)
	if err != nil {
		return nil, "", "", err
	}
	views, err := s.testimonialViews(c, list)
	return views, next, slug, err
}

func (s *Server) wallPage(c *fiber.Ctx) error {
	views, next, slug, err := s.wall(c, 12)
	if err != nil {
		return err
	}
	products, _, err := s.deps.Reviews.Products(c.UserContext(), "", 100)
	if err != nil {
		return err
	}
	d := wallData{Testimonials: views, Products: products, Product: slug}
	if next != "" {
		d.Next = "/testimonials?" + url.Values{"product": {slug}, "after": {next}}.Encode()
	}
	return s.render(c, fiber.StatusOK, "testimonials", "testimonials.title", d)
}

// embedTestimonials is the widget for the company's own site: a small page for an iframe,
// with only approved and featured testimonials.
func (s *Server) embedTestimonials(c *fiber.Ctx) error {
	limit, _ := strconv.Atoi(c.Query("limit", "3"))
	views, _, _, err := s.wall(c, min(max(limit, 1), 20))
	if err != nil {
		return err
	}
	// Other sites may frame this page, and only this page.
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'self'; img-src 'self' data: https:; frame-ancestors *; base-uri 'none'; form-action 'none'")
	c.Response().Header.Del(fiber.HeaderXFrameOptions)
	// Private: a response may carry a renewed session cookie, which no shared cache may keep.
	c.Set(fiber.HeaderCacheControl, "private, max-age=300")
	return c.Render("embed/testimonials", fiber.Map{
		"Lang": s.language(c), "SiteName": s.cfg.SiteName, "Testimonials": views,
		"T": func(id string, args ...any) string { return s.catalog.T(s.language(c), id, args...) },
	}, "layouts/embed")
}

type testimonialFormData struct {
	Products []*reviews.Product
	Form     *form
}

func (s *Server) testimonialForm(c *fiber.Ctx) error {
	return s.renderTestimonialForm(c, fiber.StatusOK, &form{Values: map[string]string{"product": c.Query("product")}})
}

func (s *Server) renderTestimonialForm(c *fiber.Ctx, status int, f *form) error {
	products, _, err := s.deps.Reviews.Products(c.UserContext(), "", 100)
	if err != nil {
		return err
	}
	return s.render(c, status, "testimonial_new", "testimonials.new_title", testimonialFormData{Products: products, Form: f})
}

func (s *Server) testimonialSubmit(c *fiber.Ctx) error {
	var in reviews.TestimonialInput
	if err := parseForm(c, &in); err != nil {
		return err
	}
	if _, err := s.deps.Reviews.SubmitTestimonial(c.UserContext(), web.User(c), in); err != nil {
		f, err := s.formFailed(c, err, map[string]string{"quote": in.Quote, "product": in.Product})
		if err != nil {
			return err
		}
		return s.renderTestimonialForm(c, fiber.StatusUnprocessableEntity, f)
	}
	s.flash(c, "flash.testimonial_submitted")
	return c.Redirect("/profile#testimonials", fiber.StatusSeeOther)
}

func (s *Server) testimonialConsent(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return reviews.ErrTestimonialNotFound
	}
	allow := c.FormValue("answer") == "allow"
	if err := s.deps.Reviews.AnswerConsent(c.UserContext(), web.User(c), id, allow); err != nil {
		return err
	}
	if allow {
		s.flash(c, "flash.consent_given")
	} else {
		s.flash(c, "flash.consent_declined")
	}
	return c.Redirect("/profile#testimonials", fiber.StatusSeeOther)
}

type testimonialQueueData struct {
	Pending []testimonialView
	Shown   []testimonialView
	Failed  string
	Form    *form
}

func (s *Server) testimonialQueueData(c *fiber.Ctx) (*testimonialQueueData, error) {
	pending, err := s.deps.Reviews.Pending(c.UserContext(), 100)
	if err != nil {
		return nil, err
	}
	shown, _, err := s.deps.Reviews.Wall(c.UserContext(), reviews.WallQuery{Limit: 50})
	if err != nil {
		return nil, err
	}
	d := &testimonialQueueData{}
	if d.Pending, err = s.testimonialViews(c, pending); err != nil {
		return nil, err
	}
	if d.Shown, err = s.testimonialViews(c, shown); err != nil {
		return nil, err
	}
	return d, nil
}

func (s *Server) testimonialQueue(c *fiber.Ctx) error {
	d, err := s.testimonialQueueData(c)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "admin/testimonials", "admin.testimonials.title", d)
}

func (s *Server) testimonialDecide(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return reviews.ErrTestimonialNotFound
	}
	decideErr := s.deps.Reviews.Decide(c.UserContext(), web.User(c), id, reviews.Decision(c.FormValue("decision")), c.FormValue("reason"))
	if decideErr != nil {
		if web.Status(decideErr) == fiber.StatusNotFound {
			return decideErr
		}
		f, err := s.formFailed(c, decideErr, map[string]string{"reason": c.FormValue("reason")})
		if err != nil {
			return err
		}
		d, err := s.testimonialQueueData(c)
		if err != nil {
			return err
		}
		d.Failed, d.Form = id.Hex(), f
		return s.render(c, web.Status(decideErr), "admin/testimonials", "admin.testimonials.title", d)
	}
	t, err := s.deps.Reviews.Testimonial(c.UserContext(), id)
	if err != nil {
		return err
	}
	action := moderation.ActionApprove
	if t.Status == reviews.TestimonialRejected {
		action = moderation.ActionReject
	}
	err = s.deps.Moderation.Append(c.UserContext(), moderation.Entry{Actor: web.User(c).ID, Action: action,
		Target: &content.Ref{Kind: content.KindTestimonial, ID: id}, TargetAuthor: t.AuthorID,
		After: content.Status(t.Status), Reason: t.RejectReason})
	if err != nil {
		return err
	}
	s.flash(c, "flash.decision_saved")
	return c.Redirect("/admin/testimonials", fiber.StatusSeeOther)
}
