package main

import (
	"strings"
	"testing"

	"github.com/guyub/guyub/internal/browsertest"
)

func TestBrowser_HomePageSwitchesToIndonesian(t *testing.T) {
	r := start(t)
	b := browsertest.New(t)

	b.Open(r.URL + "/")
	if got := b.Text("h1"); got != "Welcome to Guyub" {
		t.Fatalf("heading = %q", got)
	}
	b.Screenshots("home-en")

	b.Click(`.lang-switch a[hreflang="id"]`)
	if got := b.Text("h1"); got != "Selamat datang di Guyub" {
		t.Fatalf("after switching, heading = %q", got)
	}
	if got := b.Text(".site-nav"); !strings.Contains(got, "Beranda") {
		t.Fatalf("navigation not translated: %q", got)
	}
	b.Screenshots("home-id")

	// The choice holds on the next page without ?lang=.
	b.Open(r.URL + "/no-such-page")
	if got := b.Text("h1"); got != "Halaman tidak ditemukan" {
		t.Fatalf("404 heading = %q", got)
	}
	b.Screenshots("not-found-id")
}
