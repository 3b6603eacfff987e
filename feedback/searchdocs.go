package feedback

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/store"
)

// CommentSource is survey answers with a comment, for the sinks of the search sync
// (insights): private, never in the search index — a comment is for the product team.
func (s *Service) CommentSource() search.Source { return commentSource{s} }

type commentSource struct{ s *Service }

func (commentSource) Name() string { return "survey comments" }

// withComment chooses the answers with a comment, through the comment's index: every one,
// those written before comments were sent to insights too (they carry no search_dirty).
var withComment = bson.M{"comment": bson.M{"$gt": ""}}

func (c commentSource) Dirty(ctx context.Context, limit int) ([]search.Pending, error) {
	return c.find(ctx, bson.M{"search_dirty": true}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

func (c commentSource) MarkIndexed(ctx context.Context, done []search.Pending) error {
	return search.MarkIndexed(ctx, c.s.responses, "feedback-", done)
}

func (c commentSource) Count(ctx context.Context) (int, error) {
	n, err := c.s.responses.CountDocuments(ctx, withComment)
	return int(n), err
}

func (c commentSource) All(ctx context.Context, batch int, fn func([]search.Pending) error) error {
	return search.InBatches(ctx, batch, withComment, c.find, fn)
}

func (c commentSource) find(ctx context.Context, filter bson.M, opts *options.FindOptionsBuilder) ([]search.Pending, error) {
	list, err := store.FindAll[Response](ctx, c.s.responses, filter, opts)
	if err != nil {
		return nil, err
	}
	out := make([]search.Pending, 0, len(list))
	for _, r := range list {
		out = append(out, search.Pending{Indexed: true, Version: r.Version, Doc: search.Document{
			ID: "feedback-" + r.ID.Hex(), Kind: "feedback", Body: r.Comment, URL: "/staff/customers/" + r.CustomerID.Hex(),
			Product: r.Product, Status: "published", Visibility: "staff", CreatedAt: r.At.Unix(), Private: true, Source: "surveys",
			AuthorID: r.CustomerID.Hex(), Answer: r.Score, Survey: string(r.Kind), Touchpoint: r.Touchpoint,
		}})
	}
	return out, nil
}
