package handlers

import (
	"encoding/json"
	"html/template"
	"net/url"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/markdown"
	"github.com/guyub/guyub/reviews"
)

func (s *Server) reviewRoutes(app *fiber.App) {
	app.Get("/products", s.cached(s.productsPage))
	app.Get("/products/:slug", s.cached(s.productPage))
	app.Post("/products/:slug/reviews", web.RequireActive, s.reviewCreate)
	app.Get("/reviews/:id/edit", web.SignedIn, s.reviewEditPage)
	app.Post("/reviews/:id/edit", web.RequireActive, s.reviewEdit)
	app.Post("/reviews/:id/delete", web.SignedIn, s.reviewDelete)
	app.Post("/reviews/:id/helpful", web.RequireActive, s.reviewHelpful)
	app.Post("/reviews/:id/reply", web.RequireRole(customers.RoleProduct), s.reviewReply)
	app.Post("/reviews/:id/promote", web.RequireRole(customers.RoleModerator, customers.RoleProduct), s.reviewPromote)
}

type productsData struct {
	Products []*reviews.Product
	Next     string
}

func (s *Server) productsPage(c *fiber.Ctx) error {
	list, next, err := s.deps.Reviews.Products(c.UserContext(), c.Query("after"), 24)
	if err != nil {
		return err
	}
	d := productsData{Products: onSale(list)}
	if next != "" {
		d.Next = "/products?after=" + url.QueryEscape(next)
	}
	return s.render(c, fiber.StatusOK, "products", "products.title", d)
}

// onSale leaves archived products out of a catalogue page (they are few: a page may show
// fewer than its size).
func onSale(list []*reviews.Product) []*reviews.Product {
	return slices.DeleteFunc(list, func(p *reviews.Product) bool { return p.Archived })
}

// reviewView is a review as a page shows it: with its author and the viewer's vote.
type reviewView struct {
	*reviews.Review
	Author *customers.Customer
	Voted  string // "yes", "no" or ""
	Own    bool
}

type productData struct {
	Product    *reviews.Product
	Reviews    []reviewView
	Next       string
	Sort       string
	Stars      int
	Verified   bool
	WithPhotos bool
	Sorts      []string
	Mine       *reviews.Review // the viewer's own review, if any
	Form       *form
	FormRating int
	JSONLD     template.JS
	Staff      bool
	CanReply   bool
}

func (s *Server) productData(c *fiber.Ctx) (*productData, error) {
	ctx := c.UserContext()
	p, err := s.deps.Reviews.Product(ctx, c.Params("slug"))
	if err != nil {
		return nil, err
	}
	q := web.ReviewQuery(c, p.ID)
	page, err := s.deps.Reviews.Reviews(ctx, q)
	if err != nil {
		return nil, err
	}
	d := &productData{Product: p, Sort: q.Sort, Stars: q.Stars, Verified: q.VerifiedOnly, WithPhotos: q.WithPhotos, Sorts: reviews.Sorts}
	if page.Next != "" {
		d.Next = "/products/" + p.Slug + "?" + web.ReviewNextQuery(q, page.Next).Encode() + "#reviews"
	}
	viewer := web.User(c)
	var viewerID bson.ObjectID
	if viewer != nil {
		viewerID = viewer.ID
		d.Staff, d.CanReply = viewer.IsStaff(), viewer.HasRole(customers.RoleProduct)
		if mine, err := s.deps.Reviews.ReviewBy(ctx, viewer.ID, p.ID); err == nil && mine.Status != reviews.StatusDeleted {
			d.Mine = mine
		}
	}
	// Authors and the viewer's votes for the whole page: two queries, not two per review.
	authorIDs := make([]bson.ObjectID, len(page.Reviews))
	for i, r := range page.Reviews {
		authorIDs[i] = r.AuthorID
	}
	authors, err := s.deps.Customers.Profiles(ctx, authorIDs)
	if err != nil {
		return nil, err
	}
	votes, err := s.deps.Reviews.VotesBy(ctx, viewerID, page.Reviews)
	if err != nil {
		return nil, err
	}
	refs := make([]string, len(page.Reviews))
	for i, r := range page.Reviews {
		refs[i] = "review:" + r.ID.Hex()
	}
	if err := s.noteFlagged(c, refs...); err != nil {
		return nil, err
	}
	for _, r := range page.Reviews {
		v := reviewView{Review: r, Author: authors[r.AuthorID], Own: r.AuthorID == viewerID}
		if helpful, ok := votes[r.ID]; ok {
			v.Voted = "no"
			if helpful {
				v.Voted = "yes"
			}
		}
		if v.Author == nil {
			v.Author = &customers.Customer{DisplayName: "—"}
		}
		d.Reviews = append(d.Reviews, v)
	}
	d.JSONLD = productJSONLD(s.cfg.SiteName, p, d.Reviews)
	return d, nil
}

// productJSONLD describes the product for search engines (schema.org Product with its
// AggregateRating and the reviews on the page). json.Marshal escapes <, > and &, so the
// text cannot end the script element.
func productJSONLD(site string, p *reviews.Product, list []reviewView) template.JS {
	type rating struct {
		Type        string `json:"@type"`
		RatingValue string `json:"ratingValue"`
		ReviewCount int    `json:"reviewCount,omitempty"`
		BestRating  int    `json:"bestRating"`
	}
	type person struct {
		Type string `json:"@type"`
		Name string `json:"name"`
	}
	type review struct {
		Type          string `json:"@type"`
		Author        person `json:"author"`
		DatePublished string `json:"datePublished"`
		Name          string `json:"name,omitempty"`
		ReviewBody    string `json:"reviewBody"`
		ReviewRating  rating `json:"reviewRating"`
	}
	doc := map[string]any{
		"@context":    "https://schema.org",
		"@type":       "Product",
		"name":        p.Name,
		"description": p.Description,
		"brand":       map[string]string{"@type": "Brand", "name": site},
	}
	if p.ImageURL != "" {
		doc["image"] = p.ImageURL
	}
	if p.Rating.Count > 0 {
		doc["aggregateRating"] = rating{Type: "AggregateRating", RatingValue: p.Rating.AverageText(), ReviewCount: p.Rating.Count, BestRating: 5}
	}
	var rs []review
	for _, r := range list {
		rs = append(rs, review{Type: "Review", Author: person{"Person", r.Author.DisplayName},
			DatePublished: r.CreatedAt.Format("2006-01-02"), Name: r.Title, ReviewBody: markdown.PlainText(r.BodyHTML),
			ReviewRating: rating{Type: "Rating", RatingValue: strconv.Itoa(r.Rating), BestRating: 5}})
	}
	if len(rs) > 0 {
		doc["review"] = rs
	}
	b, _ := json.Marshal(doc) // plain strings and numbers: cannot fail
	return template.JS(b)     //nolint:gosec // escaped by json.Marshal, see above
}

func (s *Server) renderProduct(c *fiber.Ctx, status int, edit func(*productData)) error {
	d, err := s.productData(c)
	if err != nil {
		return err
	}
	if edit != nil {
		edit(d)
	}
	return s.renderTitled(c, status, "product", d.Product.NameIn(s.language(c)), d)
}

func (s *Server) productPage(c *fiber.Ctx) error {
	return s.renderProduct(c, fiber.StatusOK, nil)
}

func (s *Server) reviewCreate(c *fiber.Ctx) error {
	var in reviews.Input
	if err := parseForm(c, &in); err != nil {
		return err
	}
	in.Lang = s.language(c)
	var r *reviews.Review
	var createErr error
	if in.Photos, createErr = s.formPhotos(c); createErr == nil {
		r, createErr = s.deps.Reviews.Create(c.UserContext(), web.User(c), c.Params("slug"), in)
	}
	if createErr != nil {
		f, err := s.formFailed(c, createErr, map[string]string{"title": in.Title, "body": in.Body, "pros": in.Pros, "cons": in.Cons})
		if err != nil {
			return err
		}
		f.Photos = in.Photos // stored already: the next try keeps them
		// 422 for what was typed, 409 for a second review.
		return s.renderProduct(c, web.Status(createErr), func(d *productData) { d.Form, d.FormRating = f, in.Rating })
	}
	if r.Status == reviews.StatusPending {
		s.flash(c, "flash.review_pending")
	} else {
		s.flash(c, "flash.review_published")
	}
	return c.Redirect("/products/"+c.Params("slug")+"#review-"+r.ID.Hex(), fiber.StatusSeeOther)
}

// backToReview returns to the review on its product page.
func (s *Server) backToReview(c *fiber.Ctx, r *reviews.Review, flash string) error {
	p, err := s.deps.Reviews.ProductByID(c.UserContext(), r.ProductID)
	if err != nil {
		return err
	}
	if flash != "" {
		s.flash(c, flash)
	}
	return c.Redirect("/products/"+p.Slug+"#review-"+r.ID.Hex(), fiber.StatusSeeOther)
}

type reviewEditData struct {
	Review  *reviews.Review
	Product *reviews.Product
	Form    *form
	Rating  int
}

func (s *Server) ownReview(c *fiber.Ctx) (*reviews.Review, *reviews.Product, error) {
	id, err := web.PathID(c, "id", reviews.ErrReviewNotFound)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.deps.Reviews.Review(c.UserContext(), id)
	if err != nil {
		return nil, nil, err
	}
	u := web.User(c)
	if (r.AuthorID != u.ID && !u.HasRole(customers.RoleModerator)) || r.Status == reviews.StatusDeleted {
		return nil, nil, reviews.ErrReviewNotFound
	}
	p, err := s.deps.Reviews.ProductByID(c.UserContext(), r.ProductID)
	return r, p, err
}

func (s *Server) reviewEditPage(c *fiber.Ctx) error {
	r, p, err := s.ownReview(c)
	if err != nil {
		return err
	}
	f := &form{Values: map[string]string{"title": r.Title, "body": r.BodyMD, "pros": r.Pros, "cons": r.Cons}, Photos: r.Photos}
	return s.render(c, fiber.StatusOK, "review_edit", "review.edit_title", reviewEditData{Review: r, Product: p, Form: f, Rating: r.Rating})
}

func (s *Server) reviewEdit(c *fiber.Ctx) error {
	r, p, err := s.ownReview(c)
	if err != nil {
		return err
	}
	var in reviews.Input
	if err := parseForm(c, &in); err != nil {
		return err
	}
	var updated *reviews.Review
	var updateErr error
	if in.Photos, updateErr = s.formPhotos(c); updateErr == nil {
		updated, updateErr = s.deps.Reviews.Update(c.UserContext(), web.User(c), r.ID, in)
	}
	if updateErr != nil {
		f, err := s.formFailed(c, updateErr, map[string]string{"title": in.Title, "body": in.Body, "pros": in.Pros, "cons": in.Cons})
		if err != nil {
			return err
		}
		f.Photos = in.Photos
		if f.Photos == nil {
			f.Photos = r.Photos
		}
		return s.render(c, web.Status(updateErr), "review_edit", "review.edit_title",
			reviewEditData{Review: r, Product: p, Form: f, Rating: in.Rating})
	}
	return s.backToReview(c, updated, "flash.review_saved")
}

func (s *Server) reviewDelete(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", reviews.ErrReviewNotFound)
	if err != nil {
		return err
	}
	r, err := s.deps.Reviews.Review(c.UserContext(), id)
	if err != nil {
		return err
	}
	if err := s.deps.Reviews.Delete(c.UserContext(), web.User(c), id); err != nil {
		return err
	}
	return s.backToReview(c, r, "flash.review_deleted")
}

func (s *Server) reviewHelpful(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", reviews.ErrReviewNotFound)
	if err != nil {
		return err
	}
	r, err := s.deps.Reviews.Vote(c.UserContext(), web.User(c), id, c.FormValue("helpful") == "yes")
	if err != nil {
		return err
	}
	return s.backToReview(c, r, "")
}

func (s *Server) reviewReply(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", reviews.ErrReviewNotFound)
	if err != nil {
		return err
	}
	var in reviews.ReplyInput
	if err := parseForm(c, &in); err != nil {
		return err
	}
	r, err := s.deps.Reviews.SetReply(c.UserContext(), web.User(c), id, in)
	if err != nil {
		return err
	}
	return s.backToReview(c, r, "flash.reply_saved")
}

func (s *Server) reviewPromote(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", reviews.ErrReviewNotFound)
	if err != nil {
		return err
	}
	if _, err := s.deps.Reviews.PromoteReview(c.UserContext(), web.User(c), id); err != nil {
		return err
	}
	r, err := s.deps.Reviews.Review(c.UserContext(), id)
	if err != nil {
		return err
	}
	return s.backToReview(c, r, "flash.review_promoted")
}
