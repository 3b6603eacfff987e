package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/store"
)

// votersWorld: three ideas whose order by votes is not their order by the voters' value.
//
//	Dark mode:    Dewi (0), Ana (300 000), Budi (600 000, at risk) — 3 votes, Rp 900 000
//	Offline maps: Dewi (0), Cita (3 000 000)                       — 2 votes, Rp 3 000 000
//	Bigger font:  Dewi (0)                                          — 1 vote,  Rp 0
type votersWorld struct {
	e                *env
	base             string
	dark, maps, font *community.Idea
}

func newVotersWorld(t *testing.T) *votersWorld {
	t.Helper()
	e := newEnv(t)
	ctx := context.Background()
	w := &votersWorld{e: e, base: listen(t, e.app(handlers.Config{}, handlers.Deps{Pages: handlers.NewPageCache(time.Hour, 8<<20)}))}
	dewi := e.person("dewi@example.com")
	ana, budi, cita := e.person("ana@example.com"), e.person("budi@example.com"), e.person("cita@example.com")
	e.person("pat@example.com", customers.RoleProduct)
	e.person("mo@example.com", customers.RoleModerator)
	e.person("root@example.com", customers.RoleAdmin)
	// One order each: CLTV = amount × 1 order a year × 3 years.
	for i, buy := range []struct {
		who    *customers.Customer
		amount int64
	}{{ana, 100000}, {budi, 200000}, {cita, 1000000}} {
		p := customers.Purchase{ProductID: bson.NewObjectID(), OrderID: "A-" + string(rune('1'+i)), Amount: buy.amount}
		if _, err := e.customers.AddPurchase(ctx, buy.who.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	// Budi is a detractor: at risk.
	if err := e.customers.RecordSignal(ctx, customers.SurveySignal(budi.ID, customers.SignalNPS, "r1", 1, time.Now())); err != nil {
		t.Fatal(err)
	}
	idea := func(title string) *community.Idea {
		i, err := e.community.CreateIdea(ctx, dewi, community.IdeaInput{Title: title, Body: "It would help a lot."})
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	w.dark, w.maps, w.font = idea("Dark mode"), idea("Offline maps"), idea("Bigger font")
	// Ana votes through the page, the others through the service.
	b := newBrowser(t, w.base)
	b.signIn("ana@example.com")
	if res := b.post("/ideas/"+w.dark.ID.Hex()+"/vote", url.Values{"vote": {"1"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("vote: %d\n%s", res.StatusCode, res.body)
	}
	for _, v := range []struct {
		who  *customers.Customer
		idea *community.Idea
	}{{budi, w.dark}, {cita, w.maps}} {
		voter, err := e.customers.Get(ctx, v.who.ID) // as a request reads it: after the purchases
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.community.Vote(ctx, voter, v.idea.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *votersWorld) as(t *testing.T, email string) *browser {
	t.Helper()
	b := newBrowser(t, w.base)
	if email != "" {
		b.signIn(email)
	}
	return b
}

// The figures as the idea page shows them, in each language.
var votersFigures = map[string][]string{
	"en": {"Who wants it", "Voters&#39; lifetime value", "Rp 900,000", "Voters at risk", "1 of 3", "Exploration <strong>1</strong>",
		"Expansion <strong>1</strong>", "Dissolution <strong>1</strong>"},
	"id": {"Siapa yang menginginkannya", "Nilai seumur hidup pemilih", "Rp 900.000", "Pemilih berisiko", "1 dari 3", "Menjelajah <strong>1</strong>",
		"Berkembang <strong>1</strong>", "Menjauh <strong>1</strong>"},
}

// secrets are what nobody but product staff may find on a page: the section, its numbers.
var secrets = []string{"voters-summary", "voters-facts", "voters-line", "900,000", "900.000", "3,000,000", "3.000.000", `href="?sort=voters_value"`,
	"Voters&#39;", "Nilai seumur hidup pemilih", "Nilai pemilih"}

func TestIdeaPage_VotersFiguresForProductStaffOnly(t *testing.T) {
	w := newVotersWorld(t)
	page := w.dark.URL()
	hide := func(who string, res response) {
		t.Helper()
		if res.StatusCode != http.StatusOK || !strings.Contains(res.body, "Dark mode") {
			t.Fatalf("%s: %d\n%s", who, res.StatusCode, res.body)
		}
		for _, s := range secrets {
			if strings.Contains(res.body, s) {
				t.Errorf("%s sees %q", who, s)
			}
		}
	}
	show := func(who, lang string, res response) {
		t.Helper()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d\n%s", who, res.StatusCode, res.body)
		}
		for _, s := range votersFigures[lang] {
			if !strings.Contains(res.body, s) {
				t.Errorf("%s (%s) does not see %q", who, lang, s)
			}
		}
	}

	anon := w.as(t, "")
	hide("a visitor", anon.get(page))
	if res := anon.get(page); res.Header.Get("X-Cache") != "hit" {
		t.Fatalf("the visitor's page was not cached (X-Cache %q): this test would not see a cached leak", res.Header.Get("X-Cache"))
	} else {
		hide("a visitor (cached)", res)
	}
	hide("a visitor in Indonesian", w.as(t, "").get(page+"?lang=id"))
	hide("a customer who voted", w.as(t, "ana@example.com").get(page))
	hide("the author", w.as(t, "dewi@example.com").get(page))
	hide("a moderator", w.as(t, "mo@example.com").get(page))

	pat := w.as(t, "pat@example.com")
	show("product staff", "en", pat.get(page))
	show("product staff", "id", pat.get(page+"?lang=id"))
	show("an admin", "en", w.as(t, "root@example.com").get(page))
	// What staff were shown was not kept for visitors.
	hide("a visitor after staff", w.as(t, "").get(page))

	// The figures follow a withdrawn vote: Budi's 600 000, his risk and his stage go.
	budi := mustCustomer(t, w.e, "budi@example.com")
	if _, err := w.e.community.Vote(context.Background(), budi, w.dark.ID, false); err != nil {
		t.Fatal(err)
	}
	res := pat.get(page + "?lang=en")
	for _, s := range []string{"Rp 300,000", "0 of 2", "Exploration <strong>1</strong>", "Expansion <strong>1</strong>"} {
		if !strings.Contains(res.body, s) {
			t.Errorf("after a withdrawn vote, staff do not see %q", s)
		}
	}
	if strings.Contains(res.body, "Dissolution <strong>") {
		t.Error("the withdrawn voter's stage is still counted")
	}
}

var rowTitle = regexp.MustCompile(`class="thread-title" href="[^"]+">([^<]+)</a>`)

func titles(body string) string {
	var out []string
	for _, m := range rowTitle.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return strings.Join(out, " | ")
}

func TestIdeas_StaffSortByVotersValue(t *testing.T) {
	w := newVotersWorld(t)
	const top, byValue = "Dark mode | Offline maps | Bigger font", "Offline maps | Dark mode | Bigger font"

	// Product staff: the order is offered, and each row says what its voters are worth.
	pat := w.as(t, "pat@example.com")
	list := pat.get("/ideas")
	if !strings.Contains(list.body, `href="?sort=voters_value"`) || !strings.Contains(list.body, "Voters&#39; value") {
		t.Errorf("staff are not offered the voters' value order:\n%s", list.body)
	}
	for _, s := range []string{"Rp 900,000", "Rp 3,000,000", "1 at risk", "Dissolution 1"} {
		if !strings.Contains(list.body, s) {
			t.Errorf("staff's list does not show %q", s)
		}
	}
	if got := titles(list.body); got != top {
		t.Errorf("top: %s", got)
	}
	sorted := pat.get("/ideas?sort=voters_value")
	if got := titles(sorted.body); got != byValue {
		t.Errorf("by voters' value: %s, want %s", got, byValue)
	}
	if !strings.Contains(sorted.body, `name="sort" value="voters_value"`) {
		t.Error("the status filter does not keep the voters' value order")
	}
	if got := titles(pat.get("/ideas?sort=voters_value&lang=id").body); got != byValue {
		t.Errorf("by voters' value, in Indonesian: %s", got)
	}
	if !strings.Contains(pat.last.body, "Nilai pemilih") || !strings.Contains(pat.last.body, "Rp 3.000.000") {
		t.Error("the Indonesian list lacks the order's name or the value")
	}

	// Customers and visitors: neither the order, nor the figures, nor the ranking.
	for _, who := range []string{"", "ana@example.com", "mo@example.com"} {
		b := w.as(t, who)
		for _, path := range []string{"/ideas", "/ideas?sort=voters_value"} {
			res := b.get(path)
			if got := titles(res.body); res.StatusCode != http.StatusOK || got != top {
				t.Errorf("%q %s: %d, %s, want the top order", who, path, res.StatusCode, got)
			}
			for _, s := range secrets {
				if strings.Contains(res.body, s) {
					t.Errorf("%q %s shows %q", who, path, s)
				}
			}
		}
	}

	// The API: staff page through the order one idea at a time; others get the top order,
	// and nobody gets the figures.
	page := func(api func(method, path, body string) response, after string) (string, string) {
		t.Helper()
		res := api("GET", "/api/v1/ideas?sort=voters_value&limit=1&after="+url.QueryEscape(after), "")
		if strings.Contains(res.body, "voters") || strings.Contains(res.body, "3000000") {
			t.Errorf("the API gives out the voters' figures: %s", res.body)
		}
		var p struct {
			Ideas []struct {
				Title string `json:"title"`
			} `json:"ideas"`
			Next string `json:"next"`
		}
		if err := json.Unmarshal([]byte(res.body), &p); err != nil || len(p.Ideas) != 1 {
			t.Fatalf("%d %s", res.StatusCode, res.body)
		}
		return p.Ideas[0].Title, p.Next
	}
	walk := func(api func(method, path, body string) response) string {
		var got []string
		for after := ""; ; {
			title, next := page(api, after)
			got = append(got, title)
			if after = next; after == "" || len(got) > 5 {
				return strings.Join(got, " | ")
			}
		}
	}
	if got := walk(w.e.apiAs(w.base, mustCustomer(t, w.e, "pat@example.com"))); got != byValue {
		t.Errorf("API, staff, by voters' value: %s", got)
	}
	if got := walk(w.e.apiAs(w.base, mustCustomer(t, w.e, "ana@example.com"))); got != top {
		t.Errorf("API, a customer asking for the voters' value order: %s, want %s", got, top)
	}
}

func TestMemberData_LeavesOutTheVotersFigures(t *testing.T) {
	w := newVotersWorld(t)
	dewi := mustCustomer(t, w.e, "dewi@example.com")
	ideas := 0
	err := store.ExportMember(context.Background(), w.e.db, dewi.ID, community.MemberData, func(coll string, docs []bson.M) error {
		for _, d := range docs {
			if coll != "ideas" {
				continue
			}
			ideas++
			if v, ok := d["voters"]; ok {
				t.Errorf("the author's download holds her voters' figures: %v", v)
			}
		}
		return nil
	})
	if err != nil || ideas != 3 {
		t.Fatalf("%d ideas exported, %v", ideas, err)
	}
}
