package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/guyub/guyub/internal/browsertest"
)

// Budi accepts Emma's reply in his thread: Emma earns points and a badge, is told, finds
// them on her profile, and redeems a coupon whose code she is shown.
func TestBrowser_EarnABadgeAndRedeemAReward(t *testing.T) {
	r := start(t, "--demo")
	b := browsertest.New(t)

	signInAs(b, r.URL, "budi@guyub.example")
	b.Open(r.URL + "/forums")
	b.Click(`a[href*="resep-kopi-tubruk"]`)
	emmas := browsertest.Get(b, chromedp.Evaluate[string](`(function () {
		for (const post of document.querySelectorAll('article.post')) {
			if (post.textContent.includes('Toraja')) return post.id.replace('post-', '');
		}
		return '';
	})()`))
	if emmas == "" {
		t.Fatal("Emma's reply is not on Budi's thread")
	}
	b.Submit(`button[name="post"][value="` + emmas + `"]`)
	signOut(b)

	signInAs(b, r.URL, "emma@guyub.example")
	b.Click(".bell")
	if got := b.Text("main"); !strings.Contains(got, "You earned the badge “First answer”") {
		t.Fatalf("Emma is not told of her badge: %q", got)
	}
	b.Open(r.URL + "/profile")
	if got := b.Text("#points"); !strings.Contains(got, "First answer") || !strings.Contains(got, "Level") {
		t.Errorf("the profile's points: %q", got)
	}
	b.Screenshots("loyalty-profile")
	b.Open(r.URL + "/loyalty")
	b.Screenshots("loyalty-page")
	b.Submit(`#rewards form[action$="/redeem"] button`)
	if code := b.Text(".code"); !regexp.MustCompile(`^GUYUB-DEMO-\d{4}$`).MatchString(code) {
		t.Errorf("the code shown: %q", code)
	}
	b.Screenshots("loyalty-redeemed")
	b.Open(r.URL + "/leaderboard?period=all&lang=id")
	if got := b.Text(".leaderboard"); !strings.Contains(got, "Emma Clarke") || strings.Contains(got, "Admin Guyub") {
		t.Errorf("the leaderboard: %q", got)
	}
	b.Screenshots("leaderboard-id")
	b.Open(r.URL + "/loyalty?lang=id")
	b.Screenshots("loyalty-page-id")
}
