package community_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/markdown"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

// voterWorld is a world that keeps its database, to look for full scans.
type voterWorld struct {
	*world
	db     *mongo.Database
	orders int
}

func newVoterWorld(t *testing.T) *voterWorld {
	t.Helper()
	ctx := context.Background()
	db := storetest.DB(t)
	if err := store.EnsureIndexes(ctx, db, append(customers.Indexes, community.Indexes...)...); err != nil {
		t.Fatal(err)
	}
	cust := customers.NewService(db, []string{"en", "id"})
	w := &world{t: t, ctx: ctx, customers: cust, svc: community.New(db, cust, cust, nil, markdown.New())}
	w.svc.SetScreener(holdScreener{})
	return &voterWorld{world: w, db: db}
}

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// buy records purchases of one order each (amounts in rupiah, IDR has no minor digits),
// the i-th 30 days after the one before.
func (w *voterWorld) buy(c *customers.Customer, amounts ...int64) {
	w.t.Helper()
	for i, amount := range amounts {
		w.orders++
		p := customers.Purchase{ProductID: bson.NewObjectID(), OrderID: fmt.Sprintf("A-%d", w.orders),
			At: t0.AddDate(0, 0, 30*i), Amount: amount}
		if _, err := w.customers.AddPurchase(w.ctx, c.ID, p); err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *voterWorld) vote(who *customers.Customer, idea *community.Idea, on bool) {
	w.t.Helper()
	// As a request does: with the voter's record as their session reads it.
	who, err := w.customers.Get(w.ctx, who.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.svc.Vote(w.ctx, who, idea.ID, on); err != nil {
		w.t.Fatal(err)
	}
}

func (w *voterWorld) stored(idea *community.Idea) community.Voters {
	w.t.Helper()
	i, err := w.svc.Idea(w.ctx, idea.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return i.Voters
}

// noScans fails on a query of the ideas, votes or customers that no index serves.
func (w *voterWorld) noScans() {
	w.t.Helper()
	for _, q := range storetest.FullScans(w.db) {
		for _, coll := range []string{"ideas:", "idea_votes:", "customers:"} {
			if strings.HasPrefix(q, coll) {
				w.t.Errorf("full scan: %s", q)
			}
		}
	}
}

func checkVoters(t *testing.T, what string, got community.Voters, value int64, atRisk int, stages map[string]int) {
	t.Helper()
	// A stage its last voter left may stay at 0: every reader skips it (StageCounts).
	counted := maps.Clone(got.Stages)
	maps.DeleteFunc(counted, func(_ string, n int) bool { return n == 0 })
	if got.Value != value || got.Currency != "IDR" || got.AtRisk != atRisk || !maps.Equal(counted, stages) || got.At.IsZero() {
		t.Errorf("%s: voters %+v, want value %d IDR, %d at risk, stages %v", what, got, value, atRisk, stages)
	}
}

func TestVoters_ValueRiskAndStagesFollowTheVotes(t *testing.T) {
	w := newVoterWorld(t)
	dewi := w.person("Dewi") // the author: no purchase, so worth 0; her own vote makes her exploring
	ana, budi, cita := w.person("Ana"), w.person("Budi"), w.person("Cita")
	// CLTV = average order × orders a year (over at least a year) × 3 years:
	w.buy(ana, 100000)          // one order: 100 000 × 1 × 3 = 300 000
	w.buy(budi, 100000, 200000) // two orders in 30 days: 150 000 × 2 × 3 = 900 000
	w.buy(cita, 250000)         // 750 000, but Cita does not vote
	for c, want := range map[*customers.Customer]int64{ana: 300000, budi: 900000, cita: 750000} {
		if got, _ := w.customers.Get(w.ctx, c.ID); got.Value.CLTV != want {
			t.Fatalf("%s's CLTV is %d, want %d", c.DisplayName, got.Value.CLTV, want)
		}
	}
	// Budi answers the NPS survey with a 2: a detractor, in dissolution and at risk.
	if err := w.customers.RecordSignal(w.ctx, customers.SurveySignal(budi.ID, customers.SignalNPS, "r1", 2, time.Now())); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.customers.Get(w.ctx, budi.ID); !got.Risk.AtRisk() || got.Stage != customers.StageDissolution {
		t.Fatalf("Budi should be at risk, in dissolution: %+v, %s", got.Risk, got.Stage)
	}

	idea := w.idea(dewi, "Dark mode")
	other := w.idea(dewi, "Offline maps")
	checkVoters(t, "the author alone", w.stored(idea), 0, 0, map[string]int{"exploration": 1})
	w.vote(ana, idea, true)
	w.vote(budi, idea, true)
	w.vote(cita, other, true)
	w.vote(ana, idea, true) // a retry counts once
	want := map[string]int{"exploration": 1, "expansion": 1, "dissolution": 1}
	checkVoters(t, "stored after the votes", w.stored(idea), 300000+900000, 1, want)
	live, err := w.svc.VoterSummary(w.ctx, idea.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkVoters(t, "live", *live, 1200000, 1, want)
	checkVoters(t, "the other idea", w.stored(other), 750000, 0, map[string]int{"exploration": 1, "expansion": 1})

	// Budi withdraws his vote: his value, his risk and his stage go with it.
	w.vote(budi, idea, false)
	checkVoters(t, "after Budi withdrew", w.stored(idea), 300000, 0, map[string]int{"exploration": 1, "expansion": 1})

	// Ana buys again, without voting: the hourly refresh catches the idea up.
	// Two orders the same day, 100 000 and 50 000: 75 000 × 2 × 3 = 450 000.
	w.buy(ana, 50000)
	checkVoters(t, "before the refresh", w.stored(idea), 300000, 0, map[string]int{"exploration": 1, "expansion": 1})
	if err := w.svc.RefreshVoterValues(w.ctx); err != nil {
		t.Fatal(err)
	}
	checkVoters(t, "after the refresh", w.stored(idea), 450000, 0, map[string]int{"exploration": 1, "expansion": 1})
	checkVoters(t, "the other idea after the refresh", w.stored(other), 750000, 0, map[string]int{"exploration": 1, "expansion": 1})

	// A vote moves the stored summary in the write that counts it: it reads no other voter.
	voter, err := w.customers.Get(w.ctx, cita.ID)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Commands(w.db)
	if _, err := w.svc.Vote(w.ctx, voter, idea.ID, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range storetest.Commands(w.db) {
		if c.Name == "find" && (c.Collection == "idea_votes" || c.Collection == "customers" && strings.Contains(c.Filter.String(), "$in")) {
			t.Errorf("a vote read the voters: %s", c)
		}
	}
	checkVoters(t, "after Cita voted", w.stored(idea), 450000+750000, 0, map[string]int{"exploration": 1, "expansion": 2})

	// A newcomer's first vote moves them on, to exploration: the summary counts them there.
	w.vote(w.person("Eko"), idea, true)
	checkVoters(t, "after Eko's first vote", w.stored(idea), 450000+750000, 0, map[string]int{"exploration": 2, "expansion": 2})
	w.noScans()
}

func TestVoters_RefreshCoversEveryPageOfIdeas(t *testing.T) {
	w := newVoterWorld(t)
	pat, ana := w.person("Pat"), w.person("Ana")
	var ideas []*community.Idea
	for n := range 205 { // three pages of 100
		i, err := w.svc.CreateIdea(w.ctx, pat, community.IdeaInput{Title: fmt.Sprintf("Idea number %d", n), Body: "Please."})
		if err != nil {
			t.Fatal(err)
		}
		ideas = append(ideas, i)
	}
	w.vote(ana, ideas[0], true)
	w.vote(ana, ideas[204], true)
	w.buy(ana, 100000) // after her votes: only the refresh sees it
	if err := w.svc.RefreshVoterValues(w.ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 204} {
		if v := w.stored(ideas[n]); v.Value != 300000 {
			t.Errorf("idea %d: value %d after the refresh, want 300000", n, v.Value)
		}
	}
	if v := w.stored(ideas[100]); v.Value != 0 {
		t.Errorf("idea 100: value %d, want 0", v.Value)
	}
	w.noScans()
}

func TestIdeas_StaffSortByVotersValuePageByPage(t *testing.T) {
	w := newVoterWorld(t)
	pat := w.person("Pat", customers.RoleProduct) // the author of every idea: worth 0
	ana, budi, cita := w.person("Ana"), w.person("Budi"), w.person("Cita")
	w.buy(ana, 100000)          // 300 000
	w.buy(budi, 100000, 200000) // 900 000
	w.buy(cita, 250000)         // 750 000
	one, two, three := w.idea(pat, "Idea One"), w.idea(pat, "Idea Two"), w.idea(pat, "Idea Three")
	four, five, six := w.idea(pat, "Idea Four"), w.idea(pat, "Idea Five"), w.idea(pat, "Idea Six")
	w.vote(ana, one, true)   // 300 000
	w.vote(budi, two, true)  // 900 000
	w.vote(ana, three, true) // 300 000 + 750 000, and the most votes
	w.vote(cita, three, true)
	w.vote(cita, six, true) // 750 000; Four and Five: 0, Five the newer
	_, _ = four, five

	every := func(sort string, limit int) string {
		var titles []string
		for after, pages := "", 0; ; pages++ {
			page, err := w.svc.Ideas(w.ctx, community.IdeaQuery{Sort: sort, Limit: limit, After: after})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Ideas) > limit || pages > 10 {
				t.Fatalf("page of %d ideas, limit %d (page %d)", len(page.Ideas), limit, pages)
			}
			for _, i := range page.Ideas {
				titles = append(titles, strings.TrimPrefix(i.Title, "Idea "))
			}
			if after = page.Next; after == "" {
				return strings.Join(titles, " ")
			}
		}
	}
	const byValue = "Three Two Six One Five Four"
	for _, limit := range []int{1, 2, 4, 6} {
		if got := every(community.IdeasVotersValue, limit); got != byValue {
			t.Errorf("by voters' value, %d a page: %s, want %s", limit, got, byValue)
		}
	}
	if got := every(community.IdeasTop, 2); got == byValue {
		t.Errorf("the top order is the value order (%s): the test proves nothing", got)
	}
	// Budi withdraws: Two is worth nothing now, and falls behind the ideas worth something.
	w.vote(budi, two, false)
	if got := every(community.IdeasVotersValue, 2); got != "Three Six One Five Four Two" {
		t.Errorf("after Budi withdrew: %s", got)
	}
	w.noScans()
}
