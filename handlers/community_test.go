package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/store/storetest"
)

// apiAs calls the JSON API as who: staff with a personal token, customers from their
// signed-in browser session (with the CSRF header, as a page's script would).
func (e *env) apiAs(base string, who *customers.Customer) func(method, path, body string) response {
	e.t.Helper()
	header, value := "", ""
	b := newBrowser(e.t, base)
	if who.IsStaff() {
		secret, _, err := e.identity.CreateToken(context.Background(), who, identity.NewToken{Name: "test", Scopes: []string{"read", "write"}})
		if err != nil {
			e.t.Fatal(err)
		}
		header, value = "Authorization", "Bearer "+secret
	} else {
		b.signIn(who.Email)
		header, value = "X-CSRF-Token", b.csrf()
	}
	return func(method, path, body string) response {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set(header, value)
		req.Header.Set("Content-Type", "application/json")
		return b.do(req)
	}
}

func mustCustomer(t *testing.T, e *env, email string) *customers.Customer {
	t.Helper()
	c, err := e.customers.FindByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) category(name string, staffOnly bool) *community.Category {
	e.t.Helper()
	admin := e.person(strings.ToLower(strings.Fields(name)[0])+"-admin@example.com", customers.RoleAdmin)
	c, err := e.community.SaveCategory(context.Background(), admin, bson.ObjectID{}, community.CategoryInput{Name: name, StaffOnly: staffOnly})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func TestAPI_ThreadsPostsLikesAccept(t *testing.T) {
	e := newEnv(t)
	help := e.category("Help", false)
	e.category("Announcements", true)
	ayu, budi := e.person("ayu@example.com"), e.person("budi@example.com")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	asAyu, asBudi := e.apiAs(base, ayu), e.apiAs(base, budi)

	// Bad input: a message per field, never a 500.
	res := asAyu("POST", "/api/v1/threads", `{"category":"nope","title":"Hi","body":""}`)
	var bad struct {
		Error struct {
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(res.body), &bad); res.StatusCode != 422 || err != nil || len(bad.Error.Fields) != 3 {
		t.Fatalf("invalid thread: %d %s", res.StatusCode, res.body)
	}
	if res := asAyu("POST", "/api/v1/threads", `{"category":"announcements","title":"Big news today","body":"x"}`); res.StatusCode != 403 {
		t.Fatalf("customer in announcements: %d %s", res.StatusCode, res.body)
	}
	res = asAyu("POST", "/api/v1/threads", `{"category":"help","title":"Router keeps rebooting","body":"Every hour.","tags":["wifi","Router"]}`)
	var thread community.Thread
	if err := json.Unmarshal([]byte(res.body), &thread); res.StatusCode != 201 || err != nil || strings.Join(thread.Tags, ",") != "wifi,router" {
		t.Fatalf("create thread: %d %s", res.StatusCode, res.body)
	}
	tid := thread.ID.Hex()
	storetest.Commands(e.db)
	res = asBudi("POST", "/api/v1/threads/"+tid+"/posts", `{"body":"Update the firmware."}`)
	var post community.Post
	if err := json.Unmarshal([]byte(res.body), &post); res.StatusCode != 201 || err != nil {
		t.Fatalf("reply: %d %s", res.StatusCode, res.body)
	}
	// The request reads the thread to check that Budi may see it, and the reply uses that.
	threadReads := 0
	for _, c := range storetest.Commands(e.db) {
		if c.Name == "find" && c.Collection == "threads" {
			threadReads++
		}
	}
	if threadReads != 1 {
		t.Errorf("a reply read its thread %d times, want once", threadReads)
	}
	if res := asBudi("POST", "/api/v1/threads/"+tid+"/posts", `{"body":"","quote_of":"zzz"}`); res.StatusCode != 422 {
		t.Fatalf("empty reply: %d %s", res.StatusCode, res.body)
	}
	// Likes: explicit values are idempotent; your own post cannot be liked.
	for _, want := range []string{`"likes":1`, `"likes":1`} {
		if res := asAyu("POST", "/api/v1/posts/"+post.ID.Hex()+"/like", `{"like":true}`); res.StatusCode != 200 || !strings.Contains(res.body, want) {
			t.Fatalf("like: %d %s", res.StatusCode, res.body)
		}
	}
	if res := asBudi("POST", "/api/v1/posts/"+post.ID.Hex()+"/like", ``); res.StatusCode != 403 {
		t.Fatalf("own like: %d %s", res.StatusCode, res.body)
	}
	if res := asBudi("POST", "/api/v1/threads/"+tid+"/accept", `{"post_id":"`+post.ID.Hex()+`"}`); res.StatusCode != 403 {
		t.Fatalf("accept by a non-author: %d %s", res.StatusCode, res.body)
	}
	if res := asAyu("POST", "/api/v1/threads/"+tid+"/accept", `{"post_id":"`+post.ID.Hex()+`"}`); res.StatusCode != 200 || !strings.Contains(res.body, `"solved":true`) {
		t.Fatalf("accept: %d %s", res.StatusCode, res.body)
	}
	res = asBudi("GET", "/api/v1/threads/"+tid, ``)
	if res.StatusCode != 200 || !strings.Contains(res.body, `"opening"`) || !strings.Contains(res.body, "Update the firmware.") {
		t.Fatalf("get thread: %d %s", res.StatusCode, res.body)
	}
	if res := asBudi("GET", "/api/v1/threads?sort=solved&category="+help.Slug, ``); !strings.Contains(res.body, "Router keeps rebooting") {
		t.Fatalf("solved list: %s", res.body)
	}
	if res := asBudi("GET", "/api/v1/threads?after=garbage", ``); res.StatusCode != 422 {
		t.Fatalf("bad cursor: %d %s", res.StatusCode, res.body)
	}
	// Notifications over the API: Budi was told of the acceptance, Ayu of the reply.
	if res := asBudi("GET", "/api/v1/notifications", ``); !strings.Contains(res.body, `"kind":"accepted"`) {
		t.Fatalf("budi's notifications: %s", res.body)
	}
	// Signed out, writing is refused as such: 401 with JSON, not a form that has expired.
	req, _ := http.NewRequest("POST", base+"/api/v1/threads", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	if res := newBrowser(t, base).do(req); res.StatusCode != 401 || !strings.Contains(res.body, `"error"`) || strings.Contains(res.body, "expired") {
		t.Fatalf("anonymous: %d %s", res.StatusCode, res.body)
	}
}

func TestAPI_IdeasVoteStatusMerge(t *testing.T) {
	e := newEnv(t)
	ayu, budi := e.person("ayu@example.com"), e.person("budi@example.com")
	pm := e.person("pm@example.com", customers.RoleProduct)
	e.product("Kopi Gayo")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	asAyu, asBudi, asPM := e.apiAs(base, ayu), e.apiAs(base, budi), e.apiAs(base, pm)

	if res := asAyu("POST", "/api/v1/ideas", `{"title":"Refill pouches","body":"Less plastic.","product":"nope"}`); res.StatusCode != 422 {
		t.Fatalf("unknown product: %d %s", res.StatusCode, res.body)
	}
	create := func(call func(string, string, string) response, title string) community.Idea {
		res := call("POST", "/api/v1/ideas", `{"title":"`+title+`","body":"Please.","product":"kopi-gayo"}`)
		var i community.Idea
		if err := json.Unmarshal([]byte(res.body), &i); res.StatusCode != 201 || err != nil {
			t.Fatalf("create idea: %d %s", res.StatusCode, res.body)
		}
		return i
	}
	target, dup := create(asAyu, "Refill pouches for coffee"), create(asBudi, "Coffee refill packs")
	for range 2 {
		if res := asBudi("POST", "/api/v1/ideas/"+target.ID.Hex()+"/vote", `{"vote":true}`); !strings.Contains(res.body, `"vote_count":2`) {
			t.Fatalf("vote: %d %s", res.StatusCode, res.body)
		}
	}
	if res := asBudi("PATCH", "/api/v1/ideas/"+target.ID.Hex(), `{"status":"planned"}`); res.StatusCode != 403 {
		t.Fatalf("status by a customer: %d %s", res.StatusCode, res.body)
	}
	if res := asPM("PATCH", "/api/v1/ideas/"+target.ID.Hex(), `{"status":"someday"}`); res.StatusCode != 422 || !strings.Contains(res.body, `"status"`) {
		t.Fatalf("bad status: %d %s", res.StatusCode, res.body)
	}
	if res := asPM("PATCH", "/api/v1/ideas/"+target.ID.Hex(), `{"status":"planned","response":"Q3"}`); res.StatusCode != 200 || !strings.Contains(res.body, `"status":"planned"`) {
		t.Fatalf("status: %d %s", res.StatusCode, res.body)
	}
	if res := asBudi("POST", "/api/v1/ideas/"+dup.ID.Hex()+"/merge", `{"target":"`+target.ID.Hex()+`"}`); res.StatusCode != 403 {
		t.Fatalf("merge by a customer: %d %s", res.StatusCode, res.body)
	}
	// Budi voted for both (his own idea, and the target): merged, he counts once.
	if res := asPM("POST", "/api/v1/ideas/"+dup.ID.Hex()+"/merge", `{"target":"`+target.ID.Hex()+`"}`); res.StatusCode != 200 || !strings.Contains(res.body, `"vote_count":2`) {
		t.Fatalf("merge: %d %s", res.StatusCode, res.body)
	}
	if res := asPM("GET", "/api/v1/ideas?status=planned&product=kopi-gayo", ``); !strings.Contains(res.body, "Refill pouches for coffee") || strings.Contains(res.body, "Coffee refill packs") {
		t.Fatalf("list: %s", res.body)
	}
	if res := asBudi("GET", "/api/v1/notifications", ``); !strings.Contains(res.body, `"state":"planned"`) {
		t.Fatalf("voter not told: %s", res.body)
	}
}

func TestPages_ForumAndIdeaFormsWorkWithoutJavaScript(t *testing.T) {
	e := newEnv(t)
	e.category("Tanya Jawab", false)
	e.person("ayu@example.com")
	b := newBrowser(t, listen(t, e.app(handlers.Config{}, handlers.Deps{})))
	b.signIn("ayu@example.com")

	// A thread with nothing filled in comes back with a message per field, in Indonesian.
	res := b.post("/forums/new?lang=id", url.Values{"category": {"tanya-jawab"}, "title": {"Hi"}})
	if res.StatusCode != 422 || !strings.Contains(res.body, "Gunakan minimal 5 karakter.") || !strings.Contains(res.body, "Kolom ini wajib diisi.") {
		t.Fatalf("invalid thread: %d", res.StatusCode)
	}
	res = b.post("/forums/new", url.Values{"category": {"tanya-jawab"}, "title": {"Cara seduh kopi tubruk"}, "body": {"Bagaimana?"}, "tags": {"kopi, resep"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create thread: %d %s", res.StatusCode, res.body)
	}
	thread := res.Header.Get("Location")
	page := b.get(thread)
	if page.StatusCode != 200 || !strings.Contains(page.body, "#kopi") || !strings.Contains(page.body, "Cara seduh kopi tubruk") {
		t.Fatalf("thread page: %d", page.StatusCode)
	}
	// An empty reply shows the thread again with the message, not an error page.
	if res := b.post(thread[:strings.LastIndex(thread, "/")]+"/"+thread[len(thread)-24:]+"/posts", url.Values{"body": {" "}}); res.StatusCode != 422 || !strings.Contains(res.body, "Kolom ini wajib diisi.") {
		t.Fatalf("empty reply: %d", res.StatusCode)
	}
	// Before asking, similar threads are suggested: on the form (no JavaScript) and as you type.
	if _, err := e.syncer.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if res := b.get("/forums/new?title=" + url.QueryEscape("seduh kopi")); !strings.Contains(res.body, `class="card similar"`) || !strings.Contains(res.body, "Cara seduh kopi tubruk") {
		t.Fatalf("no similar threads on the form: %d", res.StatusCode)
	}
	if res := b.get("/search/suggest?kind=idea&q=seduh"); !strings.Contains(res.body, `"suggestions":[]`) {
		t.Fatalf("ideas-only suggestions show a thread: %s", res.body)
	}
	if res := b.get("/search/suggest?kind=thread&q=seduh"); !strings.Contains(res.body, "Cara seduh kopi tubruk") {
		t.Fatalf("thread suggestions: %s", res.body)
	}
	// "Check for similar" without JavaScript shows them and keeps what was typed, however long.
	long := strings.Repeat("panjang ", 900)
	res = b.post("/ideas/new", url.Values{"title": {"Seduh kopi"}, "body": {long}, "check": {"1"}})
	if res.StatusCode != 200 || !strings.Contains(res.body, `value="Seduh kopi"`) || !strings.Contains(res.body, long) {
		t.Fatalf("check similar ideas: %d", res.StatusCode)
	}
	res = b.post("/forums/new", url.Values{"category": {"tanya-jawab"}, "title": {"seduh kopi"}, "body": {"my draft"}, "check": {"1"}})
	if res.StatusCode != 200 || !strings.Contains(res.body, "my draft") || !strings.Contains(res.body, `class="card similar"`) {
		t.Fatalf("check similar threads: %d", res.StatusCode)
	}
	// An edit keeps the earlier text, for everyone to see.
	op, err := e.community.OpeningPost(context.Background(), mustObjectID(t, thread[len(thread)-24:]))
	if err != nil {
		t.Fatal(err)
	}
	if res := b.post("/posts/"+op.ID.Hex()+"/edit", url.Values{"title": {"Cara seduh kopi tubruk"}, "tags": {"kopi"}, "body": {"Bagaimana caranya, dengan takaran?"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", res.StatusCode)
	}
	if res := newBrowser(t, b.base).get("/posts/" + op.ID.Hex() + "/history?lang=en"); res.StatusCode != 200 || !strings.Contains(res.body, "Bagaimana?") || !strings.Contains(res.body, "dengan takaran") || !strings.Contains(res.body, "Version 1") {
		t.Fatalf("history: %d", res.StatusCode)
	}
	// A moderator who takes out personal data takes it out of the public history too.
	e.person("mod@example.com", customers.RoleModerator)
	mod := newBrowser(t, b.base)
	mod.signIn("mod@example.com")
	if res := mod.post("/posts/"+op.ID.Hex()+"/edit", url.Values{"title": {"Cara seduh kopi tubruk"}, "body": {"[dihapus moderator]"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("moderator edit: %d", res.StatusCode)
	}
	if res := newBrowser(t, b.base).get("/posts/" + op.ID.Hex() + "/history"); strings.Contains(res.body, "dengan takaran") || !strings.Contains(res.body, "Bagaimana?") {
		t.Fatalf("public history after a redaction shows the redacted text")
	}
	if res := mod.get("/posts/" + op.ID.Hex() + "/history"); !strings.Contains(res.body, "dengan takaran") {
		t.Fatalf("moderators no longer see the redacted text")
	}
	// Quoting a comment on an idea pre-fills the comment form, without JavaScript.
	idea, err := e.community.CreateIdea(context.Background(), mustCustomer(t, e, "ayu@example.com"), community.IdeaInput{Title: "Kopi tanpa gula", Body: "Pilihan tanpa gula."})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.community.Reply(context.Background(), e.person("budi@example.com"), content.Ref{Kind: content.KindIdea, ID: idea.ID}, community.PostInput{Body: "Setuju sekali"})
	if err != nil {
		t.Fatal(err)
	}
	if res := b.get(idea.URL() + "?quote=" + c.ID.Hex()); !strings.Contains(res.body, "&gt; Setuju sekali") || !strings.Contains(res.body, `name="quote_of" value="`+c.ID.Hex()+`"`) {
		t.Fatalf("quoting an idea comment: %d", res.StatusCode)
	}
	if res := b.get("/ideas/nope-123"); res.StatusCode != 404 {
		t.Fatalf("unknown idea: %d", res.StatusCode)
	}
	for _, path := range []string{"/forums", "/forums/tanya-jawab?sort=unanswered", "/ideas?sort=trending", "/roadmap", "/notifications", "/?lang=id"} {
		if res := b.get(path); res.StatusCode != 200 {
			t.Errorf("%s: %d", path, res.StatusCode)
		}
	}
}

func TestCustomerRecord_ShowsForumAndIdeaActivity(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.category("Help", false)
	ayu, budi := e.person("ayu@example.com"), e.person("budi@example.com")
	e.person("mod@example.com", customers.RoleModerator)
	th, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: "help", Title: "Lampu indikator berkedip", Body: "Kenapa?"})
	if err != nil {
		t.Fatal(err)
	}
	idea, err := e.community.CreateIdea(ctx, budi, community.IdeaInput{Title: "Mode hemat energi", Body: "Tolong."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.community.Vote(ctx, ayu, idea.ID, true); err != nil {
		t.Fatal(err)
	}
	rev := e.review(budi, e.product("Lampu Meja"), 4, "Terang dan hemat")
	if _, err := e.reviews.Vote(ctx, ayu, rev.ID, true); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, listen(t, e.app(handlers.Config{}, handlers.Deps{})))
	b.signIn("mod@example.com")
	res := b.get("/staff/customers/" + ayu.ID.Hex() + "?lang=en")
	for _, want := range []string{"Lampu indikator berkedip", `href="` + th.URL() + `#post-`, "Mode hemat energi", ">vote<", ">thread<",
		">helpful vote<", `href="/products/lampu-meja#review-` + rev.ID.Hex() + `"`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("the record lacks %q", want)
		}
	}
	// The public member page shows what she wrote, not how she voted.
	public := newBrowser(t, b.base).get("/members/" + ayu.ID.Hex() + "?lang=en")
	if !strings.Contains(public.body, "Lampu indikator berkedip") || strings.Contains(public.body, "Mode hemat energi") {
		t.Fatalf("member page: %d", public.StatusCode)
	}
}

// BenchmarkThreadPage is a thread with 100 replies (a page of 20 shown, with authors, likes
// and quotes), and the forum's front page of 100 threads, on the embedded FerretDB.
func BenchmarkThreadPage(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	e.category("Help", false)
	var people []*customers.Customer
	for i := range 5 {
		c, err := e.customers.Create(ctx, customers.NewCustomer{Email: fmt.Sprintf("p%d@example.com", i), DisplayName: fmt.Sprint("P", i)})
		if err != nil {
			b.Fatal(err)
		}
		people = append(people, c)
	}
	var th *community.Thread
	for i := range 100 {
		t, err := e.community.CreateThread(ctx, people[i%5], community.ThreadInput{Category: "help", Title: fmt.Sprintf("Question number %d", i), Body: "Details."})
		if err != nil {
			b.Fatal(err)
		}
		th = t
	}
	var last *community.Post
	for i := range 100 {
		in := community.PostInput{Body: fmt.Sprintf("Reply **%d**", i)}
		if last != nil && i%10 == 0 {
			in.QuoteOf = last.ID.Hex()
		}
		p, err := e.community.Reply(ctx, people[i%5], content.Ref{Kind: content.KindThread, ID: th.ID}, in)
		if err != nil {
			b.Fatal(err)
		}
		last = p
	}
	app := e.app(handlers.Config{}, handlers.Deps{})
	for _, path := range []string{th.URL(), "/forums"} {
		b.Run(map[bool]string{true: "thread", false: "forums"}[path != "/forums"], func(b *testing.B) {
			for b.Loop() {
				res, err := app.Test(httptest.NewRequest(http.MethodGet, path, nil), -1)
				if err != nil || res.StatusCode != 200 {
					b.Fatal(res.StatusCode, err)
				}
			}
		})
	}
}

func TestStaffActionsOnThreadsAndIdeasAreAudited(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.category("Help", false)
	ayu := e.person("ayu@example.com")
	e.person("mod@example.com", customers.RoleModerator)
	pm := e.person("pm@example.com", customers.RoleProduct)
	th, err := e.community.CreateThread(ctx, ayu, community.ThreadInput{Category: "help", Title: "Spam di mana-mana", Body: "Tolong."})
	if err != nil {
		t.Fatal(err)
	}
	idea, err := e.community.CreateIdea(ctx, ayu, community.IdeaInput{Title: "Filter spam otomatis", Body: "Ya."})
	if err != nil {
		t.Fatal(err)
	}
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	mod := newBrowser(t, base)
	mod.signIn("mod@example.com")
	if res := mod.post("/threads/"+th.ID.Hex()+"/lock", url.Values{"locked": {"1"}, "reason": {"Sudah dijawab di FAQ"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("lock: %d", res.StatusCode)
	}
	if res := mod.post("/threads/"+th.ID.Hex()+"/lock", url.Values{"locked": {"1"}}); res.StatusCode != 422 {
		t.Fatalf("lock without a reason: %d", res.StatusCode)
	}
	asPM := e.apiAs(base, pm)
	if res := asPM("PATCH", "/api/v1/ideas/"+idea.ID.Hex(), `{"status":"planned"}`); res.StatusCode != 200 {
		t.Fatalf("status: %d %s", res.StatusCode, res.body)
	}
	admin := newBrowser(t, base)
	e.person("admin@example.com", customers.RoleAdmin)
	admin.signIn("admin@example.com")
	for action, want := range map[string]string{"lock": "Sudah dijawab di FAQ", "idea_status": "planned"} {
		res := admin.get("/moderation/log?lang=en&action=" + action)
		if res.StatusCode != 200 || !strings.Contains(res.body, want) {
			t.Errorf("audit log for %s lacks %q: %d", action, want, res.StatusCode)
		}
	}
}
