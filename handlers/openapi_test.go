package handlers_test

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/handlers/apiv1"
)

// described is the API's OpenAPI description and a router over it, made once for every test.
var described = sync.OnceValues(func() (routers.Router, error) {
	doc, err := apiv1.Describe()
	if err != nil {
		return nil, err
	}
	return gorillamux.NewRouter(doc)
})

// validated counts the answers checked against the description, by operation.
var validated sync.Map // operation ID → *int

func init() {
	// JSON Lines: every line is checked against the row's schema; the first stands for all.
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", func(body io.Reader, _ http.Header, schema *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		var first any
		sc := bufio.NewScanner(body)
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			var row any
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			if err := schema.Value.VisitJSON(row); err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			if first == nil {
				first = row
			}
		}
		return first, sc.Err()
	})
}

// checkAPIAnswer fails the test when an /api/v1 answer is not what the OpenAPI description
// says: every API test's answers are checked so, by the browser every test uses.
func checkAPIAnswer(t testing.TB, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, "/api/v1/") || req.URL.Path == "/api/v1/openapi.json" {
		return
	}
	router, err := described()
	if err != nil {
		t.Fatal(err)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		var e struct {
			Error struct {
				Status  int    `json:"status"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if res.StatusCode >= 400 && json.Unmarshal(body, &e) == nil && e.Error.Status == res.StatusCode && e.Error.Message != "" {
			return // no such route (a token's scope is checked before routing), answered as an error
		}
		t.Errorf("%s %s answered %d but is not described: %v", req.Method, req.URL.Path, res.StatusCode, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.StatusCode, Header: res.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true,
			ExcludeResponseBody: res.StatusCode == http.StatusNoContent && route.Operation.Responses.Status(http.StatusNoContent) != nil},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		excerpt := string(body)
		if len(excerpt) > 600 {
			excerpt = excerpt[:600] + "…"
		}
		t.Errorf("%s %s answered %d, not as described: %v\n%s", req.Method, req.URL.Path, res.StatusCode, err, excerpt)
		return
	}
	n, _ := validated.LoadOrStore(route.Operation.OperationID, new(int))
	*n.(*int)++
}

// TestOpenAPI_EveryRouteDescribedAndServed: every /api/v1 route the app mounts (with every
// optional service) is in the description and every described operation is mounted; the
// description is served, is OpenAPI 3.1 and is valid.
func TestOpenAPI_EveryRouteDescribedAndServed(t *testing.T) {
	e := newEnv(t)
	app := e.app(handlers.Config{}, handlers.Deps{})
	doc, err := apiv1.Describe()
	if err != nil {
		t.Fatal(err)
	}
	mounted := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		path, ok := strings.CutPrefix(r.Path, "/api/v1")
		if !ok || r.Method == http.MethodHead || r.Method == "USE" || path == "" || path == "/" {
			continue
		}
		var b strings.Builder // /products/:slug → /products/{slug}
		for i, part := range strings.Split(path, "/") {
			if i > 0 {
				b.WriteString("/")
			}
			if name, ok := strings.CutPrefix(part, ":"); ok {
				part = "{" + name + "}"
			}
			b.WriteString(part)
		}
		key := r.Method + " " + b.String()
		mounted[key] = true
		if item := doc.Paths.Value(b.String()); item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s is mounted but not described", key)
		}
	}
	if len(mounted) < 50 {
		t.Fatalf("only %d API routes found: %v", len(mounted), mounted)
	}
	described := 0
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described++
			if !mounted[method+" "+path] {
				t.Errorf("%s %s is described but not mounted", method, path)
			}
		}
	}

	base := listen(t, app)
	res := newBrowser(t, base).get("/api/v1/openapi.json")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("openapi.json: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	served, err := openapi3.NewLoader().LoadFromData([]byte(res.body))
	if err != nil {
		t.Fatal(err)
	}
	if served.OpenAPI != "3.1.0" || served.Validate(context.Background()) != nil || len(served.Paths.Map()) != len(doc.Paths.Map()) {
		t.Fatalf("served description: version %s, %d paths, valid: %v", served.OpenAPI, len(served.Paths.Map()), served.Validate(context.Background()))
	}
	t.Logf("%d routes mounted, %d operations described", len(mounted), described)
}

// TestOpenAPI_AnswersNotAsDescribedAreCaught: the check every test's API answers pass
// through takes a real answer, and fails on the same answer changed.
func TestOpenAPI_AnswersNotAsDescribedAreCaught(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	p := e.product("Kopi Tubruk")
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/products/"+p.Slug, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	check := func(status int, body string) *recorder {
		rec := &recorder{}
		checkAPIAnswer(rec, req, &http.Response{StatusCode: status, Header: res.Header}, []byte(body))
		return rec
	}
	if rec := check(res.StatusCode, string(body)); rec.failed {
		t.Fatalf("the real answer failed: %s", rec.msg)
	}
	for name, c := range map[string]struct {
		status int
		body   string
	}{
		"a field missing":       {200, strings.Replace(string(body), `"name":`, `"title":`, 1)},
		"an unknown field":      {200, strings.Replace(string(body), `{`, `{"secret": 1, `, 1)},
		"not an ObjectID":       {200, strings.Replace(string(body), p.ID.Hex(), "42", 1)},
		"a status not declared": {201, string(body)},
		"an error not an error": {404, string(body)},
	} {
		if rec := check(c.status, c.body); !rec.failed {
			t.Errorf("%s: passed", name)
		}
	}
}

// recorder is a testing.TB that remembers a failure instead of failing.
type recorder struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
}
func (r *recorder) Fatal(args ...any) { r.failed, r.msg = true, fmt.Sprint(args...) }

// everyOperationChecked fails a run of all the tests in which an operation's answers were
// never checked against the description: each one is called by some test.
func everyOperationChecked() bool {
	if f := flag.Lookup("test.run"); f == nil || f.Value.String() != "" || testing.Short() {
		return true // a chosen few tests
	}
	doc, err := apiv1.Describe()
	if err != nil {
		return false
	}
	var missing []string
	total := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if path == "/openapi.json" {
				continue // checked by loading it
			}
			total++
			if _, ok := validated.Load(op.OperationID); !ok {
				missing = append(missing, method+" "+path)
			}
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the answers of %d of %d API operations were never checked against the OpenAPI description (no test calls them): %s\n",
			len(missing), total, strings.Join(missing, ", "))
		return false
	}
	return true
}

// TestDevelopersPage_EveryOperationInBothLanguages: the readable reference lists every
// described operation, with its body and answer, in English and Indonesian, and links the
// description.
func TestDevelopersPage_EveryOperationInBothLanguages(t *testing.T) {
	e := newEnv(t)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	doc, err := apiv1.Describe()
	if err != nil {
		t.Fatal(err)
	}
	for lang, heading := range map[string]string{"en": "API for developers", "id": "API untuk developer"} {
		res := newBrowser(t, base).get("/developers?lang=" + lang)
		if res.StatusCode != http.StatusOK || !strings.Contains(res.body, heading) || !strings.Contains(res.body, `href="/api/v1/openapi.json"`) {
			t.Fatalf("%s: %d\n%s", lang, res.StatusCode, res.body)
		}
		for path, item := range doc.Paths.Map() {
			if path == "/openapi.json" {
				continue
			}
			for method, op := range item.Operations() {
				if !strings.Contains(res.body, `id="`+op.OperationID+`"`) || !strings.Contains(res.body, `<code>/api/v1`+path+`</code>`) {
					t.Errorf("%s: %s %s is not on the page", lang, method, path)
				}
			}
		}
	}
	page := newBrowser(t, base).get("/developers?lang=en").body
	for _, want := range []string{`<code>rating</code> <span class="muted" title="always sent">*</span></td><td>integer</td>`,
		`Signed-in members who are not suspended`, `<code>reviews.Input</code>`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}
