// Package mail sends the portal's email through an outbox in MongoDB: a message is a
// document written with the event that causes it (unique per recipient and event, so a
// retried request queues it once), and a worker sends it, retrying with back-off, one
// instance at a time. With no SMTP server set (the embedded default), messages are kept in
// the outbox for admins to read at /admin/outbox.
package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// Status is where a message is.
type Status string

// A message is queued until it is sent, kept (no SMTP server: it stays for admins to read),
// or failed for good.
const (
	StatusQueued Status = "queued"
	StatusSent   Status = "sent"
	StatusKept   Status = "kept"
	StatusFailed Status = "failed"
)

// Message is one email in the outbox.
type Message struct {
	ID      bson.ObjectID `bson:"_id" json:"id"`
	To      string        `bson:"to" json:"to"`
	Key     string        `bson:"key" json:"key"` // the event that caused it: unique per recipient
	Lang    string        `bson:"lang" json:"lang"`
	Subject string        `bson:"subject" json:"subject"`
	Text    string        `bson:"text" json:"text"`
	HTML    string        `bson:"html" json:"html"`
	// Secret: the message carries a link that signs in (a reset, a confirmation). Once
	// sent, its text is removed, so that nobody who reads the outbox can use the link.
	Secret bool `bson:"secret,omitempty" json:"secret,omitempty"`
	// Headers are extra header fields (List-Unsubscribe).
	Headers map[string]string `bson:"headers,omitempty" json:"headers,omitempty"`

	Status    Status     `bson:"status" json:"status"`
	Attempts  int        `bson:"attempts" json:"attempts"`
	NextAt    time.Time  `bson:"next_at" json:"next_at"`
	LastError string     `bson:"last_error,omitempty" json:"last_error,omitempty"`
	CreatedAt time.Time  `bson:"created_at" json:"created_at"`
	SentAt    *time.Time `bson:"sent_at,omitempty" json:"sent_at,omitempty"`
	// Claim is the last sender's claim on it (see Outbox.claim).
	Claim bson.ObjectID `bson:"claim,omitempty" json:"-"`
}

// MessageID is the message's Message-ID header: the same on every attempt, so a message
// sent again after a crash (the outbox cannot know whether the server took it) is one
// message to the mail clients that receive it.
func (m *Message) MessageID(domain string) string {
	return "<" + m.ID.Hex() + "@" + domain + ">"
}

// Sender hands a message to a mail server. An error wrapped with Permanent will not be
// retried; any other is.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// permanent marks a failure that trying again cannot mend (the server refused the
// recipient, say).
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Permanent wraps err as a failure not worth retrying.
func Permanent(err error) error { return permanent{err} }

// Indexes of the outbox, one per query shape.
var Indexes = store.Indexes{Collection: "outbox", Models: []mongo.IndexModel{
	// one message per recipient per event: a retried request queues it once
	{Keys: bson.D{{Key: "to", Value: 1}, {Key: "key", Value: 1}}, Options: options.Index().SetUnique(true)},
	// the worker's due messages
	{Keys: bson.D{{Key: "status", Value: 1}, {Key: "next_at", Value: 1}}},
}}

// Outbox queues messages and sends them.
type Outbox struct {
	coll    *mongo.Collection
	leases  *store.Leases
	owner   string
	sender  Sender // nil: keep messages in the outbox
	log     *slog.Logger
	now     func() time.Time
	Letters Writer

	// MaxAttempts is how many times a message is tried before it fails for good.
	MaxAttempts int
	// Backoff is the wait after the first failed attempt; it doubles after each, up to an hour.
	Backoff time.Duration

	messages *prometheus.CounterVec
}

// NewOutbox returns the outbox on db. sender nil keeps every message in the outbox.
func NewOutbox(db *mongo.Database, sender Sender, letters Writer, log *slog.Logger) *Outbox {
	return &Outbox{
		coll: db.Collection("outbox"), leases: store.NewLeases(db), owner: store.NewOwner(),
		sender: sender, log: log, now: func() time.Time { return time.Now().UTC() }, Letters: letters,
		MaxAttempts: 8, Backoff: time.Minute,
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "guyub_mail_messages_total",
			Help: "Email messages by what happened to them: queued, sent, kept (no SMTP server), retried, failed."}, []string{"result"}),
	}
}

// Register adds the outbox's metrics to reg.
func (o *Outbox) Register(reg prometheus.Registerer) error { return reg.Register(o.messages) }

// Queue puts messages in the outbox, in one write. The same recipient and key again
// changes nothing.
func (o *Outbox) Queue(ctx context.Context, msgs ...Message) error {
	now := o.now()
	docs := make([]any, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		m.ID, m.Status, m.Attempts, m.NextAt, m.CreatedAt, m.SentAt = bson.NewObjectID(), StatusQueued, 0, now, now, nil
		docs[i] = m
	}
	n, err := store.InsertNew(ctx, o.coll, docs) // a message queued already is a retry
	if err != nil {
		return fmt.Errorf("queue email: %w", err)
	}
	o.messages.WithLabelValues("queued").Add(float64(n))
	return nil
}

// Pass sends what is due, under a lease so that one instance sends at a time; it is the
// outbox worker's job, run every few seconds. A message that fails is tried again later
// (doubling waits), and failed for good after MaxAttempts or a permanent refusal.
func (o *Outbox) Pass(ctx context.Context) error {
	// Nothing due is the common case: one indexed read, no lease written.
	if n, err := o.coll.CountDocuments(ctx, o.due(), options.Count().SetLimit(1)); err != nil || n == 0 {
		return err
	}
	held, err := o.leases.Acquire(ctx, "outbox", o.owner, 5*time.Minute)
	if err != nil || !held {
		return err
	}
	defer func() { _ = o.leases.Release(context.WithoutCancel(ctx), "outbox", o.owner) }()
	for {
		due, err := store.FindAll[Message](ctx, o.coll, o.due(),
			options.Find().SetSort(bson.D{{Key: "next_at", Value: 1}}).SetLimit(100))
		if err != nil || len(due) == 0 {
			return err
		}
		c, err := o.claim(ctx, due)
		if err != nil {
			return err
		}
		if err := o.deliver(ctx, c); err != nil {
			return err
		}
	}
}

func (o *Outbox) due() bson.M {
	return bson.M{"status": StatusQueued, "next_at": bson.M{"$lte": o.now()}}
}

// claimFor is how long a message being sent is kept from other senders: if this one dies
// mid-send, the message is tried again after it (with the same Message-ID).
const claimFor = 10 * time.Minute

// sendTimeout is how long one message may take to send.
const sendTimeout = time.Minute

// claimed are the messages one claim took, until when, and its token.
type claimed struct {
	messages []*Message
	until    time.Time
	token    bson.ObjectID
}

// claim takes due messages for this sender, in one write, so that a second instance (its
// lease expired under a long batch) cannot send them too, and returns those it took.
func (o *Outbox) claim(ctx context.Context, due []*Message) (claimed, error) {
	c := claimed{messages: due, until: o.now().Add(claimFor), token: bson.NewObjectID()}
	models := make([]mongo.WriteModel, len(due))
	for i, m := range due {
		models[i] = mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": m.ID, "status": StatusQueued, "next_at": m.NextAt}).
			SetUpdate(bson.M{"$set": bson.M{"next_at": c.until, "claim": c.token}})
	}
	res, err := o.coll.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	if err != nil {
		return c, fmt.Errorf("outbox: %w", err)
	}
	if int(res.ModifiedCount) == len(due) {
		return c, nil
	}
	// Another sender took some: ours carry our claim.
	ids := make([]bson.ObjectID, len(due))
	for i, m := range due {
		ids[i] = m.ID
	}
	taken, err := store.FindAll[Message](ctx, o.coll, bson.M{"_id": bson.M{"$in": ids}, "claim": c.token},
		options.Find().SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return c, fmt.Errorf("outbox: %w", err)
	}
	ours := map[bson.ObjectID]bool{}
	for _, m := range taken {
		ours[m.ID] = true
	}
	c.messages = make([]*Message, 0, len(taken))
	for _, m := range due {
		if ours[m.ID] {
			c.messages = append(c.messages, m)
		}
	}
	return c, nil
}

// outcomesAtOnce is how many messages' outcomes are recorded in one write: a crash before
// it sends them again (after claimFor, with the same Message-ID), so not too many.
const outcomesAtOnce = 20

// deliver tries claimed messages and records their outcomes. It stops where a send could
// outlast the claim (a slow mail server): the rest are due again when the claim ends.
func (o *Outbox) deliver(ctx context.Context, c claimed) error {
	var outcomes []mongo.WriteModel
	var results []string
	record := func() error {
		if len(outcomes) == 0 {
			return nil
		}
		// Recorded even when stopping: these messages have been sent.
		if _, err := o.coll.BulkWrite(context.WithoutCancel(ctx), outcomes, options.BulkWrite().SetOrdered(false)); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		for _, r := range results {
			o.messages.WithLabelValues(r).Inc()
		}
		outcomes, results = outcomes[:0], results[:0]
		return nil
	}
	for _, m := range c.messages {
		now := o.now()
		if now.Add(sendTimeout).After(c.until) {
			break
		}
		set := bson.M{"attempts": m.Attempts + 1}
		result := ""
		switch err := o.send(ctx, m); {
		case o.sender == nil:
			set["status"], set["sent_at"], result = StatusKept, now, "kept"
			o.log.Info("email kept in the outbox (no SMTP server set): admins read it at /admin/outbox", "to", m.To, "subject", m.Subject)
		case err == nil:
			set["status"], set["sent_at"], result = StatusSent, now, "sent"
			if m.Secret {
				set["text"], set["html"] = "", ""
			}
		case errors.Is(err, context.Canceled):
			return errors.Join(err, record()) // stopping: the message stays claimed, and is tried after claimFor
		case errors.As(err, new(permanent)) || m.Attempts+1 >= o.MaxAttempts:
			set["status"], set["last_error"], result = StatusFailed, err.Error(), "failed"
			o.log.Warn("email failed for good", "to", m.To, "subject", m.Subject, "attempts", m.Attempts+1, "err", err)
		default:
			wait := o.Backoff << min(m.Attempts, 6)
			set["next_at"], set["last_error"], result = now.Add(min(wait, time.Hour)), err.Error(), "retried"
			o.log.Warn("email not sent; trying again later", "to", m.To, "subject", m.Subject, "attempts", m.Attempts+1, "err", err)
		}
		outcomes = append(outcomes, mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": m.ID, "status": StatusQueued, "claim": c.token}).
			SetUpdate(bson.M{"$set": set}))
		results = append(results, result)
		if len(outcomes) == outcomesAtOnce {
			if err := record(); err != nil {
				return err
			}
		}
	}
	return record()
}

func (o *Outbox) send(ctx context.Context, m *Message) error {
	if o.sender == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	return o.sender.Send(ctx, m)
}

// ErrNotFound: no such message.
var ErrNotFound = errs.New(errs.ErrNotFound, "error.404.message")

// Get returns one message.
func (o *Outbox) Get(ctx context.Context, id bson.ObjectID) (*Message, error) {
	return store.FindOne[Message](ctx, o.coll, bson.M{"_id": id}, ErrNotFound)
}

// List returns a page of messages, newest first, before the message before (zero: the
// newest), and whether there are more.
func (o *Outbox) List(ctx context.Context, before bson.ObjectID, limit int) ([]*Message, bool, error) {
	filter := bson.M{}
	if !before.IsZero() {
		filter["_id"] = bson.M{"$lt": before}
	}
	list, err := store.FindAll[Message](ctx, o.coll, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).
		SetLimit(int64(limit+1)).SetProjection(bson.M{"text": 0, "html": 0}))
	if err != nil {
		return nil, false, err
	}
	more := len(list) > limit
	if more {
		list = list[:limit]
	}
	return list, more, nil
}

// Forget removes every message to an address (an erased member's), sent or not.
func (o *Outbox) Forget(ctx context.Context, to string) error {
	if to == "" {
		return nil
	}
	if _, err := o.coll.DeleteMany(ctx, bson.M{"to": to}); err != nil {
		return fmt.Errorf("forget emails: %w", err)
	}
	return nil
}
