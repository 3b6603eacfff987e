package community

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// Kinds of notification.
const (
	NotifyReply      = "reply"       // a reply to your thread, a comment on your idea
	NotifyQuote      = "quote"       // your post was quoted
	NotifyAccepted   = "accepted"    // your answer was accepted
	NotifyIdeaStatus = "idea_status" // an idea you voted for changed status
	NotifyIdeaMerged = "idea_merged" // an idea you voted for was merged into another; the vote moved
	NotifyModerated  = "moderated"   // a moderator hid what you wrote, with a reason
)

// Mailer queues an email (mail.Outbox implements it).
type Mailer interface {
	Letter(ctx context.Context, to, lang, kind, key, path string, args ...any) error
}

// SetMailer lets the service email what it notifies of; without one it emails nothing.
func (s *Service) SetMailer(m Mailer) { s.mailer = m }

// Moderated tells an author, in the portal and by email, that a moderator hid what they
// wrote (ref; excerpt is its text), and why. The event is told once.
func (s *Service) Moderated(ctx context.Context, author bson.ObjectID, ref content.Ref, excerpt, reason string) error {
	key := "moderated:" + ref.String()
	err := s.notify(ctx, Notification{CustomerID: author, Kind: NotifyModerated, Title: excerpt, Reason: reason, URL: "/profile", Key: key})
	if err != nil || s.mailer == nil {
		return err
	}
	c, err := s.customers.Get(ctx, author)
	if err != nil || c.Email == "" {
		return err
	}
	return s.mailer.Letter(ctx, c.Email, c.Locale, "moderated", key, "/profile", "Excerpt", excerpt, "Reason", reason)
}

// Notification tells a customer that something happened to what they wrote or voted for.
type Notification struct {
	ID         bson.ObjectID `bson:"_id" json:"id"`
	CustomerID bson.ObjectID `bson:"customer_id" json:"-"`
	Kind       string        `bson:"kind" json:"kind"`
	ActorID    bson.ObjectID `bson:"actor_id" json:"actor_id"`
	Title      string        `bson:"title" json:"title"` // of the thread or idea
	URL        string        `bson:"url" json:"url"`
	State      IdeaState     `bson:"state,omitempty" json:"state,omitempty"`   // an idea's new status
	Reason     string        `bson:"reason,omitempty" json:"reason,omitempty"` // a moderator's, to the author
	// Key names the event, unique per customer, so a retried write notifies once.
	Key       string    `bson:"key" json:"-"`
	Read      bool      `bson:"read" json:"read"`
	CreatedAt time.Time `bson:"created_at" json:"created_at"`
}

// notify stores notifications, skipping any whose event was already notified.
func (s *Service) notify(ctx context.Context, list ...Notification) error {
	if len(list) == 0 {
		return nil
	}
	docs := make([]any, len(list))
	for i := range list {
		list[i].ID, list[i].CreatedAt = bson.NewObjectID(), s.now()
		docs[i] = list[i]
	}
	_, err := store.InsertNew(ctx, s.notifications, docs)
	return err
}

// notifyReply tells the people a newly published reply concerns: the author of a quoted
// post, and the thread's (or idea's) author — each once, never the replier.
func (s *Service) notifyReply(ctx context.Context, p *Post, par *parent) error {
	if par == nil {
		var err error
		if par, err = s.parent(ctx, content.Ref{Kind: p.ParentKind, ID: p.ParentID}); err != nil {
			return err
		}
	}
	url := par.URL + "#post-" + p.ID.Hex()
	var list []Notification
	quoted := bson.ObjectID{}
	if p.QuoteOf != nil {
		if q, err := s.Post(ctx, *p.QuoteOf); err == nil && q.AuthorID != p.AuthorID {
			quoted = q.AuthorID
			list = append(list, Notification{CustomerID: q.AuthorID, Kind: NotifyQuote, ActorID: p.AuthorID, Title: par.Title,
				URL: url, Key: "quote:" + p.ID.Hex()})
		}
	}
	if par.AuthorID != p.AuthorID && par.AuthorID != quoted {
		list = append(list, Notification{CustomerID: par.AuthorID, Kind: NotifyReply, ActorID: p.AuthorID, Title: par.Title,
			URL: url, Key: "reply:" + p.ID.Hex()})
	}
	return s.notify(ctx, list...)
}

// Unread counts a customer's unread notifications (shown in the header).
func (s *Service) Unread(ctx context.Context, who bson.ObjectID) (int, error) {
	n, err := s.notifications.CountDocuments(ctx, bson.M{"customer_id": who, "read": false})
	if err != nil {
		return 0, fmt.Errorf("unread: %w", err)
	}
	return int(n), nil
}

// Notifications lists a customer's notifications, newest first, a page at a time by key.
func (s *Service) Notifications(ctx context.Context, who bson.ObjectID, before string, limit int) ([]*Notification, string, error) {
	limit = store.Limit(limit, 30, 100)
	filter := bson.M{"customer_id": who}
	if before != "" {
		id, err := bson.ObjectIDFromHex(before)
		if err != nil {
			return nil, "", ErrBadCursor
		}
		filter["_id"] = bson.M{"$lt": id}
	}
	list, err := store.FindAll[Notification](ctx, s.notifications, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, "", err
	}
	list, next := store.TrimPage(list, limit, func(n *Notification) string { return n.ID.Hex() })
	return list, next, nil
}

// ErrNotificationNotFound is a notification that is not the customer's.
var ErrNotificationNotFound = errs.New(errs.ErrNotFound, "notification.not_found")

// OpenNotification marks one notification read and returns it (to follow its link).
func (s *Service) OpenNotification(ctx context.Context, who, id bson.ObjectID) (*Notification, error) {
	var n Notification
	err := s.notifications.FindOneAndUpdate(ctx, bson.M{"_id": id, "customer_id": who}, bson.M{"$set": bson.M{"read": true}}).Decode(&n)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, ErrNotificationNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("open notification: %w", err)
	}
	return &n, nil
}

// MarkAllRead marks every notification of a customer read.
func (s *Service) MarkAllRead(ctx context.Context, who bson.ObjectID) error {
	if _, err := s.notifications.UpdateMany(ctx, bson.M{"customer_id": who, "read": false}, bson.M{"$set": bson.M{"read": true}}); err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	return nil
}
