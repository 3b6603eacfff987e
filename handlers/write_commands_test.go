package handlers_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/store/storetest"
)

// The writes guyub bench drives send no command they do not need: what the request read
// to check the visitor may write is not read again, a review just inserted is not read
// back, and a member's standings move in one command.
func TestAPI_WritesReadNothingTwice(t *testing.T) {
	e := newEnv(t)
	e.category("Help", false)
	ayu, budi := e.person("ayu@example.com"), e.person("budi@example.com")
	e.product("Kopi Gayo")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	asAyu, asBudi := e.apiAs(base, ayu), e.apiAs(base, budi)
	created := func(res response, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(res.body), v); res.StatusCode != 201 || err != nil {
			t.Fatalf("create: %d %s", res.StatusCode, res.body)
		}
	}
	var thread community.Thread
	created(asAyu("POST", "/api/v1/threads", `{"category":"help","title":"Router keeps rebooting","body":"Every hour."}`), &thread)
	var idea community.Idea
	created(asAyu("POST", "/api/v1/ideas", `{"title":"Refill pouches for coffee","body":"Please.","product":"kopi-gayo"}`), &idea)
	var post community.Post
	created(asAyu("POST", "/api/v1/threads/"+thread.ID.Hex()+"/posts", `{"body":"It started after the update."}`), &post)

	for _, w := range []struct{ name, path, body string }{
		{"reply", "/api/v1/threads/" + thread.ID.Hex() + "/posts", `{"body":"Update the firmware."}`},
		{"like", "/api/v1/posts/" + post.ID.Hex() + "/like", `{"like":true}`},
		{"vote", "/api/v1/ideas/" + idea.ID.Hex() + "/vote", `{"vote":true}`},
		{"review", "/api/v1/products/kopi-gayo/reviews", `{"rating":4,"title":"Enak","body":"Barangnya sesuai, pengiriman cepat."}`},
	} {
		storetest.Commands(e.db)
		if res := asBudi("POST", w.path, w.body); res.StatusCode >= 300 {
			t.Fatalf("%s: %d %s", w.name, res.StatusCode, res.body)
		}
		read, standings := map[string]bool{}, 0
		writing := false
		for _, c := range storetest.Commands(e.db) {
			switch {
			case c.Name == "find" && !writing:
				if read[c.String()] {
					t.Errorf("%s read again before writing: %s", w.name, c)
				}
				read[c.String()] = true
			case c.Name == "find" && c.Collection == "reviews" && strings.Contains(c.Filter.String(), `"_id"`):
				t.Errorf("%s read back the review it inserted: %s", w.name, c)
			case c.Name == "update" && c.Collection == "standings":
				standings++
			case c.Name == "insert" || c.Name == "update" || c.Name == "findAndModify" || c.Name == "delete":
				writing = true
			}
		}
		if w.name == "review" && standings != 1 {
			t.Errorf("a review moved the standings in %d commands, want 1", standings)
		}
	}
}
