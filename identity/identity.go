// Package identity owns how people sign in: email and password accounts, social and
// OpenID Connect logins through goth, sessions, CSRF tokens and personal API tokens.
// The customer record itself belongs to package customers.
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/alexedwards/argon2id"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/ratelimit"
	"github.com/guyub/guyub/store"
)

// Limiter counts attempts; ratelimit.Limiter implements it on MongoDB.
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, per time.Duration) (ratelimit.Decision, error)
}

// Config tunes the service; the zero value of each field picks a sensible default.
type Config struct {
	SessionLifetime time.Duration    // default 30 days, renewed while in use
	PasswordParams  *argon2id.Params // default argon2id.DefaultParams (64 MiB, 1 pass)
	Secret          []byte           // HMAC key for CSRF tokens; default: generated once and kept in MongoDB
	// SlowSignIn is how long a sign-in from an unknown browser waits once the account has
	// seen too many attempts in the window (default 3s).
	SlowSignIn time.Duration
}

// Service signs people in and out.
type Service struct {
	cfg       Config
	customers *customers.Service
	limiter   Limiter
	sessions  *mongo.Collection
	tokens    *mongo.Collection
	attempts  *mongo.Collection // social logins under way
	// single-use links sent by email: password resets, addresses to confirm
	accountTokens *mongo.Collection
	mailer        Mailer
	background    sync.WaitGroup // account emails being queued (later)
	common        map[string]struct{}
	hashing       chan struct{} // slots for argon2id, which takes 64 MiB a time
	dummyHash     string        // compared when an email is unknown, so timing does not tell
	now           func() time.Time
	csrfKey       []byte
}

// MemberData is where this package keeps a member's own data (for their download).
// The session's _id and a token's hash are what sign in: never given out.
var MemberData = []store.MemberData{
	{Collection: "sessions", Field: "customer_id", Omit: []string{"_id"}},
	{Collection: "api_tokens", Field: "customer_id", Omit: []string{"hash"}},
	{Collection: "account_tokens", Field: "customer_id", Omit: []string{"_id"}}, // the _id is a link's hash
}

// Indexes of the collections this package owns. Expired sessions and login attempts are
// removed by Purge (FerretDB v1 has no TTL indexes).
var Indexes = []store.Indexes{
	{Collection: "sessions", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "customer_id", Value: 1}}},
		{Keys: bson.D{{Key: "expires_at", Value: 1}}},
	}},
	{Collection: "api_tokens", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "hash", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "_id", Value: -1}}},
	}},
	{Collection: "login_attempts", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "expires_at", Value: 1}}},
	}},
	{Collection: "account_tokens", Models: []mongo.IndexModel{
		{Keys: bson.D{{Key: "expires_at", Value: 1}}},
		{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "purpose", Value: 1}}}, // an account's reset links, to end them
	}},
}

// New builds the service. It loads the CSRF key from MongoDB, creating it on first start, so
// that every instance signs with the same key without configuration.
func New(ctx context.Context, db *mongo.Database, cust *customers.Service, limiter Limiter, cfg Config) (*Service, error) {
	if cfg.SessionLifetime == 0 {
		cfg.SessionLifetime = 30 * 24 * time.Hour
	}
	if cfg.SlowSignIn == 0 {
		cfg.SlowSignIn = 3 * time.Second
	}
	if cfg.PasswordParams == nil {
		cfg.PasswordParams = argon2id.DefaultParams
	}
	s := &Service{
		cfg:           cfg,
		customers:     cust,
		limiter:       limiter,
		sessions:      db.Collection("sessions"),
		tokens:        db.Collection("api_tokens"),
		attempts:      db.Collection("login_attempts"),
		accountTokens: db.Collection("account_tokens"),
		common:        loadCommonPasswords(),
		hashing:       make(chan struct{}, 2*runtime.NumCPU()),
		now:           func() time.Time { return time.Now().UTC() },
		csrfKey:       cfg.Secret,
	}
	var err error
	if s.dummyHash, err = argon2id.CreateHash(randomToken(16), cfg.PasswordParams); err != nil {
		return nil, err
	}
	if len(s.csrfKey) == 0 {
		if s.csrfKey, err = sharedSecret(ctx, db.Collection("secrets"), "csrf"); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// SessionLifetime is how long a session lasts unused; the cookie lasts as long.
func (s *Service) SessionLifetime() time.Duration { return s.cfg.SessionLifetime }

// sharedSecret returns the named secret, creating it if it does not exist yet. Two instances
// starting at once both insert; the unique _id keeps the first, and both read it back.
func sharedSecret(ctx context.Context, coll *mongo.Collection, name string) ([]byte, error) {
	_, err := coll.InsertOne(ctx, bson.M{"_id": name, "value": randomToken(32), "created_at": time.Now().UTC()})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return nil, fmt.Errorf("create %s secret: %w", name, err)
	}
	var doc struct{ Value string }
	if err := coll.FindOne(ctx, bson.M{"_id": name}).Decode(&doc); err != nil {
		return nil, fmt.Errorf("read %s secret: %w", name, err)
	}
	return []byte(doc.Value), nil
}

// Purge removes expired sessions, abandoned social logins and expired email links.
func (s *Service) Purge(ctx context.Context) error {
	now := s.now()
	if _, err := s.sessions.DeleteMany(ctx, bson.M{"expires_at": bson.M{"$lt": now}}); err != nil {
		return fmt.Errorf("purge sessions: %w", err)
	}
	if _, err := s.attempts.DeleteMany(ctx, bson.M{"expires_at": bson.M{"$lt": now}}); err != nil {
		return fmt.Errorf("purge login attempts: %w", err)
	}
	if _, err := s.accountTokens.DeleteMany(ctx, bson.M{"expires_at": bson.M{"$lt": now}}); err != nil {
		return fmt.Errorf("purge account tokens: %w", err)
	}
	return nil
}

// randomToken returns n random bytes, URL-safe encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is how bearer secrets (session and API tokens) are stored: a leaked database
// does not hand out working tokens. They are random, so a fast hash is enough.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func notFound(err error) bool { return errors.Is(err, mongo.ErrNoDocuments) }
