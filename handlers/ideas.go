package handlers

import (
	"net/url"
	"slices"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/reviews"
)

func (s *Server) ideaRoutes(app *fiber.App) {
	product := web.RequireRole(customers.RoleProduct)
	app.Get("/ideas", s.cached(s.ideasPage))
	app.Get("/ideas/new", web.SignedIn, s.ideaNewPage)
	app.Post("/ideas/new", web.RequireActive, s.ideaCreate)
	app.Get("/ideas/:slugid", s.cached(s.ideaPage))
	app.Get("/ideas/:id/edit", web.SignedIn, s.ideaEditPage)
	app.Post("/ideas/:id/edit", web.RequireActive, s.ideaEdit)
	app.Post("/ideas/:id/delete", web.SignedIn, s.ideaDelete)
	app.Post("/ideas/:id/vote", web.RequireActive, s.ideaVote)
	app.Post("/ideas/:id/comments", web.RequireActive, s.ideaComment)
	app.Post("/ideas/:id/status", product, s.ideaStatus)
	app.Post("/ideas/:id/merge", product, s.ideaMerge)
	app.Get("/roadmap", s.cached(s.roadmapPage))
}

// ideaView is an idea as a list shows it: with its product and the viewer's vote.
type ideaView struct {
	*community.Idea
	Product *reviews.Product
	Voted   bool
}

// ideaViews joins products and the viewer's votes to ideas: two queries.
func (s *Server) ideaViews(c *fiber.Ctx, list []*community.Idea) ([]ideaView, error) {
	ctx := c.UserContext()
	var productIDs []bson.ObjectID
	for _, i := range list {
		if i.ProductID != nil {
			productIDs = append(productIDs, *i.ProductID)
		}
	}
	products, err := s.deps.Reviews.ProductsByID(ctx, productIDs)
	if err != nil {
		return nil, err
	}
	var viewer bson.ObjectID
	if u := web.User(c); u != nil {
		viewer = u.ID
	}
	voted, err := s.deps.Community.VotedFor(ctx, viewer, list)
	if err != nil {
		return nil, err
	}
	out := make([]ideaView, len(list))
	for n, i := range list {
		out[n] = ideaView{Idea: i, Voted: voted[i.ID]}
		if i.ProductID != nil {
			out[n].Product = products[*i.ProductID]
		}
	}
	return out, nil
}

type ideasData struct {
	Ideas    []ideaView
	Sort     string
	Sorts    []string
	State    string
	States   []community.IdeaState
	Product  string
	Next     string
	Voters   bool   // product staff: the voters' summary on each idea, and its order
	Currency string // the portal's, for a summary not worked out yet
}

func (s *Server) ideasPage(c *fiber.Ctx) error {
	q, err := web.IdeaQuery(c, s.deps.Reviews)
	if err != nil {
		return err
	}
	page, err := s.deps.Community.Ideas(c.UserContext(), q)
	if err != nil {
		return err
	}
	d := ideasData{Sort: q.Sort, Sorts: community.IdeaSorts, State: string(q.State), States: community.IdeaStates, Product: c.Query("product")}
	if web.SeesVoters(web.User(c)) {
		d.Voters, d.Sorts = true, append(slices.Clip(community.IdeaSorts), community.IdeasVotersValue)
		d.Currency = s.deps.Customers.Currency()
		c.Locals(noCacheLocal, true) // signed-in pages are never cached; this one says so itself
	}
	if d.Ideas, err = s.ideaViews(c, page.Ideas); err != nil {
		return err
	}
	if page.Next != "" {
		d.Next = "/ideas?" + url.Values{"sort": {d.Sort}, "status": {d.State}, "product": {d.Product}, "after": {page.Next}}.Encode()
	}
	return s.render(c, fiber.StatusOK, "ideas", "ideas.title", d)
}

type ideaFormData struct {
	Idea      *community.Idea // nil for a new idea
	CanDelete bool            // its author or a moderator
	Products  []*reviews.Product
	Product   string
	Form      *form
	Similar   []similarItem
}

func (s *Server) ideaFormData(c *fiber.Ctx, f *form, product string) (*ideaFormData, error) {
	products, _, err := s.deps.Reviews.Products(c.UserContext(), "", 100)
	if err != nil {
		return nil, err
	}
	return &ideaFormData{Products: products, Product: product, Form: f}, nil
}

func (s *Server) ideaNewPage(c *fiber.Ctx) error {
	title := c.Query("title")
	d, err := s.ideaFormData(c, &form{Values: map[string]string{"title": title, "body": c.Query("body")}}, c.Query("product"))
	if err != nil {
		return err
	}
	d.Similar = s.similar(c, "idea", title)
	return s.render(c, fiber.StatusOK, "idea_form", "idea.new_title", d)
}

// ideaInput reads the idea form; a product is chosen by slug.
func (s *Server) ideaInput(c *fiber.Ctx) (community.IdeaInput, error) {
	in := community.IdeaInput{Title: c.FormValue("title"), Body: c.FormValue("body"), Lang: s.language(c)}
	if slug := c.FormValue("product"); slug != "" {
		p, err := s.deps.Reviews.Product(c.UserContext(), slug)
		if err != nil {
			return in, errs.Field("product", "product.not_found")
		}
		in.ProductID = p.ID
	}
	return in, nil
}

func (s *Server) ideaCreate(c *fiber.Ctx) error {
	if c.FormValue("check") != "" { // "Check for similar ideas" without JavaScript: the form again, with them
		d, err := s.ideaFormData(c, &form{Values: map[string]string{"title": c.FormValue("title"), "body": c.FormValue("body")}}, c.FormValue("product"))
		if err != nil {
			return err
		}
		d.Similar = s.similar(c, "idea", c.FormValue("title"))
		return s.render(c, fiber.StatusOK, "idea_form", "idea.new_title", d)
	}
	in, createErr := s.ideaInput(c)
	var idea *community.Idea
	if createErr == nil {
		idea, createErr = s.deps.Community.CreateIdea(c.UserContext(), web.User(c), in)
	}
	if createErr != nil {
		f, err := s.formFailed(c, createErr, map[string]string{"title": in.Title, "body": in.Body})
		if err != nil {
			return err
		}
		d, err := s.ideaFormData(c, f, c.FormValue("product"))
		if err != nil {
			return err
		}
		return s.render(c, web.Status(createErr), "idea_form", "idea.new_title", d)
	}
	s.flashStatus(c, idea.Status, "flash.idea_published")
	return c.Redirect(idea.URL(), fiber.StatusSeeOther)
}

type ideaData struct {
	Idea       ideaView
	Author     *customers.Customer
	MergedInto *community.Idea
	Posts      []postView
	Next       string
	Product    bool // product staff: status and merge
	Moderator  bool
	CanEdit    bool
	States     []community.IdeaState
	Form       *form
	QuoteOf    string
	StaffForm  *form
	Voters     *community.Voters // product staff only: worked out live
}

func (s *Server) ideaData(c *fiber.Ctx, i *community.Idea) (*ideaData, error) {
	ctx := c.UserContext()
	if err := s.noteFlagged(c, "idea:"+i.ID.Hex()); err != nil {
		return nil, err
	}
	views, err := s.ideaViews(c, []*community.Idea{i})
	if err != nil {
		return nil, err
	}
	d := &ideaData{Idea: views[0], States: community.IdeaStates}
	viewer := web.User(c)
	var viewerID bson.ObjectID
	if viewer != nil {
		viewerID = viewer.ID
		d.Product, d.Moderator = viewer.HasRole(customers.RoleProduct), viewer.HasRole(customers.RoleModerator)
		d.CanEdit = viewer.ID == i.AuthorID || d.Product || d.Moderator
	}
	if web.SeesVoters(viewer) {
		if d.Voters, err = s.deps.Community.VoterSummary(ctx, i.ID); err != nil {
			return nil, err
		}
		c.Locals(noCacheLocal, true)
	}
	if d.Author, err = s.deps.Customers.Get(ctx, i.AuthorID); err != nil {
		d.Author = orNobody(nil)
	}
	if i.MergedInto != nil {
		if d.MergedInto, err = s.deps.Community.Idea(ctx, *i.MergedInto); err != nil {
			return nil, err
		}
	}
	posts, next, err := s.deps.Community.Posts(ctx, community.PostQuery{Parent: i.ID, Viewer: viewerID, After: c.Query("after")})
	if err != nil {
		return nil, err
	}
	if next != "" {
		d.Next = i.URL() + "?after=" + next + "#posts"
	}
	pv, err := s.postViews(c, posts, nil)
	if err != nil {
		return nil, err
	}
	d.Posts = pv.list
	if q := c.Query("quote"); q != "" && viewer != nil {
		for _, v := range d.Posts {
			if v.ID.Hex() == q {
				d.Form, d.QuoteOf = quoteForm(v), q
			}
		}
	}
	return d, nil
}

func (s *Server) ideaPage(c *fiber.Ctx) error {
	i, err := web.IdeaFromPath(c, s.deps.Community, "slugid")
	if err != nil {
		return err
	}
	if canonical := i.URL(); c.Path() != canonical {
		return redirectCanonical(c, canonical)
	}
	d, err := s.ideaData(c, i)
	if err != nil {
		return err
	}
	return s.renderTitled(c, fiber.StatusOK, "idea", i.Title, d)
}

// ideaFailed shows the idea again with what was wrong with a comment (form) or a staff
// decision (staff form).
func (s *Server) ideaFailed(c *fiber.Ctx, i *community.Idea, failure error, values map[string]string, staff bool) error {
	f, err := s.formFailed(c, failure, values)
	if err != nil {
		return err
	}
	d, err := s.ideaData(c, i)
	if err != nil {
		return err
	}
	if staff {
		d.StaffForm = f
	} else {
		d.Form, d.QuoteOf = f, values["quote_of"]
	}
	return s.renderTitled(c, web.Status(failure), "idea", i.Title, d)
}

func (s *Server) ideaVote(c *fiber.Ctx) error {
	i, err := web.IdeaFromPath(c, s.deps.Community, "id")
	if err != nil {
		return err
	}
	if _, err := s.deps.Community.VoteOn(c.UserContext(), web.User(c), i, c.FormValue("vote") != "0"); err != nil {
		return err
	}
	back := localPath(c.FormValue("back"))
	if back == "/" {
		back = i.URL()
	}
	return c.Redirect(back, fiber.StatusSeeOther)
}

func (s *Server) ideaComment(c *fiber.Ctx) error {
	i, err := web.IdeaFromPath(c, s.deps.Community, "id")
	if err != nil {
		return err
	}
	in := community.PostInput{Body: c.FormValue("body"), QuoteOf: c.FormValue("quote_of"), Lang: s.language(c)}
	var p *community.Post
	var postErr error
	if in.Body, postErr = s.appendImages(c, in.Body); postErr == nil {
		p, postErr = s.deps.Community.CommentOnIdea(c.UserContext(), web.User(c), i, in)
	}
	if postErr != nil {
		return s.ideaFailed(c, i, postErr, map[string]string{"body": in.Body, "quote_of": in.QuoteOf}, false)
	}
	s.flashStatus(c, p.Status, "flash.comment_published")
	return c.Redirect(i.URL()+"#post-"+p.ID.Hex(), fiber.StatusSeeOther)
}

func (s *Server) ideaStatus(c *fiber.Ctx) error {
	i, err := web.IdeaFromPath(c, s.deps.Community, "id")
	if err != nil {
		return err
	}
	in := community.StatusInput{Status: community.IdeaState(c.FormValue("status")), Response: c.FormValue("response")}
	if _, err := web.SetIdeaState(c, s.deps.Community, s.deps.Moderation, i, in); err != nil {
		return s.ideaFailed(c, i, err, map[string]string{"response": in.Response}, true)
	}
	s.flash(c, "flash.idea_saved")
	return c.Redirect(i.URL(), fiber.StatusSeeOther)
}

// ideaMerge folds this idea into the target: its address or ID.
func (s *Server) ideaMerge(c *fiber.Ctx) error {
	i, err := web.IdeaFromPath(c, s.deps.Community, "id")
	if err != nil {
		return err
	}
	raw := c.FormValue("target")
	if u, err := url.Parse(raw); err == nil && u.Path != "" {
		raw = u.Path
	}
	target, ok := community.ParseSlugID(raw)
	var merged *community.Idea
	mergeErr := errs.Field("target", "idea.not_found")
	if ok {
		merged, mergeErr = web.MergeIdea(c, s.deps.Community, s.deps.Moderation, i, target)
	}
	if mergeErr != nil {
		return s.ideaFailed(c, i, mergeErr, map[string]string{"target": c.FormValue("target")}, true)
	}
	s.flash(c, "flash.idea_merged")
	return c.Redirect(merged.URL(), fiber.StatusSeeOther)
}

func (s *Server) ownIdea(c *fiber.Ctx) (*community.Idea, error) {
	i, err := web.IdeaFromPath(c, s.deps.Community, "id")
	if err != nil {
		return nil, err
	}
	u := web.User(c)
	if i.AuthorID != u.ID && !u.HasAnyRole(customers.RoleModerator, customers.RoleProduct) || i.Status == content.StatusDeleted {
		return nil, community.ErrIdeaNotFound
	}
	return i, nil
}

func canDeleteIdea(u *customers.Customer, i *community.Idea) bool {
	return u.ID == i.AuthorID || u.HasRole(customers.RoleModerator)
}

func (s *Server) ideaEditPage(c *fiber.Ctx) error {
	i, err := s.ownIdea(c)
	if err != nil {
		return err
	}
	d, err := s.ideaFormData(c, &form{Values: map[string]string{"title": i.Title, "body": i.BodyMD}}, "")
	if err != nil {
		return err
	}
	d.Idea, d.CanDelete = i, canDeleteIdea(web.User(c), i)
	for _, p := range d.Products {
		if i.ProductID != nil && p.ID == *i.ProductID {
			d.Product = p.Slug
		}
	}
	return s.render(c, fiber.StatusOK, "idea_form", "idea.edit_title", d)
}

func (s *Server) ideaEdit(c *fiber.Ctx) error {
	i, err := s.ownIdea(c)
	if err != nil {
		return err
	}
	in, editErr := s.ideaInput(c)
	if editErr == nil {
		_, editErr = s.deps.Community.EditIdea(c.UserContext(), web.User(c), i.ID, in)
	}
	if editErr != nil {
		f, err := s.formFailed(c, editErr, map[string]string{"title": in.Title, "body": in.Body})
		if err != nil {
			return err
		}
		d, err := s.ideaFormData(c, f, c.FormValue("product"))
		if err != nil {
			return err
		}
		d.Idea, d.CanDelete = i, canDeleteIdea(web.User(c), i)
		return s.render(c, web.Status(editErr), "idea_form", "idea.edit_title", d)
	}
	s.flash(c, "flash.idea_saved")
	return c.Redirect(i.URL(), fiber.StatusSeeOther)
}

func (s *Server) ideaDelete(c *fiber.Ctx) error {
	i, err := s.ownIdea(c)
	if err != nil {
		return err
	}
	if err := s.deps.Community.DeleteIdea(c.UserContext(), web.User(c), i.ID); err != nil {
		return err
	}
	s.flash(c, "flash.idea_deleted")
	return c.Redirect("/ideas", fiber.StatusSeeOther)
}

type roadmapColumn struct {
	State community.IdeaState
	Ideas []ideaView
}

func (s *Server) roadmapPage(c *fiber.Ctx) error {
	road, err := s.deps.Community.Roadmap(c.UserContext(), 10)
	if err != nil {
		return err
	}
	var all []*community.Idea // products and votes for every column at once: two queries
	for _, st := range community.RoadmapStates {
		all = append(all, road[st]...)
	}
	views, err := s.ideaViews(c, all)
	if err != nil {
		return err
	}
	var cols []roadmapColumn
	for _, st := range community.RoadmapStates {
		cols = append(cols, roadmapColumn{State: st, Ideas: views[:len(road[st])]})
		views = views[len(road[st]):]
	}
	return s.render(c, fiber.StatusOK, "roadmap", "roadmap.title", cols)
}
