package handlers_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/insights"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/store"
)

// sync runs the search sync once: the index and insights catch up with every write.
func (e *env) sync() {
	e.t.Helper()
	if _, err := e.syncer.SyncOnce(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// item is the feedback item insights keeps for a search document ID.
func (e *env) item(id string) *insights.Item {
	e.t.Helper()
	it, err := store.FindOne[insights.Item](context.Background(), e.db.Collection("feedback_items"), bson.M{"_id": id}, nil)
	if err != nil {
		return nil
	}
	return it
}

// Every kind of feedback is analysed once written: reviews, threads, replies, ideas and
// their comments, testimonials and survey comments. An edit reads it again, hiding takes
// it out, and its author's score follows its sentiment.
func TestInsights_EveryKindOfFeedbackIsAnalysed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sari, eko := e.person("sari@example.com"), e.person("eko@example.com")
	mod := e.person("mod@example.com", customers.RoleModerator, customers.RoleAdmin)
	kopi := e.product("Kopi Gayo")
	help := e.category("Help", false)

	review := e.review(sari, kopi, 1, "Kecewa bgt, kopinya basi dan pengiriman lambat.")
	thread, err := e.community.CreateThread(ctx, sari, community.ThreadInput{Category: help.Slug, Title: "Pesanan belum sampai",
		Body: "Sudah dua minggu paket belum sampai, penjual tidak membalas."})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := e.community.Reply(ctx, eko, content.Ref{Kind: content.KindThread, ID: thread.ID}, community.PostInput{Body: "Thanks, the support team was quick and helpful!"})
	if err != nil {
		t.Fatal(err)
	}
	idea, err := e.community.CreateIdea(ctx, eko, community.IdeaInput{Title: "Please add a reminder feature", Body: "It would be great to get a reminder to reorder coffee."})
	if err != nil {
		t.Fatal(err)
	}
	comment, err := e.community.Reply(ctx, sari, content.Ref{Kind: content.KindIdea, ID: idea.ID}, community.PostInput{Body: "Setuju, ide bagus sekali!"})
	if err != nil {
		t.Fatal(err)
	}
	tm, err := e.reviews.SubmitTestimonial(ctx, eko, reviews.TestimonialInput{Quote: "Kopi terenak yang pernah saya minum, aromanya harum 😍", Consent: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.reviews.Decide(ctx, mod, tm.ID, reviews.DecideApprove, ""); err != nil {
		t.Fatal(err)
	}
	nps := e.npsSurvey(mod)
	score := 2
	answer, _, err := e.feedback.Answer(ctx, sari, nps.ID, feedback.AnswerInput{Score: &score, Comment: "Harganya terlalu mahal dan pelayanannya lambat."}, "portal")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := e.customers.Get(ctx, sari.ID)
	e.sync()

	cases := []struct {
		id, kind, sentiment, lang, theme string
	}{
		{"review-" + review.ID.Hex(), "review", insights.Negative, "id", "delivery"},
		{"thread-" + thread.ID.Hex(), "thread", insights.Negative, "id", "delivery"},
		{"post-" + reply.ID.Hex(), "post", insights.Positive, "en", "service"},
		{"idea-" + idea.ID.Hex(), "idea", "", "en", "feature_request"},
		{"post-" + comment.ID.Hex(), "post", insights.Positive, "id", ""},
		{"testimonial-" + tm.ID.Hex(), "testimonial", insights.Positive, "id", "taste_scent"},
		{"feedback-" + answer.ID.Hex(), "feedback", insights.Negative, "id", "price"},
	}
	for _, c := range cases {
		it := e.item(c.id)
		if it == nil {
			t.Errorf("%s was not analysed", c.id)
			continue
		}
		if it.Kind != c.kind || it.Lang != c.lang || c.sentiment != "" && it.Sentiment != c.sentiment ||
			c.theme != "" && !contains(it.Themes, c.theme) || it.Analysed == "" {
			t.Errorf("%s: %s %s %s %v, want %s %s %s %s", c.id, it.Kind, it.Lang, it.Sentiment, it.Themes, c.kind, c.lang, c.sentiment, c.theme)
		}
	}
	if it := e.item("feedback-" + answer.ID.Hex()); it.Survey != "nps" || it.Answer != 2 || it.AuthorID != sari.ID {
		t.Errorf("a survey comment keeps its answer: %+v", it)
	}
	if it := e.item("review-" + review.ID.Hex()); it.Rating != 1 || it.Product != kopi.Slug || it.Stage == "" {
		t.Errorf("a review keeps its rating, product and its author's stage: %+v", it)
	}

	// The author's own words move their score: a sentiment signal per piece.
	signals, err := e.customers.Signals(ctx, sari.ID)
	if err != nil {
		t.Fatal(err)
	}
	sentiments := 0
	for _, s := range signals {
		if s.Kind == customers.SignalSentiment {
			sentiments++
		}
	}
	after, _ := e.customers.Get(ctx, sari.ID)
	if sentiments != 4 || after.Satisfaction.Signals != before.Satisfaction.Signals+4 {
		t.Fatalf("sari's sentiment signals: %d (signals %d → %d), want 4 more", sentiments, before.Satisfaction.Signals, after.Satisfaction.Signals)
	}

	// An edit is read again; the signal follows.
	if _, err := e.reviews.Update(ctx, sari, review.ID, reviews.Input{Rating: 5, Title: "Ternyata enak", Body: "Setelah diseduh ulang ternyata enak sekali, mantap!"}); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if it := e.item("review-" + review.ID.Hex()); it.Sentiment != insights.Positive || it.Rating != 5 {
		t.Fatalf("the edited review: %+v", it)
	}
	edited, _ := e.customers.Get(ctx, sari.ID)
	if edited.Satisfaction.Score <= after.Satisfaction.Score {
		t.Fatalf("a happier review, a lower score: %d → %d", after.Satisfaction.Score, edited.Satisfaction.Score)
	}

	// Hidden by a moderator: out of insights, its sentiment off the record.
	if _, err := e.moderation.Decide(ctx, mod, moderation.DecisionInput{Refs: []string{"post:" + comment.ID.Hex()}, Action: moderation.ActionReject, Reason: "off topic"}); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if it := e.item("post-" + comment.ID.Hex()); it != nil {
		t.Fatalf("a hidden comment is still analysed: %+v", it)
	}
	signals, _ = e.customers.Signals(ctx, sari.ID)
	for _, s := range signals {
		if s.ID == "sentiment:post-"+comment.ID.Hex() {
			t.Fatal("the hidden comment's sentiment is still on the record")
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Survey comments written before comments went to insights, and reviews quoted as
// testimonials: the first are fed by a refeed, the second are counted once.
func TestInsights_OldCommentsFedAndQuotedReviewsCountedOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sari := e.person("sari@example.com")
	mod := e.person("mod@example.com", customers.RoleModerator, customers.RoleProduct)
	nps := e.npsSurvey(mod)
	// An answer as they were stored before: no search_dirty, no version.
	old := bson.NewObjectID()
	if _, err := e.db.Collection("responses").InsertOne(ctx, bson.M{"_id": old, "survey_id": nps.ID, "customer_id": sari.ID, "kind": "nps",
		"touchpoint": "community", "score": 3, "comment": "Pengiriman lambat sekali, kecewa.", "stage": "awareness", "channel": "portal", "at": time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if e.item("feedback-"+old.Hex()) != nil {
		t.Fatal("the sync fed an old answer: it should not even see it")
	}
	// Another process syncing refuses the refeed (it would race the sync's removals).
	leases := store.NewLeases(e.db)
	if held, _ := leases.Acquire(ctx, "search-sync", "another-host:1", time.Minute); !held {
		t.Fatal("no lease")
	}
	if err := e.syncer.Refeed(ctx, e.insights, func(int, int) {}); !errors.Is(err, search.ErrSyncBusy) {
		t.Fatalf("a refeed beside another syncing process: %v", err)
	}
	leases.Release(ctx, "search-sync", "another-host:1")
	if err := e.syncer.Refeed(ctx, e.insights, func(int, int) {}); err != nil {
		t.Fatal(err)
	}
	if it := e.item("feedback-" + old.Hex()); it == nil || it.Sentiment != insights.Negative {
		t.Fatalf("the old comment after a refeed: %+v", it)
	}

	kopi := e.product("Kopi Gayo")
	r := e.review(sari, kopi, 5, "Kopi terenak yang pernah saya minum!")
	tm := e.quoted(r, sari, mod)
	e.sync()
	if got, _ := e.reviews.Testimonial(ctx, tm.ID); got.Status == reviews.TestimonialPending {
		t.Fatalf("the testimonial is not shown: %s", got.Status)
	}
	n, err := e.db.Collection("feedback_items").CountDocuments(ctx, bson.M{"source": "testimonials"})
	if err != nil || n != 0 || e.item("review-"+r.ID.Hex()) == nil {
		t.Fatalf("a review quoted as a testimonial is counted twice (%d testimonials)", n)
	}
}

// quoted makes a review a testimonial shown on the wall: staff ask, its author agrees, a
// moderator approves.
func (e *env) quoted(r *reviews.Review, author, staff *customers.Customer) *reviews.Testimonial {
	e.t.Helper()
	ctx := context.Background()
	tm, err := e.reviews.PromoteReview(ctx, staff, r.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.reviews.AnswerConsent(ctx, author, tm.ID, true); err != nil {
		e.t.Fatal(err)
	}
	if err := e.reviews.Decide(ctx, staff, tm.ID, reviews.DecideApprove, ""); err != nil {
		e.t.Fatal(err)
	}
	return tm
}
