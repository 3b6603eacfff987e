package identity

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
)

// Session is a signed-in browser.
type Session struct {
	ID         string        `bson:"_id"` // hash of the cookie's token
	CustomerID bson.ObjectID `bson:"customer_id"`
	CreatedAt  time.Time     `bson:"created_at"`
	LastSeenAt time.Time     `bson:"last_seen_at"`
	ExpiresAt  time.Time     `bson:"expires_at"`
	IP         string        `bson:"ip"`
	UserAgent  string        `bson:"user_agent"`
	Renewed    bool          `bson:"-"` // extended by this look-up: the cookie should be too
}

// StartSession signs a customer in and returns the token for the cookie. A new token each
// time means a session ID planted before sign-in is worthless after it.
func (s *Service) StartSession(ctx context.Context, customerID bson.ObjectID, ip, userAgent string) (string, error) {
	token := randomToken(32)
	now := s.now()
	if len(userAgent) > 300 {
		userAgent = userAgent[:300]
	}
	_, err := s.sessions.InsertOne(ctx, Session{
		ID: hashToken(token), CustomerID: customerID, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(s.cfg.SessionLifetime), IP: ip, UserAgent: userAgent,
	})
	if err != nil {
		return "", fmt.Errorf("start session: %w", err)
	}
	_ = s.customers.Touch(ctx, customerID)
	return token, nil
}

// LookupSession returns the session and its customer for a cookie's token, or nil when the
// token is unknown or expired. A session in use is renewed, at most once a day.
func (s *Service) LookupSession(ctx context.Context, token string) (*Session, *customers.Customer, error) {
	if token == "" {
		return nil, nil, nil
	}
	now := s.now()
	var sess Session
	err := s.sessions.FindOne(ctx, bson.M{"_id": hashToken(token), "expires_at": bson.M{"$gt": now}}).Decode(&sess)
	if notFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("look up session: %w", err)
	}
	c, err := s.customers.Get(ctx, sess.CustomerID)
	if err != nil {
		return nil, nil, nil // the account is gone; treat as signed out
	}
	if now.Sub(sess.LastSeenAt) > 24*time.Hour {
		sess.LastSeenAt, sess.ExpiresAt, sess.Renewed = now, now.Add(s.cfg.SessionLifetime), true
		_, _ = s.sessions.UpdateOne(ctx, bson.M{"_id": sess.ID},
			bson.M{"$set": bson.M{"last_seen_at": sess.LastSeenAt, "expires_at": sess.ExpiresAt}})
		_ = s.customers.Touch(ctx, c.ID)
	}
	return &sess, c, nil
}

// EndSession signs a browser out on the server, so a copied cookie stops working too.
func (s *Service) EndSession(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	if _, err := s.sessions.DeleteOne(ctx, bson.M{"_id": hashToken(token)}); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// EndOtherSessions signs a customer out everywhere but the session whose token is kept.
func (s *Service) EndOtherSessions(ctx context.Context, customerID bson.ObjectID, keepToken string) error {
	filter := bson.M{"customer_id": customerID}
	if keepToken != "" {
		filter["_id"] = bson.M{"$ne": hashToken(keepToken)}
	}
	if _, err := s.sessions.DeleteMany(ctx, filter); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}
