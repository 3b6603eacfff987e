package apiv1

import (
	"errors"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
)

func (a *API) apiCategories(c *fiber.Ctx) error {
	list, err := a.Community.Categories(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(categoriesJSON{Categories: list})
}

// GET /api/v1/threads?category=&tag=&sort=&after=
func (a *API) apiThreads(c *fiber.Ctx) error {
	q := community.ThreadQuery{Sort: web.ThreadSort(c.Query("sort")), Tag: c.Query("tag"), After: c.Query("after"), Limit: c.QueryInt("limit")}
	if slug := c.Query("category"); slug != "" {
		cat, err := a.Community.Category(c.UserContext(), slug)
		if err != nil {
			return err
		}
		q.CategoryID = cat.ID
	}
	page, err := a.Community.Threads(c.UserContext(), q)
	if err != nil {
		return err
	}
	return c.JSON(page)
}

func (a *API) apiThreadCreate(c *fiber.Ctx) error {
	var in community.ThreadInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	in.Lang = a.contentLanguage(c, in.Lang)
	t, err := a.Community.CreateThread(c.UserContext(), web.User(c), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(t)
}

// GET /api/v1/threads/{id}: the thread, its opening post and a page of replies (?after=).
func (a *API) apiThread(c *fiber.Ctx) error {
	t, err := web.ThreadFromPath(c, a.Community, "id")
	if err != nil {
		return err
	}
	viewer := bson.ObjectID{}
	if u := web.User(c); u != nil {
		viewer = u.ID
	}
	after := c.Query("after")
	posts, next, err := a.Community.Posts(c.UserContext(), community.PostQuery{Parent: t.ID, Viewer: viewer, After: after})
	if err != nil {
		return err
	}
	out := threadJSON{Thread: t, Posts: posts, Next: next}
	if after == "" { // the first page carries the question, when it is there
		if out.Opening, err = a.Community.Post(c.UserContext(), t.OpeningPostID); err != nil && !errors.Is(err, community.ErrPostNotFound) {
			return err
		}
	}
	return c.JSON(out)
}

func (a *API) apiThreadReply(c *fiber.Ctx) error {
	t, err := web.ThreadFromPath(c, a.Community, "id")
	if err != nil {
		return err
	}
	var in community.PostInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	in.Lang = a.contentLanguage(c, in.Lang)
	p, err := a.Community.ReplyToThread(c.UserContext(), web.User(c), t, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

func (a *API) apiThreadAccept(c *fiber.Ctx) error {
	t, err := web.ThreadFromPath(c, a.Community, "id")
	if err != nil {
		return err
	}
	var in acceptInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	var post bson.ObjectID
	if in.Post != "" {
		if post, err = bson.ObjectIDFromHex(in.Post); err != nil {
			return community.ErrPostNotFound
		}
	}
	out, err := a.Community.Accept(c.UserContext(), web.User(c), t.ID, post)
	if err != nil {
		return err
	}
	return c.JSON(out)
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

func (a *API) apiPostLike(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", community.ErrPostNotFound)
	if err != nil {
		return err
	}
	like, err := toggle(c, "like")
	if err != nil {
		return err
	}
	p, err := a.Community.Like(c.UserContext(), web.User(c), id, like)
	if err != nil {
		return err
	}
	return c.JSON(likeJSON{Likes: p.Likes, Liked: like})
}

// GET /api/v1/ideas?sort=&status=&product=&after=
func (a *API) apiIdeas(c *fiber.Ctx) error {
	q, err := web.IdeaQuery(c, a.Reviews)
	if err != nil {
		return err
	}
	q.Limit = c.QueryInt("limit")
	page, err := a.Community.Ideas(c.UserContext(), q)
	if err != nil {
		return err
	}
	return c.JSON(page)
}

func (a *API) apiIdea(c *fiber.Ctx) error {
	i, err := web.IdeaFromPath(c, a.Community, "id")
	if err != nil {
		return err
	}
	return c.JSON(i)
}

func (a *API) apiIdeaCreate(c *fiber.Ctx) error {
	var in ideaInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	in.Lang = a.contentLanguage(c, in.Lang)
	if in.Product != "" {
		p, err := a.Reviews.Product(c.UserContext(), in.Product)
		if err != nil {
			return errs.Field("product", "product.not_found")
		}
		in.ProductID = p.ID
	}
	i, err := a.Community.CreateIdea(c.UserContext(), web.User(c), in.IdeaInput)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(i)
}

func (a *API) apiIdeaVote(c *fiber.Ctx) error {
	i, err := web.IdeaFromPath(c, a.Community, "id")
	if err != nil {
		return err
	}
	vote, err := toggle(c, "vote")
	if err != nil {
		return err
	}
	out, err := a.Community.VoteOn(c.UserContext(), web.User(c), i, vote)
	if err != nil {
		return err
	}
	return c.JSON(voteJSON{VoteCount: out.VoteCount, Voted: vote})
}

// PATCH /api/v1/ideas/{id} {"status": "planned", "response": "…"}
func (a *API) apiIdeaState(c *fiber.Ctx) error {
	i, err := web.IdeaFromPath(c, a.Community, "id")
	if err != nil {
		return err
	}
	var in community.StatusInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	out, err := web.SetIdeaState(c, a.Community, a.Moderation, i, in)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// POST /api/v1/ideas/{id}/merge {"target": "<id>"}
func (a *API) apiIdeaMerge(c *fiber.Ctx) error {
	i, err := web.IdeaFromPath(c, a.Community, "id")
	if err != nil {
		return err
	}
	var in mergeInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	target, ok := community.ParseSlugID(in.Target)
	if !ok {
		return errs.Field("target", "idea.not_found")
	}
	out, err := web.MergeIdea(c, a.Community, a.Moderation, i, target)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (a *API) apiNotifications(c *fiber.Ctx) error {
	list, next, err := a.Community.Notifications(c.UserContext(), web.User(c).ID, c.Query("before"), c.QueryInt("limit"))
	if err != nil {
		return err
	}
	return c.JSON(notificationsJSON{Notifications: list, Next: next})
}
