package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/identity"
)

// Whatever comes from outside — a JSON body, a JSON Lines import, a cursor, a survey link's
// token — is answered below 500. Its seeds run with every go test; CI fuzzes it briefly
// (.ci/run).
func FuzzOutsideInput(f *testing.F) {
	e := newEnv(f)
	e.category("Help", false)
	p := e.product("Kopi Gayo")
	pm := e.person("pm@example.com", customers.RoleProduct)
	secret, _, err := e.identity.CreateToken(context.Background(), pm, identity.NewToken{Name: "fuzz", Scopes: []string{"read", "write"}})
	if err != nil {
		f.Fatal(err)
	}
	app := e.app(handlers.Config{}, handlers.Deps{})
	for _, seed := range [][2]string{
		{`{"category":"help","title":"Router keeps rebooting","body":"Every hour."}`, ""},
		{`{"title":"Dark mode","body":"At night.","product":"kopi-gayo"}`, "MTIzLjZiMGQzYTEyODczZDIzOTE3NmUwMGM2Yw"},
		{`{"rating":5,"body":"Enak."}` + "\n" + `{"slug":"teh","name":"Teh"}`, "not a cursor"},
		{`{"title":"\u0000","body":[1,{"a":null}]}`, "%00"},
		{`[{"category":1}]`, "gyb_" + strings.Repeat("A", 43)},
		{"\xff\xfe", "../../etc/passwd"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, body, param string) {
		for _, r := range []struct{ method, path, body string }{
			{"POST", "/api/v1/threads", body},
			{"POST", "/api/v1/ideas", body},
			{"POST", "/api/v1/products/" + p.Slug + "/reviews", body},
			{"POST", "/api/v1/products/import", body},
			{"POST", "/api/v1/moderation/decisions", body},
			{"GET", "/api/v1/threads?after=" + url.QueryEscape(param), ""},
			{"GET", "/api/v1/ideas?sort=top&after=" + url.QueryEscape(param), ""},
			{"GET", "/api/v1/products/" + p.Slug + "/reviews?sort=helpful&after=" + url.QueryEscape(param), ""},
			{"GET", "/s/" + url.PathEscape(param), ""},
			{"GET", "/search?q=" + url.QueryEscape(param), ""},
		} {
			req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("Content-Type", "application/json")
			res, err := app.Test(req, 10000)
			if err != nil {
				t.Fatalf("%s %s: %v", r.method, r.path, err)
			}
			res.Body.Close()
			if res.StatusCode >= http.StatusInternalServerError {
				t.Fatalf("%s %s with %q: %d", r.method, r.path, r.body, res.StatusCode)
			}
		}
	})
}
