package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/guyub/guyub/internal/browsertest"
)

func signInAs(b *browsertest.Browser, base, email string) {
	b.Open(base + "/signin")
	b.Fill("#email", email)
	b.Fill("#password", "guyub-demo-2026")
	b.Submit(`form[action="/signin"] button`)
}

func signOut(b *browsertest.Browser) {
	b.Submit(`form[action="/signout"] button`)
}

func TestBrowser_ThreadAnsweredAndAcceptedThenAnIdeaVotedFor(t *testing.T) {
	r := start(t, "--demo")
	b := browsertest.New(t)

	// Ayu reads her notifications from the demo, then asks a question.
	signInAs(b, r.URL, "ayu@guyub.example")
	b.Click(".bell")
	b.Submit(`form[action="/notifications/read"] button`)
	b.Click(`.site-nav a[href="/forums"]`)
	b.Screenshots("forums-en")
	b.Click(`a[href="/forums/new"]`)
	b.Do(chromedp.WaitVisible(chromedp.CSS("#category")), chromedp.SetValue(chromedp.CSS("#category"), "help"))
	b.Fill("#title", "Garansi penanak nasi berapa lama?")
	b.Fill("#body", "Penanak nasi saya rusak setelah 8 bulan. Apakah masih bergaransi?")
	b.Fill("#tags", "garansi, penanak-nasi")
	b.Submit(`form[action="/forums/new"] button[type="submit"]:not([name])`)
	if got := b.Text("h1"); got != "Garansi penanak nasi berapa lama?" {
		t.Fatalf("thread heading = %q", got)
	}
	thread := b.Location()
	signOut(b)

	// Budi answers it.
	signInAs(b, r.URL, "budi@guyub.example")
	b.Open(thread)
	b.Fill("#reply-body", "Garansinya 12 bulan, simpan struk pembeliannya ya.")
	b.Submit(`form[action$="/posts"] button`)
	if got := b.Text("#posts"); !strings.Contains(got, "Garansinya 12 bulan") {
		t.Fatalf("the reply is not on the thread: %q", got)
	}
	signOut(b)

	// Ayu is told, and accepts the answer.
	signInAs(b, r.URL, "ayu@guyub.example")
	if got := b.Text(".bell .count"); got != "1" {
		t.Fatalf("unread count = %q", got)
	}
	b.Click(".bell")
	b.Screenshots("notifications-en")
	b.Click(".notification a")
	b.Submit(`form[action$="/accept"] button`)
	if got := b.Text(".accepted-answer"); !strings.Contains(got, "Garansinya 12 bulan") || !strings.Contains(got, "Budi Santoso") {
		t.Fatalf("accepted answer = %q", got)
	}
	b.Open(thread + "?lang=id")
	b.Screenshots("thread-id")
	b.Open(r.URL + "/forums?sort=solved")
	if got := b.Text(".thread-list"); !strings.Contains(got, "Garansi penanak nasi") {
		t.Fatalf("solved list = %q", got)
	}

	// Ayu proposes an idea; Emma votes for it.
	b.Click(`.site-nav a[href="/ideas"]`)
	b.Click(`a[href="/ideas/new"]`)
	b.Fill("#title", "Perpanjang garansi jadi 2 tahun")
	b.Fill("#body", "Banyak pesaing sudah memberi garansi 2 tahun.")
	b.Submit(`form[action="/ideas/new"] button[type="submit"]:not([name])`)
	if got := b.Text(".vote-count"); got != "1" { // the author's own vote
		t.Fatalf("votes after submitting = %q", got)
	}
	idea := b.Location()
	signOut(b)
	signInAs(b, r.URL, "emma@guyub.example")
	b.Open(idea)
	b.Submit(`.idea-head .vote-box button`)
	if got := b.Text(".vote-count"); got != "2" {
		t.Fatalf("votes after Emma's = %q", got)
	}
	if got := b.Text(".idea-head .vote-box button"); got != "Voted ✓" {
		t.Fatalf("vote button = %q", got)
	}
	b.Screenshots("idea-en")
	signOut(b)

	// The product team plans it, with a public response; it moves on the roadmap.
	signInAs(b, r.URL, "product@guyub.example")
	b.Open(idea)
	b.Toggle(".staff-tools summary")
	b.Do(chromedp.SetValue(chromedp.CSS("#state"), "planned"))
	b.Fill("#response", "Kami rencanakan untuk tahun depan.")
	b.Screenshots("idea-staff-en")
	b.Submit(`form[action$="/status"] button`)
	if got := b.Text(".idea-head .badge"); got != "Planned" {
		t.Fatalf("status badge = %q", got)
	}
	if got := b.Text(".brand-reply"); !strings.Contains(got, "Kami rencanakan") {
		t.Fatalf("response = %q", got)
	}
	b.Open(r.URL + "/roadmap?lang=id")
	if got := b.Text("#col-planned + .idea-list"); !strings.Contains(got, "Perpanjang garansi") {
		t.Fatalf("planned column = %q", got)
	}
	b.Screenshots("roadmap-id")
}
