// Package feedback owns the surveys (NPS, CSAT, CES per touchpoint), their answers, and the
// personal links a company sends by email or WhatsApp. Every answer becomes a satisfaction
// signal on the customer's record.
package feedback

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
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

// Kind of survey.
type Kind string

const (
	KindNPS  Kind = "nps"  // 0–10: how likely are you to recommend…
	KindCSAT Kind = "csat" // 1–5: how satisfied…
	KindCES  Kind = "ces"  // 1–7: how easy… (1 = effortless)
)

// Kinds lists the kinds of survey.
var Kinds = []Kind{KindNPS, KindCSAT, KindCES}

// Scale is the answers a kind takes.
func (k Kind) Scale() (lo, hi int) {
	switch k {
	case KindNPS:
		return 0, 10
	case KindCSAT:
		return 1, 5
	}
	return 1, 7
}

// Answers lists the possible answers, for the form.
func (k Kind) Answers() []int {
	lo, hi := k.Scale()
	var out []int
	for i := lo; i <= hi; i++ {
		out = append(out, i)
	}
	return out
}

// Touchpoints are the moments a survey follows.
var Touchpoints = []string{"onboarding", "purchase", "support", "community"}

// Period is how long a customer is not asked the same survey again.
const Period = 90 * 24 * time.Hour

// Survey is one question at one touchpoint.
type Survey struct {
	ID         bson.ObjectID     `bson:"_id" json:"id"`
	Kind       Kind              `bson:"kind" json:"kind"`
	Touchpoint string            `bson:"touchpoint" json:"touchpoint"`
	Product    string            `bson:"product,omitempty" json:"product,omitempty"` // slug, when the survey is about one product
	Question   map[string]string `bson:"question" json:"question"`                   // by language: en, id
	FollowUp   bool              `bson:"follow_up" json:"follow_up"`
	Active     bool              `bson:"active" json:"active"`
	CreatedAt  time.Time         `bson:"created_at" json:"created_at"`
	UpdatedAt  time.Time         `bson:"updated_at" json:"updated_at"`
}

// QuestionIn returns the question in a language, falling back to English.
func (s *Survey) QuestionIn(lang string) string {
	if q := s.Question[lang]; q != "" {
		return q
	}
	return s.Question["en"]
}

// Response is one answer.
type Response struct {
	ID         bson.ObjectID   `bson:"_id" json:"id"`
	SurveyID   bson.ObjectID   `bson:"survey_id" json:"survey_id"`
	CustomerID bson.ObjectID   `bson:"customer_id" json:"customer_id"`
	Kind       Kind            `bson:"kind" json:"kind"`
	Touchpoint string          `bson:"touchpoint" json:"touchpoint"`
	Product    string          `bson:"product,omitempty" json:"product,omitempty"`
	Score      int             `bson:"score" json:"score"`
	Comment    string          `bson:"comment,omitempty" json:"comment,omitempty"`
	Stage      customers.Stage `bson:"stage" json:"stage"`     // the customer's stage when answering
	Channel    string          `bson:"channel" json:"channel"` // portal, link or api
	Key        string          `bson:"key,omitempty" json:"key,omitempty"`
	Once       string          `bson:"once,omitempty" json:"-"` // survey, customer and period: one answer each
	At         time.Time       `bson:"at" json:"at"`
	// A comment is read by insights through the search sync (CommentSource): only an
	// answer with one has these.
	SearchDirty *bool `bson:"search_dirty,omitempty" json:"-"`
	Version     int   `bson:"version,omitempty" json:"-"`
}

// SignalRecorder turns answers into signals on the customer record; customers.Service
// implements it.
type SignalRecorder interface {
	RecordSignal(ctx context.Context, s customers.Signal) error
	Contributed(ctx context.Context, customer bson.ObjectID, kind string, product bson.ObjectID) error
}

// Service is the feedback service.
type Service struct {
	surveys   *mongo.Collection
	responses *mongo.Collection
	links     *mongo.Collection
	customers *customers.Service
	signals   SignalRecorder
	now       func() time.Time

	invitations *mongo.Collection
	mailer      Mailer // nil: no invitations
	unsubscribe func(member bson.ObjectID, kind string) string
	rewarder    content.Rewarder // nil: no points
}

// SetRewarder books the points answering earns (package loyalty).
func (s *Service) SetRewarder(r content.Rewarder) { s.rewarder = r }

// New builds the service.
func New(db *mongo.Database, cust *customers.Service, signals SignalRecorder) *Service {
	return &Service{surveys: db.Collection("surveys"), responses: db.Collection("responses"), links: db.Collection("survey_links"),
		invitations: db.Collection("survey_invitations"),
		customers:   cust, signals: signals, now: func() time.Time { return time.Now().UTC() }}
}

// MemberData is where this package keeps a member's own data (for their download).
var MemberData = []store.MemberData{
	{Collection: "responses", Field: "customer_id", Keep: true, Indexed: true, Text: []string{"comment"}}, // the scores count on
	{Collection: "survey_invitations", Field: "customer_id"},
	{Collection: "survey_links", Field: "customer_id", Omit: []string{"_id"}}, // the _id is the link
}

// Indexes of this package's collections.
var Indexes = []store.Indexes{
	{Collection: "surveys", Models: []mongo.IndexModel{{Keys: bson.D{{Key: "active", Value: 1}, {Key: "_id", Value: 1}}}}},
	{Collection: "responses", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "key", Value: 1}}, Options: options.Index().SetUnique(true).SetSparse(true)},
		{Keys: bson.D{{Key: "once", Value: 1}}, Options: options.Index().SetUnique(true).SetSparse(true)},
		{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "at", Value: -1}}},
		{Keys: bson.D{{Key: "at", Value: 1}}},
		{Keys: bson.D{{Key: "search_dirty", Value: 1}, {Key: "_id", Value: 1}}},
		{Keys: bson.D{{Key: "comment", Value: 1}}},                          // the answers with a comment, for insights
		{Keys: bson.D{{Key: "survey_id", Value: 1}, {Key: "at", Value: 1}}}, // a survey's answers, for its score
	}},
	{Collection: "survey_links", Models: []mongo.IndexModel{{Keys: bson.D{{Key: "expires_at", Value: 1}}}, {Keys: bson.D{{Key: "customer_id", Value: 1}}}}},
	{Collection: "survey_invitations", Models: []mongo.IndexModel{
		// a customer is invited to a survey once
		{Keys: bson.D{{Key: "survey_id", Value: 1}, {Key: "customer_id", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "state", Value: 1}, {Key: "queued_at", Value: 1}}},                 // the sender's queue
		{Keys: bson.D{{Key: "survey_id", Value: 1}, {Key: "state", Value: 1}}},                 // a survey's figures
		{Keys: bson.D{{Key: "customer_id", Value: 1}}},                                         // a member's download and erasure
		{Keys: bson.D{{Key: "link_hash", Value: 1}}, Options: options.Index().SetSparse(true)}, // a link followed
	}},
}

// SurveyInput is the staff's survey form.
type SurveyInput struct {
	Kind       string `form:"kind" json:"kind"`
	Touchpoint string `form:"touchpoint" json:"touchpoint"`
	Product    string `form:"product" json:"product"` // optional slug
	QuestionEN string `form:"question_en" json:"question_en"`
	QuestionID string `form:"question_id" json:"question_id"`
	FollowUp   bool   `form:"follow_up" json:"follow_up"`
	Active     bool   `form:"active" json:"active"`
}

func (in SurveyInput) validate() error {
	var f errs.Fields
	if !containsKind(Kind(in.Kind)) {
		f.Add("kind", "field.choose_one")
	}
	if !contains(Touchpoints, in.Touchpoint) {
		f.Add("touchpoint", "field.choose_one")
	}
	if len(in.Product) > 80 {
		f.Add("product", "field.too_long", "Max", 80)
	}
	for field, q := range map[string]string{"question_en": in.QuestionEN, "question_id": in.QuestionID} {
		switch n := utf8.RuneCountInString(strings.TrimSpace(q)); {
		case n == 0:
			f.Add(field, "field.required")
		case n > 300:
			f.Add(field, "field.too_long", "Max", 300)
		}
	}
	return f.Err()
}

func containsKind(k Kind) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ErrSurveyNotFound is an unknown survey.
var ErrSurveyNotFound = errs.New(errs.ErrNotFound, "survey.not_found")

// SaveSurvey creates a survey, or replaces one when id is not zero.
func (s *Service) SaveSurvey(ctx context.Context, staff *customers.Customer, id bson.ObjectID, in SurveyInput) (*Survey, error) {
	if !staff.HasRole(customers.RoleProduct) {
		return nil, errs.New(errs.ErrForbidden, "error.403.message")
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	now := s.now()
	sv := &Survey{ID: id, Kind: Kind(in.Kind), Touchpoint: in.Touchpoint, Product: strings.TrimSpace(in.Product), FollowUp: in.FollowUp, Active: in.Active,
		Question: map[string]string{"en": strings.TrimSpace(in.QuestionEN), "id": strings.TrimSpace(in.QuestionID)}, CreatedAt: now, UpdatedAt: now}
	if id.IsZero() {
		sv.ID = bson.NewObjectID()
		if _, err := s.surveys.InsertOne(ctx, sv); err != nil {
			return nil, fmt.Errorf("create survey: %w", err)
		}
		return sv, nil
	}
	old, err := s.Survey(ctx, id)
	if err != nil {
		return nil, err
	}
	sv.CreatedAt = old.CreatedAt
	if _, err := s.surveys.ReplaceOne(ctx, bson.M{"_id": id}, sv); err != nil {
		return nil, fmt.Errorf("save survey: %w", err)
	}
	return sv, nil
}

// Survey returns one survey.
func (s *Service) Survey(ctx context.Context, id bson.ObjectID) (*Survey, error) {
	return store.FindOne[Survey](ctx, s.surveys, bson.M{"_id": id}, ErrSurveyNotFound)
}

// Surveys lists every survey (there are a handful), active first.
func (s *Service) Surveys(ctx context.Context) ([]*Survey, error) {
	cur, err := s.surveys.Find(ctx, bson.M{}, options.Find().SetSort(bson.D{{Key: "active", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(200))
	if err != nil {
		return nil, fmt.Errorf("surveys: %w", err)
	}
	list := []*Survey{}
	return list, cur.All(ctx, &list)
}

// Due lists the active surveys a customer has not answered in the last period.
func (s *Service) Due(ctx context.Context, customer bson.ObjectID) ([]*Survey, error) {
	cur, err := s.surveys.Find(ctx, bson.M{"active": true}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("due surveys: %w", err)
	}
	var active []*Survey
	if err := cur.All(ctx, &active); err != nil {
		return nil, err
	}
	rcur, err := s.responses.Find(ctx, bson.M{"customer_id": customer, "at": bson.M{"$gt": s.now().Add(-Period)}},
		options.Find().SetProjection(bson.M{"survey_id": 1}))
	if err != nil {
		return nil, fmt.Errorf("due surveys: %w", err)
	}
	var recent []Response
	if err := rcur.All(ctx, &recent); err != nil {
		return nil, err
	}
	answered := map[bson.ObjectID]bool{}
	for _, r := range recent {
		answered[r.SurveyID] = true
	}
	var due []*Survey
	for _, sv := range active {
		if !answered[sv.ID] {
			due = append(due, sv)
		}
	}
	return due, nil
}

// AnswerInput is an answer from the portal, a personal link or the API.
type AnswerInput struct {
	Score   *int   `form:"score" json:"score"`
	Comment string `form:"comment" json:"comment"`
	Key     string `form:"-" json:"key"` // the API's idempotency key
	At      string `form:"-" json:"at"`  // the API: when it was collected (RFC 3339)
}

// Errors of answering.
var (
	ErrAlreadyAnswered = errs.New(errs.ErrConflict, "survey.already_answered")
	ErrInactive        = errs.New(errs.ErrConflict, "survey.inactive")
)

// Answer records an answer and its satisfaction signal. From the portal and links a
// customer answers a survey once per period; an API answer is kept once per key.
func (s *Service) Answer(ctx context.Context, customer *customers.Customer, surveyID bson.ObjectID, in AnswerInput, channel string) (*Response, bool, error) {
	if channel != "api" {
		// A key (which skips the once-a-period rule) and a date are what a staff
		// integration says about an answer collected elsewhere; a customer answering
		// here sets neither.
		in.Key, in.At = "", ""
		if customer.IsSuspended() {
			return nil, false, errs.New(errs.ErrSuspended, "account.suspended", "Reason", customer.Suspension.Reason)
		}
	}
	sv, err := s.Survey(ctx, surveyID)
	if err != nil {
		return nil, false, err
	}
	var f errs.Fields
	lo, hi := sv.Kind.Scale()
	if in.Score == nil || *in.Score < lo || *in.Score > hi {
		f.Add("score", "survey.score_range", "Min", lo, "Max", hi)
	}
	comment := strings.TrimSpace(in.Comment)
	if utf8.RuneCountInString(comment) > 1000 {
		f.Add("comment", "field.too_long", "Max", 1000)
	}
	at := s.now()
	if in.At != "" {
		t, err := time.Parse(time.RFC3339, in.At)
		if err != nil || t.After(at.Add(time.Hour)) {
			f.Add("at", "field.datetime")
		} else {
			at = t.UTC()
		}
	}
	if len(in.Key) > 200 {
		f.Add("key", "field.too_long", "Max", 200)
	}
	if err := f.Err(); err != nil {
		return nil, false, err
	}
	if !sv.Active && channel != "api" {
		return nil, false, ErrInactive
	}
	r := &Response{ID: bson.NewObjectID(), SurveyID: sv.ID, CustomerID: customer.ID, Kind: sv.Kind, Touchpoint: sv.Touchpoint, Product: sv.Product,
		Score: *in.Score, Comment: comment, Stage: customer.Stage, Channel: channel, Key: in.Key, At: at}
	if comment != "" {
		dirty := true
		r.SearchDirty, r.Version = &dirty, 1
	}
	if in.Key == "" {
		r.Once = fmt.Sprintf("%s:%s:%d", sv.ID.Hex(), customer.ID.Hex(), at.Unix()/int64(Period/time.Second))
		if due, err := s.answeredWithin(ctx, sv.ID, customer.ID); err != nil {
			return nil, false, err
		} else if due {
			return nil, false, ErrAlreadyAnswered
		}
	}
	if _, err := s.responses.InsertOne(ctx, r); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			if in.Key != "" {
				existing, ferr := store.FindOne[Response](ctx, s.responses, bson.M{"key": in.Key}, ErrAlreadyAnswered)
				return existing, false, ferr
			}
			return nil, false, ErrAlreadyAnswered
		}
		return nil, false, fmt.Errorf("answer: %w", err)
	}
	store.FollowUp(ctx, "invitation answered", func() error { return s.answered(ctx, sv.ID, customer.ID) })
	if s.rewarder != nil {
		s.rewarder.Reward(ctx, content.Reward{Member: customer.ID, Cause: content.CauseSurvey, Ref: r.ID.Hex()}, true)
	}
	kind := map[Kind]customers.SignalKind{KindNPS: customers.SignalNPS, KindCSAT: customers.SignalCSAT, KindCES: customers.SignalCES}[sv.Kind]
	if err := s.signals.RecordSignal(ctx, customers.SurveySignal(customer.ID, kind, r.ID.Hex(), r.Score, r.At)); err != nil {
		return nil, false, err
	}
	return r, true, s.signals.Contributed(ctx, customer.ID, "feedback", bson.ObjectID{})
}

// answeredAmong says which of some customers answered the survey in the last period, in
// one query.
func (s *Service) answeredAmong(ctx context.Context, survey bson.ObjectID, people []bson.ObjectID) (map[bson.ObjectID]bool, error) {
	list, err := store.FindAll[Response](ctx, s.responses, bson.M{"customer_id": bson.M{"$in": people}, "survey_id": survey,
		"at": bson.M{"$gt": s.now().Add(-Period)}}, options.Find().SetProjection(bson.M{"customer_id": 1}))
	if err != nil {
		return nil, err
	}
	out := make(map[bson.ObjectID]bool, len(list))
	for _, r := range list {
		out[r.CustomerID] = true
	}
	return out, nil
}

// answeredWithin reports whether the customer answered the survey in the last period.
func (s *Service) answeredWithin(ctx context.Context, survey, customer bson.ObjectID) (bool, error) {
	n, err := s.responses.CountDocuments(ctx, bson.M{"survey_id": survey, "customer_id": customer, "at": bson.M{"$gt": s.now().Add(-Period)}})
	return n > 0, err
}

// link is a personal survey link, stored by its token's hash.
type link struct {
	ID         string        `bson:"_id"`
	SurveyID   bson.ObjectID `bson:"survey_id"`
	CustomerID bson.ObjectID `bson:"customer_id"`
	CreatedAt  time.Time     `bson:"created_at"`
	ExpiresAt  time.Time     `bson:"expires_at"`
}

// LinkLifetime is how long a personal link works.
const LinkLifetime = 30 * 24 * time.Hour

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

// CreateLink makes a personal link's token for a customer and survey: /s/{token}.
func (s *Service) CreateLink(ctx context.Context, staff *customers.Customer, surveyID, customerID bson.ObjectID) (string, error) {
	if !staff.HasRole(customers.RoleProduct) {
		return "", errs.New(errs.ErrForbidden, "error.403.message")
	}
	if _, err := s.Survey(ctx, surveyID); err != nil {
		return "", err
	}
	if _, err := s.customers.Get(ctx, customerID); err != nil {
		return "", err
	}
	return s.newLink(ctx, surveyID, customerID)
}

// newLink stores a personal link and returns its token.
func (s *Service) newLink(ctx context.Context, surveyID, customerID bson.ObjectID) (string, error) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	if _, err := s.links.InsertOne(ctx, link{ID: hashToken(token), SurveyID: surveyID, CustomerID: customerID, CreatedAt: now, ExpiresAt: now.Add(LinkLifetime)}); err != nil {
		return "", fmt.Errorf("survey link: %w", err)
	}
	return token, nil
}

// ErrBadLink is an unknown or expired personal link.
var ErrBadLink = errs.New(errs.ErrNotFound, "survey.bad_link")

// OpenLink returns the survey and customer a personal link is for.
func (s *Service) OpenLink(ctx context.Context, token string) (*Survey, *customers.Customer, error) {
	l, err := store.FindOne[link](ctx, s.links, bson.M{"_id": hashToken(token), "expires_at": bson.M{"$gt": s.now()}}, ErrBadLink)
	if err != nil {
		return nil, nil, err
	}
	sv, err := s.Survey(ctx, l.SurveyID)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.customers.Get(ctx, l.CustomerID)
	if errors.Is(err, customers.ErrNotFound) {
		return nil, nil, ErrBadLink
	}
	if err == nil {
		store.FollowUp(ctx, "invitation opened", func() error { return s.opened(ctx, token) })
	}
	return sv, c, err
}

// Purge removes expired links.
func (s *Service) Purge(ctx context.Context) error {
	_, err := s.links.DeleteMany(ctx, bson.M{"expires_at": bson.M{"$lt": s.now()}})
	return err
}

// ResponsesBy lists a customer's answers, newest first (for their record's timeline).
func (s *Service) ResponsesBy(ctx context.Context, customer bson.ObjectID, before time.Time, limit int) ([]*Response, error) {
	filter := bson.M{"customer_id": customer}
	if !before.IsZero() {
		filter["at"] = bson.M{"$lt": before}
	}
	cur, err := s.responses.Find(ctx, filter,
		options.Find().SetSort(bson.D{{Key: "at", Value: -1}}).SetLimit(int64(max(1, min(limit, 200)))))
	if err != nil {
		return nil, fmt.Errorf("responses: %w", err)
	}
	list := []*Response{}
	return list, cur.All(ctx, &list)
}

// Response reads one answer.
func (s *Service) Response(ctx context.Context, id bson.ObjectID) (*Response, error) {
	return store.FindOne[Response](ctx, s.responses, bson.M{"_id": id}, ErrResponseNotFound)
}

// ErrResponseNotFound: no such answer.
var ErrResponseNotFound = errs.New(errs.ErrNotFound, "survey.response_not_found")

// EraseMember gives an erased member's answers their pseudonym in the key that keeps one
// answer a period (it names the customer); the answers themselves are kept by MemberData.
func (s *Service) EraseMember(ctx context.Context, member, pseudonym bson.ObjectID) error {
	list, err := store.FindAll[Response](ctx, s.responses, bson.M{"customer_id": member}, options.Find().SetProjection(bson.M{"once": 1}))
	if err != nil {
		return fmt.Errorf("erase answers: %w", err)
	}
	for _, r := range list {
		if r.Once == "" {
			continue
		}
		if _, err := s.responses.UpdateOne(ctx, bson.M{"_id": r.ID}, bson.M{"$set": bson.M{"once": strings.ReplaceAll(r.Once, member.Hex(), pseudonym.Hex())}}); err != nil {
			return fmt.Errorf("erase answers: %w", err)
		}
	}
	return nil
}
