package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
)

// Scope is what an API token may do.
type Scope string

const (
	ScopeRead  Scope = "read"
	ScopeWrite Scope = "write"
	// ScopeActAs lets a product or admin token act on behalf of a customer (the X-Act-As
	// header): how a shop or an app posts a review for its signed-in user. Every write made
	// so is in the audit log.
	ScopeActAs Scope = "act_as"
)

// Scopes lists every scope.
var Scopes = []Scope{ScopeRead, ScopeWrite, ScopeActAs}

// tokenPrefix marks Guyub tokens, so secret scanners and people recognise a leaked one.
const tokenPrefix = "gyb_"

// APIToken is a personal token for integrations. Only its hash is stored.
type APIToken struct {
	ID         bson.ObjectID `bson:"_id" json:"id"`
	Hash       string        `bson:"hash" json:"-"`
	CustomerID bson.ObjectID `bson:"customer_id" json:"-"`
	Name       string        `bson:"name" json:"name"`
	Scopes     []Scope       `bson:"scopes" json:"scopes"`
	CreatedAt  time.Time     `bson:"created_at" json:"created_at"`
	LastUsedAt *time.Time    `bson:"last_used_at,omitempty" json:"last_used_at,omitempty"`
	RevokedAt  *time.Time    `bson:"revoked_at,omitempty" json:"revoked_at,omitempty"`
}

// Allows reports whether the token carries scope.
func (t *APIToken) Allows(scope Scope) bool { return slices.Contains(t.Scopes, scope) }

// NewToken is the form to create a token.
type NewToken struct {
	Name   string   `form:"name" json:"name"`
	Scopes []string `form:"scopes" json:"scopes"`
}

// ParseScopes reads "read,write".
func ParseScopes(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// CreateToken makes a token for a staff member and returns its secret, shown only this once.
func (s *Service) CreateToken(ctx context.Context, owner *customers.Customer, in NewToken) (string, *APIToken, error) {
	if !owner.IsStaff() {
		return "", nil, errs.New(errs.ErrForbidden, "tokens.staff_only")
	}
	var f errs.Fields
	name := strings.TrimSpace(in.Name)
	if name == "" {
		f.Add("name", "field.required")
	} else if utf8.RuneCountInString(name) > 60 {
		f.Add("name", "field.too_long", "Max", 60)
	}
	var scopes []Scope
	for _, raw := range in.Scopes {
		sc := Scope(strings.TrimSpace(raw))
		if !slices.Contains(Scopes, sc) {
			f.Add("scopes", "tokens.unknown_scope", "Scope", raw)
			continue
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	if len(scopes) == 0 {
		f.Add("scopes", "tokens.scope_required")
	}
	if slices.Contains(scopes, ScopeActAs) && !owner.HasRole(customers.RoleProduct) {
		f.Add("scopes", "tokens.act_as_product")
	}
	if err := f.Err(); err != nil {
		return "", nil, err
	}
	secret := tokenPrefix + randomToken(32)
	t := &APIToken{
		ID: bson.NewObjectID(), Hash: hashToken(secret), CustomerID: owner.ID,
		Name: name, Scopes: scopes, CreatedAt: s.now(),
	}
	if _, err := s.tokens.InsertOne(ctx, t); err != nil {
		return "", nil, fmt.Errorf("create token: %w", err)
	}
	return secret, t, nil
}

// Tokens lists a customer's tokens that are not revoked, newest first.
func (s *Service) Tokens(ctx context.Context, owner bson.ObjectID) ([]*APIToken, error) {
	cur, err := s.tokens.Find(ctx, bson.M{"customer_id": owner, "revoked_at": bson.M{"$exists": false}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(100))
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	list := []*APIToken{}
	if err := cur.All(ctx, &list); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return list, nil
}

// RevokeToken ends one of the owner's tokens; revoking twice is harmless.
func (s *Service) RevokeToken(ctx context.Context, owner, id bson.ObjectID) error {
	res, err := s.tokens.UpdateOne(ctx, bson.M{"_id": id, "customer_id": owner},
		bson.M{"$set": bson.M{"revoked_at": s.now()}})
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if res.MatchedCount == 0 {
		return errs.New(errs.ErrNotFound, "tokens.not_found")
	}
	return nil
}

// AuthenticateToken returns the token and its owner for a bearer secret, or nil when the
// secret is unknown or revoked.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (*APIToken, *customers.Customer, error) {
	if !strings.HasPrefix(secret, tokenPrefix) {
		return nil, nil, nil
	}
	var t APIToken
	err := s.tokens.FindOne(ctx, bson.M{"hash": hashToken(secret)}).Decode(&t)
	if notFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("authenticate token: %w", err)
	}
	if t.RevokedAt != nil {
		return nil, nil, nil
	}
	c, err := s.customers.Get(ctx, t.CustomerID)
	// Tokens are for staff: one whose owner lost the role stops working (and reappears, still
	// revocable, if the role comes back).
	if err != nil || !c.IsStaff() {
		return nil, nil, nil
	}
	now := s.now()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		_, _ = s.tokens.UpdateOne(ctx, bson.M{"_id": t.ID}, bson.M{"$set": bson.M{"last_used_at": now}})
	}
	return &t, c, nil
}
