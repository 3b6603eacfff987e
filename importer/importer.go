// Package importer brings a community's existing content in from another system, one JSON
// object a line: customers, purchases, reviews, forum threads with their replies, ideas with
// their votes. Every item goes through its owner's own write path, so counters, ratings,
// scores, stages and the search index follow; its original date is kept. Importing a file
// twice changes nothing: each item is remembered by its external ID. A line that cannot be
// imported is reported with its number, and the others go on.
package importer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/reviews"
	"github.com/guyub/guyub/store"
)

// Kinds of import, in the order a community is best brought over.
var Kinds = []string{"customers", "purchases", "reviews", "threads", "ideas"}

// Result is what became of one line.
type Result struct {
	Line       int               `json:"line"`
	ExternalID string            `json:"external_id,omitempty"`
	Status     string            `json:"status"` // created, unchanged or error
	ID         string            `json:"id,omitempty"`
	Errors     map[string]string `json:"errors,omitempty"`
}

// Service imports through the other services.
type Service struct {
	marks     *mongo.Collection
	customers *customers.Service
	reviews   *reviews.Service
	community *community.Service
}

// New returns the importer on db.
func New(db *mongo.Database, c *customers.Service, r *reviews.Service, com *community.Service) *Service {
	return &Service{marks: db.Collection("imports"), customers: c, reviews: r, community: com}
}

// Indexes: a member's mark is found by them when they are erased.
var Indexes = []store.Indexes{{Collection: "imports", Models: []mongo.IndexModel{{Keys: bson.D{{Key: "target", Value: 1}}}}}}

// MemberData: the mark of an imported member names them (erased with them: imported again,
// they would come back, so the system they came from must forget them too).
var MemberData = []store.MemberData{{Collection: "imports", Field: "target"}}

// mark remembers an imported item by its kind and external ID.
type mark struct {
	ID     string        `bson:"_id"` // kind:external_id
	Target bson.ObjectID `bson:"target"`
	At     time.Time     `bson:"at"`
}

// MaxLine is the longest line read.
const MaxLine = 1 << 20

// Import reads r, a line at a time, as items of kind, and tells each line's result to fn as
// it goes (a progress bar, a JSON answer). describe words a line's problem. An error is
// returned only for a failure of the portal's, not of a line.
func (s *Service) Import(ctx context.Context, kind string, r io.Reader, describe func(error) map[string]string, fn func(Result)) error {
	if !slices.Contains(Kinds, kind) {
		return errs.Field("kind", "import.kind")
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), MaxLine)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		res, err := s.one(ctx, kind, line, text)
		if err != nil && !lineError(err) {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if err != nil {
			res.Status, res.Errors = "error", describe(err)
		}
		fn(res)
	}
	if err := sc.Err(); err != nil {
		return errs.Field("file", "import.unreadable", "Line", line+1)
	}
	return nil
}

// lineError reports whether err is about the line (bad input, unknown author) rather than
// the portal.
func lineError(err error) bool {
	var f *errs.Fields
	var e *errs.Error
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	return errors.As(err, &f) || (errors.As(err, &e) && !errors.Is(e.Kind, errs.ErrUnavailable)) || errors.As(err, &syntax) ||
		errors.As(err, &typ) || errors.Is(err, errBadJSON)
}

var errBadJSON = errors.New("not a JSON object")

func (s *Service) one(ctx context.Context, kind string, line int, text string) (Result, error) {
	res := Result{Line: line}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	var err error
	switch kind {
	case "customers":
		var in CustomerLine
		if err = decode(dec, &in); err == nil {
			res.ExternalID = in.ExternalID
			res.Status, res.ID, err = s.customer(ctx, in)
		}
	case "purchases":
		var in PurchaseLine
		if err = decode(dec, &in); err == nil {
			res.ExternalID = in.OrderID
			res.Status, res.ID, err = s.purchase(ctx, in)
		}
	case "reviews":
		var in ReviewLine
		if err = decode(dec, &in); err == nil {
			res.ExternalID = in.ExternalID
			res.Status, res.ID, err = s.review(ctx, in)
		}
	case "threads":
		var in ThreadLine
		if err = decode(dec, &in); err == nil {
			res.ExternalID = in.ExternalID
			res.Status, res.ID, err = s.thread(ctx, in)
		}
	case "ideas":
		var in IdeaLine
		if err = decode(dec, &in); err == nil {
			res.ExternalID = in.ExternalID
			res.Status, res.ID, err = s.idea(ctx, in)
		}
	}
	return res, err
}

func decode(dec *json.Decoder, v any) error {
	if err := dec.Decode(v); err != nil {
		return errs.Field("line", "import.json", "Error", err.Error())
	}
	return nil
}

// remembered looks an item up by its external ID: the ID it was given, if it was imported.
func (s *Service) remembered(ctx context.Context, kind, external string) (bson.ObjectID, bool, error) {
	m, err := store.FindOne[mark](ctx, s.marks, bson.M{"_id": kind + ":" + external}, errNotImported)
	if errors.Is(err, errNotImported) {
		return bson.ObjectID{}, false, nil
	}
	if err != nil {
		return bson.ObjectID{}, false, err
	}
	return m.Target, true, nil
}

var errNotImported = errors.New("not imported")

func (s *Service) remember(ctx context.Context, kind, external string, target bson.ObjectID) error {
	_, err := store.InsertNew(ctx, s.marks, []any{mark{ID: kind + ":" + external, Target: target, At: time.Now().UTC()}})
	return err
}

// external checks an external ID: required, at most 200 characters.
func external(f *errs.Fields, id string) {
	switch {
	case strings.TrimSpace(id) == "":
		f.Add("external_id", "field.required")
	case len(id) > 200:
		f.Add("external_id", "field.too_long", "Max", 200)
	}
}

// when reads an RFC 3339 date, not in the future; empty: now.
func when(f *errs.Fields, field, s string) time.Time {
	if s == "" {
		return time.Now().UTC()
	}
	t, err := time.Parse(time.RFC3339, s)
	switch {
	case err != nil:
		f.Add(field, "field.datetime")
	case t.After(time.Now().Add(time.Hour)):
		f.Add(field, "field.past_date")
	}
	return t.UTC()
}

// author finds a member by address: imported before, as customers.
func (s *Service) author(ctx context.Context, f *errs.Fields, field, email string) *customers.Customer {
	c, err := s.customers.FindByEmail(ctx, email)
	if err != nil {
		f.Add(field, "import.unknown_member")
		return nil
	}
	return c
}

// CustomerLine is a member: {"external_id", "email", "name", "locale", "created_at"}.
type CustomerLine struct {
	ExternalID string `json:"external_id"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	Locale     string `json:"locale"`
	CreatedAt  string `json:"created_at"`
}

func (s *Service) customer(ctx context.Context, in CustomerLine) (string, string, error) {
	var f errs.Fields
	external(&f, in.ExternalID)
	joined := when(&f, "created_at", in.CreatedAt)
	if !customers.ValidEmail(customers.NormalizeEmail(in.Email)) {
		f.Add("email", "field.email")
	}
	if err := f.Err(); err != nil {
		return "", "", err
	}
	if id, ok, err := s.remembered(ctx, "customers", in.ExternalID); ok || err != nil {
		return "unchanged", id.Hex(), err
	}
	c, err := s.customers.FindByEmail(ctx, in.Email)
	status := "unchanged" // a member who signed up here already: the same person
	if errors.Is(err, customers.ErrNotFound) {
		status = "created"
		c, err = s.customers.Create(ctx, customers.NewCustomer{Email: in.Email, EmailVerified: false, DisplayName: in.Name, Locale: in.Locale})
		if err == nil {
			err = s.customers.Joined(ctx, c.ID, joined)
		}
	}
	if err != nil {
		return "", "", err
	}
	return status, c.ID.Hex(), s.remember(ctx, "customers", in.ExternalID, c.ID)
}

// PurchaseLine is a purchase: {"email", "product", "order_id", "at", "amount", "currency"};
// the order and product identify it.
type PurchaseLine struct {
	Email    string `json:"email"`
	Product  string `json:"product"`
	OrderID  string `json:"order_id"`
	At       string `json:"at"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

func (s *Service) purchase(ctx context.Context, in PurchaseLine) (string, string, error) {
	var f errs.Fields
	c := s.author(ctx, &f, "email", in.Email)
	at := when(&f, "at", in.At)
	if strings.TrimSpace(in.OrderID) == "" {
		f.Add("order_id", "field.required")
	}
	p, err := s.reviews.Product(ctx, in.Product)
	if err != nil {
		f.Add("product", "product.not_found")
	}
	if err := f.Err(); err != nil {
		return "", "", err
	}
	added, err := s.reviews.RecordPurchase(ctx, c.ID, customers.Purchase{ProductID: p.ID, OrderID: in.OrderID, At: at, Amount: in.Amount, Currency: in.Currency})
	if err != nil {
		return "", "", err
	}
	if added {
		return "created", c.ID.Hex(), nil
	}
	return "unchanged", c.ID.Hex(), nil
}

// ReviewLine is a review: {"external_id", "email", "product", "rating", "title", "body",
// "pros", "cons", "lang", "created_at", "verified"}.
type ReviewLine struct {
	ExternalID string `json:"external_id"`
	Email      string `json:"email"`
	Product    string `json:"product"`
	Rating     int    `json:"rating"`
	Title      string `json:"title"`
	Body       string `json:"body"`
	Pros       string `json:"pros"`
	Cons       string `json:"cons"`
	Lang       string `json:"lang"`
	CreatedAt  string `json:"created_at"`
	Verified   bool   `json:"verified"`
}

func (s *Service) review(ctx context.Context, in ReviewLine) (string, string, error) {
	var f errs.Fields
	external(&f, in.ExternalID)
	c := s.author(ctx, &f, "email", in.Email)
	at := when(&f, "created_at", in.CreatedAt)
	if err := f.Err(); err != nil {
		return "", "", err
	}
	if id, ok, err := s.remembered(ctx, "reviews", in.ExternalID); ok || err != nil {
		return "unchanged", id.Hex(), err
	}
	ctx = content.WithImported(ctx, content.Imported{At: at, Verified: in.Verified})
	r, err := s.reviews.Create(ctx, c, in.Product, reviews.Input{Rating: in.Rating, Title: in.Title, Body: in.Body, Pros: in.Pros, Cons: in.Cons, Lang: in.Lang})
	var conflict *errs.Error
	if errors.As(err, &conflict) && conflict.Message.ID == "review.exists" {
		// Written before its mark (a run that stopped there): the author's one review of it.
		p, perr := s.reviews.Product(ctx, in.Product)
		if perr != nil {
			return "", "", perr
		}
		if r, err = s.reviews.ReviewBy(ctx, c.ID, p.ID); err == nil {
			return "unchanged", r.ID.Hex(), s.remember(ctx, "reviews", in.ExternalID, r.ID)
		}
	}
	if err != nil {
		return "", "", err
	}
	return "created", r.ID.Hex(), s.remember(ctx, "reviews", in.ExternalID, r.ID)
}

// ThreadLine is a forum thread with its replies: {"external_id", "email", "category",
// "title", "body", "tags", "created_at", "replies": [{"external_id", "email", "body",
// "created_at"}]}.
type ThreadLine struct {
	ExternalID string      `json:"external_id"`
	Email      string      `json:"email"`
	Category   string      `json:"category"`
	Title      string      `json:"title"`
	Body       string      `json:"body"`
	Tags       []string    `json:"tags"`
	Lang       string      `json:"lang"`
	CreatedAt  string      `json:"created_at"`
	Replies    []ReplyLine `json:"replies"`
}

// ReplyLine is one reply of an imported thread.
type ReplyLine struct {
	ExternalID string `json:"external_id"`
	Email      string `json:"email"`
	Body       string `json:"body"`
	Lang       string `json:"lang"`
	CreatedAt  string `json:"created_at"`
}

func (s *Service) thread(ctx context.Context, in ThreadLine) (string, string, error) {
	var f errs.Fields
	external(&f, in.ExternalID)
	c := s.author(ctx, &f, "email", in.Email)
	at := when(&f, "created_at", in.CreatedAt)
	authors := make([]*customers.Customer, len(in.Replies))
	dates := make([]time.Time, len(in.Replies))
	for i, r := range in.Replies {
		field := fmt.Sprintf("replies.%d", i)
		external(&f, r.ExternalID)
		authors[i] = s.author(ctx, &f, field+".email", r.Email)
		dates[i] = when(&f, field+".created_at", r.CreatedAt)
	}
	if err := f.Err(); err != nil {
		return "", "", err
	}
	status := "unchanged"
	id, ok, err := s.remembered(ctx, "threads", in.ExternalID)
	if err != nil {
		return "", "", err
	}
	if !ok {
		t, err := s.community.CreateThread(content.WithImported(ctx, content.Imported{At: at}), c,
			community.ThreadInput{Category: in.Category, Title: in.Title, Body: in.Body, Tags: in.Tags, Lang: in.Lang})
		if err != nil {
			return "", "", err
		}
		if err := s.remember(ctx, "threads", in.ExternalID, t.ID); err != nil {
			return "", "", err
		}
		id, status = t.ID, "created"
	}
	// Replies in order, each remembered: a file grown since the last import adds the new ones.
	for i, r := range in.Replies {
		if _, ok, err := s.remembered(ctx, "replies", r.ExternalID); ok || err != nil {
			if err != nil {
				return "", "", err
			}
			continue
		}
		p, err := s.community.Reply(content.WithImported(ctx, content.Imported{At: dates[i]}), authors[i],
			content.Ref{Kind: content.KindThread, ID: id}, community.PostInput{Body: r.Body, Lang: r.Lang})
		if err != nil {
			return "", "", fmt.Errorf("reply %s: %w", r.ExternalID, err)
		}
		if err := s.remember(ctx, "replies", r.ExternalID, p.ID); err != nil {
			return "", "", err
		}
		status = "created"
	}
	return status, id.Hex(), nil
}

// IdeaLine is an idea with its votes: {"external_id", "email", "title", "body", "product",
// "created_at", "votes": [{"email", "at"}]}.
type IdeaLine struct {
	ExternalID string     `json:"external_id"`
	Email      string     `json:"email"`
	Title      string     `json:"title"`
	Body       string     `json:"body"`
	Product    string     `json:"product"`
	Lang       string     `json:"lang"`
	CreatedAt  string     `json:"created_at"`
	Votes      []VoteLine `json:"votes"`
}

// VoteLine is one vote for an imported idea.
type VoteLine struct {
	Email string `json:"email"`
	At    string `json:"at"`
}

func (s *Service) idea(ctx context.Context, in IdeaLine) (string, string, error) {
	var f errs.Fields
	external(&f, in.ExternalID)
	c := s.author(ctx, &f, "email", in.Email)
	at := when(&f, "created_at", in.CreatedAt)
	var product bson.ObjectID
	if in.Product != "" {
		if p, err := s.reviews.Product(ctx, in.Product); err != nil {
			f.Add("product", "product.not_found")
		} else {
			product = p.ID
		}
	}
	voters := make([]*customers.Customer, len(in.Votes))
	dates := make([]time.Time, len(in.Votes))
	for i, v := range in.Votes {
		voters[i] = s.author(ctx, &f, fmt.Sprintf("votes.%d.email", i), v.Email)
		dates[i] = when(&f, fmt.Sprintf("votes.%d.at", i), v.At)
	}
	if err := f.Err(); err != nil {
		return "", "", err
	}
	status := "unchanged"
	id, ok, err := s.remembered(ctx, "ideas", in.ExternalID)
	if err != nil {
		return "", "", err
	}
	if !ok {
		idea, err := s.community.CreateIdea(content.WithImported(ctx, content.Imported{At: at}), c,
			community.IdeaInput{Title: in.Title, Body: in.Body, ProductID: product, Lang: in.Lang})
		if err != nil {
			return "", "", err
		}
		if err := s.remember(ctx, "ideas", in.ExternalID, idea.ID); err != nil {
			return "", "", err
		}
		id, status = idea.ID, "created"
	}
	// A vote is one per member and idea by its own unique index: again, it changes nothing.
	for i, v := range voters {
		before, err := s.community.Idea(ctx, id)
		if err != nil {
			return "", "", err
		}
		after, err := s.community.Vote(content.WithImported(ctx, content.Imported{At: dates[i]}), v, id, true)
		if err != nil {
			return "", "", err
		}
		if after.VoteCount != before.VoteCount {
			status = "created"
		}
	}
	return status, id.Hex(), nil
}
