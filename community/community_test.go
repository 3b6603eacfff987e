package community_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/markdown"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

type world struct {
	t         *testing.T
	ctx       context.Context
	customers *customers.Service
	svc       *community.Service
	general   *community.Category
	news      *community.Category
}

// holdScreener holds for a moderator any text with the word HOLD, as a watched word would.
type holdScreener struct{}

func (holdScreener) Screen(_ context.Context, sub content.Submission) (content.Verdict, error) {
	if strings.Contains(sub.Text, "HOLD") {
		return content.Verdict{Status: content.StatusPending, Reasons: []content.Reason{{Rule: "watched_word", Detail: "HOLD"}}}, nil
	}
	return content.Verdict{Status: content.StatusPublished}, nil
}
func (holdScreener) Record(context.Context, content.Submission, content.Verdict) error { return nil }

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	db := storetest.DB(t)
	if err := store.EnsureIndexes(ctx, db, append(customers.Indexes, community.Indexes...)...); err != nil {
		t.Fatal(err)
	}
	cust := customers.NewService(db, []string{"en", "id"})
	w := &world{t: t, ctx: ctx, customers: cust, svc: community.New(db, cust, cust, nil, markdown.New())}
	w.svc.SetScreener(holdScreener{})
	admin := w.person("Root", customers.RoleAdmin)
	var err error
	if w.general, err = w.svc.SaveCategory(ctx, admin, bson.ObjectID{}, community.CategoryInput{Name: "Tanya Jawab"}); err != nil {
		t.Fatal(err)
	}
	if w.news, err = w.svc.SaveCategory(ctx, admin, bson.ObjectID{}, community.CategoryInput{Name: "Announcements", StaffOnly: true}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) person(name string, roles ...customers.Role) *customers.Customer {
	w.t.Helper()
	c, err := w.customers.Create(w.ctx, customers.NewCustomer{Email: strings.ToLower(name) + "@example.com", DisplayName: name, Roles: roles})
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *world) thread(author *customers.Customer, title string, tags ...string) *community.Thread {
	w.t.Helper()
	th, err := w.svc.CreateThread(w.ctx, author, community.ThreadInput{Category: w.general.Slug, Title: title, Body: "Body of " + title, Tags: tags})
	if err != nil {
		w.t.Fatal(err)
	}
	return th
}

func (w *world) reply(author *customers.Customer, th *community.Thread, body string, quote ...*community.Post) *community.Post {
	w.t.Helper()
	in := community.PostInput{Body: body}
	if len(quote) > 0 {
		in.QuoteOf = quote[0].ID.Hex()
	}
	p, err := w.svc.Reply(w.ctx, author, content.Ref{Kind: content.KindThread, ID: th.ID}, in)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *world) idea(author *customers.Customer, title string) *community.Idea {
	w.t.Helper()
	i, err := w.svc.CreateIdea(w.ctx, author, community.IdeaInput{Title: title, Body: "Please: " + title})
	if err != nil {
		w.t.Fatal(err)
	}
	return i
}

// everyThread pages through the latest list, limit at a time, and joins the titles.
func (w *world) everyThread(limit int) string {
	w.t.Helper()
	var titles []string
	for after := ""; ; {
		page, err := w.svc.Threads(w.ctx, community.ThreadQuery{Limit: limit, After: after})
		if err != nil {
			w.t.Fatal(err)
		}
		for _, t := range page.Threads {
			titles = append(titles, t.Title)
		}
		if after = page.Next; after == "" {
			return strings.Join(titles, " | ")
		}
	}
}

func (w *world) reload(th *community.Thread) *community.Thread {
	w.t.Helper()
	out, err := w.svc.Thread(w.ctx, th.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

func (w *world) ideaNow(i *community.Idea) *community.Idea {
	w.t.Helper()
	out, err := w.svc.Idea(w.ctx, i.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// inbox lists the kinds of a customer's notifications, oldest first, as "kind:title".
func (w *world) inbox(c *customers.Customer) []string {
	w.t.Helper()
	list, _, err := w.svc.Notifications(w.ctx, c.ID, "", 100)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for i := len(list) - 1; i >= 0; i-- {
		out = append(out, list[i].Kind+":"+list[i].Title)
	}
	return out
}

func wantKind(t *testing.T, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
}

func TestAnnouncements_OnlyStaffStartThreads(t *testing.T) {
	w := newWorld(t)
	ani, mod := w.person("Ani"), w.person("Mod", customers.RoleModerator)
	in := community.ThreadInput{Category: w.news.Slug, Title: "Version 2 is out", Body: "Read all about it."}
	_, err := w.svc.CreateThread(w.ctx, ani, in)
	wantKind(t, err, errs.ErrForbidden)
	th, err := w.svc.CreateThread(w.ctx, mod, in)
	if err != nil {
		t.Fatal(err)
	}
	// Customers still answer announcements.
	w.reply(ani, th, "Congratulations!")
	if got := w.reload(th).ReplyCount; got != 1 {
		t.Fatalf("reply_count = %d", got)
	}
}

func TestThread_ValidationSaysWhichField(t *testing.T) {
	w := newWorld(t)
	_, err := w.svc.CreateThread(w.ctx, w.person("Ani"), community.ThreadInput{Category: "nope", Title: "Hi", Tags: []string{"a,b,c,d,e,f"}})
	var f *errs.Fields
	if !errors.As(err, &f) {
		t.Fatalf("err = %v", err)
	}
	for _, field := range []string{"category", "title", "body", "tags"} {
		if _, ok := f.ByName[field]; !ok {
			t.Errorf("no message for %s in %v", field, f.Order)
		}
	}
}

func TestLock_StopsCustomersNotStaff(t *testing.T) {
	w := newWorld(t)
	ani, budi, mod := w.person("Ani"), w.person("Budi"), w.person("Mod", customers.RoleModerator)
	th := w.thread(ani, "Shipping to Medan")
	_, err := w.svc.Lock(w.ctx, budi, th.ID, true, "spam")
	wantKind(t, err, errs.ErrForbidden)
	_, err = w.svc.Lock(w.ctx, mod, th.ID, true, "")
	wantKind(t, err, errs.ErrInvalid) // a reason is required
	if _, err := w.svc.Lock(w.ctx, mod, th.ID, true, "Answered in the FAQ"); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Reply(w.ctx, budi, content.Ref{Kind: content.KindThread, ID: th.ID}, community.PostInput{Body: "me too"})
	var e *errs.Error
	if !errors.As(err, &e) || e.Message.ID != "thread.locked" || fmt.Sprint(e.Message.Args) != "[Reason Answered in the FAQ]" {
		t.Fatalf("err = %v", err)
	}
	w.reply(mod, th, "See the FAQ.") // staff still may
	if _, err := w.svc.Lock(w.ctx, mod, th.ID, false, ""); err != nil {
		t.Fatal(err)
	}
	w.reply(budi, th, "Thanks")
	if got := w.reload(th).ReplyCount; got != 2 {
		t.Fatalf("reply_count = %d", got)
	}
}

func TestPinAndMove_AreStaffOnly(t *testing.T) {
	w := newWorld(t)
	ani, mod := w.person("Ani"), w.person("Mod", customers.RoleModerator)
	th := w.thread(ani, "Where is my order?")
	_, err := w.svc.Pin(w.ctx, ani, th.ID, true)
	wantKind(t, err, errs.ErrForbidden)
	_, err = w.svc.Move(w.ctx, ani, th.ID, w.news.Slug)
	wantKind(t, err, errs.ErrForbidden)
	if _, err := w.svc.Pin(w.ctx, mod, th.ID, true); err != nil {
		t.Fatal(err)
	}
	moved, err := w.svc.Move(w.ctx, mod, th.ID, w.news.Slug)
	if err != nil || moved.CategoryID != w.news.ID || !moved.Pinned {
		t.Fatalf("moved = %+v, %v", moved, err)
	}
	// Pinned threads head the first page of the latest list, then the others follow by
	// activity, a page at a time, each thread once.
	for i := range 4 {
		w.thread(ani, fmt.Sprintf("Newer question %d", i))
	}
	if _, err := w.svc.Move(w.ctx, mod, th.ID, w.general.Slug); err != nil {
		t.Fatal(err)
	}
	if got := w.everyThread(2); got != "Where is my order? | Newer question 3 | Newer question 2 | Newer question 1 | Newer question 0" {
		t.Fatalf("latest = %s", got)
	}
	// A first page of pinned threads only still leads to the others.
	page, err := w.svc.Threads(w.ctx, community.ThreadQuery{Limit: 1})
	if err != nil || len(page.Threads) != 1 || !page.Threads[0].Pinned || page.Next == "" {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	next, err := w.svc.Threads(w.ctx, community.ThreadQuery{Limit: 1, After: page.Next})
	if err != nil || len(next.Threads) != 1 || next.Threads[0].Title != "Newer question 3" {
		t.Fatalf("second page = %+v, %v", next, err)
	}
	// More pinned threads than fit on a page: every one is listed, once, before the others.
	for _, title := range []string{"Newer question 0", "Newer question 1"} {
		th, err := w.svc.ThreadBy(w.ctx, ani.ID, title)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Pin(w.ctx, mod, th.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.everyThread(2); got != "Newer question 1 | Newer question 0 | Where is my order? | Newer question 3 | Newer question 2" {
		t.Fatalf("with three pinned = %s", got)
	}
	if home, err := w.svc.Threads(w.ctx, community.ThreadQuery{Unpinned: true}); err != nil || len(home.Threads) != 2 {
		t.Fatalf("unpinned only = %d, %v", len(home.Threads), err)
	}
}

func TestAccept_AuthorOrStaffOnce(t *testing.T) {
	w := newWorld(t)
	ani, budi, citra, mod := w.person("Ani"), w.person("Budi"), w.person("Citra"), w.person("Mod", customers.RoleModerator)
	th := w.thread(ani, "How do I reset my router?")
	answer := w.reply(budi, th, "Hold the button for ten seconds.")
	other := w.reply(citra, th, "Call support.")

	_, err := w.svc.Accept(w.ctx, citra, th.ID, answer.ID)
	wantKind(t, err, errs.ErrForbidden)
	opening, err := w.svc.OpeningPost(w.ctx, th.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Accept(w.ctx, ani, th.ID, opening.ID)
	wantKind(t, err, errs.ErrInvalid) // the question is not its own answer
	for range 2 {                     // a retry changes nothing
		got, err := w.svc.Accept(w.ctx, ani, th.ID, answer.ID)
		if err != nil || !got.Solved || *got.AcceptedPostID != answer.ID {
			t.Fatalf("accept = %+v, %v", got, err)
		}
	}
	b, _ := w.customers.Get(w.ctx, budi.ID)
	if b.Counters.Accepted != 1 {
		t.Fatalf("accepted counter = %d, want 1", b.Counters.Accepted)
	}
	if got := w.inbox(budi); fmt.Sprint(got) != "[accepted:How do I reset my router?]" {
		t.Fatalf("budi's inbox = %v", got)
	}
	// Staff may change the accepted answer.
	if got, err := w.svc.Accept(w.ctx, mod, th.ID, other.ID); err != nil || *got.AcceptedPostID != other.ID {
		t.Fatalf("staff accept = %+v, %v", got, err)
	}
	page, err := w.svc.Threads(w.ctx, community.ThreadQuery{Sort: community.SortSolved})
	if err != nil || len(page.Threads) != 1 {
		t.Fatalf("solved = %v, %v", page, err)
	}
}

func TestNotifications_GoToTheRightPeopleOnly(t *testing.T) {
	w := newWorld(t)
	ani, budi, citra, dewi := w.person("Ani"), w.person("Budi"), w.person("Citra"), w.person("Dewi")
	th := w.thread(ani, "Best coffee grind?")
	w.reply(ani, th, "Adding details myself.") // your own reply tells nobody
	b := w.reply(budi, th, "Medium fine.")
	w.reply(citra, th, "I agree with Budi.", b) // Budi is quoted, Ani is replied to
	held := w.reply(dewi, th, "HOLD this one")  // waits for a moderator: nobody told yet
	if got := w.inbox(ani); fmt.Sprint(got) != "[reply:Best coffee grind? reply:Best coffee grind?]" {
		t.Fatalf("ani's inbox = %v", got)
	}
	if got := w.inbox(budi); fmt.Sprint(got) != "[quote:Best coffee grind?]" {
		t.Fatalf("budi's inbox = %v", got)
	}
	if got := w.inbox(citra); len(got) != 0 {
		t.Fatalf("citra's inbox = %v", got)
	}
	// Approved later, the held reply notifies once, however often it is approved.
	for range 2 {
		if _, err := w.svc.SetPostStatus(w.ctx, held.ID, content.StatusPublished, ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.inbox(ani); len(got) != 3 {
		t.Fatalf("ani's inbox after approval = %v", got)
	}
	if n, _ := w.svc.Unread(w.ctx, ani.ID); n != 3 {
		t.Fatalf("unread = %d", n)
	}
	if err := w.svc.MarkAllRead(w.ctx, ani.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := w.svc.Unread(w.ctx, ani.ID); n != 0 {
		t.Fatalf("unread after mark all = %d", n)
	}
}

func TestLikes_CountExactlyAndRepair(t *testing.T) {
	w := newWorld(t)
	ani, budi, citra := w.person("Ani"), w.person("Budi"), w.person("Citra")
	th := w.thread(ani, "Kopi Toraja or Gayo?")
	p := w.reply(budi, th, "Gayo, always.")
	_, err := w.svc.Like(w.ctx, budi, p.ID, true)
	wantKind(t, err, errs.ErrForbidden) // not your own post
	for _, step := range []struct {
		who  *customers.Customer
		like bool
		want int
	}{{ani, true, 1}, {ani, true, 1}, {citra, true, 2}, {ani, false, 1}, {ani, false, 1}, {ani, true, 2}} {
		got, err := w.svc.Like(w.ctx, step.who, p.ID, step.like)
		if err != nil || got.Likes != step.want {
			t.Fatalf("%s like=%v: likes = %d, %v; want %d", step.who.DisplayName, step.like, got.Likes, err, step.want)
		}
	}
	// Hiding and restoring a reply moves its thread's count once each way.
	for _, st := range []content.Status{content.StatusHidden, content.StatusHidden, content.StatusPublished, content.StatusPublished} {
		if _, err := w.svc.SetPostStatus(w.ctx, p.ID, st, "check"); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.reload(th).ReplyCount; got != 1 {
		t.Fatalf("reply_count = %d", got)
	}
	idea := w.idea(ani, "Sell decaf beans")
	if _, err := w.svc.Vote(w.ctx, budi, idea.ID, true); err != nil {
		t.Fatal(err)
	}
	community.Corrupt(t, w.svc, p.ID, th.ID, idea.ID)
	rep, err := w.svc.Repair(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.PostsFixed != 1 || rep.ThreadsFixed != 1 || rep.IdeasFixed != 1 {
		t.Fatalf("repair = %+v", rep)
	}
	got, _ := w.svc.Post(w.ctx, p.ID)
	if got.Likes != 2 || w.reload(th).ReplyCount != 1 || w.ideaNow(idea).VoteCount != 2 || w.ideaNow(idea).ReplyCount != 0 {
		t.Fatalf("after repair: likes %d, replies %d, idea %+v", got.Likes, w.reload(th).ReplyCount, w.ideaNow(idea))
	}
	if rep, _ := w.svc.Repair(w.ctx); rep.PostsFixed+rep.ThreadsFixed+rep.IdeasFixed != 0 {
		t.Fatalf("second repair fixed %+v", rep)
	}
}

// A published reply is stored counted, with its thread's count, so a repair right after it
// finds nothing to fix; hidden, it takes its count back out, and a repair still agrees.
func TestReply_CountsFromItsInsert(t *testing.T) {
	w := newWorld(t)
	ani, budi := w.person("Ani"), w.person("Budi")
	th := w.thread(ani, "Gula aren atau gula pasir?")
	p := w.reply(budi, th, "Gula aren, lebih harum.")
	if got := w.reload(th).ReplyCount; got != 1 {
		t.Fatalf("reply_count = %d, want 1", got)
	}
	if rep, err := w.svc.Repair(w.ctx); err != nil || rep.PostsFixed+rep.ThreadsFixed != 0 {
		t.Fatalf("repair after a reply = %+v, %v", rep, err)
	}
	if _, err := w.svc.SetPostStatus(w.ctx, p.ID, content.StatusHidden, "spam"); err != nil {
		t.Fatal(err)
	}
	if got := w.reload(th).ReplyCount; got != 0 {
		t.Fatalf("reply_count after hiding = %d, want 0", got)
	}
	if rep, err := w.svc.Repair(w.ctx); err != nil || rep.PostsFixed+rep.ThreadsFixed != 0 {
		t.Fatalf("repair after hiding = %+v, %v", rep, err)
	}
}

func TestPosts_KeyPaginationWhileRepliesArrive(t *testing.T) {
	w := newWorld(t)
	ani, budi := w.person("Ani"), w.person("Budi")
	th := w.thread(ani, "Long discussion")
	for i := range 25 {
		w.reply(budi, th, fmt.Sprintf("reply %02d", i))
	}
	seen := map[string]int{}
	var order []string
	after := ""
	for page := 0; ; page++ {
		list, next, err := w.svc.Posts(w.ctx, community.PostQuery{Parent: th.ID, After: after, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range list {
			seen[p.BodyMD]++
			order = append(order, p.BodyMD)
		}
		if page == 0 { // new replies arrive while the reader is on page one
			for i := 25; i < 30; i++ {
				w.reply(budi, th, fmt.Sprintf("reply %02d", i))
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	if len(order) != 30 {
		t.Fatalf("saw %d posts, want 30: %v", len(order), order)
	}
	for i, body := range order {
		if want := fmt.Sprintf("reply %02d", i); body != want || seen[body] != 1 {
			t.Fatalf("post %d = %q (seen %d), want %q", i, body, seen[body], want)
		}
	}
}

func TestThreads_ListsByOrderCategoryAndTag(t *testing.T) {
	w := newWorld(t)
	ani, budi := w.person("Ani"), w.person("Budi")
	old := w.thread(ani, "Old but active", "wifi")
	quiet := w.thread(ani, "Nobody answered", "wifi", "Router")
	newest := w.thread(budi, "Brand new question")
	w.reply(budi, old, "bump")
	titles := func(q community.ThreadQuery) string {
		t.Helper()
		page, err := w.svc.Threads(w.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, th := range page.Threads {
			out = append(out, th.Title)
		}
		return strings.Join(out, " | ")
	}
	if got := titles(community.ThreadQuery{}); got != "Old but active | Brand new question | Nobody answered" {
		t.Errorf("latest = %s", got)
	}
	if got := titles(community.ThreadQuery{Sort: community.SortNewest}); got != "Brand new question | Nobody answered | Old but active" {
		t.Errorf("newest = %s", got)
	}
	if got := titles(community.ThreadQuery{Sort: community.SortUnanswered}); got != "Brand new question | Nobody answered" {
		t.Errorf("unanswered = %s", got)
	}
	if got := titles(community.ThreadQuery{Tag: "router"}); got != quiet.Title {
		t.Errorf("tag router = %s", got)
	}
	if got := titles(community.ThreadQuery{CategoryID: w.news.ID}); got != "" {
		t.Errorf("announcements = %s", got)
	}
	_ = newest
	// Newest first, key-paginated: threads started meanwhile do not push any into a repeat.
	for i := range 7 {
		w.thread(budi, fmt.Sprintf("Question number %d", i))
	}
	first, err := w.svc.Threads(w.ctx, community.ThreadQuery{Sort: community.SortNewest, Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	w.thread(ani, "Arrived between pages")
	second, err := w.svc.Threads(w.ctx, community.ThreadQuery{Sort: community.SortNewest, Limit: 4, After: first.Next})
	if err != nil {
		t.Fatal(err)
	}
	if first.Threads[3].Title != "Question number 3" || second.Threads[0].Title != "Question number 2" {
		t.Fatalf("pages: %s / %s", first.Threads[3].Title, second.Threads[0].Title)
	}
	_, err = w.svc.Threads(w.ctx, community.ThreadQuery{After: "garbage"})
	wantKind(t, err, errs.ErrInvalid)
}

func TestMarkdown_IsSanitised(t *testing.T) {
	w := newWorld(t)
	ani := w.person("Ani")
	th, err := w.svc.CreateThread(w.ctx, ani, community.ThreadInput{Category: w.general.Slug, Title: "Formatting test",
		Body: "<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)> [ok](https://example.com)\n\n```\ncode <b>\n```"})
	if err != nil {
		t.Fatal(err)
	}
	op, err := w.svc.OpeningPost(w.ctx, th.ID)
	if err != nil {
		t.Fatal(err)
	}
	html := strings.ToLower(string(op.BodyHTML))
	for _, bad := range []string{"<script", "javascript:", "onerror"} {
		if strings.Contains(html, bad) {
			t.Errorf("body keeps %q: %s", bad, html)
		}
	}
	for _, good := range []string{`rel="ugc nofollow`, "<pre><code>", "code &lt;b&gt;"} {
		if !strings.Contains(html, good) {
			t.Errorf("body lacks %q: %s", good, html)
		}
	}
}

func TestIdeaState_StaffOnlyAndVotersTold(t *testing.T) {
	w := newWorld(t)
	ani, budi, citra := w.person("Ani"), w.person("Budi"), w.person("Citra")
	pm := w.person("Pm", customers.RoleProduct)
	idea := w.idea(ani, "Dark mode for the app")
	if _, err := w.svc.Vote(w.ctx, budi, idea.ID, true); err != nil {
		t.Fatal(err)
	}
	_, err := w.svc.SetState(w.ctx, ani, idea.ID, community.StatusInput{Status: community.StatePlanned})
	wantKind(t, err, errs.ErrForbidden)
	_, err = w.svc.SetState(w.ctx, pm, idea.ID, community.StatusInput{Status: "someday"})
	wantKind(t, err, errs.ErrInvalid)
	got, err := w.svc.SetState(w.ctx, pm, idea.ID, community.StatusInput{Status: community.StatePlanned, Response: "Coming in Q3."})
	if err != nil || got.State != community.StatePlanned || got.Response != "Coming in Q3." {
		t.Fatalf("state = %+v, %v", got, err)
	}
	// The same decision again (a retry, or a new response text) tells nobody twice.
	if _, err := w.svc.SetState(w.ctx, pm, idea.ID, community.StatusInput{Status: community.StatePlanned, Response: "Q3, promise."}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*customers.Customer{ani, budi} {
		if got := w.inbox(c); fmt.Sprint(got) != "[idea_status:Dark mode for the app]" {
			t.Errorf("%s's inbox = %v", c.DisplayName, got)
		}
	}
	if got := w.inbox(citra); len(got) != 0 {
		t.Errorf("citra (no vote) was told: %v", got)
	}
	// Telling the voters was interrupted: the next decision on the idea finishes it.
	community.LeaveNotifying(t, w.svc, idea.ID, "status:interrupted")
	if _, err := w.svc.SetState(w.ctx, pm, idea.ID, community.StatusInput{Status: community.StatePlanned, Response: "Q3, promise."}); err != nil {
		t.Fatal(err)
	}
	if got := w.inbox(budi); len(got) != 2 {
		t.Errorf("after the interrupted change, budi's inbox = %v", got)
	}
	if got := w.ideaNow(idea); got.NotifyKey != "" {
		t.Errorf("still notifying: %q", got.NotifyKey)
	}
	road, err := w.svc.Roadmap(w.ctx, 5)
	if err != nil || len(road[community.StatePlanned]) != 1 {
		t.Fatalf("roadmap = %v, %v", road, err)
	}
	// Done ideas take no more votes.
	if _, err := w.svc.SetState(w.ctx, pm, idea.ID, community.StatusInput{Status: community.StateDone}); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.Vote(w.ctx, citra, idea.ID, true)
	wantKind(t, err, errs.ErrConflict)
}

func TestVotes_CountOncePerCustomer(t *testing.T) {
	w := newWorld(t)
	ani, budi := w.person("Ani"), w.person("Budi")
	idea := w.idea(ani, "Refill pouches")
	if idea.VoteCount != 1 {
		t.Fatalf("author's own vote: %d", idea.VoteCount)
	}
	for _, step := range []struct {
		vote bool
		want int
	}{{true, 2}, {true, 2}, {false, 1}, {false, 1}, {true, 2}} {
		got, err := w.svc.Vote(w.ctx, budi, idea.ID, step.vote)
		if err != nil || got.VoteCount != step.want {
			t.Fatalf("vote=%v: %d, %v; want %d", step.vote, got.VoteCount, err, step.want)
		}
	}
	b, _ := w.customers.Get(w.ctx, budi.ID)
	// Withdrawing a vote uncounts it: toggling cannot inflate the record.
	if b.Counters.Votes != 1 || b.Stage != customers.StageExploration {
		t.Fatalf("budi: votes %d, stage %s", b.Counters.Votes, b.Stage)
	}
}

func TestMerge_MovesVotesWithoutCountingTwice(t *testing.T) {
	w := newWorld(t)
	ani, budi, citra, dewi := w.person("Ani"), w.person("Budi"), w.person("Citra"), w.person("Dewi")
	pm := w.person("Pm", customers.RoleProduct)
	target := w.idea(ani, "Export orders to CSV")    // Ani
	dup := w.idea(budi, "Download my orders as CSV") // Budi
	for _, c := range []*customers.Customer{citra, dewi} {
		if _, err := w.svc.Vote(w.ctx, c, dup.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.svc.Vote(w.ctx, citra, target.ID, true); err != nil { // Citra voted for both
		t.Fatal(err)
	}
	_, err := w.svc.Merge(w.ctx, ani, dup.ID, target.ID)
	wantKind(t, err, errs.ErrForbidden)
	_, err = w.svc.Merge(w.ctx, pm, dup.ID, dup.ID)
	wantKind(t, err, errs.ErrInvalid)
	for i := range 2 { // a retry finds nothing left to move, and recounts what an interruption left wrong
		if i == 1 {
			community.CorruptVotes(t, w.svc, target.ID, 1)
		}
		got, err := w.svc.Merge(w.ctx, pm, dup.ID, target.ID)
		if err != nil || got.VoteCount != 4 { // Ani, Citra, Budi, Dewi
			t.Fatalf("target after merge = %d, %v", got.VoteCount, err)
		}
	}
	if c, _ := w.customers.Get(w.ctx, citra.ID); c.Counters.Votes != 1 {
		t.Fatalf("citra voted for both: %d votes on her record, want 1", c.Counters.Votes)
	}
	d := w.ideaNow(dup)
	if d.VoteCount != 0 || d.MergedInto == nil || *d.MergedInto != target.ID {
		t.Fatalf("dup = %+v", d)
	}
	// The duplicate's voters are told once (the merge ran twice) where their vote went.
	if got := w.inbox(dewi); fmt.Sprint(got) != "[idea_merged:Download my orders as CSV]" {
		t.Fatalf("dewi's inbox = %v", got)
	}
	_, err = w.svc.Vote(w.ctx, pm, dup.ID, true)
	var e *errs.Error
	if !errors.As(err, &e) || e.Link != target.URL() {
		t.Fatalf("vote on merged = %v", err)
	}
	page, err := w.svc.Ideas(w.ctx, community.IdeaQuery{})
	if err != nil || len(page.Ideas) != 1 || page.Ideas[0].ID != target.ID {
		t.Fatalf("list after merge = %v, %v", page, err)
	}
	if rep, err := w.svc.Repair(w.ctx); err != nil || rep.IdeasFixed != 0 {
		t.Fatalf("repair after merge = %+v, %v", rep, err)
	}
}

func TestIdeas_TopNewestTrending(t *testing.T) {
	w := newWorld(t)
	now := time.Now().UTC()
	clock := now.Add(-30 * 24 * time.Hour)
	community.SetClock(w.svc, func() time.Time { return clock })
	ani := w.person("Ani")
	old := w.idea(ani, "Old favourite")
	for i := range 4 {
		if _, err := w.svc.Vote(w.ctx, w.person(fmt.Sprintf("Old%d", i)), old.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	clock = now
	fresh := w.idea(ani, "Fresh and rising")
	for i := range 2 {
		if _, err := w.svc.Vote(w.ctx, w.person(fmt.Sprintf("New%d", i)), fresh.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	order := func(sort string) string {
		t.Helper()
		page, err := w.svc.Ideas(w.ctx, community.IdeaQuery{Sort: sort})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, i := range page.Ideas {
			out = append(out, i.Title)
		}
		return strings.Join(out, " | ")
	}
	if got := order(community.IdeasTop); got != "Old favourite | Fresh and rising" {
		t.Errorf("top = %s", got)
	}
	if got := order(community.IdeasNewest); got != "Fresh and rising | Old favourite" {
		t.Errorf("newest = %s", got)
	}
	if got := order(community.IdeasTrending); got != "Fresh and rising" {
		t.Errorf("trending = %s", got)
	}
	// Trending pages by key too, and a filter still fills the page: ideas of other states
	// ranked in between are skipped, not shown as gaps.
	pm := w.person("Pm", customers.RoleProduct)
	for i := range 6 {
		idea := w.idea(ani, fmt.Sprintf("Trending idea %d", i))
		for j := range 6 - i {
			if _, err := w.svc.Vote(w.ctx, w.person(fmt.Sprintf("T%d-%d", i, j)), idea.ID, true); err != nil {
				t.Fatal(err)
			}
		}
		if i%2 == 1 {
			if _, err := w.svc.SetState(w.ctx, pm, idea.ID, community.StatusInput{Status: community.StatePlanned}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var planned []string
	after := ""
	for {
		page, err := w.svc.Ideas(w.ctx, community.IdeaQuery{Sort: community.IdeasTrending, State: community.StatePlanned, Limit: 2, After: after})
		if err != nil {
			t.Fatal(err)
		}
		if page.Next != "" && len(page.Ideas) != 2 {
			t.Fatalf("a short page before the end: %d ideas", len(page.Ideas))
		}
		for _, i := range page.Ideas {
			planned = append(planned, i.Title)
		}
		if after = page.Next; after == "" {
			break
		}
	}
	if got := strings.Join(planned, " | "); got != "Trending idea 1 | Trending idea 3 | Trending idea 5" {
		t.Fatalf("planned, trending = %s", got)
	}
}

func TestIdeas_TrendingCountFollowsWithdrawalsMergesAndTheWindow(t *testing.T) {
	w := newWorld(t)
	now := time.Now().UTC()
	clock := now
	community.SetClock(w.svc, func() time.Time { return clock })
	ani, budi, cici := w.person("Ani"), w.person("Budi"), w.person("Cici")
	pm := w.person("Pm", customers.RoleProduct)
	a, b := w.idea(ani, "Idea A"), w.idea(ani, "Idea B")
	vote := func(who *customers.Customer, idea *community.Idea, on bool) {
		t.Helper()
		if _, err := w.svc.Vote(w.ctx, who, idea.ID, on); err != nil {
			t.Fatal(err)
		}
	}
	trend := func(idea *community.Idea) (int, int) {
		t.Helper()
		i := w.ideaNow(idea)
		return i.TrendVotes, i.VoteCount
	}
	vote(budi, a, true)
	vote(cici, a, true)
	vote(cici, a, true) // a retry counts once
	vote(budi, b, true)
	// the author's own vote comes with the idea
	if tr, n := trend(a); tr != 3 || n != 3 {
		t.Fatalf("after two votes: trend %d, votes %d", tr, n)
	}
	vote(cici, a, false)
	vote(cici, a, false)
	if tr, n := trend(a); tr != 2 || n != 2 {
		t.Fatalf("after a withdrawal: trend %d, votes %d", tr, n)
	}
	// Ani and Budi voted for both: the merged target keeps one vote of each.
	if _, err := w.svc.Merge(w.ctx, pm, b.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if tr, n := trend(a); tr != 2 || n != 2 {
		t.Fatalf("after the merge: trend %d, votes %d", tr, n)
	}
	clock = now.Add(community.TrendingWindow + time.Hour)
	vote(cici, a, true) // a fresh vote, after the others have left the window
	page, err := w.svc.Ideas(w.ctx, community.IdeaQuery{Sort: community.IdeasTrending})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Ideas) != 1 || page.Ideas[0].ID != a.ID {
		t.Fatalf("trending = %v", page.Ideas)
	}
	if tr, n := trend(a); tr != 1 || n != 3 {
		t.Fatalf("after the window moved: trend %d, votes %d", tr, n)
	}
	// Withdrawing a vote that has left the window leaves the trending count alone.
	vote(budi, a, false)
	if tr, n := trend(a); tr != 1 || n != 2 {
		t.Fatalf("after withdrawing an old vote: trend %d, votes %d", tr, n)
	}
}

func TestActivity_CountsTowardTheStage(t *testing.T) {
	w := newWorld(t)
	ani, budi := w.person("Ani"), w.person("Budi")
	th := w.thread(ani, "First question here")
	w.reply(budi, th, "An answer")
	a, _ := w.customers.Get(w.ctx, ani.ID)
	b, _ := w.customers.Get(w.ctx, budi.ID)
	if a.Counters.Threads != 1 || b.Counters.Posts != 1 || a.Stage != customers.StageExploration || b.Stage != customers.StageExploration {
		t.Fatalf("ani %+v %s, budi %+v %s", a.Counters, a.Stage, b.Counters, b.Stage)
	}
	acts, err := w.svc.ActivityBy(w.ctx, ani.ID, time.Time{}, 10)
	if err != nil || len(acts) != 1 || acts[0].Kind != "thread" || acts[0].URL == "" {
		t.Fatalf("activity = %+v, %v", acts, err)
	}
}
