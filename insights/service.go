package insights

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/store"
)

// Item is a piece of feedback as insights keeps it: the words, where they come from, and
// what the analyser read in them. Items are fed by the search sync (Service is its
// Sink), so insights never reads another package's collections.
type Item struct {
	ID       string        `bson:"_id" json:"id"` // the search document's: "review-<hex>"
	Kind     string        `bson:"kind" json:"kind"`
	Source   string        `bson:"source" json:"source"` // reviews, forums, ideas, surveys, testimonials
	Title    string        `bson:"title,omitempty" json:"title,omitempty"`
	Text     string        `bson:"text" json:"text"`
	URL      string        `bson:"url" json:"url"`
	Product  string        `bson:"product,omitempty" json:"product,omitempty"` // slug
	AuthorID bson.ObjectID `bson:"author_id,omitempty" json:"author_id,omitzero"`
	Stage    string        `bson:"stage,omitempty" json:"stage,omitempty"` // the author's, when analysed
	Band     string        `bson:"band,omitempty" json:"band,omitempty"`
	Rating   int           `bson:"rating,omitempty" json:"rating,omitempty"` // a review's stars
	Survey   string        `bson:"survey,omitempty" json:"survey,omitempty"` // a survey comment's kind
	Answer   int           `bson:"answer,omitempty" json:"answer,omitempty"` // and its score
	// Touchpoint is a survey comment's moment (onboarding, purchase, support, community).
	Touchpoint string    `bson:"touchpoint,omitempty" json:"touchpoint,omitempty"`
	CreatedAt  time.Time `bson:"created_at" json:"created_at"`
	Lang       string    `bson:"lang" json:"lang"`
	Sentiment  string    `bson:"sentiment" json:"sentiment"`
	Score      float64   `bson:"score" json:"score"`
	Themes     []string  `bson:"themes" json:"themes"`
	Phrases    []string  `bson:"phrases" json:"-"` // its two-word phrases, for emerging phrases
	// ThemeSentiments is each theme's feeling in the clause that mentions it.
	ThemeSentiments map[string]string `bson:"theme_sentiments,omitempty" json:"theme_sentiments,omitempty"`
	// Analysed names the model and themes that read it, so a change of either is
	// re-read (Reanalyse); TextHash tells an edit of the words from other changes.
	Analysed string `bson:"analysed" json:"-"`
	TextHash string `bson:"text_hash" json:"-"`
}

// SignalRecorder puts the sentiment of a customer's own words on their record;
// customers.Service implements it.
type SignalRecorder interface {
	RecordSignals(ctx context.Context, signals []customers.Signal) error
	WithdrawSignals(ctx context.Context, ids []string) error
}

// Service keeps the feedback items, their analysis and the themes.
type Service struct {
	items     *mongo.Collection
	themes    *mongo.Collection
	state     *mongo.Collection
	customers *customers.Service
	signals   SignalRecorder
	model     *Model
	now       func() time.Time

	mu       sync.Mutex
	analyser *Analyser // for the themes of version themesAt
	themesAt int

	reports reportCache
}

// Indexes of this package's collections: items are read by period, with or without a
// product or a source.
var Indexes = []store.Indexes{
	{Collection: "feedback_items", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "created_at", Value: 1}}},
		{Keys: bson.D{{Key: "product", Value: 1}, {Key: "created_at", Value: 1}}},
		{Keys: bson.D{{Key: "source", Value: 1}, {Key: "created_at", Value: 1}}},
		{Keys: bson.D{{Key: "author_id", Value: 1}}},
	}},
}

// NewService builds the service on db with the shipped model.
func NewService(db *mongo.Database, cust *customers.Service, signals SignalRecorder) (*Service, error) {
	m, err := DefaultModel()
	if err != nil {
		return nil, err
	}
	return &Service{items: db.Collection("feedback_items"), themes: db.Collection("themes"), state: db.Collection("insights_state"),
		customers: cust, signals: signals, model: m, now: func() time.Time { return time.Now().UTC() }}, nil
}

// current is the analyser for the stored themes, and its name for Item.Analysed.
func (s *Service) current(ctx context.Context) (*Analyser, string, error) {
	version, err := s.themesVersion(ctx)
	if err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	a, at := s.analyser, s.themesAt
	s.mu.Unlock()
	if a == nil || at != version {
		list, err := s.Themes(ctx)
		if err != nil {
			return nil, "", err
		}
		a = NewAnalyser(s.model, CompileThemes(list))
		s.mu.Lock()
		s.analyser, s.themesAt = a, version
		s.mu.Unlock()
	}
	return a, s.model.ID() + "/themes-" + strconv.Itoa(version), nil
}

// ID names the model by what it was trained with, for Item.Analysed.
func (m *Model) ID() string {
	h := fnv.New32a()
	h.Write(m.Packed)
	return fmt.Sprintf("model-%08x", h.Sum32())
}

// Upsert analyses new and changed feedback and keeps it (the search sync's sink). It
// notes each document's sentiment on it, for the index.
func (s *Service) Upsert(ctx context.Context, docs []search.Document) error {
	if len(docs) == 0 {
		return nil
	}
	a, version, err := s.current(ctx)
	if err != nil {
		return err
	}
	var ids, copies []string
	var authors []bson.ObjectID
	for _, d := range docs {
		switch {
		case d.Source == "":
			continue // not feedback (a product)
		case d.Duplicate:
			copies = append(copies, d.ID) // its words are counted where they were first written
			continue
		}
		ids = append(ids, d.ID)
		if id, err := bson.ObjectIDFromHex(d.AuthorID); err == nil {
			authors = append(authors, id)
		}
	}
	if err := s.Delete(ctx, copies); err != nil || len(ids) == 0 {
		return err
	}
	before, err := s.itemsByID(ctx, ids)
	if err != nil {
		return err
	}
	// Only what is stamped on the items: the whole records are 6 KB each.
	people, err := s.customers.GetManyFields(ctx, authors, "stage", "satisfaction.band")
	if err != nil {
		return err
	}
	models := make([]mongo.WriteModel, 0, len(docs))
	var changed []*Item
	for i := range docs {
		d := &docs[i]
		if d.Duplicate || d.Source == "" {
			continue
		}
		it := itemOf(d)
		old := before[d.ID]
		// The author's stage and band when they wrote it: stamped once, not restamped by
		// every later sync.
		if old != nil && old.Stage != "" {
			it.Stage, it.Band = old.Stage, old.Band
		} else if c := people[it.AuthorID]; c != nil {
			it.Stage, it.Band = string(c.Stage), c.Satisfaction.Band
		}
		if old != nil && old.TextHash == it.TextHash && old.Analysed == version {
			it.Lang, it.Sentiment, it.Score, it.Themes, it.ThemeSentiments = old.Lang, old.Sentiment, old.Score, old.Themes, old.ThemeSentiments
			it.Phrases, it.Analysed = old.Phrases, old.Analysed
		} else {
			s.analyse(a, version, it)
		}
		if old == nil || old.Score != it.Score || old.AuthorID != it.AuthorID {
			changed = append(changed, it)
		}
		d.Sentiment = it.Score
		models = append(models, mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": it.ID}).SetReplacement(it).SetUpsert(true))
	}
	// Signals first (each is keyed by its item, so a retry records it once): were the items
	// written first, a failure between would leave a signal that no retry sees as missing.
	if err := s.recordSentiment(ctx, changed); err != nil {
		return err
	}
	if _, err := s.items.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
		return fmt.Errorf("feedback items: %w", err)
	}
	return nil
}

// itemOf is a search document as a feedback item, not analysed yet.
func itemOf(d *search.Document) *Item {
	it := &Item{ID: d.ID, Kind: d.Kind, Source: d.Source, Title: d.Title, Text: d.Words(), URL: d.URL, Product: d.Product, Rating: d.Rating,
		Survey: d.Survey, Answer: d.Answer, Touchpoint: d.Touchpoint, CreatedAt: time.Unix(d.CreatedAt, 0).UTC(), Themes: []string{}}
	if id, err := bson.ObjectIDFromHex(d.AuthorID); err == nil {
		it.AuthorID = id
	}
	if d.OwnText == "" {
		it.Title = "" // it is in Text
	}
	h := fnv.New64a()
	h.Write([]byte(it.Text))
	it.TextHash = strconv.FormatUint(h.Sum64(), 36)
	return it
}

func (s *Service) analyse(a *Analyser, version string, it *Item) {
	r := a.Analyse(it.Text, "")
	it.Lang, it.Sentiment, it.Score, it.Themes, it.ThemeSentiments = r.Lang, r.Sentiment, r.Score, r.Themes, r.ThemeSentiments
	it.Phrases, it.Analysed = r.Phrases, version
}

// recordSentiment puts the sentiment of each item on its author's record (a signal per
// item: an edit replaces it), one write per author.
func (s *Service) recordSentiment(ctx context.Context, items []*Item) error {
	if s.signals == nil {
		return nil
	}
	var signals []customers.Signal
	for _, it := range items {
		if !it.AuthorID.IsZero() {
			signals = append(signals, customers.SentimentSignal(it.AuthorID, it.ID, it.Score, it.CreatedAt))
		}
	}
	if len(signals) == 0 {
		return nil
	}
	return s.signals.RecordSignals(ctx, signals)
}

// Delete forgets feedback that left public view (hidden, deleted), and its sentiment on
// its author's record.
func (s *Service) Delete(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	// Signals first, for every id (most never gave one: they are looked up together): were
	// the items deleted first, a retry would find nothing left to withdraw.
	if s.signals != nil {
		sigs := make([]string, len(ids))
		for i, id := range ids {
			sigs[i] = string(customers.SignalSentiment) + ":" + id
		}
		if err := s.signals.WithdrawSignals(ctx, sigs); err != nil {
			return err
		}
	}
	if _, err := s.items.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}}); err != nil {
		return fmt.Errorf("feedback items: %w", err)
	}
	return nil
}

func (s *Service) itemsByID(ctx context.Context, ids []string) (map[string]*Item, error) {
	list, err := store.FindAll[Item](ctx, s.items, bson.M{"_id": bson.M{"$in": ids}},
		options.Find().SetProjection(bson.M{"text_hash": 1, "analysed": 1, "lang": 1, "sentiment": 1, "score": 1, "themes": 1, "theme_sentiments": 1, "phrases": 1, "author_id": 1, "stage": 1, "band": 1, "created_at": 1}))
	if err != nil {
		return nil, fmt.Errorf("feedback items: %w", err)
	}
	out := make(map[string]*Item, len(list))
	for _, it := range list {
		out[it.ID] = it
	}
	return out, nil
}
