package feedback

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// An invitation asks one customer by email to answer one survey, through a personal link;
// it follows where that goes: sent, opened (the link followed), answered.
type invitation struct {
	ID         bson.ObjectID `bson:"_id"`
	SurveyID   bson.ObjectID `bson:"survey_id"`
	CustomerID bson.ObjectID `bson:"customer_id"`
	State      string        `bson:"state"`
	LinkHash   string        `bson:"link_hash,omitempty"`
	QueuedAt   time.Time     `bson:"queued_at"`
}

// States of an invitation.
const (
	inviteQueued   = "queued"
	inviteSent     = "sent"
	inviteOpened   = "opened"
	inviteAnswered = "answered"
	inviteSkipped  = "skipped" // answered within the period meanwhile, or no longer reachable
)

// InviteKind is the email kind of survey invitations: what their one-click unsubscribe turns off.
const InviteKind = "survey_invite"

// InvitesPerRun is how many invitations the job sends each run (a minute): sends are
// throttled so a segment of thousands does not flood the mail server.
const InvitesPerRun = 60

// Mailer queues an invitation's email (mail.Outbox implements it).
type Mailer interface {
	Notice(ctx context.Context, to, lang, key, path, unsubscribe, what string, args ...any) error
}

// SetMailer lets the service send invitations; unsubscribe gives the link that stops them.
func (s *Service) SetMailer(m Mailer, unsubscribe func(member bson.ObjectID, kind string) string) {
	s.mailer, s.unsubscribe = m, unsubscribe
}

// Segment chooses whom to invite: every condition set must hold.
type Segment struct {
	Stage        customers.Stage `form:"stage"`
	Band         string          `form:"band"`
	NPS          string          `form:"nps"`
	InactiveDays int             `form:"inactive_days"` // 0: any
	Product      bson.ObjectID   `form:"-"`             // zero: any; else its buyers
}

// Invite queues invitations to a survey for the customers of a segment who have a
// confirmed address, are active, and did not answer it within the period. A customer is
// invited once per survey. It returns how many were queued.
func (s *Service) Invite(ctx context.Context, staff *customers.Customer, surveyID bson.ObjectID, seg Segment) (int, error) {
	if !staff.HasRole(customers.RoleProduct) {
		return 0, errs.New(errs.ErrForbidden, "error.403.message")
	}
	if s.mailer == nil {
		return 0, errs.New(errs.ErrConflict, "survey.no_mail")
	}
	sv, err := s.Survey(ctx, surveyID)
	if err != nil {
		return 0, err
	}
	if !sv.Active {
		return 0, ErrInactive
	}
	if seg.InactiveDays < 0 || seg.InactiveDays > 3650 {
		return 0, errs.Field("inactive_days", "field.range", "Min", 0, "Max", 3650)
	}
	q := customers.Query{Stage: seg.Stage, Band: seg.Band, NPS: seg.NPS, Status: customers.StatusActive, Limit: 500}
	if seg.InactiveDays > 0 {
		q.InactiveSince = s.now().AddDate(0, 0, -seg.InactiveDays)
	}
	queued := 0
	var buyersAfter bson.ObjectID
	for {
		if !seg.Product.IsZero() {
			// The product's buyers a page at a time; the other conditions hold among them.
			buyers, err := s.customers.BuyersOf(ctx, seg.Product, buyersAfter, q.Limit)
			if err != nil || len(buyers) == 0 {
				return queued, err
			}
			q.Among, buyersAfter = buyers, buyers[len(buyers)-1]
		}
		page, err := s.customers.Search(ctx, q)
		if err != nil {
			return queued, err
		}
		n, err := s.queueInvitations(ctx, sv.ID, page)
		queued += n
		if err != nil {
			return queued, err
		}
		switch {
		case q.Among != nil:
			if len(q.Among) < q.Limit {
				return queued, nil
			}
		case len(page) < q.Limit:
			return queued, nil
		default:
			q.Before = page[len(page)-1].ID
		}
	}
}

// queueInvitations queues an invitation to each of the customers who can be asked: a
// confirmed address, invitations not turned off, the survey not answered within its period.
func (s *Service) queueInvitations(ctx context.Context, survey bson.ObjectID, page []*customers.Customer) (int, error) {
	ids := make([]bson.ObjectID, len(page))
	for i, c := range page {
		ids[i] = c.ID
	}
	answered, err := s.answeredAmong(ctx, survey, ids)
	if err != nil {
		return 0, err
	}
	queued := 0
	for _, c := range page {
		if c.Email == "" || !c.EmailVerified || c.EmailPrefs[InviteKind] == customers.EmailOff || answered[c.ID] {
			continue
		}
		_, err := s.invitations.InsertOne(ctx, invitation{ID: bson.NewObjectID(), SurveyID: survey, CustomerID: c.ID, State: inviteQueued, QueuedAt: s.now()})
		if mongo.IsDuplicateKeyError(err) {
			continue // invited already
		}
		if err != nil {
			return queued, fmt.Errorf("invite: %w", err)
		}
		queued++
	}
	return queued, nil
}

// SendInvitations sends the next queued invitations, InvitesPerRun at a time (the
// invitation job, every minute).
func (s *Service) SendInvitations(ctx context.Context) error {
	if s.mailer == nil {
		return nil
	}
	list, err := store.FindAll[invitation](ctx, s.invitations, bson.M{"state": inviteQueued},
		options.Find().SetSort(bson.D{{Key: "queued_at", Value: 1}}).SetLimit(InvitesPerRun))
	if err != nil || len(list) == 0 {
		return err
	}
	ids := make([]bson.ObjectID, len(list))
	bySurvey := map[bson.ObjectID][]bson.ObjectID{}
	for i, inv := range list {
		ids[i] = inv.CustomerID
		bySurvey[inv.SurveyID] = append(bySurvey[inv.SurveyID], inv.CustomerID)
	}
	people, err := s.customers.GetMany(ctx, ids)
	if err != nil {
		return err
	}
	// The batch's surveys (usually one) and who answered them meanwhile, a query each.
	surveys := map[bson.ObjectID]*Survey{}
	answered := map[bson.ObjectID]map[bson.ObjectID]bool{}
	for id, who := range bySurvey {
		sv, err := s.Survey(ctx, id)
		if err != nil && !errors.Is(err, ErrSurveyNotFound) {
			return err
		}
		surveys[id] = sv
		if answered[id], err = s.answeredAmong(ctx, id, who); err != nil {
			return err
		}
	}
	for _, inv := range list {
		set, err := s.sendInvitation(ctx, inv, surveys[inv.SurveyID], people[inv.CustomerID], answered[inv.SurveyID][inv.CustomerID])
		if err != nil {
			return err
		}
		if _, err := s.invitations.UpdateOne(ctx, bson.M{"_id": inv.ID, "state": inviteQueued}, bson.M{"$set": set}); err != nil {
			return fmt.Errorf("invitation: %w", err)
		}
	}
	return nil
}

// sendInvitation makes the personal link and emails it, or says why not (the survey gone or
// closed, the customer unreachable or answered meanwhile).
func (s *Service) sendInvitation(ctx context.Context, inv *invitation, sv *Survey, c *customers.Customer, answered bool) (bson.M, error) {
	if sv == nil || !sv.Active || c == nil || c.IsSuspended() || c.Email == "" || answered {
		return bson.M{"state": inviteSkipped}, nil
	}
	token, err := s.newLink(ctx, sv.ID, c.ID)
	if err != nil {
		return nil, err
	}
	err = s.mailer.Notice(ctx, c.Email, c.Locale, "survey_invite:"+inv.ID.Hex(), "/s/"+token, s.unsubscribe(c.ID, InviteKind),
		"survey.invite_what", "Question", sv.QuestionIn(c.Locale))
	if err != nil {
		return nil, err
	}
	return bson.M{"state": inviteSent, "link_hash": hashToken(token), "sent_at": s.now()}, nil
}

// opened notes that an invitation's link was followed.
func (s *Service) opened(ctx context.Context, token string) error {
	_, err := s.invitations.UpdateOne(ctx, bson.M{"link_hash": hashToken(token), "state": inviteSent},
		bson.M{"$set": bson.M{"state": inviteOpened, "opened_at": s.now()}})
	return err
}

// answered notes that an invited customer answered the survey.
func (s *Service) answered(ctx context.Context, survey, customer bson.ObjectID) error {
	_, err := s.invitations.UpdateOne(ctx, bson.M{"survey_id": survey, "customer_id": customer, "state": bson.M{"$in": bson.A{inviteSent, inviteOpened}}},
		bson.M{"$set": bson.M{"state": inviteAnswered, "answered_at": s.now()}})
	return err
}

// InviteStats are a survey's invitations: queued (not sent yet), sent, opened, answered.
type InviteStats struct {
	Queued, Sent, Opened, Answered int
}

// Rate is the response rate, answered of sent, in percent.
func (st InviteStats) Rate() float64 {
	if st.Sent == 0 {
		return 0
	}
	return 100 * float64(st.Answered) / float64(st.Sent)
}

// InvitationStats counts a survey's invitations by where they got.
func (s *Service) InvitationStats(ctx context.Context, survey bson.ObjectID) (InviteStats, error) {
	var st InviteStats
	for state, n := range map[string]*int{inviteQueued: &st.Queued, inviteSent: &st.Sent, inviteOpened: &st.Opened, inviteAnswered: &st.Answered} {
		count, err := s.invitations.CountDocuments(ctx, bson.M{"survey_id": survey, "state": state})
		if err != nil {
			return st, fmt.Errorf("invitations: %w", err)
		}
		*n = int(count)
	}
	// Each later state passed through the earlier ones.
	st.Opened += st.Answered
	st.Sent += st.Opened
	return st, nil
}
