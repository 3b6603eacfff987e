package community_test

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/markdown"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

// moderated is a world with the real moderation rules and a real (in-memory) Bleve index.
type moderated struct {
	*world
	db     *mongo.Database
	mod    *moderation.Service
	index  *search.Bleve
	syncer *search.Syncer
}

func newModerated(t *testing.T) *moderated {
	t.Helper()
	ctx := context.Background()
	db := storetest.DB(t)
	if err := store.EnsureIndexes(ctx, db, append(append(customers.Indexes, community.Indexes...), moderation.Indexes...)...); err != nil {
		t.Fatal(err)
	}
	cust := customers.NewService(db, []string{"en", "id"})
	svc := community.New(db, cust, cust, nil, markdown.New())
	mod := moderation.New(db, cust, map[content.Kind]moderation.Publisher{
		content.KindThread: svc.ThreadPublisher(), content.KindPost: svc.PostPublisher(), content.KindIdea: svc.IdeaPublisher()})
	svc.SetScreener(mod)
	index, err := search.OpenBleveMemory()
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: ctx, customers: cust, svc: svc}
	admin := w.person("Root", customers.RoleAdmin)
	if w.general, err = svc.SaveCategory(ctx, admin, bson.ObjectID{}, community.CategoryInput{Name: "Help"}); err != nil {
		t.Fatal(err)
	}
	syncer := search.NewSyncer(index, store.NewLeases(db), "test", slog.New(slog.DiscardHandler),
		svc.ThreadSource(), svc.PostSource(), svc.IdeaSource())
	return &moderated{world: w, db: db, mod: mod, index: index, syncer: syncer}
}

// found syncs the index and returns the kinds of what public search finds for text.
func (m *moderated) found(text string) string {
	m.t.Helper()
	if _, err := m.syncer.SyncOnce(m.ctx); err != nil {
		m.t.Fatal(err)
	}
	res, err := m.index.Search(m.ctx, search.Query{Text: text})
	if err != nil {
		m.t.Fatal(err)
	}
	var kinds []string
	for _, h := range res.Hits {
		kinds = append(kinds, h.Kind)
	}
	sort.Strings(kinds)
	return strings.Join(kinds, ",")
}

func TestModeration_WatchedWordHoldsAThreadUntilApproved(t *testing.T) {
	m := newModerated(t)
	ani, mod := m.person("Ani"), m.person("Mod", customers.RoleModerator)
	th, err := m.svc.CreateThread(m.ctx, ani, community.ThreadInput{Category: m.general.Slug, Title: "Toko ini penipu?", Body: "Pesanan saya belum sampai."})
	if err != nil {
		t.Fatal(err)
	}
	if th.Status != content.StatusPending {
		t.Fatalf("status = %s, want pending (watched word in Indonesian)", th.Status)
	}
	if page, _ := m.svc.Threads(m.ctx, community.ThreadQuery{}); len(page.Threads) != 0 {
		t.Fatal("a held thread is listed publicly")
	}
	items, _, err := m.mod.Queue(m.ctx, moderation.QueueQuery{Kind: content.KindThread})
	if err != nil || len(items) != 1 || !strings.Contains(items[0].Excerpt, "Pesanan saya") {
		t.Fatalf("queue = %+v, %v", items, err)
	}
	if _, err := m.mod.Decide(m.ctx, mod, moderation.DecisionInput{Refs: []string{items[0].ID}, Action: moderation.ActionApprove}); err != nil {
		t.Fatal(err)
	}
	if page, _ := m.svc.Threads(m.ctx, community.ThreadQuery{}); len(page.Threads) != 1 {
		t.Fatal("an approved thread is not listed")
	}
	op, _ := m.svc.OpeningPost(m.ctx, th.ID)
	if op.Status != content.StatusPublished {
		t.Fatalf("opening post = %s", op.Status)
	}
}

func TestSearch_ThreadsRepliesAndIdeasFollowTheirStatus(t *testing.T) {
	m := newModerated(t)
	ani, budi, mod := m.person("Ani"), m.person("Budi"), m.person("Mod", customers.RoleModerator)
	th := m.thread(ani, "Pelayanan pelanggan lambat")
	reply := m.reply(budi, th, "Pelayanan di cabang Bandung cepat kok.")
	m.idea(ani, "Pelayanan lewat WhatsApp")
	if got := m.found("pelayanan"); got != "idea,post,thread" {
		t.Fatalf("found %q", got)
	}
	// A flagged-and-hidden reply leaves the index; hiding the thread takes its replies too.
	if _, err := m.mod.Decide(m.ctx, mod, moderation.DecisionInput{Refs: []string{"post:" + reply.ID.Hex()}, Action: moderation.ActionReject, Reason: "off-topic"}); err != nil {
		t.Fatal(err)
	}
	if got := m.found("pelayanan"); got != "idea,thread" {
		t.Fatalf("after hiding the reply, found %q", got)
	}
	if _, err := m.svc.SetPostStatus(m.ctx, reply.ID, content.StatusPublished, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := m.mod.Decide(m.ctx, mod, moderation.DecisionInput{Refs: []string{"thread:" + th.ID.Hex()}, Action: moderation.ActionReject, Reason: "spam"}); err != nil {
		t.Fatal(err)
	}
	if got := m.found("pelayanan"); got != "idea" {
		t.Fatalf("after hiding the thread, found %q", got)
	}
}

func TestFlags_HideAReplyAtTheThresholdAndItsCountFollows(t *testing.T) {
	m := newModerated(t)
	ani, budi := m.person("Ani"), m.person("Budi")
	th := m.thread(ani, "Tips merawat tas batik")
	spam := m.reply(budi, th, "Beli followers murah di sini")
	for i, name := range []string{"F1", "F2", "F2", "F3"} { // F2 twice: counted once
		flagger, err := m.customers.FindByEmail(m.ctx, strings.ToLower(name)+"@example.com")
		if err != nil {
			flagger = m.person(name)
			// a member for a month: flags from accounts made today do not hide anything
			flagger.CreatedAt = flagger.CreatedAt.Add(-30 * 24 * time.Hour)
			if _, err := m.db.Collection("customers").UpdateOne(m.ctx, bson.M{"_id": flagger.ID},
				bson.M{"$set": bson.M{"created_at": flagger.CreatedAt}}); err != nil {
				t.Fatal(err)
			}
		}
		res, err := m.mod.Flag(m.ctx, flagger, moderation.FlagInput{Ref: "post:" + spam.ID.Hex(), Reason: "spam"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Hidden != (i == 3) {
			t.Fatalf("flag %d: hidden = %v", i+1, res.Hidden)
		}
	}
	p, _ := m.svc.Post(m.ctx, spam.ID)
	if p.Status != content.StatusHidden || m.reload(th).ReplyCount != 0 {
		t.Fatalf("after three flags: %s, reply_count %d", p.Status, m.reload(th).ReplyCount)
	}
}

func TestVisibility_HiddenContentStaysOutOfReach(t *testing.T) {
	m := newModerated(t)
	ani, budi, citra := m.person("Ani"), m.person("Budi"), m.person("Citra")
	pm := m.person("Pm", customers.RoleProduct)

	// A thread's opening post cannot be flagged or moderated apart from its thread.
	th := m.thread(ani, "Pelayanan toko Medan")
	op, _ := m.svc.OpeningPost(m.ctx, th.ID)
	if _, err := m.mod.Flag(m.ctx, budi, moderation.FlagInput{Ref: "post:" + op.ID.Hex(), Reason: "spam"}); err == nil {
		t.Fatal("flagging an opening post as a post was accepted")
	}

	// Replies in a hidden thread cannot be liked.
	r := m.reply(budi, th, "Pelayanan di Medan ramah.")
	if _, err := m.svc.SetThreadStatus(m.ctx, th.ID, content.StatusHidden, "spam"); err != nil {
		t.Fatal(err)
	}
	_, err := m.svc.Like(m.ctx, citra, r.ID, true)
	wantKind(t, err, errs.ErrNotFound)

	// Hiding an idea takes its comments out of search too.
	idea := m.idea(ani, "Pelayanan antar jemput")
	if _, err := m.svc.Reply(m.ctx, budi, content.Ref{Kind: content.KindIdea, ID: idea.ID}, community.PostInput{Body: "Pelayanan ini perlu."}); err != nil {
		t.Fatal(err)
	}
	if got := m.found("pelayanan"); got != "idea,post" {
		t.Fatalf("found %q", got)
	}
	if _, err := m.svc.SetIdeaStatus(m.ctx, idea.ID, content.StatusHidden, "dup"); err != nil {
		t.Fatal(err)
	}
	if got := m.found("pelayanan"); got != "" {
		t.Fatalf("after hiding the idea, found %q", got)
	}
	// Nobody is told about, and nothing is merged into, an idea nobody may see.
	_, err = m.svc.SetState(m.ctx, pm, idea.ID, community.StatusInput{Status: community.StatePlanned})
	wantKind(t, err, errs.ErrNotFound)
	other := m.idea(budi, "Antar jemput gratis")
	_, err = m.svc.Merge(m.ctx, pm, other.ID, idea.ID)
	wantKind(t, err, errs.ErrInvalid)
}

func TestAccept_CountsEachAnswerOnceAndNotYourOwn(t *testing.T) {
	w := newWorld(t)
	ani, budi, citra := w.person("Ani"), w.person("Budi"), w.person("Citra")
	th := w.thread(ani, "Cara reset router?")
	a := w.reply(budi, th, "Tekan tombol reset.")
	b := w.reply(citra, th, "Cabut listriknya.")
	own := w.reply(ani, th, "Sudah bisa, terima kasih.")
	for _, p := range []*community.Post{a, b, a, own, a} {
		if _, err := w.svc.Accept(w.ctx, ani, th.ID, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.svc.Accept(w.ctx, ani, th.ID, bson.ObjectID{}); err != nil { // un-accept
		t.Fatal(err)
	}
	if got := w.reload(th); got.Solved || got.AcceptedPostID != nil {
		t.Fatalf("after un-accepting: %+v", got)
	}
	for who, want := range map[*customers.Customer]int{budi: 1, citra: 1, ani: 0} {
		c, _ := w.customers.Get(w.ctx, who.ID)
		if c.Counters.Accepted != want {
			t.Errorf("%s: accepted %d, want %d", who.DisplayName, c.Counters.Accepted, want)
		}
	}
}

func TestSetState_TwoIdenticalDecisionsAtOnceNotifyOnce(t *testing.T) {
	w := newWorld(t)
	ani, pm := w.person("Ani"), w.person("Pm", customers.RoleProduct)
	idea := w.idea(ani, "Kemasan ramah lingkungan")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			_, err := w.svc.SetState(w.ctx, pm, idea.ID, community.StatusInput{Status: community.StatePlanned, Response: "Ya"})
			if err != nil && !errors.Is(err, errs.ErrConflict) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := w.inbox(ani); len(got) != 1 {
		t.Fatalf("ani was told %d times: %v", len(got), got)
	}
}

func TestTags_HugeInputIsRefusedQuickly(t *testing.T) {
	w := newWorld(t)
	huge := strings.Repeat("a1,b2,", 300000)
	_, err := w.svc.CreateThread(w.ctx, w.person("Ani"), community.ThreadInput{Category: w.general.Slug, Title: "Many tags here", Body: "x", Tags: []string{huge}})
	wantKind(t, err, errs.ErrInvalid)
}
