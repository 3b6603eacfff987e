package feedback_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

type world struct {
	ctx       context.Context
	customers *customers.Service
	feedback  *feedback.Service
	staff     *customers.Customer
	nps, csat *feedback.Survey
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	db := storetest.DB(t)
	if err := store.EnsureIndexes(ctx, db, append(customers.Indexes, feedback.Indexes...)...); err != nil {
		t.Fatal(err)
	}
	cust := customers.NewService(db, []string{"en", "id"})
	w := &world{ctx: ctx, customers: cust, feedback: feedback.New(db, cust, cust)}
	w.staff, _ = cust.Create(ctx, customers.NewCustomer{Email: "product@example.com", Roles: []customers.Role{customers.RoleProduct}})
	var err error
	w.nps, err = w.feedback.SaveSurvey(ctx, w.staff, bson.ObjectID{}, feedback.SurveyInput{Kind: "nps", Touchpoint: "community",
		QuestionEN: "How likely are you to recommend us?", QuestionID: "Seberapa mungkin Anda merekomendasikan kami?", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	w.csat, _ = w.feedback.SaveSurvey(ctx, w.staff, bson.ObjectID{}, feedback.SurveyInput{Kind: "csat", Touchpoint: "purchase",
		QuestionEN: "How satisfied are you?", QuestionID: "Seberapa puas Anda?", Active: true})
	return w
}

func (w *world) person(t *testing.T, email string) *customers.Customer {
	c, err := w.customers.Create(w.ctx, customers.NewCustomer{Email: email})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func score(n int) *int { return &n }

func TestAnswer_RangesPerKind(t *testing.T) {
	w := newWorld(t)
	c := w.person(t, "a@example.com")
	for _, tt := range []struct {
		survey *feedback.Survey
		score  *int
		ok     bool
	}{
		{w.nps, score(-1), false}, {w.nps, score(11), false}, {w.nps, nil, false},
		{w.csat, score(0), false}, {w.csat, score(6), false},
	} {
		_, _, err := w.feedback.Answer(w.ctx, c, tt.survey.ID, feedback.AnswerInput{Score: tt.score}, "portal")
		var f *errs.Fields
		if !errors.As(err, &f) || f.ByName["score"].ID != "survey.score_range" {
			t.Errorf("%s %v: %v", tt.survey.Kind, tt.score, err)
		}
	}
	if _, err := w.feedback.SaveSurvey(w.ctx, c, bson.ObjectID{}, feedback.SurveyInput{Kind: "nps"}); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("a customer making a survey: %v", err)
	}
	if _, err := w.feedback.SaveSurvey(w.ctx, w.staff, bson.ObjectID{}, feedback.SurveyInput{Kind: "poll", Touchpoint: "x"}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("an invalid survey: %v", err)
	}
}

func TestAnswer_OncePerPeriodEvenConcurrentlyAndTheRecordFollows(t *testing.T) {
	w := newWorld(t)
	c := w.person(t, "b@example.com")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for range 8 {
		wg.Go(func() {
			_, _, err := w.feedback.Answer(w.ctx, c, w.nps.ID, feedback.AnswerInput{Score: score(9)}, "portal")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, feedback.ErrAlreadyAnswered):
				refused++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok != 1 || refused != 7 {
		t.Fatalf("answered %d, refused %d; want 1 and 7", ok, refused)
	}
	got, _ := w.customers.Get(w.ctx, c.ID)
	if got.Satisfaction.Score != 90 || got.Satisfaction.NPSCat != customers.NPSPromoter || got.Satisfaction.Signals != 1 || got.Counters.Feedback != 1 {
		t.Fatalf("record after NPS 9: %+v counters %+v", got.Satisfaction, got.Counters)
	}
	due, _ := w.feedback.Due(w.ctx, c.ID)
	if len(due) != 1 || due[0].ID != w.csat.ID {
		t.Fatalf("due after answering the NPS survey: %+v", due)
	}
}

func TestPersonalLink_WrongExpiredReused(t *testing.T) {
	w := newWorld(t)
	c := w.person(t, "c@example.com")
	token, err := w.feedback.CreateLink(w.ctx, w.staff, w.csat.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.feedback.OpenLink(w.ctx, "wrong-token"); !errors.Is(err, feedback.ErrBadLink) {
		t.Fatalf("a wrong token: %v", err)
	}
	sv, who, err := w.feedback.OpenLink(w.ctx, token)
	if err != nil || sv.ID != w.csat.ID || who.ID != c.ID {
		t.Fatalf("open link: %v %v %v", sv, who, err)
	}
	if _, _, err := w.feedback.Answer(w.ctx, who, sv.ID, feedback.AnswerInput{Score: score(4)}, "link"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.feedback.Answer(w.ctx, who, sv.ID, feedback.AnswerInput{Score: score(5)}, "link"); !errors.Is(err, feedback.ErrAlreadyAnswered) {
		t.Fatalf("the link used again in the period: %v", err)
	}
	expired := feedback.NewWithClock(w.feedback, func() time.Time { return time.Now().Add(feedback.LinkLifetime + time.Hour) })
	if _, _, err := expired.OpenLink(w.ctx, token); !errors.Is(err, feedback.ErrBadLink) {
		t.Fatalf("an expired link: %v", err)
	}
}

func TestAPIAnswers_IdempotentByKey(t *testing.T) {
	w := newWorld(t)
	c := w.person(t, "d@example.com")
	in := feedback.AnswerInput{Score: score(2), Key: "crm-123", At: "2026-06-01T10:00:00Z"}
	first, created, err := w.feedback.Answer(w.ctx, c, w.nps.ID, in, "api")
	if err != nil || !created {
		t.Fatalf("first: %v %v", created, err)
	}
	again, created, err := w.feedback.Answer(w.ctx, c, w.nps.ID, in, "api")
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("the same key again: %v %v %v", again, created, err)
	}
	got, _ := w.customers.Get(w.ctx, c.ID)
	if got.Satisfaction.Signals != 1 || got.Satisfaction.NPSCat != customers.NPSDetractor {
		t.Fatalf("counted once: %+v", got.Satisfaction)
	}
}
