// Package webhooks tells other systems (a CRM, a shop, a help desk) what happens in the
// portal: admins register endpoints with the events they want, and each event is delivered
// to each of them at least once, signed by the Standard Webhooks convention, from an outbox
// in MongoDB, retried with exponential back-off, logged, and redelivered on request. An
// endpoint that keeps failing is disabled and the admins are told. Nothing outside this
// package touches its collections.
package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// Event types an endpoint may subscribe to.
const (
	ReviewCreated           = "review.created"
	ReviewUpdated           = "review.updated"
	ReviewHidden            = "review.hidden"
	ThreadCreated           = "thread.created"
	ReplyCreated            = "reply.created"
	IdeaCreated             = "idea.created"
	IdeaStatusChanged       = "idea.status_changed"
	SurveyAnswered          = "survey.answered"
	TestimonialApproved     = "testimonial.approved"
	FlagRaised              = "flag.raised"
	CustomerStageChanged    = "customer.stage_changed"
	CustomerBandChanged     = "customer.band_changed"
	CustomerBecameDetractor = "customer.became_detractor"
	// Ping is the test an admin sends to check an endpoint; no one subscribes to it.
	Ping = "ping"
)

// Events lists the event types, in the order the admin form shows them.
var Events = []string{ReviewCreated, ReviewUpdated, ReviewHidden, ThreadCreated, ReplyCreated, IdeaCreated, IdeaStatusChanged,
	SurveyAnswered, TestimonialApproved, FlagRaised, CustomerStageChanged, CustomerBandChanged, CustomerBecameDetractor}

// PayloadVersion is the version of the payloads' shape; it changes only when a field is
// taken away or changes meaning.
const PayloadVersion = 1

// Endpoint is a URL that receives some events.
type Endpoint struct {
	ID          bson.ObjectID `bson:"_id"`
	URL         string        `bson:"url"`
	Description string        `bson:"description,omitempty"`
	Events      []string      `bson:"events"`
	// Secret signs the deliveries ("whsec_" and the key in base64), shown to the admin once.
	Secret string `bson:"secret"`
	// SecretShown: the admin has seen the secret; it is not shown again (rotate for a new one).
	SecretShown bool          `bson:"secret_shown"`
	Active      bool          `bson:"active"`
	Failures    int           `bson:"failures"` // failed attempts in a row
	Disabled    string        `bson:"disabled,omitempty"`
	CreatedAt   time.Time     `bson:"created_at"`
	CreatedBy   bson.ObjectID `bson:"created_by"`
	UpdatedAt   time.Time     `bson:"updated_at"`
}

// Wants reports whether the endpoint takes events of type t now.
func (e *Endpoint) Wants(t string) bool { return e.Active && slices.Contains(e.Events, t) }

// Indexes of the collections this package owns.
var Indexes = []store.Indexes{
	{Collection: "webhook_endpoints", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "active", Value: 1}, {Key: "_id", Value: 1}}},
	}},
	{Collection: "webhook_deliveries", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "next_at", Value: 1}}},
		{Keys: bson.D{{Key: "subject", Value: 1}}},                                                              // an erased member's                                   // due
		{Keys: bson.D{{Key: "endpoint_id", Value: 1}, {Key: "created_at", Value: -1}, {Key: "_id", Value: -1}}}, // an endpoint's log
	}},
}

// Teller tells the admins that an endpoint was disabled.
type Teller func(ctx context.Context, endpoint *Endpoint) error

// Config is how the service delivers.
type Config struct {
	// AllowPrivate lets endpoints resolve to private, loopback and link-local addresses (a
	// receiver on the same network, tests); refused otherwise, so that nobody makes the
	// portal call into its own network.
	AllowPrivate bool
	// BaseURL makes the links in payloads absolute.
	BaseURL string
	Timeout time.Duration // per attempt; 10 s if zero
}

// Service keeps the endpoints and delivers their events.
type Service struct {
	endpoints  *mongo.Collection
	deliveries *mongo.Collection
	states     *mongo.Collection
	cfg        Config
	tell       Teller
	active     *store.Cached[[]*Endpoint]
	client     *httpClient
	now        func() time.Time
}

// New returns the service on db.
func New(db *mongo.Database, cfg Config, tell Teller) *Service {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	s := &Service{endpoints: db.Collection("webhook_endpoints"), deliveries: db.Collection("webhook_deliveries"),
		states: db.Collection("webhook_states"), cfg: cfg, tell: tell, now: func() time.Time { return time.Now().UTC() }}
	s.client = newHTTPClient(cfg)
	s.active = store.NewCached("webhook_endpoints", 5*time.Second, func(ctx context.Context) ([]*Endpoint, error) {
		return store.FindAll[Endpoint](ctx, s.endpoints, bson.M{"active": true}, options.Find().SetSort(bson.D{{Key: "active", Value: 1}, {Key: "_id", Value: 1}}))
	})
	return s
}

// ErrNotFound: no such endpoint.
var ErrNotFound = errs.New(errs.ErrNotFound, "webhook.not_found")

// Input is the admin's form for an endpoint.
type Input struct {
	URL         string   `form:"url" json:"url"`
	Description string   `form:"description" json:"description"`
	Events      []string `form:"events" json:"events"`
}

// validate checks the form: an http(s) URL without credentials whose host is not private
// (unless allowed), and known events.
func (s *Service) validate(ctx context.Context, in *Input) error {
	var f errs.Fields
	in.URL, in.Description = strings.TrimSpace(in.URL), strings.TrimSpace(in.Description)
	u, err := url.Parse(in.URL)
	switch {
	case in.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(in.URL) > 2000:
		f.Add("url", "webhook.url")
	case u.User != nil:
		f.Add("url", "webhook.url_credentials")
	default:
		if err := s.client.checkHost(ctx, u.Hostname()); err != nil {
			f.Add("url", "webhook.url_private")
		}
	}
	if len([]rune(in.Description)) > 200 {
		f.Add("description", "field.too_long", "Max", 200)
	}
	if len(in.Events) == 0 {
		f.Add("events", "webhook.events_required")
	}
	for _, e := range in.Events {
		if !slices.Contains(Events, e) {
			f.Add("events", "field.choose_one")
		}
	}
	return f.Err()
}

// Create registers an endpoint; its secret is in the answer, to be shown once.
func (s *Service) Create(ctx context.Context, by bson.ObjectID, in Input) (*Endpoint, error) {
	if err := s.validate(ctx, &in); err != nil {
		return nil, err
	}
	now := s.now()
	e := &Endpoint{ID: bson.NewObjectID(), URL: in.URL, Description: in.Description, Events: in.Events, Secret: newSecret(),
		Active: true, CreatedAt: now, CreatedBy: by, UpdatedAt: now}
	if _, err := s.endpoints.InsertOne(ctx, e); err != nil {
		return nil, fmt.Errorf("create webhook: %w", err)
	}
	s.active.Forget()
	return e, nil
}

// Update changes an endpoint's URL, description and events.
func (s *Service) Update(ctx context.Context, id bson.ObjectID, in Input) (*Endpoint, error) {
	if err := s.validate(ctx, &in); err != nil {
		return nil, err
	}
	return s.set(ctx, id, bson.M{"url": in.URL, "description": in.Description, "events": in.Events})
}

// SetActive turns an endpoint on (its failures forgotten) or off.
func (s *Service) SetActive(ctx context.Context, id bson.ObjectID, on bool) (*Endpoint, error) {
	set := bson.M{"active": on}
	if on {
		set["failures"], set["disabled"] = 0, ""
	}
	return s.set(ctx, id, set)
}

// RotateSecret gives an endpoint a new secret, to be shown once.
func (s *Service) RotateSecret(ctx context.Context, id bson.ObjectID) (*Endpoint, error) {
	return s.set(ctx, id, bson.M{"secret": newSecret(), "secret_shown": false})
}

// RevealSecret returns the secret if it was not shown yet, and marks it shown: the page
// that shows it shows it once.
func (s *Service) RevealSecret(ctx context.Context, id bson.ObjectID) (string, error) {
	var e Endpoint
	err := s.endpoints.FindOneAndUpdate(ctx, bson.M{"_id": id, "secret_shown": false}, bson.M{"$set": bson.M{"secret_shown": true}}).Decode(&e)
	if err == mongo.ErrNoDocuments {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	return e.Secret, nil
}

// Delete removes an endpoint and its deliveries.
func (s *Service) Delete(ctx context.Context, id bson.ObjectID) error {
	if _, err := s.endpoints.DeleteOne(ctx, bson.M{"_id": id}); err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	s.active.Forget()
	if _, err := s.deliveries.DeleteMany(ctx, bson.M{"endpoint_id": id}); err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	return nil
}

func (s *Service) set(ctx context.Context, id bson.ObjectID, set bson.M) (*Endpoint, error) {
	set["updated_at"] = s.now()
	var e Endpoint
	err := s.endpoints.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{"$set": set}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&e)
	if err == mongo.ErrNoDocuments {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	s.active.Forget()
	return &e, nil
}

// Get reads an endpoint.
func (s *Service) Get(ctx context.Context, id bson.ObjectID) (*Endpoint, error) {
	return store.FindOne[Endpoint](ctx, s.endpoints, bson.M{"_id": id}, ErrNotFound)
}

// List lists the endpoints (a handful), oldest first.
func (s *Service) List(ctx context.Context) ([]*Endpoint, error) {
	return store.FindAll[Endpoint](ctx, s.endpoints, bson.M{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(200))
}

// newSecret is a Standard Webhooks secret: "whsec_" and 32 random bytes in base64.
func newSecret() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// private reports whether an address is one the portal must not be made to call: loopback,
// private networks, link-local (cloud metadata), unspecified, multicast.
func private(ip net.IP) bool {
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast()
}
