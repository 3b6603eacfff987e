package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/moderation"
)

// active builds a member who has done a bit of everything, beside Budi, and returns them
// with what they made.
type activity struct {
	member             *customers.Customer
	review             bson.ObjectID
	budisThread, idea  bson.ObjectID
	budisIdea          bson.ObjectID
	budisPost, ownPost bson.ObjectID
}

func (e *env) activeMember(t *testing.T, email, name string) activity {
	t.Helper()
	ctx := context.Background()
	tag := fmt.Sprint(len(name)) // others' names must not contain the member's
	staff := e.person("product"+tag+"@example.com", customers.RoleProduct)
	help := e.category("Help "+tag, false)
	kopi := e.product("Kopi " + tag)
	budi := e.older(e.person("budi"+tag+"@example.com"), 30)
	m := e.older(e.person(email), 30)
	if err := e.customers.UpdateProfile(ctx, m.ID, customers.Profile{DisplayName: name}); err != nil {
		t.Fatal(err)
	}
	m, _ = e.customers.Get(ctx, m.ID)
	var a activity
	a.member = m
	if _, err := e.reviews.RecordPurchase(ctx, m.ID, customers.Purchase{ProductID: kopi.ID, OrderID: "Z-1", Amount: 50000}); err != nil {
		t.Fatal(err)
	}
	a.review = e.review(m, kopi, 2, "Terlalu asam untuk saya").ID
	budisReview := e.review(budi, kopi, 5, "Enak sekali")
	if _, err := e.reviews.Vote(ctx, m, budisReview.ID, true); err != nil {
		t.Fatal(err)
	}
	th, err := e.community.CreateThread(ctx, budi, community.ThreadInput{Category: help.Slug, Title: "Grinder settings", Body: "Which one?"})
	if err != nil {
		t.Fatal(err)
	}
	a.budisThread = th.ID
	own, err := e.community.Reply(ctx, m, content.Ref{Kind: content.KindThread, ID: th.ID}, community.PostInput{Body: "Setting 12 works for me."})
	if err != nil {
		t.Fatal(err)
	}
	a.ownPost = own.ID
	budisReply, err := e.community.Reply(ctx, budi, content.Ref{Kind: content.KindThread, ID: th.ID}, community.PostInput{Body: "Thanks!"})
	if err != nil {
		t.Fatal(err)
	}
	a.budisPost = budisReply.ID
	if _, err := e.community.Like(ctx, m, budisReply.ID, true); err != nil {
		t.Fatal(err)
	}
	mine, err := e.community.CreateThread(ctx, m, community.ThreadInput{Category: help.Slug, Title: "Descaling the kettle", Body: "How often?"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.community.Reply(ctx, budi, content.Ref{Kind: content.KindThread, ID: mine.ID}, community.PostInput{Body: "Monthly."}); err != nil {
		t.Fatal(err)
	}
	idea, err := e.community.CreateIdea(ctx, m, community.IdeaInput{Title: "Refill pouches", Body: "Less plastic."})
	if err != nil {
		t.Fatal(err)
	}
	a.idea = idea.ID
	budisIdea, err := e.community.CreateIdea(ctx, budi, community.IdeaInput{Title: "Decaf option", Body: "Please."})
	if err != nil {
		t.Fatal(err)
	}
	a.budisIdea = budisIdea.ID
	if _, err := e.community.Vote(ctx, m, budisIdea.ID, true); err != nil {
		t.Fatal(err)
	}
	nps := e.npsSurvey(staff)
	three := 3
	if _, _, err := e.feedback.Answer(ctx, m, nps.ID, feedback.AnswerInput{Score: &three, Comment: "Delivery was slow"}, "portal"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.moderation.Flag(ctx, m, moderation.FlagInput{Ref: "post:" + budisReply.ID.Hex(), Reason: "off_topic"}); err != nil {
		t.Fatal(err)
	}
	e.sync()
	return a
}

// personal lists what any collection still holds of a member: their address, name or ID,
// anywhere in any document.
func (e *env) personal(t *testing.T, c *customers.Customer) []string {
	t.Helper()
	ctx := context.Background()
	names, err := e.db.ListCollectionNames(ctx, bson.M{})
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, name := range names {
		cur, err := e.db.Collection(name).Find(ctx, bson.M{})
		if err != nil {
			t.Fatal(err)
		}
		for cur.Next(ctx) {
			doc, _ := bson.MarshalExtJSON(cur.Current, false, false)
			text := string(doc)
			for _, s := range []string{c.Email, c.DisplayName, c.ID.Hex()} {
				if strings.Contains(text, s) {
					found = append(found, fmt.Sprintf("%s holds %q: %.300s", name, s, text))
				}
			}
		}
		cur.Close(ctx)
	}
	return found
}

// counts are the figures the member's contributions feed.
func (e *env) counts(t *testing.T, a activity) string {
	t.Helper()
	ctx := context.Background()
	th, _ := e.community.Thread(ctx, a.budisThread)
	idea, _ := e.community.Idea(ctx, a.budisIdea)
	post, _ := e.community.Post(ctx, a.budisPost)
	n, _ := e.db.Collection("responses").CountDocuments(ctx, bson.M{})
	flags, _ := e.db.Collection("flags").CountDocuments(ctx, bson.M{})
	return fmt.Sprintf("replies %d, votes %d, likes %d, answers %d, flags %d", th.ReplyCount, idea.VoteCount, post.Likes, n, flags)
}

func TestErasure_KeptUnderAPseudonymNothingPersonalLeftCountsExact(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.activeMember(t, "zulaikha.erase@example.com", "Zulaikha Pratiwi")
	m := a.member
	if found := e.personal(t, m); len(found) < 10 {
		t.Fatalf("the member's data should be everywhere before: %d places", len(found))
	}
	before := e.counts(t, a)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn(m.Email)
	wrong := b.post("/profile/delete?lang=en", url.Values{"content": {"keep"}, "password": {"not it"}})
	if wrong.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(wrong.body, "field-error") {
		t.Fatalf("a wrong password: %d", wrong.StatusCode)
	}
	if _, err := e.customers.Get(ctx, m.ID); err != nil {
		t.Fatal("a refused deletion deleted the account")
	}
	res := b.post("/profile/delete", url.Values{"content": {"keep"}, "password": {"correct horse battery"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d\n%s", res.StatusCode, res.body)
	}
	if home := b.get("/?lang=en"); !strings.Contains(home.body, "Your account is deleted") {
		t.Fatalf("after deleting:\n%s", home.body)
	}
	e.sync()
	if found := e.personal(t, m); len(found) > 0 {
		t.Fatalf("personal data left after erasure:\n%s", strings.Join(found, "\n"))
	}
	if after := e.counts(t, a); after != before {
		t.Fatalf("counts moved: %s, was %s", after, before)
	}
	// Kept under the pseudonym: the review is still there, by "Deleted member".
	r, err := e.reviews.Review(ctx, a.review)
	if err != nil || r.Status != "published" || r.BodyMD == "" {
		t.Fatalf("the kept review: %+v, %v", r, err)
	}
	if by, _ := e.customers.Get(ctx, r.AuthorID); by == nil || by.DisplayName != customers.ErasedName || by.Email != "" {
		t.Fatalf("the review's author now: %+v", by)
	}
	// Shown to each reader in their language.
	for lang, name := range map[string]string{"en": "Deleted member", "id": "Anggota terhapus"} {
		if page := newBrowser(t, base).get("/members/" + r.AuthorID.Hex() + "?lang=" + lang).body; !strings.Contains(page, "<h1>"+name+"</h1>") {
			t.Errorf("the pseudonym's page in %s does not say %q", lang, name)
		}
	}
	if again := newBrowser(t, base).post("/signin", url.Values{"email": {m.Email}, "password": {"correct horse battery"}}); again.StatusCode == http.StatusSeeOther {
		t.Fatal("the deleted account still signs in")
	}
	log, _ := e.moderation.Log(ctx, moderation.LogQuery{Limit: 50})
	erased := 0
	for _, entry := range log {
		if entry.Action == moderation.ActionErase {
			erased++
		}
	}
	if erased != 1 {
		t.Fatalf("the audit log records %d erasures", erased)
	}
}

func TestErasure_ContentRemovedByAnAdminOnRequest(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.person("admin@example.com", customers.RoleAdmin)
	a := e.activeMember(t, "rudi.erase@example.com", "Rudi Hartono")
	m := a.member
	rev, _ := e.reviews.Review(ctx, a.review)
	p, _ := e.reviews.ProductsByID(ctx, []bson.ObjectID{rev.ProductID})
	ratings := p[rev.ProductID].Rating.Count
	th, _ := e.community.Thread(ctx, a.budisThread)
	replies := th.ReplyCount
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn("admin@example.com")
	bad := b.post("/admin/accounts/"+m.ID.Hex()+"/erase?lang=en", url.Values{"content": {"remove"}, "confirm": {"someone@else.example"}})
	if bad.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong confirmation: %d", bad.StatusCode)
	}
	if res := b.post("/admin/accounts/"+m.ID.Hex()+"/erase", url.Values{"content": {"remove"}, "confirm": {m.Email}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("erase: %d\n%s", res.StatusCode, res.body)
	}
	e.sync()
	if found := e.personal(t, m); len(found) > 0 {
		t.Fatalf("personal data left after erasure:\n%s", strings.Join(found, "\n"))
	}
	// Removed, and the figures follow: one rating and one reply fewer.
	p, _ = e.reviews.ProductsByID(ctx, []bson.ObjectID{rev.ProductID})
	th, _ = e.community.Thread(ctx, a.budisThread)
	if p[rev.ProductID].Rating.Count != ratings-1 || th.ReplyCount != replies-1 {
		t.Fatalf("after removal: %d ratings (was %d), %d replies (was %d)", p[rev.ProductID].Rating.Count, ratings, th.ReplyCount, replies)
	}
	if r, _ := e.reviews.Review(ctx, a.review); r.Status != "deleted" || r.BodyMD != "" || r.Title != "" {
		t.Fatalf("the removed review: %+v", r)
	}
}
