package handlers

import (
	"slices"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/reviews"
)

// forYou is a signed-in member's part of the home page, chosen from their own history and
// saying why: products they bought but have not reviewed, what happened to their threads
// and ideas since they last looked, questions waiting in the forums they take part in,
// and ideas about the products they bought.
type forYou struct {
	ToReview   []boughtProduct
	Unread     []*community.Notification
	Unanswered []forumThread
	Active     []forumThread // lively threads in their forums, not theirs
	Ideas      []productIdea
}

type boughtProduct struct {
	Product  *reviews.Product
	Purchase customers.Purchase
}

type forumThread struct {
	Thread   *community.Thread
	Category *community.Category
	Accepted bool // an answer of theirs was accepted in this forum
}

type productIdea struct {
	Idea    *community.Idea
	Product *reviews.Product
}

// Empty reports whether there is nothing to show.
func (f *forYou) Empty() bool {
	return f == nil || len(f.ToReview)+len(f.Unread)+len(f.Unanswered)+len(f.Active)+len(f.Ideas) == 0
}

func (s *Server) forYou(c *fiber.Ctx, u *customers.Customer) (*forYou, error) {
	ctx := c.UserContext()
	f := &forYou{}
	// Bought, newest first, each product once, and not reviewed yet.
	var bought []bson.ObjectID
	purchases := map[bson.ObjectID]customers.Purchase{}
	for i := len(u.Purchases) - 1; i >= 0; i-- {
		p := u.Purchases[i]
		if _, seen := purchases[p.ProductID]; seen || p.ProductID.IsZero() {
			continue
		}
		purchases[p.ProductID] = p
		bought = append(bought, p.ProductID)
	}
	products, err := s.deps.Reviews.ProductsByID(ctx, bought)
	if err != nil {
		return nil, err
	}
	for _, id := range bought {
		if p := products[id]; p != nil && !slices.Contains(u.ReviewedProducts, id) && len(f.ToReview) < 3 {
			f.ToReview = append(f.ToReview, boughtProduct{Product: p, Purchase: purchases[id]})
		}
	}
	notes, _, err := s.deps.Community.Notifications(ctx, u.ID, "", 10)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		if !n.Read && len(f.Unread) < 3 {
			f.Unread = append(f.Unread, n)
		}
	}
	engaged, err := s.deps.Community.EngagedCategories(ctx, u.ID, 3)
	if err != nil {
		return nil, err
	}
	all, err := s.deps.Community.Categories(ctx) // kept in memory: no query per category
	if err != nil {
		return nil, err
	}
	shown := map[bson.ObjectID]bool{}
	for i, e := range engaged {
		at := slices.IndexFunc(all, func(c *community.Category) bool { return c.ID == e.CategoryID })
		if at < 0 {
			continue
		}
		cat := all[at]
		sorts := []string{community.SortUnanswered}
		if i < 2 {
			sorts = append(sorts, community.SortLatest) // the liveliest of their first forums too
		}
		for _, sort := range sorts {
			page, err := s.deps.Community.Threads(ctx, community.ThreadQuery{CategoryID: e.CategoryID, Sort: sort, Limit: 3})
			if err != nil {
				return nil, err
			}
			for _, t := range page.Threads {
				if t.AuthorID == u.ID || shown[t.ID] {
					continue
				}
				list := &f.Unanswered
				if sort == community.SortLatest {
					list = &f.Active
				}
				if len(*list) < 3 {
					shown[t.ID] = true
					*list = append(*list, forumThread{Thread: t, Category: cat, Accepted: e.Accepted})
				}
			}
		}
	}
	for _, id := range bought[:min(len(bought), 2)] {
		page, err := s.deps.Community.Ideas(ctx, community.IdeaQuery{ProductID: id, Sort: community.IdeasTop, Limit: 2})
		if err != nil {
			return nil, err
		}
		for _, i := range page.Ideas {
			if i.AuthorID != u.ID && len(f.Ideas) < 3 {
				f.Ideas = append(f.Ideas, productIdea{Idea: i, Product: products[id]})
			}
		}
	}
	return f, nil
}
