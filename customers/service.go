package customers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// Errors callers act on.
var (
	ErrEmailTaken     = errs.New(errs.ErrConflict, "account.email_taken")
	ErrIdentityInUse  = errs.New(errs.ErrConflict, "account.identity_in_use")
	ErrNotFound       = errs.New(errs.ErrNotFound, "account.not_found")
	ErrProviderLinked = errs.New(errs.ErrConflict, "account.provider_linked")
)

// MaxDisplayNameLen is the longest display name, in characters.
const MaxDisplayNameLen = 60

// orphanAge is how old an identity must be before a claim may take it from a customer that
// does not exist: younger, and its customer may still be being created.
const orphanAge = time.Minute

// MemberData is where this package keeps a member's own data (for their download).
var MemberData = []store.MemberData{
	{Collection: "customers", Field: "_id", Omit: []string{"password_hash"}},
	{Collection: "identities", Field: "customer_id"},
	{Collection: "signals", Field: "customer_id"},
	{Collection: "purchases", Field: "customer_id"},
}

// Indexes of the collections this package owns. FerretDB v1 does not enforce a unique index
// on array elements, so a sign-in identity is guarded by its own document, keyed by
// provider and subject, rather than by an index on customers.identities.
var Indexes = []store.Indexes{
	{Collection: "customers", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true).SetSparse(true)},
		{Keys: bson.D{{Key: "stage", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "satisfaction.band", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "satisfaction.nps_category", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "satisfaction.nps_category", Value: 1}, {Key: "last_active_at", Value: -1}, {Key: "_id", Value: -1}}}, // detractors active lately
		{Keys: bson.D{{Key: "satisfaction.score", Value: -1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "loyalty.level", Value: -1}, {Key: "loyalty.points", Value: -1}, {Key: "_id", Value: -1}}}, // by level
		{Keys: bson.D{{Key: "staff", Value: 1}, {Key: "_id", Value: -1}}},                                              // the customers list
		{Keys: bson.D{{Key: "risk.rank", Value: -1}, {Key: "_id", Value: -1}}},                                         // the at-risk list
		{Keys: bson.D{{Key: "value.cltv", Value: -1}, {Key: "_id", Value: -1}}},                                        // by value
		{Keys: bson.D{{Key: "last_active_at", Value: -1}, {Key: "_id", Value: -1}}},                                    // by last activity; active since, inactive since
		{Keys: bson.D{{Key: "roles", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "status", Value: 1}, {Key: "_id", Value: -1}}},
		{Keys: bson.D{{Key: "email_verified", Value: 1}, {Key: "_id", Value: -1}}},
	}, Retired: []string{"last_active_at_-1"}}, // served by last activity's
	{Collection: "identities", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "customer_id", Value: 1}}},
	}},
	signalIndexes,
	purchaseIndexes,
}

// Service reads and writes customer records.
type Service struct {
	customers  *mongo.Collection
	identities *mongo.Collection
	signals    *mongo.Collection
	purchases  *mongo.Collection
	settings   *mongo.Collection
	languages  []string
	currency   string
	now        func() time.Time
	// scoreSettings are read by every signal: cached, and forgotten when saved here.
	scoreSettings *store.Cached[ScoreSettings]
	watchers      []Watcher
	afterStored   func([]Signal) // tests: what happens between storing signals and counting them
	beforeFold    func()         // tests: what happens between reading records and folding signals onto them
}

// SetClock replaces the clock, for tests (other packages' too, as loyalty's).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// NewService returns the service on db; languages are the locales a customer may prefer.
func NewService(db *mongo.Database, languages []string) *Service {
	s := &Service{
		customers:  db.Collection("customers"),
		identities: db.Collection("identities"),
		signals:    db.Collection("signals"),
		purchases:  db.Collection("purchases"),
		settings:   db.Collection("customer_settings"),
		languages:  languages,
		currency:   DefaultCurrency,
		now:        func() time.Time { return time.Now().UTC() },
	}
	s.scoreSettings = store.NewCached("customer_settings", 5*time.Second, s.loadScoreSettings)
	return s
}

type identityDoc struct {
	ID         string        `bson:"_id"`
	Provider   string        `bson:"provider"`
	Subject    string        `bson:"subject"`
	CustomerID bson.ObjectID `bson:"customer_id"`
	LinkedAt   time.Time     `bson:"linked_at"`
}

func identityKey(provider, subject string) string { return provider + "|" + subject }

// NewCustomer is what is known of a person at their first sign-in.
type NewCustomer struct {
	Email         string
	EmailVerified bool
	DisplayName   string
	AvatarURL     string
	Locale        string
	PasswordHash  string
	Roles         []Role
	Identity      *Identity // the social login that created the account, if any
}

// Create stores a new customer. The identity, if any, is claimed first: its unique key is
// the guard against two concurrent first sign-ins creating two records for one person.
func (s *Service) Create(ctx context.Context, in NewCustomer) (*Customer, error) {
	now := s.now()
	c := &Customer{
		ID:            bson.NewObjectID(),
		Email:         NormalizeEmail(in.Email),
		EmailVerified: in.EmailVerified,
		DisplayName:   cleanDisplayName(in.DisplayName, in.Email),
		AvatarURL:     in.AvatarURL,
		Locale:        in.Locale,
		Roles:         withCustomerRole(in.Roles),
		Staff:         staffRoles(in.Roles),
		Identities:    []Identity{},
		PasswordHash:  in.PasswordHash,
		Status:        StatusActive,
		Satisfaction:  Satisfaction{NPS: -1},
		Stage:         StageAwareness,
		StageHistory:  []StageChange{{To: StageAwareness, Cause: "registered", At: now}},
		CreatedAt:     now,
		UpdatedAt:     now,
		LastActiveAt:  now,
		Version:       1,
	}
	if !slices.Contains(s.languages, c.Locale) {
		c.Locale = ""
	}
	if in.Identity != nil {
		ident := *in.Identity
		ident.LinkedAt = now
		if err := s.claimIdentity(ctx, c.ID, ident); err != nil {
			return nil, err
		}
		c.Identities = append(c.Identities, ident)
	}
	if _, err := s.customers.InsertOne(ctx, c); err != nil {
		if in.Identity != nil {
			_, _ = s.identities.DeleteOne(ctx, bson.M{"_id": identityKey(in.Identity.Provider, in.Identity.Subject), "customer_id": c.ID})
		}
		if mongo.IsDuplicateKeyError(err) {
			return nil, ErrEmailTaken
		}
		return nil, fmt.Errorf("create customer: %w", err)
	}
	return c, nil
}

// claimIdentity inserts the identity's key for customer; it is idempotent for the same owner.
func (s *Service) claimIdentity(ctx context.Context, customer bson.ObjectID, ident Identity) error {
	doc := identityDoc{
		ID:         identityKey(ident.Provider, ident.Subject),
		Provider:   ident.Provider,
		Subject:    ident.Subject,
		CustomerID: customer,
		LinkedAt:   ident.LinkedAt,
	}
	_, err := s.identities.InsertOne(ctx, doc)
	if mongo.IsDuplicateKeyError(err) {
		var existing identityDoc
		if err := s.identities.FindOne(ctx, bson.M{"_id": doc.ID}).Decode(&existing); err != nil {
			return fmt.Errorf("read identity: %w", err)
		}
		if existing.CustomerID == customer {
			return nil
		}
		// A crash between claiming an identity and creating its customer leaves the identity
		// pointing at nobody; a later claim takes it over rather than locking the person out.
		if s.now().Sub(existing.LinkedAt) > orphanAge {
			if _, err := s.Get(ctx, existing.CustomerID); errors.Is(err, ErrNotFound) {
				res, err := s.identities.UpdateOne(ctx, bson.M{"_id": doc.ID, "customer_id": existing.CustomerID},
					bson.M{"$set": bson.M{"customer_id": customer, "linked_at": ident.LinkedAt}})
				if err == nil && res.ModifiedCount == 1 {
					return nil
				}
			}
		}
		return ErrIdentityInUse
	}
	if err != nil {
		return fmt.Errorf("claim identity: %w", err)
	}
	return nil
}

// LinkIdentity adds a social login to an existing customer: one account per provider.
func (s *Service) LinkIdentity(ctx context.Context, id bson.ObjectID, ident Identity) error {
	c, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	for _, have := range c.Identities {
		if have.Provider == ident.Provider {
			if have.Subject == ident.Subject {
				return nil
			}
			return ErrProviderLinked
		}
	}
	ident.LinkedAt = s.now()
	if err := s.claimIdentity(ctx, id, ident); err != nil {
		return err
	}
	// The guard keeps a retried link from adding the provider twice.
	_, err = s.customers.UpdateOne(ctx,
		bson.M{"_id": id, "identities.provider": bson.M{"$ne": ident.Provider}},
		bson.M{"$push": bson.M{"identities": ident}, "$set": bson.M{"updated_at": ident.LinkedAt}, "$inc": bson.M{"version": 1}})
	if err != nil {
		return fmt.Errorf("link identity: %w", err)
	}
	return nil
}

// Get returns one customer.
func (s *Service) Get(ctx context.Context, id bson.ObjectID) (*Customer, error) {
	return s.findOne(ctx, bson.M{"_id": id})
}

// GetMany returns the customers with the given IDs, in one query, keyed by ID.
func (s *Service) GetMany(ctx context.Context, ids []bson.ObjectID) (map[bson.ObjectID]*Customer, error) {
	return s.getMany(ctx, ids)
}

func (s *Service) getMany(ctx context.Context, ids []bson.ObjectID, opts ...options.Lister[options.FindOptions]) (map[bson.ObjectID]*Customer, error) {
	out := make(map[bson.ObjectID]*Customer, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cur, err := s.customers.Find(ctx, bson.M{"_id": bson.M{"$in": ids}}, opts...)
	if err != nil {
		return nil, fmt.Errorf("get customers: %w", err)
	}
	list := []*Customer{}
	if err := cur.All(ctx, &list); err != nil {
		return nil, fmt.Errorf("get customers: %w", err)
	}
	for _, c := range list {
		out[c.ID] = c
	}
	return out, nil
}

// Profiles returns what pages show of the customers with the given IDs — name, avatar,
// roles, standing and level — in one query, keyed by ID. Reading only these fields lets the
// page cache keep a page that shows an author while the author's counters, scores and
// points move.
func (s *Service) Profiles(ctx context.Context, ids []bson.ObjectID) (map[bson.ObjectID]*Customer, error) {
	return s.GetManyFields(ctx, ids, "display_name", "avatar_url", "roles", "staff", "status", "suspension", "loyalty.level")
}

// GetManyFields is GetMany reading only the named fields (and _id): a record carries its
// purchases, identities and score trail, which a caller that needs a few fields of thousands
// of customers should not read and decode.
func (s *Service) GetManyFields(ctx context.Context, ids []bson.ObjectID, fields ...string) (map[bson.ObjectID]*Customer, error) {
	projection := bson.D{}
	for _, f := range fields {
		projection = append(projection, bson.E{Key: f, Value: 1})
	}
	return s.getMany(ctx, ids, options.Find().SetProjection(projection))
}

// FindByEmail returns the customer with that address.
func (s *Service) FindByEmail(ctx context.Context, email string) (*Customer, error) {
	email = NormalizeEmail(email)
	if email == "" {
		return nil, ErrNotFound
	}
	return s.findOne(ctx, bson.M{"email": email})
}

// FindByIdentity returns the customer who signs in with provider as subject.
func (s *Service) FindByIdentity(ctx context.Context, provider, subject string) (*Customer, error) {
	var doc identityDoc
	err := s.identities.FindOne(ctx, bson.M{"_id": identityKey(provider, subject)}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find identity: %w", err)
	}
	return s.Get(ctx, doc.CustomerID)
}

func (s *Service) findOne(ctx context.Context, filter bson.M) (*Customer, error) {
	return store.FindOne[Customer](ctx, s.customers, filter, ErrNotFound)
}

// update applies set to one customer, bumping its version.
func (s *Service) update(ctx context.Context, id bson.ObjectID, set bson.M) error {
	set["updated_at"] = s.now()
	res, err := s.customers.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": set, "$inc": bson.M{"version": 1}})
	if err != nil {
		return fmt.Errorf("update customer: %w", err)
	}
	if res.MatchedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// SetPasswordHash stores a new password hash (computed by identity).
func (s *Service) SetPasswordHash(ctx context.Context, id bson.ObjectID, hash string) error {
	return s.update(ctx, id, bson.M{"password_hash": hash})
}

// Profile is what a customer edits about themselves.
type Profile struct {
	DisplayName string `form:"display_name" json:"display_name"`
	Locale      string `form:"locale" json:"locale"`
}

// UpdateProfile validates and stores a customer's own profile.
func (s *Service) UpdateProfile(ctx context.Context, id bson.ObjectID, p Profile) error {
	var f errs.Fields
	name := strings.TrimSpace(p.DisplayName)
	ValidateDisplayName(&f, "display_name", name)
	if p.Locale != "" && !slices.Contains(s.languages, p.Locale) {
		f.Add("locale", "field.choose_one")
	}
	if err := f.Err(); err != nil {
		return err
	}
	return s.update(ctx, id, bson.M{"display_name": name, "locale": p.Locale})
}

// AddPoints moves a member's points balance by delta — and what they have earned, when the
// points are earned or taken back rather than refunded — and returns the record as after.
func (s *Service) AddPoints(ctx context.Context, id bson.ObjectID, delta int, earned bool) (*Customer, error) {
	var c Customer
	inc := bson.M{"loyalty.points": delta, "version": 1}
	if earned {
		inc["loyalty.earned"] = delta
	}
	err := s.customers.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{"$inc": inc},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("add points: %w", err)
	}
	return &c, nil
}

// SpendPoints takes cost points from a member who has them: false, and nothing taken,
// when the balance is short. The balance is checked by the update itself, so two spends at
// once can never take it below zero.
func (s *Service) SpendPoints(ctx context.Context, id bson.ObjectID, cost int) (bool, error) {
	res, err := s.customers.UpdateOne(ctx, bson.M{"_id": id, "loyalty.points": bson.M{"$gte": cost}},
		bson.M{"$inc": bson.M{"loyalty.points": -cost, "version": 1}})
	if err != nil {
		return false, fmt.Errorf("spend points: %w", err)
	}
	return res.ModifiedCount == 1, nil
}

// SetLoyalty sets a member's balance, earned points and level (repair) if their record is
// still at version: false when it changed meanwhile.
func (s *Service) SetLoyalty(ctx context.Context, id bson.ObjectID, version, points, earned, level int) (bool, error) {
	res, err := s.customers.UpdateOne(ctx, bson.M{"_id": id, "version": version}, bson.M{
		"$set": bson.M{"loyalty.points": points, "loyalty.earned": earned, "loyalty.level": level, "updated_at": s.now()},
		"$inc": bson.M{"version": 1}})
	if err != nil {
		return false, fmt.Errorf("set loyalty: %w", err)
	}
	return res.ModifiedCount == 1, nil
}

// WithPoints lists the members whose stored balance is not zero (for repair: a scan).
func (s *Service) WithPoints(ctx context.Context) ([]bson.ObjectID, error) {
	list, err := store.FindAll[Customer](ctx, s.customers, bson.M{"loyalty.points": bson.M{"$ne": 0}},
		options.Find().SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return nil, err
	}
	out := make([]bson.ObjectID, len(list))
	for i, c := range list {
		out[i] = c.ID
	}
	return out, nil
}

// Backdate moves when a member joined: the demo's members have been around for a while.
func (s *Service) Backdate(ctx context.Context, id bson.ObjectID, joined time.Time) error {
	return s.update(ctx, id, bson.M{"created_at": joined})
}

// Joined records when an imported member joined their first community: then, as far as
// anyone knows, they were last active too (their imported content moves it on).
func (s *Service) Joined(ctx context.Context, id bson.ObjectID, at time.Time) error {
	return s.update(ctx, id, bson.M{"created_at": at.UTC(), "last_active_at": at.UTC()})
}

// SetLevel sets a member's trust level.
func (s *Service) SetLevel(ctx context.Context, id bson.ObjectID, level int) error {
	return s.update(ctx, id, bson.M{"loyalty.level": level})
}

// Strike records that a moderator rejected or hid something of the member's at.
func (s *Service) Strike(ctx context.Context, id bson.ObjectID, at time.Time) error {
	return s.update(ctx, id, bson.M{"loyalty.strike_at": at})
}

// SetAvatar sets the picture shown beside a customer's name (a URL; "" for their initials).
func (s *Service) SetAvatar(ctx context.Context, id bson.ObjectID, url string) error {
	return s.update(ctx, id, bson.M{"avatar_url": url})
}

// ValidateDisplayName adds a problem with a display name to f.
func ValidateDisplayName(f *errs.Fields, field, name string) {
	switch n := utf8.RuneCountInString(strings.TrimSpace(name)); {
	case n == 0:
		f.Add(field, "field.required")
	case n > MaxDisplayNameLen:
		f.Add(field, "field.too_long", "Max", MaxDisplayNameLen)
	}
}

// How a kind of notification reaches a member by email.
const (
	EmailOff     = "off"
	EmailInstant = "instant" // a few minutes after, unless read in the portal by then
	EmailDaily   = "daily"   // in a digest
	EmailWeekly  = "weekly"
)

// EmailChoices are the values an email preference may take.
var EmailChoices = []string{EmailOff, EmailInstant, EmailDaily, EmailWeekly}

// SetEmailPref sets how one kind of notification is emailed to a customer.
func (s *Service) SetEmailPref(ctx context.Context, id bson.ObjectID, kind, pref string) error {
	if !slices.Contains(EmailChoices, pref) {
		return errs.Field("pref", "field.choose_one")
	}
	if !validPrefKind(kind) {
		return errs.Field("kind", "field.choose_one")
	}
	return s.update(ctx, id, bson.M{"email_prefs." + kind: pref})
}

// validPrefKind: a notification kind is a short lower-case word (it becomes a field name).
func validPrefKind(kind string) bool {
	if kind == "" || len(kind) > 30 {
		return false
	}
	for _, r := range kind {
		if (r < 'a' || r > 'z') && r != '_' {
			return false
		}
	}
	return true
}

// SetLocale stores the language a customer chose with the language switch.
func (s *Service) SetLocale(ctx context.Context, id bson.ObjectID, locale string) error {
	if !slices.Contains(s.languages, locale) {
		return errs.Field("locale", "field.choose_one")
	}
	return s.update(ctx, id, bson.M{"locale": locale})
}

// EmailProven records that a provider vouched for the account's email. If the email was
// never verified, whoever set the account's password did not prove they own it (someone
// may have signed up with another person's address), so the password is removed: the
// owner sets a new one. It reports whether a password was removed.
func (s *Service) EmailProven(ctx context.Context, id bson.ObjectID) (bool, error) {
	c, err := s.Get(ctx, id)
	if err != nil || c.EmailVerified {
		return false, err
	}
	if err := s.update(ctx, id, bson.M{"email_verified": true, "password_hash": ""}); err != nil {
		return false, err
	}
	return c.PasswordHash != "", nil
}

// ChangeEmail moves an account from address from to address to, confirmed (its owner
// followed a link sent there). Another account with that address is ErrEmailTaken.
func (s *Service) ChangeEmail(ctx context.Context, id bson.ObjectID, from, to string) error {
	filter := bson.M{"_id": id, "email": from}
	if from == "" {
		filter["email"] = bson.M{"$exists": false} // an account made without one adds one
	}
	res, err := s.customers.UpdateOne(ctx, filter,
		bson.M{"$set": bson.M{"email": NormalizeEmail(to), "email_verified": true, "updated_at": s.now()}, "$inc": bson.M{"version": 1}})
	if mongo.IsDuplicateKeyError(err) {
		return ErrEmailTaken
	}
	if err != nil {
		return fmt.Errorf("change email: %w", err)
	}
	if res.MatchedCount == 0 {
		return ErrNotFound // changed meanwhile
	}
	return nil
}

// VerifyEmail records that the owner of email proved it (a link sent there was followed),
// if it is still the customer's address. It reports whether it changed anything.
func (s *Service) VerifyEmail(ctx context.Context, id bson.ObjectID, email string) (bool, error) {
	res, err := s.customers.UpdateOne(ctx, bson.M{"_id": id, "email": email, "email_verified": false},
		bson.M{"$set": bson.M{"email_verified": true, "updated_at": s.now()}, "$inc": bson.M{"version": 1}})
	if err != nil {
		return false, fmt.Errorf("verify email: %w", err)
	}
	return res.ModifiedCount == 1, nil
}

// SetRoles replaces a customer's roles; every account keeps the customer role.
func (s *Service) SetRoles(ctx context.Context, id bson.ObjectID, roles []Role) error {
	return s.update(ctx, id, bson.M{"roles": withCustomerRole(roles), "staff": staffRoles(roles)})
}

// Suspend stops a customer from posting, with a reason they are shown, until a time or
// until reinstated.
func (s *Service) Suspend(ctx context.Context, id, by bson.ObjectID, reason string, until *time.Time) error {
	var f errs.Fields
	reason = strings.TrimSpace(reason)
	if reason == "" {
		f.Add("reason", "field.required")
	} else if utf8.RuneCountInString(reason) > 500 {
		f.Add("reason", "field.too_long", "Max", 500)
	}
	if until != nil && !until.After(s.now()) {
		f.Add("until", "field.future_date")
	}
	if err := f.Err(); err != nil {
		return err
	}
	return s.update(ctx, id, bson.M{
		"status":     StatusSuspended,
		"suspension": Suspension{Reason: reason, By: by, At: s.now(), Until: until},
	})
}

// Reinstate lifts a suspension.
func (s *Service) Reinstate(ctx context.Context, id bson.ObjectID) error {
	return s.update(ctx, id, bson.M{"status": StatusActive, "suspension": nil})
}

// Touch records activity, at most once an hour per customer so reads stay reads.
func (s *Service) Touch(ctx context.Context, id bson.ObjectID) error {
	now := s.now()
	_, err := s.customers.UpdateOne(ctx,
		bson.M{"_id": id, "last_active_at": bson.M{"$lt": now.Add(-time.Hour)}},
		bson.M{"$set": bson.M{"last_active_at": now}})
	if err != nil {
		return fmt.Errorf("touch customer: %w", err)
	}
	return nil
}

// NewPseudonym makes the record an erased member's kept contributions go under: a new ID
// (one per erasure, so votes stay one per voter), no name but ErasedName, nothing personal.
func (s *Service) NewPseudonym(ctx context.Context) (bson.ObjectID, error) {
	now := s.now()
	c := Customer{ID: bson.NewObjectID(), DisplayName: ErasedName, Roles: []Role{RoleCustomer}, Identities: []Identity{},
		Status: StatusErased, Stage: StageAwareness, Satisfaction: Satisfaction{NPS: -1}, CreatedAt: now, UpdatedAt: now}
	if _, err := s.customers.InsertOne(ctx, c); err != nil {
		return bson.ObjectID{}, fmt.Errorf("pseudonym: %w", err)
	}
	return c.ID, nil
}

// Query selects customers for the staff's account list.
type Query struct {
	Text string // matches any part of the name, and the start of the email if Emails
	// Emails lets Text find customers by their email address: set only for viewers who may
	// see addresses, or a search would reveal them one prefix at a time.
	Emails bool
	Role   Role   // optional
	Status Status // optional
	Stage  Stage  // optional
	Band   string // optional: satisfied, neutral, at_risk
	NPS    string // optional: promoter, passive, detractor
	// Among keeps only these customers (nil: any), such as a page of a product's buyers.
	Among []bson.ObjectID
	// Unconfirmed keeps accounts with an email address nobody has confirmed yet.
	Unconfirmed bool
	// ActiveSince keeps customers active since then, InactiveSince those not active since
	// then (zero: any).
	ActiveSince, InactiveSince time.Time
	// ByScore orders by satisfaction score, highest first; After is then the previous
	// page's last key (ScoreCursor), and Before is not used.
	ByScore bool
	// NoStaff leaves the company's people out (the customers list, by default).
	NoStaff bool
	// Ascending turns the score order round: lowest first.
	Ascending bool
	// ByActivity orders by last activity, most recent first; After is then the previous
	// page's last key.
	ByActivity bool
	// ByLevel orders by trust level, then points, highest first; After is then the previous
	// page's last key (LevelCursor).
	ByLevel bool
	// ByRisk orders by risk weighed by value (Risk.Rank), highest first; ByValue by lifetime
	// value. After is then the previous page's last key.
	ByRisk, ByValue bool
	// AtRisk keeps the customers on the at-risk list.
	AtRisk bool
	// Level keeps members of one trust level ("0"…"3"; "": any).
	Level  string
	After  string
	Before bson.ObjectID // key of the last customer of the previous page (newest first)
	Limit  int
}

// Search lists customers newest first, a page at a time by key.
func (s *Service) Search(ctx context.Context, q Query) ([]*Customer, error) {
	filter := bson.M{}
	if text := strings.TrimSpace(q.Text); text != "" {
		quoted := regexp.QuoteMeta(strings.ToLower(text))
		byName := bson.M{"display_name": bson.M{"$regex": quoted, "$options": "i"}}
		if q.Emails {
			filter["$or"] = bson.A{bson.M{"email": bson.M{"$regex": "^" + quoted}}, byName}
		} else {
			filter["display_name"] = byName["display_name"]
		}
	}
	if q.Role != "" {
		filter["roles"] = q.Role
	}
	if q.Among != nil {
		filter["_id"] = bson.M{"$in": q.Among}
	}
	if q.Status != "" {
		filter["status"] = q.Status
	}
	if q.Stage != "" {
		filter["stage"] = q.Stage
	}
	if q.Band != "" {
		filter["satisfaction.band"] = q.Band
	}
	if q.NPS != "" {
		filter["satisfaction.nps_category"] = q.NPS
	}
	if q.Unconfirmed {
		filter["email_verified"] = false
		filter["email"] = bson.M{"$gt": ""}
	}
	if !q.ActiveSince.IsZero() {
		filter["last_active_at"] = bson.M{"$gte": q.ActiveSince}
	}
	if !q.InactiveSince.IsZero() {
		filter["last_active_at"] = bson.M{"$lt": q.InactiveSince}
	}
	if level, err := strconv.Atoi(q.Level); err == nil {
		filter["loyalty.level"] = level
	}
	if q.NoStaff {
		filter["staff"] = bson.M{"$ne": true}
	}
	if q.AtRisk {
		filter["risk.rank"] = bson.M{"$gt": 0}
	}
	// after adds a page's start to the filter, beside a name search's own $or.
	after := func(cond bson.A) {
		if or, has := filter["$or"]; has {
			filter["$and"] = bson.A{bson.M{"$or": or}, bson.M{"$or": cond}}
			delete(filter, "$or")
		} else {
			filter["$or"] = cond
		}
	}
	sort := bson.D{{Key: "_id", Value: -1}}
	switch {
	case q.ByRisk || q.ByValue:
		field := "risk.rank"
		if q.ByValue {
			field = "value.cltv"
		}
		sort = bson.D{{Key: field, Value: -1}, {Key: "_id", Value: -1}}
		if key, id, ok := parseFloatCursor(q.After); ok {
			var v any = key
			if q.ByValue {
				v = int64(key)
			}
			after(bson.A{bson.M{field: bson.M{"$lt": v}}, bson.M{field: v, "_id": bson.M{"$lt": id}}})
		}
	case q.ByActivity:
		sort = bson.D{{Key: "last_active_at", Value: -1}, {Key: "_id", Value: -1}}
		if nanos, id, ok := parseActivityCursor(q.After); ok {
			at := time.Unix(0, nanos).UTC()
			after := bson.A{bson.M{"last_active_at": bson.M{"$lt": at}}, bson.M{"last_active_at": at, "_id": bson.M{"$lt": id}}}
			if or, has := filter["$or"]; has {
				filter["$and"] = bson.A{bson.M{"$or": or}, bson.M{"$or": after}}
				delete(filter, "$or")
			} else {
				filter["$or"] = after
			}
		}
	case q.ByScore:
		dir, op := -1, "$lt"
		if q.Ascending {
			dir, op = 1, "$gt"
		}
		sort = bson.D{{Key: "satisfaction.score", Value: dir}, {Key: "_id", Value: -1}}
		if score, id, ok := parseScoreCursor(q.After); ok {
			after := bson.A{bson.M{"satisfaction.score": bson.M{op: score}}, bson.M{"satisfaction.score": score, "_id": bson.M{"$lt": id}}}
			if or, has := filter["$or"]; has {
				filter["$and"] = bson.A{bson.M{"$or": or}, bson.M{"$or": after}}
				delete(filter, "$or")
			} else {
				filter["$or"] = after
			}
		}
	case q.ByLevel:
		sort = bson.D{{Key: "loyalty.level", Value: -1}, {Key: "loyalty.points", Value: -1}, {Key: "_id", Value: -1}}
		if level, points, id, ok := parseLevelCursor(q.After); ok {
			after := bson.A{bson.M{"loyalty.level": bson.M{"$lt": level}},
				bson.M{"loyalty.level": level, "loyalty.points": bson.M{"$lt": points}},
				bson.M{"loyalty.level": level, "loyalty.points": points, "_id": bson.M{"$lt": id}}}
			if or, has := filter["$or"]; has {
				filter["$and"] = bson.A{bson.M{"$or": or}, bson.M{"$or": after}}
				delete(filter, "$or")
			} else {
				filter["$or"] = after
			}
		}
	case !q.Before.IsZero() && q.Among == nil:
		filter["_id"] = bson.M{"$lt": q.Before}
	}
	limit := q.Limit
	if limit <= 0 || limit > 500 {
		limit = 25
	}
	opts := options.Find().SetSort(sort).SetLimit(int64(limit)).
		SetProjection(bson.M{"password_hash": 0, "stage_history": 0})
	cur, err := s.customers.Find(ctx, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("search customers: %w", err)
	}
	list := []*Customer{}
	if err := cur.All(ctx, &list); err != nil {
		return nil, fmt.Errorf("search customers: %w", err)
	}
	return list, nil
}

// Next moves the query to the page after last, the last customer of this page.
func (q *Query) Next(last *Customer) {
	switch {
	case q.ByRisk:
		q.After = strconv.FormatFloat(last.Risk.Rank, 'g', -1, 64) + "_" + last.ID.Hex()
	case q.ByValue:
		q.After = strconv.FormatInt(last.Value.CLTV, 10) + "_" + last.ID.Hex()
	case q.ByScore:
		q.After = ScoreCursor(last)
	case q.ByActivity:
		q.After = strconv.FormatInt(last.LastActiveAt.UnixNano(), 10) + "." + last.ID.Hex()
	case q.ByLevel:
		q.After = fmt.Sprintf("%d.%d.%s", last.Loyalty.Level, last.Loyalty.Points, last.ID.Hex())
	default:
		q.Before = last.ID
	}
}

func parseFloatCursor(s string) (float64, bson.ObjectID, bool) {
	key, hex, ok := strings.Cut(s, "_")
	f, err := strconv.ParseFloat(key, 64)
	id, err2 := bson.ObjectIDFromHex(hex)
	return f, id, ok && err == nil && err2 == nil && !math.IsNaN(f)
}

func parseActivityCursor(s string) (int64, bson.ObjectID, bool) {
	nanos, hex, ok := strings.Cut(s, ".")
	n, err := strconv.ParseInt(nanos, 10, 64)
	id, err2 := bson.ObjectIDFromHex(hex)
	return n, id, ok && err == nil && err2 == nil
}

func parseLevelCursor(s string) (level, points int, id bson.ObjectID, ok bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return 0, 0, id, false
	}
	level, err1 := strconv.Atoi(parts[0])
	points, err2 := strconv.Atoi(parts[1])
	id, err3 := bson.ObjectIDFromHex(parts[2])
	return level, points, id, err1 == nil && err2 == nil && err3 == nil
}

// ScoreCursor is the key of a customer in the list by score.
func ScoreCursor(c *Customer) string {
	return strconv.Itoa(c.Satisfaction.Score) + "." + c.ID.Hex()
}

func parseScoreCursor(s string) (int, bson.ObjectID, bool) {
	score, hex, ok := strings.Cut(s, ".")
	n, err := strconv.Atoi(score)
	id, err2 := bson.ObjectIDFromHex(hex)
	return n, id, ok && err == nil && err2 == nil
}

func withCustomerRole(roles []Role) []Role {
	out := []Role{RoleCustomer}
	for _, r := range roles {
		if !slices.Contains(out, r) && slices.Contains(Roles, r) {
			out = append(out, r)
		}
	}
	return out
}

// cleanDisplayName trims a name to the allowed length, or derives one from the email. A
// name from a sign-in provider is not typed into our forms, so broken UTF-8 and control
// characters are dropped here rather than refused.
func cleanDisplayName(name, email string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		name, _, _ = strings.Cut(NormalizeEmail(email), "@")
	}
	if name == "" {
		name = "Member"
	}
	if r := []rune(name); len(r) > MaxDisplayNameLen {
		name = string(r[:MaxDisplayNameLen])
	}
	return name
}
