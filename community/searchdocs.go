package community

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/markdown"
	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/store"
)

// ThreadSource, PostSource and IdeaSource are the community's side of the search sync.
func (s *Service) ThreadSource() search.Source { return threadSource{s} }

// PostSource indexes replies and idea comments (a thread's opening post is its thread's body).
func (s *Service) PostSource() search.Source { return postSource{s} }

// IdeaSource indexes ideas.
func (s *Service) IdeaSource() search.Source { return ideaSource{s} }

// indexed are the statuses kept in the index: the public sees published, staff may also
// find pending; hidden and deleted content leaves it.
func indexed(st Status) bool { return st == content.StatusPublished || st == content.StatusPending }

var indexedFilter = bson.M{"$in": bson.A{content.StatusPublished, content.StatusPending}}

func dirtyFirst(limit int) *options.FindOptionsBuilder {
	return options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit))
}

func (s *Service) authorNames(ctx context.Context, ids []bson.ObjectID) (map[bson.ObjectID]*customers.Customer, error) {
	return s.customers.GetManyFields(ctx, ids, "display_name") // not the whole records, 7 KB each
}

func name(m map[bson.ObjectID]*customers.Customer, id bson.ObjectID) string {
	if c := m[id]; c != nil {
		return c.DisplayName
	}
	return ""
}

type threadSource struct{ s *Service }

func (threadSource) Name() string { return "threads" }
func (t threadSource) Dirty(ctx context.Context, limit int) ([]search.Pending, error) {
	return t.find(ctx, bson.M{"search_dirty": true}, dirtyFirst(limit))
}
func (t threadSource) MarkIndexed(ctx context.Context, done []search.Pending) error {
	return search.MarkIndexed(ctx, t.s.threads, "thread-", done)
}
func (t threadSource) Count(ctx context.Context) (int, error) {
	n, err := t.s.threads.CountDocuments(ctx, bson.M{"status": indexedFilter})
	return int(n), err
}
func (t threadSource) All(ctx context.Context, batch int, fn func([]search.Pending) error) error {
	return search.InBatches(ctx, batch, bson.M{"status": indexedFilter}, t.find, fn)
}

func (t threadSource) find(ctx context.Context, filter bson.M, opts *options.FindOptionsBuilder) ([]search.Pending, error) {
	list, err := t.s.findThreads(ctx, filter, opts)
	if err != nil {
		return nil, err
	}
	ids, authorIDs := make([]bson.ObjectID, len(list)), make([]bson.ObjectID, len(list))
	for i, th := range list {
		ids[i], authorIDs[i] = th.OpeningPostID, th.AuthorID
	}
	openings, err := t.s.PostsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	authors, err := t.s.authorNames(ctx, authorIDs)
	if err != nil {
		return nil, err
	}
	cats, err := t.s.categoriesByID(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]search.Pending, 0, len(list))
	for _, th := range list {
		doc := search.Document{ID: "thread-" + th.ID.Hex(), Kind: "thread", Title: th.Title, URL: th.URL(), Tags: th.Tags,
			Status: string(th.Status), Visibility: "public", Author: name(authors, th.AuthorID), Lang: th.Lang, CreatedAt: th.CreatedAt.Unix(),
			Source: "forums", AuthorID: th.AuthorID.Hex()}
		if op := openings[th.OpeningPostID]; op != nil {
			doc.Body = markdown.PlainText(op.BodyHTML)
		}
		if c := cats[th.CategoryID]; c != nil {
			doc.Forum = c.Slug
		}
		out = append(out, search.Pending{Doc: doc, Indexed: indexed(th.Status), Version: th.Version})
	}
	return out, nil
}

type postSource struct{ s *Service }

func (postSource) Name() string { return "posts" }
func (p postSource) Dirty(ctx context.Context, limit int) ([]search.Pending, error) {
	return p.find(ctx, bson.M{"search_dirty": true}, dirtyFirst(limit))
}
func (p postSource) MarkIndexed(ctx context.Context, done []search.Pending) error {
	return search.MarkIndexed(ctx, p.s.posts, "post-", done)
}
func (p postSource) Count(ctx context.Context) (int, error) {
	n, err := p.s.posts.CountDocuments(ctx, bson.M{"opening": false, "status": indexedFilter})
	return int(n), err
}
func (p postSource) All(ctx context.Context, batch int, fn func([]search.Pending) error) error {
	return search.InBatches(ctx, batch, bson.M{"opening": false, "status": indexedFilter}, p.find, fn)
}

// find maps replies to documents; a reply is indexed only while its thread or idea is
// public too, under the parent's title.
func (p postSource) find(ctx context.Context, filter bson.M, opts *options.FindOptionsBuilder) ([]search.Pending, error) {
	list, err := store.FindAll[Post](ctx, p.s.posts, filter, opts.SetProjection(bson.M{"history": 0, "body_md": 0}))
	if err != nil {
		return nil, err
	}
	var threadIDs, ideaIDs, authorIDs []bson.ObjectID
	for _, post := range list {
		authorIDs = append(authorIDs, post.AuthorID)
		if post.ParentKind == content.KindIdea {
			ideaIDs = append(ideaIDs, post.ParentID)
		} else {
			threadIDs = append(threadIDs, post.ParentID)
		}
	}
	threads := map[bson.ObjectID]*Thread{}
	if len(threadIDs) > 0 {
		tl, err := p.s.findThreads(ctx, bson.M{"_id": bson.M{"$in": threadIDs}}, options.Find())
		if err != nil {
			return nil, err
		}
		for _, t := range tl {
			threads[t.ID] = t
		}
	}
	ideas, err := p.s.IdeasByID(ctx, ideaIDs)
	if err != nil {
		return nil, err
	}
	authors, err := p.s.authorNames(ctx, authorIDs)
	if err != nil {
		return nil, err
	}
	cats, err := p.s.categoriesByID(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]search.Pending, 0, len(list))
	for _, post := range list {
		doc := search.Document{ID: "post-" + post.ID.Hex(), Kind: "post", Body: markdown.PlainText(post.BodyHTML), Status: string(post.Status),
			Visibility: "public", Author: name(authors, post.AuthorID), Lang: post.Lang, CreatedAt: post.CreatedAt.Unix(),
			AuthorID: post.AuthorID.Hex()}
		doc.OwnText = doc.Body // the title is its thread's
		keep := indexed(post.Status) && !post.Opening
		if t := threads[post.ParentID]; t != nil {
			doc.Title, doc.URL, doc.Tags, doc.Source = t.Title, t.URL()+"#post-"+post.ID.Hex(), t.Tags, "forums"
			if c := cats[t.CategoryID]; c != nil {
				doc.Forum = c.Slug
			}
			keep = keep && t.Status == content.StatusPublished
		} else if i := ideas[post.ParentID]; i != nil {
			doc.Title, doc.URL, doc.Source = i.Title, i.URL()+"#post-"+post.ID.Hex(), "ideas"
			keep = keep && i.Status == content.StatusPublished
		} else {
			keep = false
		}
		out = append(out, search.Pending{Doc: doc, Indexed: keep, Version: post.Version})
	}
	return out, nil
}

type ideaSource struct{ s *Service }

func (ideaSource) Name() string { return "ideas" }
func (i ideaSource) Dirty(ctx context.Context, limit int) ([]search.Pending, error) {
	return i.find(ctx, bson.M{"search_dirty": true}, dirtyFirst(limit))
}
func (i ideaSource) MarkIndexed(ctx context.Context, done []search.Pending) error {
	return search.MarkIndexed(ctx, i.s.ideas, "idea-", done)
}
func (i ideaSource) Count(ctx context.Context) (int, error) {
	n, err := i.s.ideas.CountDocuments(ctx, bson.M{"status": indexedFilter, "merged_into": bson.M{"$exists": false}})
	return int(n), err
}
func (i ideaSource) All(ctx context.Context, batch int, fn func([]search.Pending) error) error {
	return search.InBatches(ctx, batch, bson.M{"status": indexedFilter, "merged_into": bson.M{"$exists": false}}, i.find, fn)
}

func (i ideaSource) find(ctx context.Context, filter bson.M, opts *options.FindOptionsBuilder) ([]search.Pending, error) {
	list, err := i.s.findIdeas(ctx, filter, opts)
	if err != nil {
		return nil, err
	}
	var authorIDs, productIDs []bson.ObjectID
	for _, idea := range list {
		authorIDs = append(authorIDs, idea.AuthorID)
		if idea.ProductID != nil {
			productIDs = append(productIDs, *idea.ProductID)
		}
	}
	authors, err := i.s.authorNames(ctx, authorIDs)
	if err != nil {
		return nil, err
	}
	slugs := map[bson.ObjectID]string{}
	if i.s.products != nil && len(productIDs) > 0 {
		if slugs, err = i.s.products.Slugs(ctx, productIDs); err != nil {
			return nil, err
		}
	}
	out := make([]search.Pending, 0, len(list))
	for _, idea := range list {
		doc := search.Document{ID: "idea-" + idea.ID.Hex(), Kind: "idea", Title: idea.Title, Body: markdown.PlainText(idea.BodyHTML), URL: idea.URL(),
			Product: slugs[idea.productID()], Status: string(idea.Status), Visibility: "public",
			Author: name(authors, idea.AuthorID), Lang: idea.Lang, CreatedAt: idea.CreatedAt.Unix(), Source: "ideas", AuthorID: idea.AuthorID.Hex(),
			State: string(idea.State)}
		out = append(out, search.Pending{Doc: doc, Indexed: indexed(idea.Status) && idea.MergedInto == nil, Version: idea.Version})
	}
	return out, nil
}
