package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/guyub/guyub/internal/browsertest"
)

// The admin adds an endpoint for new threads, copies its secret, sends a test; a member
// starts a thread, and the endpoint's log shows both delivered.
func TestBrowser_WebhookEndpointAddedAndDelivered(t *testing.T) {
	var received atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	r := start(t, "--demo", "--webhooks-allow-private", "true")
	b := browsertest.New(t)

	signInAs(b, r.URL, "admin@guyub.example")
	b.Open(r.URL + "/admin/webhooks/?lang=en")
	b.Fill("#url", recv.URL+"/hooks")
	b.Fill("#description", "Help desk")
	b.Do(chromedp.Click(chromedp.CSS(`input[name="events"][value="thread.created"]`)))
	b.Submit(`form[action="/admin/webhooks/"] button`)
	if got := b.Text("main"); !strings.Contains(got, "whsec_") || !strings.Contains(got, "shown once") {
		t.Fatalf("the new endpoint's page: %q", got)
	}
	b.Screenshots("webhook-created")
	endpoint := b.Location()
	b.Submit(`form[action$="/ping"] button`)

	b.Open(r.URL + "/forums/new")
	b.Do(chromedp.WaitVisible(chromedp.CSS("#category")), chromedp.SetValue(chromedp.CSS("#category"), "help"))
	b.Fill("#title", "Does the grinder fit the travel bag?")
	b.Fill("#body", "I would like to take it on the train.")
	b.Submit(`form[action="/forums/new"] button[type="submit"]:not([name])`)
	if !strings.Contains(b.Location(), "/t/") && !strings.Contains(b.Text("main"), "grinder fit") {
		t.Fatalf("the thread was not posted: %s %q", b.Location(), b.Text("main"))
	}

	// The sync and the deliveries run every two seconds.
	deadline := time.Now().Add(20 * time.Second)
	for received.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if received.Load() != 2 {
		t.Fatalf("received %d deliveries, want the test and the thread", received.Load())
	}
	b.Open(endpoint + "?lang=id")
	if got := b.Text("#log ~ ul"); strings.Count(got, "Terkirim") != 2 || !strings.Contains(got, "thread.created") || !strings.Contains(got, "ping") {
		t.Fatalf("the log: %q", got)
	}
	b.Screenshots("webhook-log-id")
}
