package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/guyub/guyub/internal/browsertest"
)

// Daniel (product) finds a customer on the at-risk list, opens one of their follow-ups, takes
// it, answers them and resolves it well; the customer finds the answer in "For you".
func TestBrowser_AtRiskListToAFollowUpResolvedAndTheCustomerHears(t *testing.T) {
	r := start(t, "--demo")
	b := browsertest.New(t)

	signInAs(b, r.URL, "product@guyub.example")
	b.Open(r.URL + "/staff?lang=en")
	b.Screenshots("staff-home")
	b.Click(`a[href="/staff/at-risk"]`)
	if got := b.Text("main"); !strings.Contains(got, "Why") {
		t.Fatalf("the at-risk list: %q", got)
	}
	b.Screenshots("at-risk")
	b.Open(r.URL + "/staff/followups?view=team")
	b.Screenshots("followups")
	b.Click(`.task-list a`)
	name := browsertest.Get(b, chromedp.Evaluate[string](`document.querySelector('.record-cards h2 a').textContent`))
	emails := map[string]string{"Ayu Lestari": "ayu", "Budi Santoso": "budi", "Emma Clarke": "emma", "Rahul Mehta": "rahul"}
	who := emails[name]
	if who == "" {
		t.Fatalf("the task is about %q, not a demo customer", name)
	}
	b.Screenshots("followup")
	b.Do(chromedp.SetValue(chromedp.CSS(`#owner`), "me"))
	b.Fill(`#note`, "Called them: the courier was late.")
	b.Fill(`#reply`, "Thank you for telling us: we changed couriers this week.")
	b.Do(chromedp.Click(chromedp.CSS(`input[name="outcome"][value="good"]`)))
	b.Submit(`.form button[type="submit"]`)
	if got := b.Text("main"); !strings.Contains(got, "Follow-up resolved.") || !strings.Contains(got, "Resolved: good outcome") ||
		!strings.Contains(got, "Called them") {
		t.Fatalf("after resolving: %q", got)
	}
	b.Screenshots("followup-resolved")
	b.Open(r.URL + "/staff/at-risk?lang=id")
	b.Screenshots("at-risk-id")
	b.Open(r.URL + "/staff/followups?view=done&lang=id")
	if got := b.Text("main"); !strings.Contains(got, "Selesai: hasil baik") {
		t.Errorf("the resolved follow-ups in Indonesian: %q", got)
	}
	b.Screenshots("followups-done-id")
	signOut(b)

	signInAs(b, r.URL, who+"@guyub.example")
	b.Open(r.URL + "/?lang=en")
	if got := b.Text(".for-you"); !strings.Contains(got, "we changed couriers this week") {
		t.Fatalf("%s's For you: %q", who, got)
	}
	b.Screenshots("for-you-heard")
}
