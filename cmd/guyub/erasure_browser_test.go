package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/guyub/guyub/internal/browsertest"
)

// Emma deletes her account from her profile, keeping what she wrote: she is signed out,
// cannot sign in again, and her words stay under "Deleted member".
func TestBrowser_MemberDeletesTheirAccount(t *testing.T) {
	r := start(t, "--demo")
	b := browsertest.New(t)

	signInAs(b, r.URL, "emma@guyub.example")
	b.Open(r.URL + "/profile?lang=id")
	b.Do(chromedp.Click(chromedp.CSS(`#delete-account summary`)))
	b.Screenshots("delete-account-id")
	b.Open(r.URL + "/profile?lang=en")
	b.Do(chromedp.Click(chromedp.CSS(`#delete-account summary`)))
	b.Fill("#delete-password", "guyub-demo-2026")
	b.Submit(`form[action="/profile/delete"] button`)
	if got := b.Text("main"); !strings.Contains(got, "Your account is deleted") {
		t.Fatalf("after deleting: %q", got)
	}
	if got := b.Text("header"); !strings.Contains(got, "Sign in") {
		t.Fatalf("still signed in: %q", got)
	}
	b.Open(r.URL + "/reviews?lang=en")
	if got := b.Text("main"); strings.Contains(got, "Emma Clarke") {
		t.Errorf("her name is still shown: %q", got)
	}
	signInAs(b, r.URL, "emma@guyub.example")
	if got := b.Text("main"); !strings.Contains(got, "do not match an account") {
		t.Errorf("signing in again: %q", got)
	}
}
