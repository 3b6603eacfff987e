package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
)

// Admins add, rename and edit themes; feedback is read again with them; bad input is
// answered field by field.
func TestThemes_AdminEditsAndReanalysis(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	e.person("admin@example.com", customers.RoleAdmin)
	e.person("product@example.com", customers.RoleProduct)
	phone := e.product("Ponsel Murah")
	r := e.review(e.person("a@example.com"), phone, 2, "Baterainya cepat habis, charging lama sekali.")
	e.sync()
	id := "review-" + r.ID.Hex()
	if it := e.item(id); contains(it.Themes, "battery") || !contains(it.Themes, "reliability") {
		t.Fatalf("before: %v", it.Themes)
	}

	admin := newBrowser(t, base)
	admin.signIn("admin@example.com")
	if page := admin.get("/admin/themes?lang=id"); page.StatusCode != http.StatusOK || !strings.Contains(page.body, "Rasa dan aroma") {
		t.Fatalf("themes page: %d", page.StatusCode)
	}
	admin.get("/admin/themes?lang=en") // back to English for the messages below
	bad := admin.post("/admin/themes", url.Values{"key": {"Battery Life"}, "name_en": {"Battery"}, "name_id": {""}, "cues": {"baterai"}})
	if bad.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(bad.body, "lower-case letters") || !strings.Contains(bad.body, "This field is required") {
		t.Fatalf("bad theme: %d\n%s", bad.StatusCode, bad.body)
	}
	if res := admin.post("/admin/themes", url.Values{"key": {"battery"}, "name_en": {"Battery"}, "name_id": {"Baterai"}, "cues": {"battery, baterai*\ncharg*"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d\n%s", res.StatusCode, res.body)
	}
	if err := e.insights.Reanalyse(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if it := e.item(id); !contains(it.Themes, "battery") {
		t.Fatalf("after adding battery: %v", it.Themes)
	}
	// Renamed, and a cue taken away: the review no longer matches by "baterai*" but still by "charg*".
	if res := admin.post("/admin/themes/battery", url.Values{"name_en": {"Battery life"}, "name_id": {"Daya tahan baterai"}, "cues": {"battery\ncharg*"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", res.StatusCode, res.body)
	}
	e.insights.Reanalyse(ctx, nil)
	if page := admin.get("/admin/themes?lang=id"); !strings.Contains(page.body, "Daya tahan baterai") {
		t.Fatal("the new name is not shown")
	}
	if it := e.item(id); !contains(it.Themes, "battery") {
		t.Fatalf("after the edit: %v", it.Themes)
	}
	if res := admin.post("/admin/themes/battery/delete", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	e.insights.Reanalyse(ctx, nil)
	if it := e.item(id); contains(it.Themes, "battery") {
		t.Fatalf("after deleting: %v", it.Themes)
	}
	if res := admin.post("/admin/themes/nope", url.Values{"name_en": {"x"}, "name_id": {"x"}, "cues": {"x"}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown theme: %d", res.StatusCode)
	}
	staff := newBrowser(t, base)
	staff.signIn("product@example.com")
	if res := staff.get("/admin/themes"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("product staff on the themes page: %d", res.StatusCode)
	}
}
