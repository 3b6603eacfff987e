package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/exports"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/store/storetest"
)

// clock is a settable time for a test's services.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// archiveOf reads a downloaded archive.
func archiveOf(t *testing.T, res response) (member string, collections map[string][]json.RawMessage) {
	t.Helper()
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") ||
		res.Header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("download: %d %q %q\n%.300s", res.StatusCode, res.Header.Get("Content-Disposition"), res.Header.Get("Cache-Control"), res.body)
	}
	var a struct {
		MemberID    string                       `json:"member_id"`
		Collections map[string][]json.RawMessage `json:"collections"`
	}
	if err := json.Unmarshal([]byte(res.body), &a); err != nil {
		t.Fatalf("not JSON: %v\n%.300s", err, res.body)
	}
	return a.MemberID, a.Collections
}

// A member with more data than is written in the request asks for it: it is prepared once in
// the background, the member is told in the portal and by email, it downloads (to them or an
// admin, nobody else) exactly as the direct download would, until it expires; erasing the
// account takes it away. Neither the build nor the download reads a whole collection.
func TestProfileExport_LargeDataPreparedInTheBackground(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ayu, err := e.identity.CreateAccount(ctx, identity.SignUp{Email: "ayu@example.com", DisplayName: "Ayu", Password: "correct horse battery"}, true)
	if err != nil {
		t.Fatal(err)
	}
	e.person("budi@example.com")
	e.person("admin@example.com", customers.RoleAdmin)
	help := e.category("Help", false)
	e.review(ayu, e.product("Kopi Gayo"), 5, "Ayu's review of the coffee.")
	th, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: help.Slug, Title: "Ayu asks", Body: "Ayu's question."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.community.Reply(ctx, ayu, content.Ref{Kind: content.KindThread, ID: th.ID}, community.PostInput{Body: "Ayu adds <b>more</b> & more."}); err != nil {
		t.Fatal(err)
	}

	// A handful of documents is "large" here; the other app answers at once, as before.
	clk := &clock{now: time.Now().UTC()}
	x := e.newExports(exports.Config{DirectLimit: 5, Now: clk.Now})
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{Exports: x}))
	directBase := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn(ayu.Email)

	if res := b.get("/profile/export"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a GET of large data: %d, want a redirect to the profile", res.StatusCode)
	}
	if status, _ := x.Status(ctx, ayu.ID); status != nil {
		t.Fatalf("a GET asked for a build: %+v", status)
	}
	res := b.post("/profile/export", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/profile#your-data" {
		t.Fatalf("asking: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	page := b.get("/profile").body
	for _, want := range []string{"We are preparing the file with your data", "Your file is being prepared"} {
		if !strings.Contains(page, want) {
			t.Errorf("the profile does not say %q", want)
		}
	}
	if !strings.Contains(b.get("/profile?lang=id").body, "Berkas Anda sedang disiapkan") {
		t.Error("the profile in Indonesian does not say the file is being prepared")
	}
	asked, err := x.Status(ctx, ayu.ID)
	if err != nil || asked == nil || asked.Status != exports.StatusPending {
		t.Fatalf("the request: %+v, %v", asked, err)
	}
	clk.add(time.Minute)
	b.post("/profile/export", nil) // again, while it is prepared
	if again, _ := x.Status(ctx, ayu.ID); *again != *asked {
		t.Errorf("asking again changed the request: %+v, was %+v", again, asked)
	}

	// What the direct download gives now, to compare.
	d := newBrowser(t, directBase)
	d.signIn(ayu.Email)
	directMember, direct := archiveOf(t, d.get("/profile/export"))

	if err := x.Build(ctx); err != nil {
		t.Fatal(err)
	}
	ready, err := x.Status(ctx, ayu.ID)
	if err != nil || ready == nil || ready.Status != exports.StatusReady || ready.Attempt != 1 {
		t.Fatalf("after the build: %+v, %v", ready, err)
	}
	told, _, err := e.community.Notifications(ctx, ayu.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(told) == 0 || told[0].Kind != community.NotifyExportReady || told[0].URL != exports.Page {
		t.Errorf("notifications: %+v", told)
	}
	mails := e.emailsTo(ayu.Email)
	if len(mails) == 0 || !strings.Contains(mails[0].Subject, "siap diunduh") || !strings.Contains(mails[0].Text, "http://portal.example/profile#your-data") {
		t.Errorf("the email: %d, %+v", len(mails), mails[0])
	}
	if err := x.Build(ctx); err != nil { // nothing left to do: told once
		t.Fatal(err)
	}
	if n, _, _ := e.community.Notifications(ctx, ayu.ID, "", 10); len(n) != len(told) || len(e.emailsTo(ayu.Email)) != len(mails) {
		t.Error("the member was told twice")
	}

	link := "/exports/" + ayu.ID.Hex() + "/1"
	page = b.get("/profile?lang=en").body
	if !strings.Contains(page, `href="`+link+`"`) || !strings.Contains(page, "Available until") {
		t.Errorf("the profile has no link to the file:\n%s", page)
	}
	member, prepared := archiveOf(t, b.get(link))
	if b.last.Header.Get("ETag") != "" { // an ETag would read the whole stream into memory first
		t.Error("the prepared archive was hashed for an ETag, not streamed")
	}
	if member != directMember || member != ayu.ID.Hex() {
		t.Errorf("member %s, direct %s", member, directMember)
	}
	if len(prepared) != len(direct) {
		t.Errorf("collections: prepared %d, direct %d", len(prepared), len(direct))
	}
	for name, docs := range direct {
		if got, _ := json.Marshal(prepared[name]); string(got) != string(must(json.Marshal(docs))) {
			t.Errorf("%s differs:\nprepared %s\ndirect   %s", name, got, must(json.Marshal(docs)))
		}
	}
	for _, c := range []string{"customers", "reviews", "threads", "posts"} {
		if len(prepared[c]) == 0 {
			t.Errorf("the archive has nothing from %s", c)
		}
	}
	if strings.Contains(b.last.body, "password_hash") {
		t.Error("the archive holds the password hash")
	}

	admin := newBrowser(t, base)
	admin.signIn("admin@example.com")
	if m, _ := archiveOf(t, admin.get(link)); m != ayu.ID.Hex() {
		t.Errorf("the admin downloaded %s", m)
	}
	other := newBrowser(t, base)
	other.signIn("budi@example.com")
	if res := other.get(link); res.StatusCode != http.StatusNotFound {
		t.Errorf("another member: %d", res.StatusCode)
	}
	// On the member's request, an admin's button downloads the prepared file, and the audit
	// log keeps the fact; a member may not press it.
	onRequest := "/admin/accounts/" + ayu.ID.Hex() + "/export"
	if res := admin.post(onRequest, nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != link {
		t.Errorf("the admin's download on request: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := other.post(onRequest, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a member pressed the admin's button: %d", res.StatusCode)
	}
	logged, err := e.moderation.Log(ctx, moderation.LogQuery{Author: ayu.ID, Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if n := countAction(logged, moderation.ActionDataExport); n != 1 {
		t.Errorf("audit log: %d data exports, want 1", n)
	}
	if res := newBrowser(t, base).get(link); res.StatusCode == http.StatusOK {
		t.Error("a signed-out visitor downloaded the file")
	}
	if res := b.get("/exports/" + ayu.ID.Hex() + "/2"); res.StatusCode != http.StatusNotFound {
		t.Errorf("another attempt's link: %d", res.StatusCode)
	}

	// A week later it is gone.
	clk.add(exports.Kept)
	if res := b.get(link); res.StatusCode != http.StatusNotFound {
		t.Errorf("an expired file: %d", res.StatusCode)
	}
	if strings.Contains(b.get("/profile").body, link) {
		t.Error("the profile links to an expired file")
	}
	if err := x.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.exportDocuments(ayu.ID, 1, 1); n != 0 {
		t.Errorf("%d documents of the expired file are left", n)
	}

	// Asked again and built, then the account is erased: the file goes with it.
	b.post("/profile/export", nil)
	if err := x.Build(ctx); err != nil {
		t.Fatal(err)
	}
	rebuilt, _ := x.Status(ctx, ayu.ID)
	if rebuilt == nil || rebuilt.Status != exports.StatusReady {
		t.Fatalf("built again: %+v", rebuilt)
	}
	if n := e.exportDocuments(ayu.ID, rebuilt.Attempt, rebuilt.Chunks); n != 1+rebuilt.Chunks {
		t.Fatalf("%d documents of the new file, want %d", n, 1+rebuilt.Chunks)
	}
	if err := e.erasure.Erase(ctx, ayu, ayu, false); err != nil {
		t.Fatal(err)
	}
	if n := e.exportDocuments(ayu.ID, rebuilt.Attempt, rebuilt.Chunks); n != 0 {
		t.Errorf("%d documents of the file are left after the erasure", n)
	}

	for _, scan := range storetest.FullScans(e.db) {
		t.Errorf("a query read a whole collection: %s", scan)
	}
}

// exportDocuments counts the request and the chunks of member's attempt that are stored, by _id.
func (e *env) exportDocuments(member bson.ObjectID, attempt, chunks int) int {
	e.t.Helper()
	n := 0
	if err := e.db.Collection("exports").FindOne(context.Background(), bson.M{"_id": member}).Err(); err == nil {
		n++
	}
	for i := range chunks {
		id := member.Hex() + "/" + strconv.Itoa(attempt) + "/" + strconv.Itoa(i)
		if err := e.db.Collection("export_chunks").FindOne(context.Background(), bson.M{"_id": id}).Err(); err == nil {
			n++
		}
	}
	return n
}

// A member with little data gets the file in the request, from the profile's form too, and
// nothing is recorded.
func TestProfileExport_SmallDataAtOnce(t *testing.T) {
	e := newEnv(t)
	ayu := e.person("ayu@example.com")
	b := newBrowser(t, listen(t, e.app(handlers.Config{}, handlers.Deps{})))
	b.signIn(ayu.Email)
	if !strings.Contains(b.get("/profile").body, `action="/profile/export"`) {
		t.Error("the profile has no form to download the data")
	}
	if m, _ := archiveOf(t, b.post("/profile/export", nil)); m != ayu.ID.Hex() {
		t.Errorf("member %s", m)
	}
	if status, err := e.exports.Status(context.Background(), ayu.ID); status != nil || err != nil {
		t.Errorf("a small download recorded a request: %+v, %v", status, err)
	}
	admin := newBrowser(t, b.base)
	admin.signIn(e.person("admin@example.com", customers.RoleAdmin).Email)
	admin.get("/admin/accounts?lang=id")
	if !strings.Contains(admin.last.body, "Unduh data mereka") {
		t.Error("the accounts page has no button for a member's data")
	}
	if m, _ := archiveOf(t, admin.post("/admin/accounts/"+ayu.ID.Hex()+"/export", nil)); m != ayu.ID.Hex() {
		t.Errorf("the admin downloaded %s", m)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func countAction(log []*moderation.Entry, action moderation.Action) int {
	n := 0
	for _, e := range log {
		if e.Action == action {
			n++
		}
	}
	return n
}
