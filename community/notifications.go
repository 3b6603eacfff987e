package community

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/mail"
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
	NotifyFlagHidden = "flag_hidden" // members' reports hid what you wrote until a moderator looks
	NotifyBadge      = "badge"       // you earned a badge (told in the portal only)
	NotifyHeard      = "heard"       // the company answered your feedback (a follow-up's reply)
	NotifyWebhookOff = "webhook_off" // to admins: a webhook endpoint kept failing and was turned off
)

// Mailer queues an email (mail.Outbox implements it).
type Mailer interface {
	Letter(ctx context.Context, to, lang, kind, key, path string, args ...any) error
	Notices(ctx context.Context, notices ...mail.Notice) error
	Digest(ctx context.Context, to, lang, key, unsubscribe, period string, items, popular []mail.Item) error
}

// SetMailer lets the service email what it notifies of; without one it emails nothing.
// unsubscribe gives the path that stops one kind of email for one member in one click.
func (s *Service) SetMailer(m Mailer, unsubscribe func(member bson.ObjectID, kind string) string) {
	s.mailer, s.unsubscribe = m, unsubscribe
}

// EmailKinds are the kinds of notification a member may have emailed, in the order the
// profile lists them, with how each is emailed until the member chooses.
var EmailKinds = []struct{ Kind, Default string }{
	{NotifyReply, customers.EmailInstant},
	{NotifyQuote, customers.EmailInstant},
	{NotifyAccepted, customers.EmailInstant},
	{NotifyIdeaStatus, customers.EmailDaily},
	{NotifyIdeaMerged, customers.EmailDaily},
}

// EmailPref is how notifications of kind are emailed to c. Digests turned off (one click
// from a digest) turn every digested kind off.
func EmailPref(c *customers.Customer, kind string) string {
	pref, ok := c.EmailPrefs[kind]
	if !ok {
		pref = defaultPref(kind)
	}
	if (pref == customers.EmailDaily || pref == customers.EmailWeekly) && c.EmailPrefs[DigestKind] == customers.EmailOff {
		return customers.EmailOff
	}
	return pref
}

func defaultPref(kind string) string {
	for _, k := range EmailKinds {
		if k.Kind == kind {
			return k.Default
		}
	}
	return customers.EmailOff
}

// EmailGrace is how long a notification waits before it is emailed: read in the portal by
// then, it is not emailed at all.
const EmailGrace = 5 * time.Minute

// Where a notification's email stands.
const (
	emailPending = "pending" // not decided yet
	emailSent    = "sent"
	emailSkipped = "skipped" // read first, unwanted, or nowhere to send it
)

// EmailNotifications emails the notifications whose grace has passed to members who want
// them at once, and leaves those wanted in a digest marked for it (their state is the
// digest's period). It is the notification-email job.
func (s *Service) EmailNotifications(ctx context.Context) error {
	if s.mailer == nil {
		return nil
	}
	for {
		list, err := store.FindAll[Notification](ctx, s.notifications,
			bson.M{"email_state": emailPending, "created_at": bson.M{"$lte": s.now().Add(-EmailGrace)}},
			options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}).SetLimit(200))
		if err != nil || len(list) == 0 {
			return err
		}
		ids := make([]bson.ObjectID, 0, 2*len(list))
		for _, n := range list {
			ids = append(ids, n.CustomerID, n.ActorID)
		}
		people, err := s.customers.GetMany(ctx, ids)
		if err != nil {
			return err
		}
		// The batch's emails in one write, then each state's notifications in one: queued
		// first, so a failure in between queues them again, which changes nothing.
		var notices []mail.Notice
		byState := map[string][]bson.ObjectID{}
		for _, n := range list {
			state, notice := s.emailOne(n, people[n.CustomerID], people[n.ActorID])
			if notice != nil {
				notices = append(notices, *notice)
			}
			byState[state] = append(byState[state], n.ID)
		}
		if err := s.mailer.Notices(ctx, notices...); err != nil {
			return err
		}
		for state, ids := range byState {
			if _, err := s.notifications.UpdateMany(ctx, bson.M{"_id": bson.M{"$in": ids}, "email_state": emailPending},
				bson.M{"$set": bson.M{"email_state": state}}); err != nil {
				return fmt.Errorf("notification email: %w", err)
			}
		}
	}
}

// DigestKind is the email kind a digest's one-click unsubscribe turns off: every kind the
// member gets in a digest of that period.
const DigestKind = "digest"

// SendDigests emails each member their digest of period (daily or weekly): the
// notifications waiting for it that they have not read, then the most active threads and
// ideas. Run it once per period (the caller's lease sees to that).
func (s *Service) SendDigests(ctx context.Context, period string) error {
	if s.mailer == nil {
		return nil
	}
	// Waiting notifications, by member: a period's worth, read in batches by creation.
	byMember := map[bson.ObjectID][]*Notification{}
	var order []bson.ObjectID
	after := bson.ObjectID{}
	for {
		list, err := store.FindAll[Notification](ctx, s.notifications, bson.M{"email_state": period, "_id": bson.M{"$gt": after}},
			options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(1000))
		if err != nil {
			return err
		}
		for _, n := range list {
			if byMember[n.CustomerID] == nil {
				order = append(order, n.CustomerID)
			}
			byMember[n.CustomerID] = append(byMember[n.CustomerID], n)
		}
		if len(list) < 1000 {
			break
		}
		after = list[len(list)-1].ID
	}
	if len(order) == 0 {
		return nil
	}
	popular, err := s.popular(ctx)
	if err != nil {
		return err
	}
	for start := 0; start < len(order); start += 200 {
		members := order[start:min(start+200, len(order))]
		ids := slices.Clone(members)
		for _, m := range members {
			for _, n := range byMember[m] {
				ids = append(ids, n.ActorID)
			}
		}
		people, err := s.customers.GetMany(ctx, ids)
		if err != nil {
			return err
		}
		for _, m := range members {
			if err := s.digestOne(ctx, people[m], byMember[m], people, period, popular); err != nil {
				return err
			}
		}
	}
	return nil
}

// digestOne sends one member's digest and settles its notifications.
func (s *Service) digestOne(ctx context.Context, to *customers.Customer, list []*Notification, people map[bson.ObjectID]*customers.Customer,
	period string, popular []mail.Item) error {
	var items []mail.Item
	var ids []bson.ObjectID
	for _, n := range list {
		ids = append(ids, n.ID)
		// Read meanwhile, or no longer wanted in this digest (unsubscribed since): left out.
		if n.Read || to == nil || EmailPref(to, n.Kind) != period {
			continue
		}
		items = append(items, mail.Item{What: "notifications." + n.Kind, Args: n.words(people[n.ActorID]), Path: "/notifications/" + n.ID.Hex()})
	}
	state := emailSkipped
	if mailable(to) && len(items) > 0 {
		// Keyed by the period's first item: a rerun sends nothing twice, and what arrived
		// after a digest went out makes a digest of its own.
		err := s.mailer.Digest(ctx, to.Email, to.Locale, "digest:"+period+":"+list[0].ID.Hex(), s.unsubscribe(to.ID, DigestKind), period, items, popular)
		if err != nil {
			return err
		}
		state = emailSent
	}
	_, err := s.notifications.UpdateMany(ctx, bson.M{"_id": bson.M{"$in": ids}, "email_state": period}, bson.M{"$set": bson.M{"email_state": state}})
	if err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	return nil
}

// popular is what a digest shows besides a member's own: the threads with the latest
// activity and the trending ideas, three each.
func (s *Service) popular(ctx context.Context) ([]mail.Item, error) {
	threads, err := s.Threads(ctx, ThreadQuery{Sort: SortLatest, Unpinned: true, Limit: 3})
	if err != nil {
		return nil, err
	}
	ideas, err := s.Ideas(ctx, IdeaQuery{Sort: IdeasTrending, Limit: 3})
	if err != nil {
		return nil, err
	}
	var out []mail.Item
	for _, t := range threads.Threads {
		out = append(out, mail.Item{What: "mail.digest.thread", Args: []any{"Title", t.Title, "Count", t.ReplyCount}, Path: t.URL()})
	}
	for _, i := range ideas.Ideas {
		out = append(out, mail.Item{What: "mail.digest.idea", Args: []any{"Title", i.Title, "Count", i.VoteCount}, Path: i.URL()})
	}
	return out, nil
}

// mailable: notifications are emailed only to a confirmed address of an active member —
// not to whoever's address somebody signed up with.
func mailable(c *customers.Customer) bool {
	return c != nil && c.Email != "" && c.EmailVerified && !c.IsSuspended()
}

// emailOne is how a notification is emailed: its email to send at once, or the digest it
// waits for, or not at all.
func (s *Service) emailOne(n *Notification, to, actor *customers.Customer) (string, *mail.Notice) {
	if !mailable(to) || n.Read {
		return emailSkipped, nil
	}
	switch pref := EmailPref(to, n.Kind); pref {
	case customers.EmailInstant:
	case customers.EmailDaily, customers.EmailWeekly:
		return pref, nil
	default:
		return emailSkipped, nil
	}
	return emailSent, &mail.Notice{To: to.Email, Lang: to.Locale, Key: "notify:" + n.ID.Hex(), Path: "/notifications/" + n.ID.Hex(),
		Unsubscribe: s.unsubscribe(to.ID, n.Kind), What: "notifications." + n.Kind, Args: n.words(actor)}
}

// words fill the notification's message in an email (notifications.<kind>), as on its page.
func (n *Notification) words(actor *customers.Customer) []any {
	name := ""
	if actor != nil {
		name = actor.DisplayName
	}
	args := []any{"Name", name, "Title", n.Title, "Reason", n.Reason}
	if n.State != "" {
		args = append(args, "Status", mail.Words("idea.state."+string(n.State)))
	}
	return args
}

// Moderated tells an author, in the portal and by email, that a moderator hid what they
// wrote (ref; excerpt is its text), and why. The event is told once.
func (s *Service) Moderated(ctx context.Context, author bson.ObjectID, ref content.Ref, excerpt, reason string) error {
	return s.tellAuthor(ctx, Notification{CustomerID: author, Kind: NotifyModerated, Title: excerpt, Reason: reason,
		Key: "moderated:" + ref.String()}, "Reason", reason)
}

// HiddenByFlags tells an author, in the portal and by email, that reports from other
// members hid what they wrote until a moderator decides; hidden tells one hiding from
// another (content restored may be reported again).
func (s *Service) HiddenByFlags(ctx context.Context, author bson.ObjectID, ref content.Ref, excerpt string, hidden time.Time) error {
	return s.tellAuthor(ctx, Notification{CustomerID: author, Kind: NotifyFlagHidden, Title: excerpt,
		Key: fmt.Sprintf("flag_hidden:%s:%d", ref, hidden.Unix())})
}

// tellAuthor notifies an author of what happened to their content, and emails it at once
// whatever their preferences: it decides whether others can read what they wrote.
func (s *Service) tellAuthor(ctx context.Context, n Notification, args ...any) error {
	n.URL = "/profile"
	err := s.notify(ctx, n)
	if err != nil || s.mailer == nil {
		return err
	}
	c, err := s.customers.Get(ctx, n.CustomerID)
	if err != nil || c.Email == "" {
		return err
	}
	return s.mailer.Letter(ctx, c.Email, c.Locale, n.Kind, n.Key, n.URL, append([]any{"Excerpt", n.Title}, args...)...)
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
	// EmailState: pending until the email job decides; then sent, skipped, or the digest
	// (daily, weekly) it waits for.
	EmailState string `bson:"email_state,omitempty" json:"-"`
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
		switch list[i].Kind {
		case NotifyModerated, NotifyFlagHidden: // emailed as it happens, whatever the preferences
		case NotifyBadge, NotifyHeard, NotifyWebhookOff: // found on the next visit; no email
		default:
			list[i].EmailState = emailPending
		}
		docs[i] = list[i]
	}
	_, err := store.InsertNew(ctx, s.notifications, docs)
	return err
}

// Heard tells a customer, in the portal, what a member of staff answered to their feedback
// (about names the feedback: a follow-up rule). key names the event: told once.
func (s *Service) Heard(ctx context.Context, customer, staff bson.ObjectID, key, about, message string) error {
	return s.notify(ctx, Notification{CustomerID: customer, Kind: NotifyHeard, ActorID: staff, Title: about, Reason: message,
		URL: "/notifications", Key: key})
}

// WebhookOff tells an admin that a webhook endpoint was turned off after failing; key names
// the event, told once.
func (s *Service) WebhookOff(ctx context.Context, admin bson.ObjectID, endpointURL, page, key string) error {
	return s.notify(ctx, Notification{CustomerID: admin, Kind: NotifyWebhookOff, Title: endpointURL, URL: page, Key: key})
}

// AnnounceBadge tells a member in the portal that they earned a badge, once per badge.
func (s *Service) AnnounceBadge(ctx context.Context, member bson.ObjectID, badge, url string) error {
	return s.notify(ctx, Notification{CustomerID: member, Kind: NotifyBadge, Title: badge, URL: url, Key: "badge:" + badge})
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
