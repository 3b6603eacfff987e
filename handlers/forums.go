package handlers

import (
	"html/template"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/search"
)

func (s *Server) forumRoutes(app *fiber.App) {
	moderator := web.RequireRole(customers.RoleModerator)
	app.Get("/forums", s.cached(s.forumsPage))
	app.Get("/forums/new", web.SignedIn, s.threadNewPage)
	app.Post("/forums/new", web.RequireActive, s.threadCreate)
	app.Get("/forums/:slug", s.cached(s.forumsPage))
	app.Get("/threads/:slugid", s.cached(s.threadPage))
	app.Post("/threads/:id/posts", web.RequireActive, s.threadReply)
	app.Post("/threads/:id/accept", web.RequireActive, s.threadAccept)
	app.Post("/threads/:id/pin", moderator, s.threadPin)
	app.Post("/threads/:id/lock", moderator, s.threadLock)
	app.Post("/threads/:id/move", moderator, s.threadMove)
	app.Get("/posts/:id/edit", web.SignedIn, s.postEditPage)
	app.Post("/posts/:id/edit", web.RequireActive, s.postEdit)
	app.Post("/posts/:id/delete", web.SignedIn, s.postDelete)
	app.Post("/posts/:id/like", web.RequireActive, s.postLike)
	app.Get("/posts/:id/history", s.postHistory)
}

// threadView is a thread in a list, with its author and category.
type threadView struct {
	*community.Thread
	Author     *customers.Customer
	LastPoster *customers.Customer // nil: no reply yet
	Category   *community.Category
}

type forumsData struct {
	Categories []*community.Category
	Category   *community.Category // nil: every category
	Threads    []threadView
	Sort       string
	Sorts      []string
	Tag        string
	Next       string
}

// forumsPage lists threads: of every category (/forums) or one (/forums/{slug}), by latest
// activity, newest, unanswered or solved, optionally with one tag.
func (s *Server) forumsPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	cats, err := s.deps.Community.Categories(ctx)
	if err != nil {
		return err
	}
	d := forumsData{Categories: cats, Sort: web.ThreadSort(c.Query("sort")), Sorts: community.ThreadSorts, Tag: c.Query("tag")}
	q := community.ThreadQuery{Sort: d.Sort, Tag: d.Tag, After: c.Query("after")}
	base := "/forums"
	if slug := c.Params("slug"); slug != "" {
		if d.Category, err = s.deps.Community.Category(ctx, slug); err != nil {
			return err
		}
		q.CategoryID, base = d.Category.ID, "/forums/"+slug
	}
	page, err := s.deps.Community.Threads(ctx, q)
	if err != nil {
		return err
	}
	if d.Threads, err = s.threadViews(c, page.Threads, cats); err != nil {
		return err
	}
	if page.Next != "" {
		d.Next = base + "?" + url.Values{"sort": {d.Sort}, "tag": {d.Tag}, "after": {page.Next}}.Encode()
	}
	if d.Category != nil {
		return s.renderTitled(c, fiber.StatusOK, "forums", d.Category.NameIn(s.language(c)), d)
	}
	return s.render(c, fiber.StatusOK, "forums", "forums.title", d)
}

// threadViews joins authors (one query) and categories (already loaded) to threads.
func (s *Server) threadViews(c *fiber.Ctx, list []*community.Thread, cats []*community.Category) ([]threadView, error) {
	ids := make([]bson.ObjectID, 0, 2*len(list))
	for _, t := range list {
		ids = append(ids, t.AuthorID)
		if !t.LastPosterID.IsZero() {
			ids = append(ids, t.LastPosterID)
		}
	}
	authors, err := s.deps.Customers.Profiles(c.UserContext(), ids)
	if err != nil {
		return nil, err
	}
	out := make([]threadView, len(list))
	for i, t := range list {
		out[i] = threadView{Thread: t, Author: orNobody(authors[t.AuthorID]), LastPoster: authors[t.LastPosterID]}
		for _, cat := range cats {
			if cat.ID == t.CategoryID {
				out[i].Category = cat
			}
		}
	}
	return out, nil
}

func orNobody(c *customers.Customer) *customers.Customer {
	if c == nil {
		return &customers.Customer{DisplayName: "—"}
	}
	return c
}

type threadNewData struct {
	Categories []*community.Category
	Category   string
	Form       *form
	Similar    []similarItem // existing threads like the title typed so far
}

// similarItem is an existing thread or idea like the one being written.
type similarItem struct {
	Title, URL string
}

// similar finds published threads or ideas like a title, so a customer finds an answer
// before asking again. Without JavaScript the form shows them after "Check for similar".
func (s *Server) similar(c *fiber.Ctx, kind, title string) []similarItem {
	if len([]rune(strings.TrimSpace(title))) < 3 {
		return nil
	}
	q := search.Query{Text: title, Kind: kind, Sort: search.SortRelevance, Page: 1, PerPage: 5, NoFacets: true}
	q.Normalize()
	res, err := s.runSearch(c, q)
	if err != nil { // search is a help here, not a requirement
		s.log.Warn("similar search failed", "err", err)
		return nil
	}
	var out []similarItem
	for _, h := range res.Hits {
		out = append(out, similarItem{Title: h.Title, URL: h.URL})
	}
	return out
}

func (s *Server) threadNewPage(c *fiber.Ctx) error {
	cats, err := s.deps.Community.Categories(c.UserContext())
	if err != nil {
		return err
	}
	title := c.Query("title")
	d := threadNewData{Categories: s.categoriesFor(web.User(c), cats), Category: c.Query("category"),
		Form: &form{Values: map[string]string{"title": title}}, Similar: s.similar(c, "thread", title)}
	return s.render(c, fiber.StatusOK, "thread_new", "thread.new_title", d)
}

// categoriesFor leaves out the categories a customer may not start threads in.
func (s *Server) categoriesFor(u *customers.Customer, cats []*community.Category) []*community.Category {
	var out []*community.Category
	for _, cat := range cats {
		if !cat.StaffOnly || (u != nil && u.IsStaff()) {
			out = append(out, cat)
		}
	}
	return out
}

func (s *Server) threadCreate(c *fiber.Ctx) error {
	in := community.ThreadInput{Category: c.FormValue("category"), Title: c.FormValue("title"), Body: c.FormValue("body"),
		Tags: []string{c.FormValue("tags")}, Lang: s.language(c)}
	if c.FormValue("check") != "" { // "Check for similar threads" without JavaScript: the form again, with them
		cats, err := s.deps.Community.Categories(c.UserContext())
		if err != nil {
			return err
		}
		return s.render(c, fiber.StatusOK, "thread_new", "thread.new_title", threadNewData{Categories: s.categoriesFor(web.User(c), cats),
			Category: in.Category, Form: &form{Values: map[string]string{"title": in.Title, "body": in.Body, "tags": c.FormValue("tags")}},
			Similar: s.similar(c, "thread", in.Title)})
	}
	var t *community.Thread
	var createErr error
	if in.Body, createErr = s.appendImages(c, in.Body); createErr == nil {
		t, createErr = s.deps.Community.CreateThread(c.UserContext(), web.User(c), in)
	}
	if createErr != nil {
		f, err := s.formFailed(c, createErr, map[string]string{"title": in.Title, "body": in.Body, "tags": c.FormValue("tags")})
		if err != nil {
			return err
		}
		cats, err := s.deps.Community.Categories(c.UserContext())
		if err != nil {
			return err
		}
		return s.render(c, web.Status(createErr), "thread_new", "thread.new_title",
			threadNewData{Categories: s.categoriesFor(web.User(c), cats), Category: in.Category, Form: f})
	}
	s.flashStatus(c, t.Status, "flash.thread_published")
	return c.Redirect(t.URL(), fiber.StatusSeeOther)
}

// flashStatus tells the author whether their post is public or waits for a moderator.
func (s *Server) flashStatus(c *fiber.Ctx, st content.Status, published string) {
	if st == content.StatusPending {
		s.flash(c, "flash.post_pending")
		return
	}
	s.flash(c, published)
}

// postView is a post as a page shows it.
type postView struct {
	*community.Post
	Author       *customers.Customer
	Liked        bool
	Own          bool
	Accepted     bool
	QuotedAuthor string
}

type threadData struct {
	Thread     *community.Thread
	Category   *community.Category
	Categories []*community.Category // staff: where it can move
	Opening    *postView
	Accepted   *postView
	Posts      []postView
	Next       string
	CanAccept  bool
	Moderator  bool
	Form       *form
	QuoteOf    string
	JSONLD     template.JS // the thread for search engines
}

func (s *Server) threadData(c *fiber.Ctx, t *community.Thread) (*threadData, error) {
	ctx := c.UserContext()
	viewer := web.User(c)
	d := &threadData{Thread: t}
	var viewerID bson.ObjectID
	if viewer != nil {
		viewerID = viewer.ID
		d.CanAccept = viewer.ID == t.AuthorID || viewer.IsStaff()
		d.Moderator = viewer.HasRole(customers.RoleModerator)
	}
	var err error
	if d.Category, err = s.deps.Community.CategoryByID(ctx, t.CategoryID); err != nil {
		return nil, err
	}
	if d.Moderator {
		if d.Categories, err = s.deps.Community.Categories(ctx); err != nil {
			return nil, err
		}
	}
	posts, next, err := s.deps.Community.Posts(ctx, community.PostQuery{Parent: t.ID, Viewer: viewerID, After: c.Query("after")})
	if err != nil {
		return nil, err
	}
	if next != "" {
		d.Next = t.URL() + "?after=" + next + "#posts"
	}
	var extra []bson.ObjectID
	if c.Query("after") == "" {
		extra = append(extra, t.OpeningPostID)
	}
	if t.AcceptedPostID != nil {
		extra = append(extra, *t.AcceptedPostID)
	}
	views, err := s.postViews(c, posts, extra)
	if err != nil {
		return nil, err
	}
	for _, v := range views.list {
		v.Accepted = t.AcceptedPostID != nil && *t.AcceptedPostID == v.ID
		d.Posts = append(d.Posts, v)
	}
	if op, ok := views.extra[t.OpeningPostID]; ok {
		d.Opening = &op
	}
	if t.AcceptedPostID != nil {
		if a, ok := views.extra[*t.AcceptedPostID]; ok && a.Status == content.StatusPublished {
			a.Accepted = true
			d.Accepted = &a
		}
	}
	if q := c.Query("quote"); q != "" && viewer != nil {
		if v, ok := views.extra[t.OpeningPostID]; ok && v.ID.Hex() == q {
			d.Form, d.QuoteOf = quoteForm(v), q
		}
		for _, v := range d.Posts {
			if v.ID.Hex() == q {
				d.Form, d.QuoteOf = quoteForm(v), q
			}
		}
	}
	return d, nil
}

// quoteForm starts a reply with the quoted post as a Markdown quote.
func quoteForm(v postView) *form {
	lines := strings.Split(strings.TrimSpace(v.BodyMD), "\n")
	var b strings.Builder
	b.WriteString("> **" + v.Author.DisplayName + "**:\n")
	for _, l := range lines {
		b.WriteString("> " + l + "\n")
	}
	b.WriteString("\n")
	return &form{Values: map[string]string{"body": b.String()}}
}

type postViews struct {
	list  []postView
	extra map[bson.ObjectID]postView
}

// postViews joins authors, the viewer's likes and quoted posts to a page of posts and a
// few extra posts (a thread's opening and accepted ones): four queries for the page.
func (s *Server) postViews(c *fiber.Ctx, list []*community.Post, extraIDs []bson.ObjectID) (*postViews, error) {
	ctx := c.UserContext()
	extra, err := s.deps.Community.PostsByID(ctx, extraIDs)
	if err != nil {
		return nil, err
	}
	all := append([]*community.Post{}, list...)
	for _, p := range extra {
		all = append(all, p)
	}
	// Quoted posts are mostly on the page already; only the others are read.
	quoted := map[bson.ObjectID]*community.Post{}
	for _, p := range all {
		quoted[p.ID] = p
	}
	var quoteIDs []bson.ObjectID
	for _, p := range all {
		if p.QuoteOf != nil && quoted[*p.QuoteOf] == nil {
			quoteIDs = append(quoteIDs, *p.QuoteOf)
		}
	}
	more, err := s.deps.Community.PostsByID(ctx, quoteIDs)
	if err != nil {
		return nil, err
	}
	for id, p := range more {
		quoted[id] = p
	}
	authorIDs := make([]bson.ObjectID, 0, len(all)+len(quoted))
	for _, p := range all {
		authorIDs = append(authorIDs, p.AuthorID)
	}
	for _, p := range quoted {
		authorIDs = append(authorIDs, p.AuthorID)
	}
	authors, err := s.deps.Customers.Profiles(ctx, authorIDs)
	if err != nil {
		return nil, err
	}
	refs := make([]string, len(all))
	for i, p := range all {
		refs[i] = p.Ref().String()
	}
	if err := s.noteFlagged(c, refs...); err != nil {
		return nil, err
	}
	var viewerID bson.ObjectID
	if u := web.User(c); u != nil {
		viewerID = u.ID
	}
	liked, err := s.deps.Community.LikedBy(ctx, viewerID, all)
	if err != nil {
		return nil, err
	}
	view := func(p *community.Post) postView {
		v := postView{Post: p, Author: orNobody(authors[p.AuthorID]), Liked: liked[p.ID], Own: p.AuthorID == viewerID}
		if p.QuoteOf != nil {
			if q := quoted[*p.QuoteOf]; q != nil {
				v.QuotedAuthor = orNobody(authors[q.AuthorID]).DisplayName
			}
		}
		return v
	}
	out := &postViews{extra: map[bson.ObjectID]postView{}}
	for _, p := range list {
		out.list = append(out.list, view(p))
	}
	for id, p := range extra {
		out.extra[id] = view(p)
	}
	return out, nil
}

func (s *Server) threadPage(c *fiber.Ctx) error {
	t, err := web.ThreadFromPath(c, s.deps.Community, "slugid")
	if err != nil {
		return err
	}
	if canonical := t.URL(); c.Path() != canonical {
		return redirectCanonical(c, canonical)
	}
	d, err := s.threadData(c, t)
	if err != nil {
		return err
	}
	if t.Status == content.StatusPublished {
		d.JSONLD = s.threadJSONLD(d)
	}
	return s.renderTitled(c, fiber.StatusOK, "thread", t.Title, d)
}

func (s *Server) threadReply(c *fiber.Ctx) error {
	t, err := web.ThreadFromPath(c, s.deps.Community, "id")
	if err != nil {
		return err
	}
	in := community.PostInput{Body: c.FormValue("body"), QuoteOf: c.FormValue("quote_of"), Lang: s.language(c)}
	var p *community.Post
	var replyErr error
	if in.Body, replyErr = s.appendImages(c, in.Body); replyErr == nil {
		p, replyErr = s.deps.Community.ReplyToThread(c.UserContext(), web.User(c), t, in)
	}
	if replyErr != nil {
		f, err := s.formFailed(c, replyErr, map[string]string{"body": in.Body})
		if err != nil {
			return err
		}
		d, err := s.threadData(c, t)
		if err != nil {
			return err
		}
		d.Form, d.QuoteOf = f, in.QuoteOf
		return s.renderTitled(c, web.Status(replyErr), "thread", t.Title, d)
	}
	s.flashStatus(c, p.Status, "flash.reply_published")
	return c.Redirect(t.URL()+"#post-"+p.ID.Hex(), fiber.StatusSeeOther)
}

func (s *Server) threadAccept(c *fiber.Ctx) error {
	t, err := web.ThreadFromPath(c, s.deps.Community, "id")
	if err != nil {
		return err
	}
	var post bson.ObjectID
	if raw := c.FormValue("post"); raw != "" {
		if post, err = bson.ObjectIDFromHex(raw); err != nil {
			return community.ErrPostNotFound
		}
	}
	if _, err := s.deps.Community.Accept(c.UserContext(), web.User(c), t.ID, post); err != nil {
		return err
	}
	s.flash(c, "flash.thread_saved")
	return c.Redirect(t.URL(), fiber.StatusSeeOther)
}

// threadStaff runs a moderator's action on a thread, puts it on the audit log with what
// note returns (a lock's reason, the new category) and returns to the thread.
func (s *Server) threadStaff(c *fiber.Ctx, action func(id bson.ObjectID) (*community.Thread, moderation.Action, error), note func(*community.Thread) string) error {
	id, ok := community.ParseSlugID(c.Params("id"))
	if !ok {
		return community.ErrThreadNotFound
	}
	t, logged, err := action(id)
	if err != nil {
		return err
	}
	if err := web.Audit(c, s.deps.Moderation, logged, content.Ref{Kind: content.KindThread, ID: t.ID}, t.AuthorID, note(t)); err != nil {
		return err
	}
	s.flash(c, "flash.thread_saved")
	return c.Redirect(t.URL(), fiber.StatusSeeOther)
}

func (s *Server) threadPin(c *fiber.Ctx) error {
	pin := c.FormValue("pinned") == "1"
	return s.threadStaff(c, func(id bson.ObjectID) (*community.Thread, moderation.Action, error) {
		t, err := s.deps.Community.Pin(c.UserContext(), web.User(c), id, pin)
		if pin {
			return t, moderation.ActionPin, err
		}
		return t, moderation.ActionUnpin, err
	}, func(*community.Thread) string { return "" })
}

func (s *Server) threadLock(c *fiber.Ctx) error {
	lock := c.FormValue("locked") == "1"
	return s.threadStaff(c, func(id bson.ObjectID) (*community.Thread, moderation.Action, error) {
		t, err := s.deps.Community.Lock(c.UserContext(), web.User(c), id, lock, c.FormValue("reason"))
		if lock {
			return t, moderation.ActionLock, err
		}
		return t, moderation.ActionUnlock, err
	}, func(t *community.Thread) string { return t.LockReason })
}

func (s *Server) threadMove(c *fiber.Ctx) error {
	return s.threadStaff(c, func(id bson.ObjectID) (*community.Thread, moderation.Action, error) {
		t, err := s.deps.Community.Move(c.UserContext(), web.User(c), id, c.FormValue("category"))
		return t, moderation.ActionMove, err
	}, func(*community.Thread) string { return c.FormValue("category") })
}

// postBack is where a post lives: its thread or idea. A viewer who may not see that gets
// not found.
func (s *Server) postBack(c *fiber.Ctx, p *community.Post) (string, error) {
	if p.ParentKind == content.KindIdea {
		i, err := s.deps.Community.Idea(c.UserContext(), p.ParentID)
		if err != nil {
			return "", err
		}
		if !web.Visible(web.User(c), i.Status, i.AuthorID) {
			return "", community.ErrPostNotFound
		}
		return i.URL(), nil
	}
	t, err := s.deps.Community.Thread(c.UserContext(), p.ParentID)
	if err != nil {
		return "", err
	}
	if !web.Visible(web.User(c), t.Status, t.AuthorID) {
		return "", community.ErrPostNotFound
	}
	return t.URL(), nil
}

func (s *Server) ownPost(c *fiber.Ctx) (*community.Post, error) {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return nil, community.ErrPostNotFound
	}
	p, err := s.deps.Community.Post(c.UserContext(), id)
	if err != nil {
		return nil, err
	}
	u := web.User(c)
	if (p.AuthorID != u.ID && !u.HasRole(customers.RoleModerator)) || p.Status == content.StatusDeleted {
		return nil, community.ErrPostNotFound
	}
	return p, nil
}

type postEditData struct {
	Post   *community.Post
	Thread *community.Thread // for an opening post: title and tags are edited too
	Back   string
	Form   *form
}

func (s *Server) postEditData(c *fiber.Ctx, p *community.Post) (*postEditData, error) {
	back, err := s.postBack(c, p)
	if err != nil {
		return nil, err
	}
	d := &postEditData{Post: p, Back: back, Form: &form{Values: map[string]string{"body": p.BodyMD}}}
	if p.Opening {
		if d.Thread, err = s.deps.Community.Thread(c.UserContext(), p.ParentID); err != nil {
			return nil, err
		}
		d.Form.Values["title"], d.Form.Values["tags"] = d.Thread.Title, strings.Join(d.Thread.Tags, ", ")
	}
	return d, nil
}

func (s *Server) postEditPage(c *fiber.Ctx) error {
	p, err := s.ownPost(c)
	if err != nil {
		return err
	}
	d, err := s.postEditData(c, p)
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "post_edit", "post.edit_title", d)
}

func (s *Server) postEdit(c *fiber.Ctx) error {
	p, err := s.ownPost(c)
	if err != nil {
		return err
	}
	in := community.EditInput{Title: c.FormValue("title"), Tags: []string{c.FormValue("tags")}, Body: c.FormValue("body")}
	var editErr error
	if in.Body, editErr = s.appendImages(c, in.Body); editErr == nil {
		_, editErr = s.deps.Community.EditPost(c.UserContext(), web.User(c), p.ID, in)
	}
	if editErr != nil {
		f, err := s.formFailed(c, editErr, map[string]string{"title": in.Title, "tags": c.FormValue("tags"), "body": in.Body})
		if err != nil {
			return err
		}
		d, err := s.postEditData(c, p)
		if err != nil {
			return err
		}
		d.Form = f
		return s.render(c, web.Status(editErr), "post_edit", "post.edit_title", d)
	}
	back, err := s.postBack(c, p)
	if err != nil {
		return err
	}
	s.flash(c, "flash.post_saved")
	return c.Redirect(back+"#post-"+p.ID.Hex(), fiber.StatusSeeOther)
}

func (s *Server) postDelete(c *fiber.Ctx) error {
	p, err := s.ownPost(c)
	if err != nil {
		return err
	}
	if _, err := s.deps.Community.DeletePost(c.UserContext(), web.User(c), p.ID); err != nil {
		return err
	}
	s.flash(c, "flash.post_deleted")
	if p.Opening {
		return c.Redirect("/forums", fiber.StatusSeeOther)
	}
	back, err := s.postBack(c, p)
	if err != nil {
		return err
	}
	return c.Redirect(back, fiber.StatusSeeOther)
}

func (s *Server) postLike(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return community.ErrPostNotFound
	}
	p, err := s.deps.Community.Like(c.UserContext(), web.User(c), id, c.FormValue("like") != "0")
	if err != nil {
		return err
	}
	back, err := s.postBack(c, p)
	if err != nil {
		return err
	}
	return c.Redirect(back+"#post-"+p.ID.Hex(), fiber.StatusSeeOther)
}

type postHistoryData struct {
	Post     *community.Post
	Author   *customers.Customer
	Back     string
	Versions []postVersion // newest first
}

type postVersion struct {
	Number int
	community.Revision
}

// postHistory shows a post's earlier versions to whoever may see the post, as forums do:
// an edit cannot quietly change what was said.
func (s *Server) postHistory(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return community.ErrPostNotFound
	}
	p, err := s.deps.Community.PostWithHistory(c.UserContext(), id)
	if err != nil {
		return err
	}
	if !web.Visible(web.User(c), p.Status, p.AuthorID) {
		return community.ErrPostNotFound
	}
	back, err := s.postBack(c, p)
	if err != nil {
		return err
	}
	author, err := s.deps.Customers.Get(c.UserContext(), p.AuthorID)
	if err != nil {
		author = orNobody(nil)
	}
	d := postHistoryData{Post: p, Author: author, Back: back + "#post-" + p.ID.Hex()}
	moderator := web.User(c) != nil && web.User(c).HasRole(customers.RoleModerator)
	for i := len(p.History) - 1; i >= 0; i-- {
		if p.History[i].Redacted && !moderator {
			continue // text a moderator took out stays out of public view
		}
		d.Versions = append(d.Versions, postVersion{Number: i + 1, Revision: p.History[i]})
	}
	return s.render(c, fiber.StatusOK, "post_history", "post.history_title", d)
}

// redirectCanonical sends a page asked for under another slug (an old title, a made-up one)
// to its own address, keeping the query: one address per page, for readers and search engines.
func redirectCanonical(c *fiber.Ctx, canonical string) error {
	if q := string(c.Request().URI().QueryString()); q != "" {
		canonical += "?" + q
	}
	return c.Redirect(canonical, fiber.StatusMovedPermanently)
}
