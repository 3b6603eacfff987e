package reviews

import (
	"context"
	"fmt"
	"math"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/markdown"
	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/store"
)

// ReviewSource is the reviews' side of the search sync.
func (s *Service) ReviewSource() search.Source { return reviewSource{s} }

// TestimonialSource is the testimonials' side of the search sync.
func (s *Service) TestimonialSource() search.Source { return testimonialSource{s} }

// ProductSource is the products' side of the search sync: searching a product's name
// finds the product itself, not only its reviews.
func (s *Service) ProductSource() search.Source { return productSource{s} }

type productSource struct{ s *Service }

func (productSource) Name() string { return "products" }

func (p productSource) Dirty(ctx context.Context, limit int) ([]search.Pending, error) {
	return p.find(ctx, bson.M{"search_dirty": true}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

func (p productSource) MarkIndexed(ctx context.Context, done []search.Pending) error {
	return search.MarkIndexed(ctx, p.s.products, "product-", done)
}

// allProducts chooses every product through an index (search_dirty is false or true).
var allProducts = bson.M{"search_dirty": bson.M{"$in": bson.A{true, false}}}

func (p productSource) Count(ctx context.Context) (int, error) {
	n, err := p.s.products.CountDocuments(ctx, allProducts)
	return int(n), err
}

func (p productSource) All(ctx context.Context, batch int, fn func([]search.Pending) error) error {
	return search.InBatches(ctx, batch, allProducts, p.find, fn)
}

func (p productSource) find(ctx context.Context, filter bson.M, opts *options.FindOptionsBuilder) ([]search.Pending, error) {
	list, err := store.FindAll[Product](ctx, p.s.products, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("products to index: %w", err)
	}
	out := make([]search.Pending, 0, len(list))
	for _, pr := range list {
		// Both languages' words find it; the title is the name given first.
		body := strings.TrimSpace(strings.Join([]string{pr.NameID, pr.Description, pr.DescriptionID}, "\n"))
		doc := search.Document{ID: "product-" + pr.ID.Hex(), Kind: "product", Title: pr.Name, Body: body,
			URL: "/products/" + pr.Slug, Product: pr.Slug, Category: pr.Category, Status: "published", Visibility: "public",
			CreatedAt: pr.CreatedAt.Unix()}
		if pr.Rating.Count > 0 {
			doc.Rating = int(math.Round(pr.Rating.Average()))
		}
		out = append(out, search.Pending{Doc: doc, Indexed: !pr.Archived, Version: pr.Version})
	}
	return out, nil
}

// indexed are the review statuses kept in the index: the public sees published, staff may
// also find pending ones; hidden and deleted reviews leave it.
var indexed = bson.M{"$in": bson.A{StatusPublished, StatusPending}}

type reviewSource struct{ s *Service }

func (reviewSource) Name() string { return "reviews" }

func (r reviewSource) Dirty(ctx context.Context, limit int) ([]search.Pending, error) {
	return r.find(ctx, bson.M{"search_dirty": true}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

func (r reviewSource) MarkIndexed(ctx context.Context, done []search.Pending) error {
	return search.MarkIndexed(ctx, r.s.reviews, "review-", done)
}

func (r reviewSource) Count(ctx context.Context) (int, error) {
	n, err := r.s.reviews.CountDocuments(ctx, bson.M{"status": indexed})
	return int(n), err
}

func (r reviewSource) All(ctx context.Context, batch int, fn func([]search.Pending) error) error {
	return search.InBatches(ctx, batch, bson.M{"status": indexed}, r.find, fn)
}

func (r reviewSource) find(ctx context.Context, filter bson.M, opts *options.FindOptionsBuilder) ([]search.Pending, error) {
	cur, err := r.s.reviews.Find(ctx, filter, opts.SetProjection(bson.M{"history": 0, "body_md": 0}))
	if err != nil {
		return nil, fmt.Errorf("reviews to index: %w", err)
	}
	list := []*Review{}
	if err := cur.All(ctx, &list); err != nil {
		return nil, fmt.Errorf("reviews to index: %w", err)
	}
	productIDs := make([]bson.ObjectID, len(list))
	authorIDs := make([]bson.ObjectID, len(list))
	for i, rv := range list {
		productIDs[i], authorIDs[i] = rv.ProductID, rv.AuthorID
	}
	products, err := r.s.ProductsByID(ctx, productIDs)
	if err != nil {
		return nil, err
	}
	authors, err := r.s.customers.GetManyFields(ctx, authorIDs, "display_name")
	if err != nil {
		return nil, err
	}
	out := make([]search.Pending, 0, len(list))
	for _, rv := range list {
		p := products[rv.ProductID]
		if p == nil {
			p = &Product{}
		}
		body := strings.TrimSpace(strings.Join([]string{markdown.PlainText(rv.BodyHTML), rv.Pros, rv.Cons}, "\n"))
		title := rv.Title
		if title == "" {
			title = p.Name
		}
		out = append(out, search.Pending{
			Indexed: rv.Status == StatusPublished || rv.Status == StatusPending,
			Version: rv.Version,
			Doc: search.Document{
				ID: "review-" + rv.ID.Hex(), Kind: "review", Title: title,
				Body: body,
				URL:  "/products/" + p.Slug + "#review-" + rv.ID.Hex(), Product: p.Slug, Category: p.Category,
				Rating: rv.Rating, Status: string(rv.Status), Visibility: "public", Author: authorName(authors, rv.AuthorID),
				Lang: rv.Lang, CreatedAt: rv.CreatedAt.Unix(),
				Source: "reviews", AuthorID: rv.AuthorID.Hex(), OwnText: strings.TrimSpace(rv.Title + "\n" + body),
			},
		})
	}
	return out, nil
}

type testimonialSource struct{ s *Service }

func (testimonialSource) Name() string { return "testimonials" }

func (t testimonialSource) Dirty(ctx context.Context, limit int) ([]search.Pending, error) {
	return t.find(ctx, bson.M{"search_dirty": true}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

func (t testimonialSource) MarkIndexed(ctx context.Context, done []search.Pending) error {
	return search.MarkIndexed(ctx, t.s.testimonials, "testimonial-", done)
}

func (t testimonialSource) Count(ctx context.Context) (int, error) {
	n, err := t.s.testimonials.CountDocuments(ctx, bson.M{"rank": bson.M{"$gte": 1}})
	return int(n), err
}

func (t testimonialSource) All(ctx context.Context, batch int, fn func([]search.Pending) error) error {
	return search.InBatches(ctx, batch, bson.M{"rank": bson.M{"$gte": 1}}, t.find, fn)
}

func (t testimonialSource) find(ctx context.Context, filter bson.M, opts *options.FindOptionsBuilder) ([]search.Pending, error) {
	list, err := t.s.testimonialList(ctx, filter, opts)
	if err != nil {
		return nil, err
	}
	products, err := t.s.TestimonialProducts(ctx, list)
	if err != nil {
		return nil, err
	}
	authorIDs := make([]bson.ObjectID, len(list))
	for i, tm := range list {
		authorIDs[i] = tm.AuthorID
	}
	authors, err := t.s.customers.GetManyFields(ctx, authorIDs, "display_name")
	if err != nil {
		return nil, err
	}
	out := make([]search.Pending, 0, len(list))
	for _, tm := range list {
		doc := search.Document{ID: "testimonial-" + tm.ID.Hex(), Kind: "testimonial", Title: authorName(authors, tm.AuthorID),
			Body: tm.Quote, URL: "/testimonials", Status: "published", Visibility: "public",
			Author: authorName(authors, tm.AuthorID), CreatedAt: tm.CreatedAt.Unix(), Source: "testimonials", AuthorID: tm.AuthorID.Hex(), OwnText: tm.Quote,
			Duplicate: tm.FromReviewID != nil}
		if tm.ProductID != nil {
			if p := products[*tm.ProductID]; p != nil {
				doc.Product, doc.Category = p.Slug, p.Category
				doc.URL = "/testimonials?product=" + p.Slug
			}
		}
		out = append(out, search.Pending{Doc: doc, Indexed: tm.Rank >= 1, Version: tm.Version})
	}
	return out, nil
}

func authorName(authors map[bson.ObjectID]*customers.Customer, id bson.ObjectID) string {
	if a := authors[id]; a != nil {
		return a.DisplayName
	}
	return ""
}
