package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/identity"
)

func TestSurveys_PromptPageLinkAPIAndRecord(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.person("product@example.com", customers.RoleProduct)
	nps, err := e.feedback.SaveSurvey(ctx, staff, bson.ObjectID{}, feedback.SurveyInput{Kind: "nps", Touchpoint: "community",
		QuestionEN: "How likely are you to recommend us?", QuestionID: "Seberapa mungkin Anda merekomendasikan kami?", FollowUp: true, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	cust := e.person("ani@example.com")
	base := listen(t, e.app(handlers.Config{BaseURL: "http://portal.example"}, handlers.Deps{}))

	b := newBrowser(t, base)
	b.signIn("ani@example.com")
	home := b.get("/?lang=id")
	if !strings.Contains(home.body, "Seberapa mungkin Anda merekomendasikan kami?") || !strings.Contains(home.body, `action="/surveys/`+nps.ID.Hex()+`"`) {
		t.Fatal("a signed-in customer is asked the due survey on the home page")
	}
	if res := b.post("/surveys/"+nps.ID.Hex(), url.Values{"score": {"11"}}); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(res.body, "dari 0 sampai 10") {
		t.Fatalf("out of range: %d", res.StatusCode)
	}
	if res := b.post("/surveys/"+nps.ID.Hex(), url.Values{"score": {"9"}, "comment": {"Komunitasnya seru"}}); res.StatusCode != 200 || !strings.Contains(res.body, "Terima kasih") {
		t.Fatalf("answer: %d", res.StatusCode)
	}
	if again := b.get("/"); strings.Contains(again.body, `action="/surveys/`) {
		t.Fatal("an answered survey is not asked again in the period")
	}
	if res := b.post("/surveys/"+nps.ID.Hex(), url.Values{"score": {"3"}}); res.StatusCode != http.StatusConflict {
		t.Fatalf("answering twice: %d", res.StatusCode)
	}

	// A personal link, answered signed out.
	s := newBrowser(t, base)
	s.signIn("product@example.com")
	s.get("/admin/surveys")
	other := e.person("budi@example.com")
	res := s.post("/admin/surveys/"+nps.ID.Hex()+"/link", url.Values{"email": {"budi@example.com"}})
	i := strings.Index(res.body, "http://portal.example/s/")
	if res.StatusCode != http.StatusCreated || i < 0 {
		t.Fatalf("link: %d", res.StatusCode)
	}
	path := res.body[i+len("http://portal.example") : i+strings.Index(res.body[i:], "<")]
	anon := newBrowser(t, base)
	if page := anon.get(path); page.StatusCode != 200 || !strings.Contains(page.body, "How likely") {
		t.Fatalf("link page: %d", page.StatusCode)
	}
	if res := anon.post(path, url.Values{"score": {"4"}, "_csrf": {anonCSRF(t, anon, path)}}); res.StatusCode != 200 {
		t.Fatalf("answer by link: %d %s", res.StatusCode, res.body)
	}
	if res := anon.get("/s/forged-token"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("a forged link: %d", res.StatusCode)
	}

	// The API, idempotent by key.
	secret, _, _ := e.identity.CreateToken(ctx, staff, identity.NewToken{Name: "crm", Scopes: []string{"read", "write"}})
	send := func(body, idempotencyKey string) response {
		req, _ := http.NewRequest("POST", base+"/api/v1/surveys/"+nps.ID.Hex()+"/responses", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		if idempotencyKey != "" {
			req.Header.Set("Idempotency-Key", idempotencyKey)
		}
		return newBrowser(t, base).do(req)
	}
	answer := `{"customer_id":"` + other.ID.Hex() + `","score":10,"key":"call-1","at":"2026-11-01T10:00:00Z"}`
	if first, second := send(answer, "").StatusCode, send(answer, "").StatusCode; first != 201 || second != 200 {
		t.Fatalf("API answers: %d then %d, want 201 then 200", first, second)
	}
	// The header every API write takes works here too: a retry is answered as the first time.
	retry := `{"customer_id":"` + other.ID.Hex() + `","score":8,"key":"call-2","at":"2026-11-02T10:00:00Z"}`
	first, again := send(retry, "crm-42"), send(retry, "crm-42")
	if first.StatusCode != 201 || again.StatusCode != 201 || again.Header.Get("Idempotent-Replayed") != "true" || again.body != first.body {
		t.Fatalf("Idempotency-Key: %d then %d (replayed %q)", first.StatusCode, again.StatusCode, again.Header.Get("Idempotent-Replayed"))
	}
	if other := send(answer, "crm-42"); other.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("the key with another answer: %d", other.StatusCode)
	}

	got, _ := e.customers.Get(ctx, cust.ID)
	if got.Satisfaction.NPSCat != customers.NPSPromoter || got.Satisfaction.Score != 90 {
		t.Fatalf("Ani's record: %+v", got.Satisfaction)
	}
	rec := s.get("/staff/customers/" + cust.ID.Hex() + "?lang=en")
	if !strings.Contains(rec.body, "Promoter") || !strings.Contains(rec.body, "NPS 9 — Komunitasnya seru") {
		t.Fatalf("the record shows the answer:\n%s", rec.body)
	}
}

func anonCSRF(t *testing.T, b *browser, path string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(b.get(path).body)
	if m == nil {
		t.Fatal("no CSRF token on the survey page")
	}
	return m[1]
}

func TestKPIPageAndAPIs_RoleGuardsAndFigures(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.person("product@example.com", customers.RoleProduct)
	e.person("mod@example.com", customers.RoleModerator)
	nps, _ := e.feedback.SaveSurvey(ctx, staff, bson.ObjectID{}, feedback.SurveyInput{Kind: "nps", Touchpoint: "community",
		QuestionEN: "Recommend?", QuestionID: "Rekomendasi?", Active: true})
	fan := e.person("fan@example.com")
	nine := 9
	if _, _, err := e.feedback.Answer(ctx, fan, nps.ID, feedback.AnswerInput{Score: &nine}, "portal"); err != nil {
		t.Fatal(err)
	}
	kopi := e.product("Kopi Gayo")
	e.review(fan, kopi, 4, "Enak dan harum.")
	e.sync()
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	p := newBrowser(t, base)
	p.signIn("product@example.com")
	page := p.get("/staff/kpis?days=30&lang=en")
	if page.StatusCode != 200 || !strings.Contains(page.body, "<p class=\"big\">100.0</p>") || !strings.Contains(page.body, "1 promoters, 0 passives, 0 detractors") {
		t.Fatalf("KPI page: %d", page.StatusCode)
	}
	// Reviews count too; a figure with no answers is a dash, not 0.0; products are picked.
	if !strings.Contains(page.body, "4.0 ★") || !strings.Contains(page.body, "from 1 review") || !strings.Contains(page.body, "no answers in the period") ||
		!strings.Contains(page.body, `<option value="kopi-gayo">Kopi Gayo</option>`) {
		t.Fatalf("KPI page's reviews, empty figures and product picker:\n%s", page.body)
	}
	if other := p.get("/staff/kpis?days=30&lang=id&product=kopi-gayo"); !strings.Contains(other.body, "4,0 ★") || !strings.Contains(other.body, `<option value="kopi-gayo" selected>`) {
		t.Fatalf("one product, in Indonesian:\n%s", other.body)
	}
	// The period ends today, not tomorrow.
	if today, tomorrow := time.Now().UTC(), time.Now().UTC().AddDate(0, 0, 1); !strings.Contains(page.body, "– "+today.Format("2 January 2006")+" ·") ||
		strings.Contains(page.body, "– "+tomorrow.Format("2 January 2006")) {
		t.Fatalf("the period's end:\n%s", page.body)
	}
	// The charts follow the period: weeks for 30 days, months for a year.
	if !strings.Contains(page.body, "NPS by week") || strings.Contains(page.body, "NPS by month") {
		t.Fatal("30 days are charted by week")
	}
	if year := p.get("/staff/kpis?days=365&lang=en"); !strings.Contains(year.body, "NPS by month") {
		t.Fatal("a year is charted by month")
	}
	if !strings.Contains(page.body, `<circle class="dot"`) {
		t.Fatal("the NPS trend is drawn")
	}
	api := p.get("/api/v1/insights/kpis?from=2026-01-01&to=2026-12-31")
	if api.StatusCode != 200 || !strings.Contains(api.body, `"NPS":100`) {
		t.Fatalf("KPI API: %d %s", api.StatusCode, api.body)
	}
	if bad := p.get("/api/v1/insights/kpis?from=2026-12-31&to=2026-01-01"); bad.StatusCode != 422 {
		t.Fatalf("a backwards period: %d", bad.StatusCode)
	}
	m := newBrowser(t, base)
	m.signIn("mod@example.com")
	if res := m.get("/staff/kpis"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a moderator on KPIs: %d", res.StatusCode)
	}
	rec := m.get("/api/v1/customers/" + fan.ID.Hex())
	if rec.StatusCode != 200 || strings.Contains(rec.body, "fan@example.com") || !strings.Contains(rec.body, `"nps_category":"promoter"`) {
		t.Fatalf("a moderator sees the record without email: %s", rec.body)
	}
	if full := p.get("/api/v1/customers/" + fan.ID.Hex()); !strings.Contains(full.body, "fan@example.com") {
		t.Fatal("product staff see the email")
	}
	if list := p.get("/api/v1/customers?nps=promoter"); !strings.Contains(list.body, fan.ID.Hex()) || strings.Contains(list.body, staff.ID.Hex()) {
		t.Fatalf("filter by NPS category: %s", list.body)
	}
	cust := newBrowser(t, base)
	cust.signIn("fan@example.com")
	if res := cust.get("/api/v1/customers/" + fan.ID.Hex()); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a customer on the customers API: %d", res.StatusCode)
	}
}

// A page's form cannot set what only staff integrations may: an answer posted to a survey
// page (or a personal link) as JSON with a key and a date is refused, and a form's key and
// date are ignored, so the once-a-period rule holds and no answer is backdated. A suspended
// customer cannot answer at all.
func TestSurveys_PagesCannotForgeKeysDatesOrAnswerTwice(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff := e.person("product@example.com", customers.RoleProduct)
	nps, err := e.feedback.SaveSurvey(ctx, staff, bson.ObjectID{}, feedback.SurveyInput{Kind: "nps", Touchpoint: "community",
		QuestionEN: "How likely are you to recommend us?", QuestionID: "Seberapa mungkin Anda merekomendasikan kami?", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	ani := e.person("ani@example.com")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn("ani@example.com")
	b.get("/surveys/" + nps.ID.Hex())
	csrf := b.csrf()
	forge := func(key string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/surveys/"+nps.ID.Hex(),
			strings.NewReader(`{"score":10,"key":"`+key+`","at":"2020-01-01T00:00:00Z","_csrf":"`+csrf+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		return b.do(req).StatusCode
	}
	for _, key := range []string{"a", "b", "c"} {
		if status := forge(key); status != http.StatusUnsupportedMediaType {
			t.Fatalf("a JSON answer with key %q: %d", key, status)
		}
	}
	// The form's own key and at fields are ignored: answered once, not backdated.
	if res := b.post("/surveys/"+nps.ID.Hex(), url.Values{"score": {"9"}, "key": {"k1"}, "at": {"2020-01-01T00:00:00Z"}}); res.StatusCode != 200 {
		t.Fatalf("answer: %d", res.StatusCode)
	}
	if res := b.post("/surveys/"+nps.ID.Hex(), url.Values{"score": {"9"}, "key": {"k2"}}); res.StatusCode != http.StatusConflict {
		t.Fatalf("a second answer with another key: %d", res.StatusCode)
	}
	list, err := e.feedback.ResponsesBy(ctx, ani.ID, time.Now().Add(time.Hour), 10)
	if err != nil || len(list) != 1 || list[0].Key != "" || time.Since(list[0].At) > time.Minute {
		t.Fatalf("stored answers: %+v %v", list, err)
	}

	// Suspended, not even by a personal link.
	mod := e.person("mod@example.com", customers.RoleModerator)
	budi := e.person("budi@example.com")
	if err := e.moderation.Suspend(ctx, mod, budi.ID, "spam", nil); err != nil {
		t.Fatal(err)
	}
	token, err := e.feedback.CreateLink(ctx, staff, nps.ID, budi.ID)
	if err != nil {
		t.Fatal(err)
	}
	anon := newBrowser(t, base)
	path := "/s/" + token
	if res := anon.post(path, url.Values{"score": {"4"}, "_csrf": {anonCSRF(t, anon, path)}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("a suspended customer's answer: %d", res.StatusCode)
	}
}
