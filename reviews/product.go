package reviews

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// Product is something customers review.
type Product struct {
	ID          bson.ObjectID `bson:"_id" json:"id"`
	Slug        string        `bson:"slug" json:"slug"`
	Name        string        `bson:"name" json:"name"`
	Description string        `bson:"description" json:"description"`
	// NameID and DescriptionID are the name and description in Bahasa Indonesia, where
	// staff give them: an Indonesian reader sees them instead.
	NameID        string        `bson:"name_id,omitempty" json:"name_id,omitempty"`
	DescriptionID string        `bson:"description_id,omitempty" json:"description_id,omitempty"`
	ImageURL      string        `bson:"image_url,omitempty" json:"image_url,omitempty"`
	Category      string        `bson:"category,omitempty" json:"category,omitempty"`
	Rating        RatingSummary `bson:"rating" json:"rating"`
	// Archived: no longer sold. Its page and reviews stay; it leaves the catalogue, search
	// and sitemap, and takes no new reviews.
	Archived    bool      `bson:"archived,omitempty" json:"archived"`
	CreatedAt   time.Time `bson:"created_at" json:"created_at"`
	UpdatedAt   time.Time `bson:"updated_at" json:"updated_at"`
	Version     int       `bson:"version" json:"-"`
	SearchDirty bool      `bson:"search_dirty" json:"-"` // the index has not caught up (ProductSource)
}

// NameIn is the product's name in a language: its Indonesian name for "id" when given.
func (p *Product) NameIn(lang string) string { return content.InLanguage(lang, p.Name, p.NameID) }

// DescriptionIn is the product's description in a language, as NameIn.
func (p *Product) DescriptionIn(lang string) string {
	return content.InLanguage(lang, p.Description, p.DescriptionID)
}

// RatingSummary is kept on the product as reviews are published and withdrawn; repair
// recomputes it from the reviews.
type RatingSummary struct {
	Count int    `bson:"count" json:"count"`
	Sum   int    `bson:"sum" json:"sum"`
	Hist  [5]int `bson:"hist" json:"histogram"` // Hist[0] counts 1-star reviews
}

// Average is the mean rating, 0 without reviews.
func (r RatingSummary) Average() float64 {
	if r.Count == 0 {
		return 0
	}
	return float64(r.Sum) / float64(r.Count)
}

// AverageText is the mean with one decimal, as pages show it.
func (r RatingSummary) AverageText() string {
	return fmt.Sprintf("%.1f", math.Round(r.Average()*10)/10)
}

// Bar is one row of the histogram: stars, count and share of all reviews in percent.
type Bar struct {
	Stars, Count, Percent int
}

// Bars lists the histogram from five stars down.
func (r RatingSummary) Bars() []Bar {
	bars := make([]Bar, 0, 5)
	for stars := 5; stars >= 1; stars-- {
		n := r.Hist[stars-1]
		pct := 0
		if r.Count > 0 {
			pct = int(math.Round(100 * float64(n) / float64(r.Count)))
		}
		bars = append(bars, Bar{Stars: stars, Count: n, Percent: pct})
	}
	return bars
}

// ProductInput is the product form and the API's product.
type ProductInput struct {
	Slug        string `form:"slug" json:"slug"`
	Name        string `form:"name" json:"name"`
	Description string `form:"description" json:"description"`
	ImageURL    string `form:"image_url" json:"image_url"`
	Category    string `form:"category" json:"category"`
	// The name and description in Bahasa Indonesia, optional.
	NameID        string `form:"name_id" json:"name_id"`
	DescriptionID string `form:"description_id" json:"description_id"`
	Archived      bool   `form:"archived" json:"archived"`
}

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Validate checks a product and fills in the slug from the name when none is given.
func (in *ProductInput) Validate() error {
	var f errs.Fields
	in.Name, in.Category = strings.TrimSpace(in.Name), strings.TrimSpace(in.Category)
	in.Description, in.ImageURL = strings.TrimSpace(in.Description), strings.TrimSpace(in.ImageURL)
	in.NameID, in.DescriptionID = strings.TrimSpace(in.NameID), strings.TrimSpace(in.DescriptionID)
	in.Slug = strings.TrimSpace(in.Slug)
	if in.Slug == "" {
		in.Slug = content.Slugify(in.Name)
	}
	switch n := utf8.RuneCountInString(in.Name); {
	case n == 0:
		f.Add("name", "field.required")
	case n > 120:
		f.Add("name", "field.too_long", "Max", 120)
	}
	if in.Name != "" && (!slugPattern.MatchString(in.Slug) || len(in.Slug) > 80) {
		f.Add("slug", "product.slug_format")
	}
	if utf8.RuneCountInString(in.NameID) > 120 {
		f.Add("name_id", "field.too_long", "Max", 120)
	}
	if utf8.RuneCountInString(in.Description) > 5000 {
		f.Add("description", "field.too_long", "Max", 5000)
	}
	if utf8.RuneCountInString(in.DescriptionID) > 5000 {
		f.Add("description_id", "field.too_long", "Max", 5000)
	}
	if utf8.RuneCountInString(in.Category) > 60 {
		f.Add("category", "field.too_long", "Max", 60)
	}
	if in.ImageURL != "" {
		if u, err := url.Parse(in.ImageURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			f.Add("image_url", "field.url")
		}
	}
	return f.Err()
}

var errSlugTaken = errs.Field("slug", "product.slug_taken")

// CreateProduct adds a product; its slug is unique.
func (s *Service) CreateProduct(ctx context.Context, in ProductInput) (*Product, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	now := s.now()
	p := &Product{ID: bson.NewObjectID(), Slug: in.Slug, Name: in.Name, Description: in.Description,
		NameID: in.NameID, DescriptionID: in.DescriptionID, ImageURL: in.ImageURL, Category: in.Category, CreatedAt: now, UpdatedAt: now, Version: 1, SearchDirty: true}
	if _, err := s.products.InsertOne(ctx, p); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			return nil, errSlugTaken
		}
		return nil, fmt.Errorf("create product: %w", err)
	}
	return p, nil
}

// UpdateProduct changes a product's details (not its ratings).
func (s *Service) UpdateProduct(ctx context.Context, slug string, in ProductInput) (*Product, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var p Product
	err := s.products.FindOneAndUpdate(ctx, bson.M{"slug": slug}, bson.M{
		"$set": bson.M{"slug": in.Slug, "name": in.Name, "description": in.Description, "image_url": in.ImageURL,
			"category": in.Category, "name_id": in.NameID, "description_id": in.DescriptionID, "archived": in.Archived,
			"updated_at": s.now(), "search_dirty": true},
		"$inc": bson.M{"version": 1},
	}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&p)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return nil, ErrProductNotFound
	case mongo.IsDuplicateKeyError(err):
		return nil, errSlugTaken
	case err != nil:
		return nil, fmt.Errorf("update product: %w", err)
	}
	// Its reviews carry its slug, name and category in the search index.
	if _, err := s.reviews.UpdateMany(ctx, bson.M{"product_id": p.ID}, bson.M{"$set": bson.M{"search_dirty": true}, "$inc": bson.M{"version": 1}}); err != nil {
		return nil, fmt.Errorf("update product: %w", err)
	}
	return &p, nil
}

// ErrProductNotFound is the answer for an unknown product.
var ErrProductNotFound = errs.New(errs.ErrNotFound, "product.not_found")

// Product returns the product with a slug.
func (s *Service) Product(ctx context.Context, slug string) (*Product, error) {
	return s.findProduct(ctx, bson.M{"slug": slug})
}

// ProductByID returns the product with an ID.
func (s *Service) ProductByID(ctx context.Context, id bson.ObjectID) (*Product, error) {
	return s.findProduct(ctx, bson.M{"_id": id})
}

func (s *Service) findProduct(ctx context.Context, filter bson.M) (*Product, error) {
	return store.FindOne[Product](ctx, s.products, filter, ErrProductNotFound)
}

// ProductsByID loads the products of a page of reviews or testimonials in one query.
func (s *Service) ProductsByID(ctx context.Context, ids []bson.ObjectID) (map[bson.ObjectID]*Product, error) {
	list, err := productsWhere(ctx, s, "_id", ids)
	out := make(map[bson.ObjectID]*Product, len(list))
	for _, p := range list {
		out[p.ID] = p
	}
	return out, err
}

// ProductsBySlug loads products by their slugs in one query, keyed by slug.
func (s *Service) ProductsBySlug(ctx context.Context, slugs []string) (map[string]*Product, error) {
	list, err := productsWhere(ctx, s, "slug", slugs)
	out := make(map[string]*Product, len(list))
	for _, p := range list {
		out[p.Slug] = p
	}
	return out, err
}

func productsWhere[T any](ctx context.Context, s *Service, field string, values []T) ([]*Product, error) {
	if len(values) == 0 {
		return nil, nil
	}
	list, err := store.FindAll[Product](ctx, s.products, bson.M{field: bson.M{"$in": values}})
	if err != nil {
		return nil, fmt.Errorf("products: %w", err)
	}
	return list, nil
}

// Slugs names some products by slug (for other services' search documents).
func (s *Service) Slugs(ctx context.Context, ids []bson.ObjectID) (map[bson.ObjectID]string, error) {
	products, err := s.ProductsByID(ctx, ids)
	out := make(map[bson.ObjectID]string, len(products))
	for id, p := range products {
		out[id] = p.Slug
	}
	return out, err
}

// ErrProductArchived: the product is no longer sold, and takes no new reviews.
var ErrProductArchived = errs.New(errs.ErrConflict, "product.archived")

// Products lists products by name, a page at a time: after is the slug of the previous
// page's last product (names may repeat, slugs may not, so the key is name then slug).
func (s *Service) Products(ctx context.Context, after string, limit int) ([]*Product, string, error) {
	limit = store.Limit(limit, 24, 100)
	filter := bson.M{}
	if after != "" {
		last, err := s.Product(ctx, after)
		if err != nil {
			return nil, "", err
		}
		filter["$or"] = bson.A{
			bson.M{"name": bson.M{"$gt": last.Name}},
			bson.M{"name": last.Name, "slug": bson.M{"$gt": last.Slug}},
		}
	}
	cur, err := s.products.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "name", Value: 1}, {Key: "slug", Value: 1}}).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, "", fmt.Errorf("list products: %w", err)
	}
	list := []*Product{}
	if err := cur.All(ctx, &list); err != nil {
		return nil, "", fmt.Errorf("list products: %w", err)
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = list[limit-1].Slug
	}
	return list, next, nil
}
