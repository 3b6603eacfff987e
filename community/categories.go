package community

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// Category is a forum section. In a staff-only category (Announcements) only staff start
// threads; everyone may still reply unless the thread is locked.
type Category struct {
	ID          bson.ObjectID `bson:"_id" json:"id"`
	Slug        string        `bson:"slug" json:"slug"`
	Name        string        `bson:"name" json:"name"`
	Description string        `bson:"description" json:"description"`
	// NameID and DescriptionID are the name and description in Bahasa Indonesia, when
	// admins give them: an Indonesian reader sees them instead.
	NameID        string    `bson:"name_id,omitempty" json:"name_id,omitempty"`
	DescriptionID string    `bson:"description_id,omitempty" json:"description_id,omitempty"`
	StaffOnly     bool      `bson:"staff_only" json:"staff_only"`
	Position      int       `bson:"position" json:"position"`
	CreatedAt     time.Time `bson:"created_at" json:"-"`
	UpdatedAt     time.Time `bson:"updated_at" json:"-"`
}

// NameIn is the category's name in a language: Indonesian when given, else the name.
func (c *Category) NameIn(lang string) string { return content.InLanguage(lang, c.Name, c.NameID) }

// DescriptionIn is the category's description in a language.
func (c *Category) DescriptionIn(lang string) string {
	return content.InLanguage(lang, c.Description, c.DescriptionID)
}

// CategoryInput is the admin's category form.
type CategoryInput struct {
	Name          string `form:"name" json:"name"`
	NameID        string `form:"name_id" json:"name_id"`
	Slug          string `form:"slug" json:"slug"`
	Description   string `form:"description" json:"description"`
	DescriptionID string `form:"description_id" json:"description_id"`
	StaffOnly     bool   `form:"staff_only" json:"staff_only"`
	Position      int    `form:"position" json:"position"`
}

// Validate checks a category and fills in the slug from the name.
func (in *CategoryInput) Validate() error {
	var f errs.Fields
	in.Name, in.Description = strings.TrimSpace(in.Name), strings.TrimSpace(in.Description)
	in.NameID, in.DescriptionID = strings.TrimSpace(in.NameID), strings.TrimSpace(in.DescriptionID)
	in.Slug = content.Slugify(in.Slug)
	if in.Slug == "" {
		in.Slug = content.Slugify(in.Name)
	}
	switch n := utf8.RuneCountInString(in.Name); {
	case n == 0:
		f.Add("name", "field.required")
	case n > 60:
		f.Add("name", "field.too_long", "Max", 60)
	}
	if in.Slug == "" && in.Name != "" {
		f.Add("slug", "field.required")
	}
	if in.Slug == "new" { // /forums/new starts a thread
		f.Add("slug", "category.slug_taken")
	}
	if utf8.RuneCountInString(in.NameID) > 60 {
		f.Add("name_id", "field.too_long", "Max", 60)
	}
	if utf8.RuneCountInString(in.Description) > 300 {
		f.Add("description", "field.too_long", "Max", 300)
	}
	if utf8.RuneCountInString(in.DescriptionID) > 300 {
		f.Add("description_id", "field.too_long", "Max", 300)
	}
	return f.Err()
}

// ErrCategoryNotFound is an unknown category.
var ErrCategoryNotFound = errs.New(errs.ErrNotFound, "category.not_found")

// SaveCategory creates a category, or updates the one with id. Admins only.
func (s *Service) SaveCategory(ctx context.Context, admin *customers.Customer, id bson.ObjectID, in CategoryInput) (*Category, error) {
	if !admin.HasRole(customers.RoleAdmin) {
		return nil, errs.New(errs.ErrForbidden, "error.403.message")
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	now := s.now()
	var err error
	if id.IsZero() {
		c := &Category{ID: bson.NewObjectID(), Slug: in.Slug, Name: in.Name, Description: in.Description, NameID: in.NameID,
			DescriptionID: in.DescriptionID, StaffOnly: in.StaffOnly, Position: in.Position, CreatedAt: now, UpdatedAt: now}
		if _, err = s.categories.InsertOne(ctx, c); err == nil {
			s.allCategories.Forget()
			return c, nil
		}
	} else {
		var res *mongo.UpdateResult
		res, err = s.categories.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"slug": in.Slug, "name": in.Name,
			"description": in.Description, "name_id": in.NameID, "description_id": in.DescriptionID, "staff_only": in.StaffOnly,
			"position": in.Position, "updated_at": now}})
		if err == nil && res.MatchedCount == 0 {
			return nil, ErrCategoryNotFound
		}
		if err == nil {
			s.allCategories.Forget()
			return s.CategoryByID(ctx, id)
		}
	}
	if mongo.IsDuplicateKeyError(err) {
		return nil, errs.Field("slug", "category.slug_taken")
	}
	return nil, fmt.Errorf("save category: %w", err)
}

// Categories lists every category in the admins' order (a forum has a handful). They are
// kept for a few seconds, or until this instance changes one: nearly every page shows them.
// The list is shared: callers must not change it.
func (s *Service) Categories(ctx context.Context) ([]*Category, error) {
	return s.allCategories.Get(ctx)
}

func (s *Service) loadCategories(ctx context.Context) ([]*Category, error) {
	return store.FindAll[Category](ctx, s.categories, bson.M{}, options.Find().SetSort(bson.D{{Key: "position", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(200))
}

// Category returns a category by slug.
func (s *Service) Category(ctx context.Context, slug string) (*Category, error) {
	list, err := s.Categories(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range list {
		if c.Slug == slug {
			return c, nil
		}
	}
	return nil, ErrCategoryNotFound
}

// CategoryByID returns a category by ID.
func (s *Service) CategoryByID(ctx context.Context, id bson.ObjectID) (*Category, error) {
	list, err := s.Categories(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range list {
		if c.ID == id {
			return c, nil
		}
	}
	return nil, ErrCategoryNotFound
}

func (s *Service) categoriesByID(ctx context.Context) (map[bson.ObjectID]*Category, error) {
	list, err := s.Categories(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[bson.ObjectID]*Category, len(list))
	for _, c := range list {
		out[c.ID] = c
	}
	return out, nil
}
