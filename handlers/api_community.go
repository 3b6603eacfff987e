package handlers

import (
	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
)

func (s *Server) communityAPIRoutes(api fiber.Router) {
	product := web.RequireRole(customers.RoleProduct)
	api.Get("/categories", s.cached(s.apiCategories))
	api.Get("/threads", s.cached(s.apiThreads))
	api.Post("/threads", web.RequireActive, s.apiThreadCreate)
	api.Get("/threads/:id", s.cached(s.apiThread))
	api.Post("/threads/:id/posts", web.RequireActive, s.apiThreadReply)
	api.Post("/threads/:id/accept", web.RequireActive, s.apiThreadAccept)
	api.Post("/posts/:id/like", web.RequireActive, s.apiPostLike)
	api.Get("/ideas", s.cached(s.apiIdeas))
	api.Post("/ideas", web.RequireActive, s.apiIdeaCreate)
	api.Get("/ideas/:id", s.cached(s.apiIdea))
	api.Post("/ideas/:id/vote", web.RequireActive, s.apiIdeaVote)
	api.Patch("/ideas/:id", product, s.apiIdeaState)
	api.Post("/ideas/:id/merge", product, s.apiIdeaMerge)
	api.Get("/notifications", web.SignedIn, s.apiNotifications)
}

func (s *Server) apiCategories(c *fiber.Ctx) error {
	list, err := s.deps.Community.Categories(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"categories": list})
}

// GET /api/v1/threads?category=&tag=&sort=&after=
func (s *Server) apiThreads(c *fiber.Ctx) error {
	q := community.ThreadQuery{Sort: threadSort(c.Query("sort")), Tag: c.Query("tag"), After: c.Query("after"), Limit: c.QueryInt("limit")}
	if slug := c.Query("category"); slug != "" {
		cat, err := s.deps.Community.Category(c.UserContext(), slug)
		if err != nil {
			return err
		}
		q.CategoryID = cat.ID
	}
	page, err := s.deps.Community.Threads(c.UserContext(), q)
	if err != nil {
		return err
	}
	return c.JSON(page)
}

func (s *Server) apiThreadCreate(c *fiber.Ctx) error {
	var in community.ThreadInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	in.Lang = s.contentLanguage(c, in.Lang)
	t, err := s.deps.Community.CreateThread(c.UserContext(), web.User(c), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(t)
}

// GET /api/v1/threads/{id}: the thread, its opening post and a page of replies (?after=).
func (s *Server) apiThread(c *fiber.Ctx) error {
	t, err := s.threadFromPath(c, "id")
	if err != nil {
		return err
	}
	d, err := s.threadData(c, t)
	if err != nil {
		return err
	}
	posts := make([]*community.Post, len(d.Posts))
	for i, p := range d.Posts {
		posts[i] = p.Post
	}
	out := fiber.Map{"thread": t, "posts": posts, "next": ""}
	if d.Opening != nil {
		out["opening"] = d.Opening.Post
	}
	if d.Next != "" {
		out["next"] = posts[len(posts)-1].ID.Hex()
	}
	return c.JSON(out)
}

func (s *Server) apiThreadReply(c *fiber.Ctx) error {
	t, err := s.threadFromPath(c, "id")
	if err != nil {
		return err
	}
	return s.apiReply(c, content.Ref{Kind: content.KindThread, ID: t.ID})
}

func (s *Server) apiReply(c *fiber.Ctx, to content.Ref) error {
	var in community.PostInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	in.Lang = s.contentLanguage(c, in.Lang)
	p, err := s.deps.Community.Reply(c.UserContext(), web.User(c), to, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

func (s *Server) apiThreadAccept(c *fiber.Ctx) error {
	t, err := s.threadFromPath(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Post string `json:"post_id"`
	}
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	var post bson.ObjectID
	if in.Post != "" {
		if post, err = bson.ObjectIDFromHex(in.Post); err != nil {
			return community.ErrPostNotFound
		}
	}
	out, err := s.deps.Community.Accept(c.UserContext(), web.User(c), t.ID, post)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// contentLanguage is the language an API client says its text is in, if the portal has it;
// otherwise the request's language.
func (s *Server) contentLanguage(c *fiber.Ctx, claimed string) string {
	if s.catalog.Supports(claimed) {
		return claimed
	}
	return s.language(c)
}

// toggle reads {"like": bool} or {"vote": bool}; no body means true, so a plain POST likes.
func toggle(c *fiber.Ctx, field string) (bool, error) {
	if len(c.Body()) == 0 {
		return true, nil
	}
	in := map[string]*bool{}
	if err := web.ParseJSON(c, &in); err != nil {
		return false, err
	}
	if v := in[field]; v != nil {
		return *v, nil
	}
	return true, nil
}

func (s *Server) apiPostLike(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return community.ErrPostNotFound
	}
	like, err := toggle(c, "like")
	if err != nil {
		return err
	}
	p, err := s.deps.Community.Like(c.UserContext(), web.User(c), id, like)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"likes": p.Likes, "liked": like})
}

// GET /api/v1/ideas?sort=&status=&product=&after=
func (s *Server) apiIdeas(c *fiber.Ctx) error {
	q, err := s.ideaQuery(c)
	if err != nil {
		return err
	}
	q.Limit = c.QueryInt("limit")
	page, err := s.deps.Community.Ideas(c.UserContext(), q)
	if err != nil {
		return err
	}
	return c.JSON(page)
}

func (s *Server) apiIdea(c *fiber.Ctx) error {
	i, err := s.ideaFromPath(c, "id")
	if err != nil {
		return err
	}
	return c.JSON(i)
}

func (s *Server) apiIdeaCreate(c *fiber.Ctx) error {
	var in struct {
		community.IdeaInput
		Product string `json:"product"`
	}
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	in.Lang = s.contentLanguage(c, in.Lang)
	if in.Product != "" {
		p, err := s.deps.Reviews.Product(c.UserContext(), in.Product)
		if err != nil {
			return errs.Field("product", "product.not_found")
		}
		in.ProductID = p.ID
	}
	i, err := s.deps.Community.CreateIdea(c.UserContext(), web.User(c), in.IdeaInput)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(i)
}

func (s *Server) apiIdeaVote(c *fiber.Ctx) error {
	i, err := s.ideaFromPath(c, "id")
	if err != nil {
		return err
	}
	vote, err := toggle(c, "vote")
	if err != nil {
		return err
	}
	out, err := s.deps.Community.Vote(c.UserContext(), web.User(c), i.ID, vote)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"vote_count": out.VoteCount, "voted": vote})
}

// PATCH /api/v1/ideas/{id} {"status": "planned", "response": "…"}
func (s *Server) apiIdeaState(c *fiber.Ctx) error {
	i, err := s.ideaFromPath(c, "id")
	if err != nil {
		return err
	}
	var in community.StatusInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	out, err := s.setIdeaState(c, i, in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// POST /api/v1/ideas/{id}/merge {"target": "<id>"}
func (s *Server) apiIdeaMerge(c *fiber.Ctx) error {
	i, err := s.ideaFromPath(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Target string `json:"target"`
	}
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	target, ok := community.ParseSlugID(in.Target)
	if !ok {
		return errs.Field("target", "idea.not_found")
	}
	out, err := s.mergeIdea(c, i, target)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *Server) apiNotifications(c *fiber.Ctx) error {
	list, next, err := s.deps.Community.Notifications(c.UserContext(), web.User(c).ID, c.Query("before"), c.QueryInt("limit"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"notifications": list, "next": next})
}
