package mail_test

import (
	"context"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/frontend"
	"github.com/guyub/guyub/internal/smtptest"
	"github.com/guyub/guyub/mail"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func newOutbox(t testing.TB, server *smtptest.Server) (*mail.Outbox, func() *mail.Outbox) {
	t.Helper()
	db := storetest.DB(t)
	if err := store.EnsureIndexes(context.Background(), db, mail.Indexes); err != nil {
		t.Fatal(err)
	}
	catalog, err := frontend.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	var sender mail.Sender
	if server != nil {
		host, port, _ := net.SplitHostPort(server.Addr)
		n, _ := strconv.Atoi(port)
		from, _ := mail.ParseFrom("Guyub <community@guyub.example>")
		sender = mail.NewSMTP(mail.SMTPSettings{Host: host, Port: n, TLS: "none"}, from)
	}
	open := func() *mail.Outbox {
		o := mail.NewOutbox(db, sender, mail.Writer{T: catalog.T, BaseURL: "https://portal.example", Site: "Guyub"}, slog.New(slog.DiscardHandler))
		o.Backoff = time.Millisecond
		return o
	}
	return open(), open
}

// passUntil runs the worker until nothing is due (a retry waits its back-off).
func passUntil(t *testing.T, o *mail.Outbox, done func() bool) {
	t.Helper()
	for range 50 {
		if err := o.Pass(context.Background()); err != nil {
			t.Fatal(err)
		}
		if done() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the outbox never finished")
}

// A message queued twice for one event is sent once, in the recipient's language, as HTML
// with a plain-text part and links from the base URL; a server that refuses it twice for
// now gets it on the third try, once.
func TestOutbox_SendsOnceOverSMTPAndRetries(t *testing.T) {
	ctx := context.Background()
	server := smtptest.Start(t)
	o, _ := newOutbox(t, server)
	for range 2 { // a retried request
		if err := o.Account(ctx, "sari@example.com", "id", "reset", "reset:1", "/reset/abc", true); err != nil {
			t.Fatal(err)
		}
	}
	server.FailNext(2)
	passUntil(t, o, func() bool { return len(server.Received("sari@example.com")) > 0 })
	got := server.Received("")
	if len(got) != 1 {
		t.Fatalf("%d messages arrived, want 1", len(got))
	}
	m := got[0]
	if m.Header.Get("Subject") == "" || !strings.Contains(decode(t, m.Header.Get("Subject")), "kata sandi") {
		t.Errorf("subject %q is not in Indonesian", m.Header.Get("Subject"))
	}
	if m.Header.Get("Content-Language") != "id" || !strings.Contains(m.Header.Get("From"), "community@guyub.example") ||
		!strings.HasSuffix(m.Header.Get("Message-Id"), "@guyub.example>") {
		t.Errorf("headers: %v", m.Header)
	}
	if !strings.Contains(m.Text, "https://portal.example/reset/abc") || !strings.Contains(m.HTML, `href="https://portal.example/reset/abc"`) {
		t.Errorf("the link is not in both parts:\n%s\n%s", m.Text, m.HTML)
	}
	list, _, err := o.List(ctx, bson.ObjectID{}, 10)
	if err != nil || len(list) != 1 || list[0].Status != mail.StatusSent || list[0].Attempts != 3 {
		t.Fatalf("outbox: %+v %v (want one message, sent on its third attempt)", list, err)
	}
	// Sent, the reset link is gone from the outbox: reading it must not let anyone in.
	if kept, _ := o.Get(ctx, list[0].ID); strings.Contains(kept.Text+kept.HTML, "/reset/") {
		t.Fatalf("the sent reset link is still readable in the outbox: %+v", kept)
	}
}

// What one process queued, another sends: a restart between queueing and sending loses
// nothing. A recipient the server refuses for good fails once, without retries.
func TestOutbox_ARestartLosesNothingAndRefusalsFailForGood(t *testing.T) {
	ctx := context.Background()
	server := smtptest.Start(t)
	before, reopen := newOutbox(t, server)
	server.Refuse("gone@example.com")
	for _, to := range []string{"a@example.com", "gone@example.com"} {
		if err := before.Account(ctx, to, "en", "verify", "verify:"+to, "/verify/x", true); err != nil {
			t.Fatal(err)
		}
	}
	after := reopen() // the process that queued them died before sending
	passUntil(t, after, func() bool {
		list, _, _ := after.List(ctx, bson.ObjectID{}, 10)
		for _, m := range list {
			if m.Status == mail.StatusQueued {
				return false
			}
		}
		return true
	})
	list, _, _ := after.List(ctx, bson.ObjectID{}, 10)
	status := map[string]*mail.Message{}
	for _, m := range list {
		status[m.To] = m
	}
	if len(server.Received("a@example.com")) != 1 || status["a@example.com"].Status != mail.StatusSent {
		t.Errorf("the queued message was not sent after the restart: %+v", status["a@example.com"])
	}
	if g := status["gone@example.com"]; g.Status != mail.StatusFailed || g.Attempts != 1 || !strings.Contains(g.LastError, "550") {
		t.Errorf("a refused recipient: %+v (want failed after one attempt, with the reason)", g)
	}
}

// With no SMTP server (the embedded default) a message is kept for admins to read.
func TestOutbox_WithoutSMTPKeepsMessages(t *testing.T) {
	ctx := context.Background()
	o, _ := newOutbox(t, nil)
	if err := o.Account(ctx, "b@example.com", "en", "exists", "exists:1", "/forgot", false); err != nil {
		t.Fatal(err)
	}
	if err := o.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	list, _, err := o.List(ctx, bson.ObjectID{}, 10)
	if err != nil || len(list) != 1 || list[0].Status != mail.StatusKept {
		t.Fatalf("outbox: %+v %v", list, err)
	}
	m, err := o.Get(ctx, list[0].ID)
	if err != nil || !strings.Contains(m.HTML, `href="https://portal.example/forgot"`) || !strings.Contains(m.Subject, "already have") {
		t.Fatalf("kept message: %+v %v", m, err)
	}
}

// A batch of notices is queued in one write and sent in one pass, each once: outcomes are
// recorded a batch at a time, and a notice queued again (a retried job) is not sent twice.
func TestOutbox_SendsABatchOfNoticesOnce(t *testing.T) {
	ctx := context.Background()
	server := smtptest.Start(t)
	o, _ := newOutbox(t, server)
	var notices []mail.Notice
	for i := range 45 {
		notices = append(notices, mail.Notice{To: fmt.Sprintf("m%d@example.com", i), Lang: "en", Key: fmt.Sprintf("notify:%d", i),
			Path: "/notifications/1", Unsubscribe: "/unsubscribe/x", What: "notifications.reply", Args: []any{"Name", "Sari", "Title", "Printers"}})
	}
	if err := o.Notices(ctx, notices[:30]...); err != nil {
		t.Fatal(err)
	}
	if err := o.Notices(ctx, notices...); err != nil { // the first 30 again
		t.Fatal(err)
	}
	if err := o.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := server.Received(""); len(got) != 45 {
		t.Fatalf("%d messages arrived, want 45", len(got))
	}
	list, _, err := o.List(ctx, bson.ObjectID{}, 100)
	if err != nil || len(list) != 45 {
		t.Fatalf("%d messages in the outbox (%v), want 45", len(list), err)
	}
	for _, m := range list {
		if m.Status != mail.StatusSent || m.Attempts != 1 || m.Headers["List-Unsubscribe"] != "<https://portal.example/unsubscribe/x>" {
			t.Fatalf("message %+v: want sent on its first attempt, with its unsubscribe header", m)
		}
	}
}

// Two senders that read the same due messages (one's lease expired under a long batch) send
// each once: the second takes only those the first has not claimed.
func TestOutbox_TwoSendersClaimEachMessageOnce(t *testing.T) {
	ctx := context.Background()
	o, reopen := newOutbox(t, nil)
	for i := range 3 {
		if err := o.Account(ctx, fmt.Sprintf("c%d@example.com", i), "en", "exists", "exists:1", "/forgot", false); err != nil {
			t.Fatal(err)
		}
	}
	due, _, err := o.List(ctx, bson.ObjectID{}, 10)
	if err != nil || len(due) != 3 {
		t.Fatalf("%d due: %v", len(due), err)
	}
	other := reopen()
	if took, err := other.Claim(ctx, due[1:2]); err != nil || len(took) != 1 {
		t.Fatalf("the other sender took %d: %v", len(took), err)
	}
	took, err := o.Claim(ctx, due)
	if err != nil || len(took) != 2 || took[0].ID != due[0].ID || took[1].ID != due[2].ID {
		t.Fatalf("took %d of 3 (%v), want the two the other did not", len(took), err)
	}
}

func decode(t *testing.T, header string) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(header)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
