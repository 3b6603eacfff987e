package moderation_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/markdown"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

type world struct {
	t          *testing.T
	ctx        context.Context
	db         *mongo.Database
	customers  *customers.Service
	reviews    *reviews.Service
	moderation *moderation.Service
	product    *reviews.Product
	moderator  *customers.Customer
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	db := storetest.DB(t)
	if err := store.EnsureIndexes(ctx, db, append(append(customers.Indexes, reviews.Indexes...), moderation.Indexes...)...); err != nil {
		t.Fatal(err)
	}
	cust := customers.NewService(db, []string{"en", "id"})
	rev := reviews.NewService(db, cust, cust, markdown.New())
	mod := moderation.New(db, cust, map[content.Kind]moderation.Publisher{content.KindReview: rev})
	rev.SetScreener(mod)
	w := &world{t: t, ctx: ctx, db: db, customers: cust, reviews: rev, moderation: mod}
	var err error
	if w.product, err = rev.CreateProduct(ctx, reviews.ProductInput{Name: "Kopi"}); err != nil {
		t.Fatal(err)
	}
	w.moderator = w.person("Moderator", customers.RoleModerator)
	return w
}

func (w *world) person(name string, roles ...customers.Role) *customers.Customer {
	w.t.Helper()
	c, err := w.customers.Create(w.ctx, customers.NewCustomer{Email: strings.ToLower(name) + "@example.com", DisplayName: name, Roles: roles})
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// member is a person whose account is a month old: their flags count.
func (w *world) member(name string, roles ...customers.Role) *customers.Customer {
	w.t.Helper()
	return w.aged(w.person(name, roles...), 30*24*time.Hour)
}

// aged makes c's account older by d.
func (w *world) aged(c *customers.Customer, d time.Duration) *customers.Customer {
	w.t.Helper()
	c.CreatedAt = c.CreatedAt.Add(-d)
	if _, err := w.db.Collection("customers").UpdateOne(w.ctx, bson.M{"_id": c.ID}, bson.M{"$set": bson.M{"created_at": c.CreatedAt}}); err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *world) write(author *customers.Customer, body string) (*reviews.Review, error) {
	return w.reviews.Create(w.ctx, author, w.product.Slug, reviews.Input{Rating: 4, Body: body})
}

func (w *world) summary() reviews.RatingSummary {
	p, err := w.reviews.Product(w.ctx, w.product.Slug)
	if err != nil {
		w.t.Fatal(err)
	}
	return p.Rating
}

func (w *world) setRules(edit func(*moderation.Rules)) {
	w.t.Helper()
	r, _ := w.moderation.Rules(w.ctx)
	edit(&r)
	if err := w.moderation.SaveRules(w.ctx, w.moderator.ID, r); err != nil {
		w.t.Fatal(err)
	}
}

func TestScreen_EachRuleInEnglishAndIndonesian(t *testing.T) {
	tests := []struct {
		name, body string
		want       content.Status
		rule       string
	}{
		{"plain text", "Kopinya enak, pengiriman cepat.", content.StatusPublished, ""},
		{"watched English word", "This shop is a SCAM, avoid.", content.StatusPending, "watched_word"},
		{"watched Indonesian word", "Penjualnya penipu!", content.StatusPending, "watched_word"},
		{"a word inside another word is not it", "Scampi and coffee, great pairing.", content.StatusPublished, ""},
		{"too many links", "see https://a.example https://b.example http://c.example www.d.example", content.StatusPending, "too_many_links"},
		{"three links are fine", "see https://a.example https://b.example http://c.example", content.StatusPublished, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			r, err := w.write(w.person("Author"), tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tt.want {
				t.Fatalf("status %s, want %s", r.Status, tt.want)
			}
			items, _, _ := w.moderation.Queue(w.ctx, moderation.QueueQuery{})
			if tt.rule == "" {
				if len(items) != 0 || w.summary().Count != 1 {
					t.Fatalf("published content is not queued and counts: %d queued, summary %+v", len(items), w.summary())
				}
				return
			}
			if len(items) != 1 || items[0].Reasons[0].Rule != tt.rule {
				t.Fatalf("queue = %+v, want one item held by %s", items, tt.rule)
			}
			if w.summary().Count != 0 {
				t.Fatal("a held review does not count in the rating until approved")
			}
			log, _ := w.moderation.Log(w.ctx, moderation.LogQuery{Action: moderation.ActionScreen})
			if len(log) != 1 || log[0].Reasons[0].Rule != tt.rule || log[0].Target.ID != r.ID {
				t.Fatalf("the rule's decision should be in the audit log: %+v", log)
			}
		})
	}
}

func TestScreen_BlockedWordsRefuseWithAMessage(t *testing.T) {
	w := newWorld(t)
	for _, body := range []string{"Best casino online here", "Main SLOT GACOR tiap hari"} {
		_, err := w.write(w.person(fmt.Sprintf("Spammer%d", len(body))), body)
		var f *errs.Fields
		if !errors.As(err, &f) || f.ByName["body"].ID != "moderation.blocked_word" {
			t.Fatalf("%q: err = %v", body, err)
		}
	}
	if items, _, _ := w.moderation.Queue(w.ctx, moderation.QueueQuery{}); len(items) != 0 {
		t.Fatal("refused content is not stored, so not queued")
	}
	// Admins edit the lists; a newly blocked Indonesian word is refused at once.
	w.setRules(func(r *moderation.Rules) { r.Blocked["id"] = append(r.Blocked["id"], "Kata  Terlarang") })
	if _, err := w.write(w.person("Other"), "ini kata terlarang sekali"); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("an added blocked phrase: %v", err)
	}
}

func TestScreen_RepeatedContentAndNewAccounts(t *testing.T) {
	w := newWorld(t)
	other, err := w.reviews.CreateProduct(w.ctx, reviews.ProductInput{Name: "Teh"})
	if err != nil {
		t.Fatal(err)
	}
	spammer := w.person("Copier")
	if r, _ := w.write(spammer, "Great product, visit my shop"); r.Status != content.StatusPublished {
		t.Fatal("the first copy is published")
	}
	r, err := w.reviews.Create(w.ctx, spammer, other.Slug, reviews.Input{Rating: 5, Body: "great product,   visit my SHOP!"})
	if err != nil || r.Status != content.StatusPending {
		t.Fatalf("the same words on another product are held: %v %v", r, err)
	}

	w.setRules(func(r *moderation.Rules) { r.NewAccountHold = 2 })
	newbie := w.person("Newbie")
	p3, _ := w.reviews.CreateProduct(w.ctx, reviews.ProductInput{Name: "Gula"})
	var statuses []content.Status
	for i, p := range []*reviews.Product{w.product, other, p3} {
		r, err := w.reviews.Create(w.ctx, newbie, p.Slug, reviews.Input{Rating: 5, Body: fmt.Sprintf("Review number %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, r.Status)
	}
	if statuses[0] != content.StatusPending || statuses[1] != content.StatusPending || statuses[2] != content.StatusPublished {
		t.Fatalf("a new account's first two are held: %v", statuses)
	}
}

func TestFlags_OncePerCustomerHiddenAtThreshold(t *testing.T) {
	w := newWorld(t)
	author := w.person("Author")
	r, _ := w.write(author, "Perfectly normal review.")
	ref := content.Ref{Kind: content.KindReview, ID: r.ID}.String()
	if _, err := w.moderation.Flag(w.ctx, author, moderation.FlagInput{Ref: ref, Reason: "spam"}); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("flagging one's own content: %v", err)
	}
	if _, err := w.moderation.Flag(w.ctx, w.person("X"), moderation.FlagInput{Ref: ref, Reason: "other"}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("'other' without an explanation: %v", err)
	}
	a := w.member("A")
	for range 3 {
		if _, err := w.moderation.Flag(w.ctx, a, moderation.FlagInput{Ref: ref, Reason: "spam"}); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := w.reviews.Review(w.ctx, r.ID); got.Status != content.StatusPublished {
		t.Fatal("three flags from one customer count once")
	}
	items, _, _ := w.moderation.Queue(w.ctx, moderation.QueueQuery{Rule: "flagged"})
	if len(items) != 1 || items[0].Flags != 1 {
		t.Fatalf("a flagged item is in the queue with its count: %+v", items)
	}
	w.moderation.Flag(w.ctx, w.member("B"), moderation.FlagInput{Ref: ref, Reason: "abuse"})
	res, err := w.moderation.Flag(w.ctx, w.member("C"), moderation.FlagInput{Ref: ref, Reason: "off_topic"})
	if err != nil || !res.Hidden {
		t.Fatalf("the third distinct flag hides: %+v %v", res, err)
	}
	if got, _ := w.reviews.Review(w.ctx, r.ID); got.Status != content.StatusHidden || w.summary().Count != 0 {
		t.Fatalf("hidden and out of the rating: %s %+v", got.Status, w.summary())
	}
	if log, _ := w.moderation.Log(w.ctx, moderation.LogQuery{Action: moderation.ActionAutoHide}); len(log) != 1 || log[0].Before != content.StatusPublished {
		t.Fatalf("auto-hide is logged: %+v", log)
	}

	// A moderator approves: it is public again and its old flags are settled.
	if _, err := w.moderation.Decide(w.ctx, w.moderator, moderation.DecisionInput{Refs: []string{ref}, Action: moderation.ActionApprove}); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.reviews.Review(w.ctx, r.ID); got.Status != content.StatusPublished || w.summary().Count != 1 {
		t.Fatal("approved content is public and counted again")
	}
	if res, _ := w.moderation.Flag(w.ctx, w.person("D"), moderation.FlagInput{Ref: ref, Reason: "spam"}); res.Hidden {
		t.Fatal("after a decision, flags count afresh")
	}
}

func TestDecide_ApproveRejectBulkAndLog(t *testing.T) {
	w := newWorld(t)
	a, b := w.person("A"), w.person("B")
	ra, _ := w.write(a, "What a scam")
	rb, _ := w.write(b, "Another scam?")
	refA := content.Ref{Kind: content.KindReview, ID: ra.ID}.String()
	refB := content.Ref{Kind: content.KindReview, ID: rb.ID}.String()
	if _, err := w.moderation.Decide(w.ctx, a, moderation.DecisionInput{Refs: []string{refA}, Action: moderation.ActionApprove}); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("a customer deciding: %v", err)
	}
	_, err := w.moderation.Decide(w.ctx, w.moderator, moderation.DecisionInput{Refs: []string{refA, refB}, Action: moderation.ActionReject})
	var f *errs.Fields
	if !errors.As(err, &f) || f.ByName["reason"].ID != "moderation.reason_required" {
		t.Fatalf("reject without reason: %v", err)
	}
	items, _, _ := w.moderation.Queue(w.ctx, moderation.QueueQuery{})
	if len(items) != 2 || items[0].ID != refA {
		t.Fatalf("queue oldest first: %+v", items)
	}
	res, err := w.moderation.Decide(w.ctx, w.moderator, moderation.DecisionInput{Refs: []string{refA, refB}, Action: moderation.ActionReject, Reason: "Name-calling"})
	if err != nil || len(res) != 2 || res[0].Before != content.StatusPending || res[1].After != content.StatusHidden {
		t.Fatalf("bulk reject: %+v %v", res, err)
	}
	got, _ := w.reviews.Review(w.ctx, ra.ID)
	if got.Status != content.StatusHidden || got.ModerationReason != "Name-calling" {
		t.Fatalf("the author sees the status and reason: %s %q", got.Status, got.ModerationReason)
	}
	if items, _, _ := w.moderation.Queue(w.ctx, moderation.QueueQuery{}); len(items) != 0 {
		t.Fatal("decided items leave the queue")
	}
	if _, err := w.moderation.Decide(w.ctx, w.moderator, moderation.DecisionInput{Refs: []string{refB}, Action: moderation.ActionApprove}); err != nil {
		t.Fatal(err)
	}
	if w.summary().Count != 1 {
		t.Fatalf("approval counts the rating: %+v", w.summary())
	}
	log, _ := w.moderation.Log(w.ctx, moderation.LogQuery{Actor: w.moderator.ID})
	var actions []string
	for _, e := range log {
		actions = append(actions, string(e.Action))
	}
	if strings.Join(actions, ",") != "approve,reject,reject,rules" && strings.Join(actions, ",") != "approve,reject,reject" {
		t.Fatalf("every decision is logged, newest first: %v", actions)
	}
	hist, err := w.moderation.Histories(w.ctx, []bson.ObjectID{a.ID, b.ID})
	if err != nil || hist[a.ID].Rejected != 1 || hist[b.ID].Rejected != 1 || hist[b.ID].Approved != 1 {
		t.Fatalf("authors' histories = %+v, %v", hist, err)
	}
}

func TestSuspendAndRolesAreLogged(t *testing.T) {
	w := newWorld(t)
	target := w.person("Target")
	admin := w.person("Admin", customers.RoleAdmin)
	until := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	if err := w.moderation.Suspend(w.ctx, target, w.moderator.ID, "no", nil); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("a customer suspending: %v", err)
	}
	if err := w.moderation.Suspend(w.ctx, w.moderator, target.ID, "Spam links", &until); err != nil {
		t.Fatal(err)
	}
	got, _ := w.customers.Get(w.ctx, target.ID)
	if !got.IsSuspended() {
		t.Fatal("suspended")
	}
	if _, err := w.write(got, "Let me post anyway"); !errors.Is(err, errs.ErrSuspended) {
		t.Fatalf("a suspended author posting: %v", err)
	}
	if err := w.moderation.SetRoles(w.ctx, w.moderator, target.ID, []customers.Role{customers.RoleAdmin}); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("a moderator granting admin: %v", err)
	}
	if err := w.moderation.SetRoles(w.ctx, admin, target.ID, []customers.Role{customers.RoleProduct}); err != nil {
		t.Fatal(err)
	}
	log, _ := w.moderation.Log(w.ctx, moderation.LogQuery{Author: target.ID})
	if len(log) != 2 || log[0].Action != moderation.ActionRoles || len(log[0].RolesAfter) != 2 || log[1].Action != moderation.ActionSuspend || !log[1].SuspendedUntil.Equal(until) {
		t.Fatalf("log about the target: %+v", log)
	}
}

// Hidden by a moderator, deleted and written again by its author: it waits for a moderator
// again instead of coming back published.
func TestDecide_DeleteAndRewriteCannotDodgeAModerator(t *testing.T) {
	w := newWorld(t)
	author := w.person("Dodger")
	r, _ := w.write(author, "Perfectly fine at first.")
	ref := content.Ref{Kind: content.KindReview, ID: r.ID}.String()
	w.moderation.Flag(w.ctx, w.person("F"), moderation.FlagInput{Ref: ref, Reason: "abuse"})
	if _, err := w.moderation.Decide(w.ctx, w.moderator, moderation.DecisionInput{Refs: []string{ref}, Action: moderation.ActionReject, Reason: "Insults"}); err != nil {
		t.Fatal(err)
	}
	if err := w.reviews.Delete(w.ctx, author, r.ID); err != nil {
		t.Fatal(err)
	}
	again, err := w.write(author, "Same insults, new review.")
	if err != nil || again.ID != r.ID || again.Status != content.StatusPending {
		t.Fatalf("rewritten: %+v %v", again, err)
	}
	items, _, _ := w.moderation.Queue(w.ctx, moderation.QueueQuery{Rule: "previously_hidden"})
	if len(items) != 1 {
		t.Fatalf("it is back in the queue: %+v", items)
	}
}

// BenchmarkScreen is the moderation cost added to every content write on the embedded
// FerretDB: the rules, the duplicate and new-account look-ups.
func BenchmarkScreen(b *testing.B) {
	ctx := context.Background()
	db := storetest.DB(b)
	if err := store.EnsureIndexes(ctx, db, moderation.Indexes...); err != nil {
		b.Fatal(err)
	}
	cust := customers.NewService(db, nil)
	mod := moderation.New(db, cust, nil)
	author, _ := cust.Create(ctx, customers.NewCustomer{Email: "b@example.com"})
	sub := content.Submission{Ref: content.Ref{Kind: content.KindReview}, Author: author.ID,
		Text: strings.Repeat("Kopinya enak dan pengirimannya cepat sekali. ", 20)}
	for b.Loop() {
		if _, err := mod.Screen(ctx, sub); err != nil {
			b.Fatal(err)
		}
	}
}

// Who flags weighs: new accounts cannot hide anything; staff content is never hidden by
// flags; an established member's content goes to the queue for a moderator instead.
func TestFlags_WeighWhoFlagsAndWhose(t *testing.T) {
	w := newWorld(t)
	flagAll := func(ref string, flaggers ...*customers.Customer) moderation.FlagResult {
		t.Helper()
		var res moderation.FlagResult
		for _, f := range flaggers {
			var err error
			if res, err = w.moderation.Flag(w.ctx, f, moderation.FlagInput{Ref: ref, Reason: "spam"}); err != nil {
				t.Fatal(err)
			}
		}
		return res
	}
	status := func(id bson.ObjectID) content.Status {
		t.Helper()
		r, err := w.reviews.Review(w.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return r.Status
	}
	newbie := w.person("Newbie")
	r, _ := w.write(newbie, "A perfectly ordinary review.")
	ref := content.Ref{Kind: content.KindReview, ID: r.ID}.String()
	if res := flagAll(ref, w.person("Sock1"), w.person("Sock2"), w.person("Sock3"), w.person("Sock4")); res.Hidden || status(r.ID) != content.StatusPublished {
		t.Fatal("four accounts made today hid a review")
	}
	if res := flagAll(ref, w.member("M1"), w.member("M2"), w.member("M3")); !res.Hidden || status(r.ID) != content.StatusHidden {
		t.Fatal("three members' flags should hide a new account's review")
	}

	staff := w.member("Staff", customers.RoleProduct)
	announcement, _ := w.write(staff, "Our new roastery opens Monday.")
	sref := content.Ref{Kind: content.KindReview, ID: announcement.ID}.String()
	if res := flagAll(sref, w.member("M4"), w.member("M5"), w.member("M6"), w.member("M7")); res.Hidden || status(announcement.ID) != content.StatusPublished {
		t.Fatal("flags hid a staff member's content")
	}

	veteran := w.aged(w.person("Veteran"), 400*24*time.Hour)
	old, _ := w.write(veteran, "Two years of this coffee and still happy.")
	vetAccount, _ := w.customers.Get(w.ctx, veteran.ID)
	w.aged(vetAccount, 0)
	vref := content.Ref{Kind: content.KindReview, ID: old.ID}.String()
	if res := flagAll(vref, w.member("M8"), w.member("M9"), w.member("M10")); res.Hidden || status(old.ID) != content.StatusPublished {
		t.Fatal("flags hid an established member's content before a moderator looked")
	}
	items, _, _ := w.moderation.Queue(w.ctx, moderation.QueueQuery{Rule: "flagged"})
	queued := map[string]bool{}
	for _, it := range items {
		queued[it.ID] = true
	}
	if !queued[vref] || !queued[sref] {
		t.Fatalf("flagged items wait for a moderator: %v", queued)
	}
}
