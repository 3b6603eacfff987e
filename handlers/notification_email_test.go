package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/mail"
)

// Notifications are emailed as each member chooses: at once by default for replies, after a
// grace in which reading it in the portal means no email; never once turned off, on the
// profile or in one click from the email itself, without signing in.
func TestNotificationEmails_AsChosenWithOneClickUnsubscribe(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	ctx := context.Background()
	e.category("Help", false)
	ayu, budi := e.person("ayu@example.com"), e.person("budi@example.com")
	th, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: "help", Title: "Lampu indikator berkedip", Body: "Kenapa?"})
	if err != nil {
		t.Fatal(err)
	}
	reply := func(body string) {
		t.Helper()
		if _, err := e.community.Reply(ctx, budi, content.Ref{Kind: content.KindThread, ID: th.ID}, community.PostInput{Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	// The job as it runs after the grace: the notifications are made older than it.
	emailJob := func() []*mail.Message {
		t.Helper()
		if _, err := e.db.Collection("notifications").UpdateMany(ctx, bson.M{}, bson.M{"$set": bson.M{"created_at": time.Now().Add(-community.EmailGrace - time.Minute)}}); err != nil {
			t.Fatal(err)
		}
		if err := e.community.EmailNotifications(ctx); err != nil {
			t.Fatal(err)
		}
		return e.emailsTo("ayu@example.com")
	}

	// Nothing goes to an address nobody confirmed (whoever signed up with it may not own it).
	reply("Halo?")
	if got := emailJob(); len(got) != 0 {
		t.Fatalf("emailed an unconfirmed address: %q", got[0].Subject)
	}
	if _, err := e.customers.VerifyEmail(ctx, ayu.ID, "ayu@example.com"); err != nil {
		t.Fatal(err)
	}
	reply("Coba cabut kabelnya dulu.")
	if err := e.community.EmailNotifications(ctx); err != nil { // within the grace: nothing yet
		t.Fatal(err)
	}
	if got := emailJob(); len(got) != 1 || !strings.Contains(got[0].Subject, "budi") || !strings.Contains(got[0].Subject, "Lampu indikator berkedip") ||
		!strings.Contains(got[0].Text, "/notifications/") {
		t.Fatalf("the reply's email: %+v", got)
	}
	if again := emailJob(); len(again) != 1 {
		t.Fatalf("the job run again sent %d emails, want the same one", len(again))
	}
	m := emailJob()[0]
	unsubscribe := strings.Trim(m.Headers["List-Unsubscribe"], "<>")
	if m.Headers["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" || !strings.HasPrefix(unsubscribe, "http://portal.example/unsubscribe/") {
		t.Fatalf("unsubscribe headers: %v", m.Headers)
	}

	// Read in the portal within the grace: not emailed.
	b := newBrowser(t, base)
	b.post("/signin", url.Values{"email": {"ayu@example.com"}, "password": {"correct horse battery"}})
	reply("Atau ganti sekringnya.")
	if res := b.post("/notifications/read", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("mark read: %d", res.StatusCode)
	}
	if got := emailJob(); len(got) != 1 {
		t.Fatalf("a notification read in the portal was emailed too (%d emails)", len(got))
	}

	// One click from the mail client: no session, no CSRF token.
	path := strings.TrimPrefix(unsubscribe, "http://portal.example")
	res, err := http.Post(base+path, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %d", res.StatusCode)
	}
	if c, _ := e.customers.Get(ctx, ayu.ID); community.EmailPref(c, community.NotifyReply) != "off" {
		t.Fatalf("after unsubscribing, replies are emailed %q", community.EmailPref(c, community.NotifyReply))
	}
	reply("Sudah beres?")
	if got := emailJob(); len(got) != 1 {
		t.Fatalf("emailed after unsubscribing (%d emails)", len(got))
	}
	if forged, _ := http.Post(base+"/unsubscribe/"+ayu.ID.Hex()+".quote.forged", "application/x-www-form-urlencoded", nil); forged.StatusCode != http.StatusGone {
		t.Fatalf("a forged unsubscribe link: %d", forged.StatusCode)
	}

	// The profile shows the choice and changes it back.
	if page := b.get("/profile"); !strings.Contains(page.body, `<option value="off" selected>`) {
		t.Fatal("the profile does not show that replies are not emailed")
	}
	if res := b.post("/profile/emails", url.Values{"reply": {"instant"}, "idea_status": {"weekly"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save email settings: %d", res.StatusCode)
	}
	c, _ := e.customers.Get(ctx, ayu.ID)
	if community.EmailPref(c, community.NotifyReply) != "instant" || community.EmailPref(c, community.NotifyIdeaStatus) != "weekly" {
		t.Fatalf("email settings: %v", c.EmailPrefs)
	}
	if res := b.post("/profile/emails", url.Values{"reply": {"hourly"}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("an unknown choice: %d", res.StatusCode)
	}
}

// A member who wants replies in a daily digest gets one email a day with what they have not
// read and what was most active; a rerun sends nothing twice; one click stops digests.
func TestNotificationEmails_DailyDigest(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	ctx := context.Background()
	e.category("Help", false)
	ayu, budi := e.person("ayu@example.com"), e.person("budi@example.com")
	if err := e.customers.SetLocale(ctx, ayu.ID, "id"); err != nil {
		t.Fatal(err)
	}
	if err := e.customers.SetEmailPref(ctx, ayu.ID, community.NotifyReply, "daily"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.customers.VerifyEmail(ctx, ayu.ID, "ayu@example.com"); err != nil {
		t.Fatal(err)
	}
	th, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: "help", Title: "Lampu indikator berkedip", Body: "Kenapa?"})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"Coba cabut kabelnya.", "Atau ganti sekringnya."} {
		if _, err := e.community.Reply(ctx, budi, content.Ref{Kind: content.KindThread, ID: th.ID}, community.PostInput{Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.db.Collection("notifications").UpdateMany(ctx, bson.M{}, bson.M{"$set": bson.M{"created_at": time.Now().Add(-time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if err := e.community.EmailNotifications(ctx); err != nil {
		t.Fatal(err)
	}
	digests := func() []*mail.Message { return e.emailsTo("ayu@example.com") }
	if got := digests(); len(got) != 0 {
		t.Fatalf("replies wanted in a digest were emailed at once: %q", got[0].Subject)
	}
	for range 2 { // a rerun the same day
		if err := e.community.SendDigests(ctx, "daily"); err != nil {
			t.Fatal(err)
		}
	}
	got := digests()
	if len(got) != 1 || !strings.Contains(got[0].Subject, "2 hal baru") || strings.Count(got[0].Text, "/notifications/") != 2 ||
		!strings.Contains(got[0].Text, "Paling ramai di komunitas") || !strings.Contains(got[0].Text, "Lampu indikator berkedip") {
		t.Fatalf("digest: %d\n%+v", len(got), got)
	}
	unsubscribe := strings.TrimPrefix(strings.Trim(got[0].Headers["List-Unsubscribe"], "<>"), "http://portal.example")
	res, err := http.Post(base+unsubscribe, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe from the digest: %v %v", res, err)
	}
	if c, _ := e.customers.Get(ctx, ayu.ID); community.EmailPref(c, community.NotifyReply) != "off" || community.EmailPref(c, community.NotifyAccepted) != "instant" {
		t.Fatalf("after stopping digests: replies %q, accepted answers %q", community.EmailPref(c, community.NotifyReply), community.EmailPref(c, community.NotifyAccepted))
	}
}
