package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/demo"
	"github.com/guyub/guyub/store"
)

// runCmd runs a guyub command in-process and returns what it printed.
func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	p := program{stdout: &out, stderr: &out}
	err := p.run(context.Background(), args)
	return out.String(), err
}

func TestAdminCreate_WithoutAServerThenPromoteIdempotently(t *testing.T) {
	dir := t.TempDir()
	out, err := runCmd(t, "admin", "create", "--data", dir, "--email", "Boss@Example.com", "--password", "kopi susu gula aren")
	if err != nil || !strings.Contains(out, "created boss@example.com") || !strings.Contains(out, "has the admin role") {
		t.Fatalf("create: %v\n%s", err, out)
	}
	out, err = runCmd(t, "admin", "create", "--data", dir, "--email", "boss@example.com")
	if err != nil || strings.Contains(out, "created") {
		t.Fatalf("second run should only confirm: %v\n%s", err, out)
	}
	if _, err := runCmd(t, "admin", "create", "--data", dir, "--email", "new@example.com", "--password", "password123"); err == nil ||
		!strings.Contains(err.Error(), "password: This password is one of the most common ones") {
		t.Fatalf("a common password: %v", err)
	}
	var out2 bytes.Buffer
	p := program{stdin: strings.NewReader("teh botol dingin\n"), stdout: &out2, stderr: &out2}
	if err := p.run(context.Background(), []string{"admin", "create", "--data", dir, "--email", "piped@example.com", "--password", "-"}); err != nil {
		t.Fatalf("password from standard input: %v\n%s", err, out2.String())
	}
	if _, err := runCmd(t, "admin", "create", "--data", dir, "--email", "x@example.com", "--password", "long enough pass", "--role", "owner"); err == nil ||
		!strings.Contains(err.Error(), `unknown role "owner"`) {
		t.Fatalf("unknown role: %v", err)
	}
}

// The admin commands join a running server's embedded database instead of opening its
// files a second time; the server sees the account and the token at once.
func TestAdminCommands_JoinARunningServer(t *testing.T) {
	dir := t.TempDir()
	r := start(t, "--data", dir)
	if _, err := runCmd(t, "admin", "create", "--data", dir, "--email", "ops@example.com", "--password", "nasi uduk betawi", "--role", "product"); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "admin", "token", "--data", dir, "--email", "ops@example.com", "--name", "CRM", "--scopes", "read,write")
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(out)
	if !regexp.MustCompile(`^gyb_[A-Za-z0-9_-]{40,}$`).MatchString(token) {
		t.Fatalf("token output = %q", out)
	}
	req, _ := http.NewRequest(http.MethodGet, r.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("the running server refused the new token: %d", res.StatusCode)
	}
	if _, err := runCmd(t, "admin", "token", "--data", dir, "--email", "nobody@example.com", "--name", "x"); err == nil {
		t.Fatal("a token for an unknown account must fail")
	}
}

func TestDemo_LoadsOnceAndTheAdminCanSignIn(t *testing.T) {
	dir := t.TempDir()
	first := start(t, "--data", dir, "--demo")
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(first.Log.String(), "Demo content loaded") || !strings.Contains(first.Log.String(), "5 threads, 6 ideas") ||
		!strings.Contains(first.Log.String(), "admin@guyub.example / guyub-demo-2026") {
		t.Fatalf("first run should load and say how to sign in:\n%s", first.Log)
	}
	second := start(t, "--data", dir, "--demo")
	if !strings.Contains(second.Log.String(), "Demo content is already loaded") {
		t.Fatalf("second run should change nothing:\n%s", second.Log)
	}

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	res, err := client.Get(second.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	page := new(bytes.Buffer)
	page.ReadFrom(res.Body)
	res.Body.Close()
	csrf := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(page.String())
	if csrf == nil {
		t.Fatal("no CSRF token on the sign-in page")
	}
	res, err = client.PostForm(second.URL+"/signin", url.Values{"_csrf": {csrf[1]}, "email": {"admin@guyub.example"}, "password": {"guyub-demo-2026"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	res, err = client.Get(second.URL + "/admin/accounts")
	if err != nil {
		t.Fatal(err)
	}
	page.Reset()
	page.ReadFrom(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(page.String(), "Ayu Lestari") || !strings.Contains(page.String(), "Emma Clarke") {
		t.Fatalf("the demo admin should see the demo accounts: %d", res.StatusCode)
	}
}

func TestRepair_ReportsAndFixesNothingOnHealthyData(t *testing.T) {
	dir := t.TempDir()
	first := start(t, "--data", dir, "--demo")
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "repair", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "products: 4 checked, 0 fixed") || !strings.Contains(out, "reviews: 9 checked, 0 fixed") ||
		!strings.Contains(out, "customers: 7 scores and stages recomputed") {
		t.Fatalf("repair output:\n%s", out)
	}
	// reanalyze gives insights every piece of feedback, whatever the sync had done: the
	// demo's 9 reviews and 29 survey comments at least, threads, replies and ideas too.
	out, err = runCmd(t, "reanalyze", "--data", dir)
	m := regexp.MustCompile(`(\d+) pieces of feedback analysed`).FindStringSubmatch(out)
	if n, _ := strconv.Atoi(m[1]); err != nil || n < 50 {
		t.Fatalf("reanalyze: %v\n%s", err, out)
	}
}

func TestSearch_DemoContentIsFoundAndReindexRebuildsIt(t *testing.T) {
	dir := t.TempDir()
	r := start(t, "--data", dir, "--demo")
	// The sync worker indexes the demo content in the background.
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, body := httpGet(t, r.URL+"/api/v1/search?q=kopi")
		if strings.Contains(body, `"total":`) && !strings.Contains(body, `"total":0`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo content never became searchable: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := runCmd(t, "reindex", "--data", dir); err == nil || !strings.Contains(err.Error(), "stop it first") {
		t.Fatalf("reindex beside a running embedded server: %v", err)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "reindex", "--data", dir)
	if err != nil || !strings.Contains(out, "reindexed in") {
		t.Fatalf("reindex: %v\n%s", err, out)
	}
	again := start(t, "--data", dir)
	if _, body := httpGet(t, again.URL+"/search?q=kopi"); !strings.Contains(body, "<mark>") {
		t.Fatal("after reindex the demo content is still found")
	}
	// Forums and ideas are rebuilt too: a thread, its replies and an idea, each by its kind.
	for _, kind := range []string{"thread", "post", "idea"} {
		if _, body := httpGet(t, again.URL+"/api/v1/search?q=kopi&kind="+kind); strings.Contains(body, `"total":0`) {
			t.Errorf("after reindex no %s about kopi is found: %s", kind, body)
		}
	}
	// An index made anew (removed here; an older release's mapping does the same) is filled
	// from the database before the server answers, forums in their own facet.
	if err := again.stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "search")); err != nil {
		t.Fatal(err)
	}
	third := start(t, "--data", dir)
	if _, body := httpGet(t, third.URL+"/api/v1/search?q=kopi&kind=thread"); strings.Contains(body, `"total":0`) || !strings.Contains(body, `"forum":{"coffee":`) {
		t.Errorf("a new index at start: %s", body)
	}
	if !strings.Contains(third.Log.String(), "search index filled") {
		t.Errorf("the log does not say the index was filled:\n%s", third.Log)
	}
}

// The full repair job — what serve tries at start-up and hourly, once a day — puts a
// counter a crash left wrong right by itself; run again the same day it does nothing.
func TestRepairJob_PutsCountersRightByItself(t *testing.T) {
	ctx := context.Background()
	svc, log := demoServices(t)
	threads := svc.store.DB.Collection("threads")
	var before struct {
		ID         bson.ObjectID `bson:"_id"`
		ReplyCount int           `bson:"reply_count"`
	}
	if err := threads.FindOne(ctx, bson.M{"reply_count": bson.M{"$gt": 0}}).Decode(&before); err != nil {
		t.Fatal(err)
	}
	// A crash between a reply and its count: the thread says 40 replies.
	if _, err := threads.UpdateOne(ctx, bson.M{"_id": before.ID}, bson.M{"$set": bson.M{"reply_count": 40}}); err != nil {
		t.Fatal(err)
	}
	job := svc.repairJob(log)
	for range 2 {
		if err := job(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var after struct {
		ReplyCount int `bson:"reply_count"`
	}
	if err := threads.FindOne(ctx, bson.M{"_id": before.ID}).Decode(&after); err != nil || after.ReplyCount != before.ReplyCount {
		t.Fatalf("reply count after the repair job: %d, want %d (%v)", after.ReplyCount, before.ReplyCount, err)
	}
}

// The in-flight repair — what serve runs at start-up and every minute — recounts exactly
// what stale marks name: a crashed process's at once, an old one after the grace, and
// nothing a live write is still changing, nor anything unmarked (it does not rescan).
func TestRepairInFlight_RecountsOnlyWhatAWriteLeftMarked(t *testing.T) {
	ctx := context.Background()
	svc, log := demoServices(t)
	type counted struct {
		ID         bson.ObjectID `bson:"_id"`
		ReplyCount int           `bson:"reply_count"`
		VoteCount  int           `bson:"vote_count"`
		Likes      int           `bson:"likes"`
		Rating     struct {
			Count int `bson:"count"`
		} `bson:"rating"`
	}
	pick := func(coll string, filter bson.M, n int) []counted {
		cur, err := svc.store.DB.Collection(coll).Find(ctx, filter, options.Find().SetLimit(int64(n)))
		if err != nil {
			t.Fatal(err)
		}
		var out []counted
		if err := cur.All(ctx, &out); err != nil || len(out) < n {
			t.Fatalf("%s: %d of %d (%v)", coll, len(out), n, err)
		}
		return out
	}
	threads := pick("threads", bson.M{"reply_count": bson.M{"$gt": 0}}, 3)
	idea := pick("ideas", bson.M{"vote_count": bson.M{"$gt": 0}}, 1)[0]
	product := pick("products", bson.M{"rating.count": bson.M{"$gt": 0}}, 1)[0]
	set := func(coll string, id bson.ObjectID, field string, v int) {
		if _, err := svc.store.DB.Collection(coll).UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{field: v}}); err != nil {
			t.Fatal(err)
		}
	}
	// Four writes died between their steps, leaving their counters wrong.
	for _, th := range threads {
		set("threads", th.ID, "reply_count", 40)
	}
	set("ideas", idea.ID, "vote_count", 40)
	set("products", product.ID, "rating.count", 40)
	host, _, _ := strings.Cut(store.ProcessOwner(), "/")
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	crashed := fmt.Sprintf("%s/%d/%x", host, gone.Process.Pid, 1)
	now := time.Now().UTC()
	marks := []any{
		store.Mark{ID: bson.NewObjectID(), Kind: "thread", Target: threads[0].ID, Owner: crashed, At: now},
		store.Mark{ID: bson.NewObjectID(), Kind: "idea", Target: idea.ID, Owner: crashed, At: now},
		store.Mark{ID: bson.NewObjectID(), Kind: "rating", Target: product.ID, Owner: "other-host/1/ab", At: now.Add(-5 * time.Minute)},
		// a write on another instance, still running
		store.Mark{ID: bson.NewObjectID(), Kind: "thread", Target: threads[1].ID, Owner: "other-host/1/ab", At: now},
	}
	if _, err := svc.store.DB.Collection("in_flight").InsertMany(ctx, marks); err != nil {
		t.Fatal(err)
	}
	if err := svc.repairInFlight(log)(ctx); err != nil {
		t.Fatal(err)
	}
	get := func(coll string, id bson.ObjectID) counted {
		var c counted
		if err := svc.store.DB.Collection(coll).FindOne(ctx, bson.M{"_id": id}).Decode(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if got := get("threads", threads[0].ID).ReplyCount; got != threads[0].ReplyCount {
		t.Errorf("the crashed write's thread counts %d replies, want %d", got, threads[0].ReplyCount)
	}
	if got := get("ideas", idea.ID).VoteCount; got != idea.VoteCount {
		t.Errorf("the crashed write's idea counts %d votes, want %d", got, idea.VoteCount)
	}
	if got := get("products", product.ID).Rating.Count; got != product.Rating.Count {
		t.Errorf("the old mark's product counts %d reviews, want %d", got, product.Rating.Count)
	}
	if got := get("threads", threads[1].ID).ReplyCount; got != 40 {
		t.Errorf("a thread with a write still in flight was recounted (%d)", got)
	}
	if got := get("threads", threads[2].ID).ReplyCount; got != 40 {
		t.Errorf("an unmarked thread was recounted (%d): the repair rescans", got)
	}
	if n, _ := svc.store.DB.Collection("in_flight").CountDocuments(ctx, bson.M{}); n != 1 {
		t.Errorf("%d marks left, want only the running write's", n)
	}
}

// demoServices opens the services on a data directory of their own, with the demo content,
// as serve would, without the web tier.
func demoServices(t *testing.T) (*services, *slog.Logger) {
	t.Helper()
	cfg, err := loadConfig("guyub serve", []string{"--data", t.TempDir()}, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	svc, err := openServices(context.Background(), cfg, log, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.close() })
	if _, err := demo.Load(context.Background(), svc.demoDeps()); err != nil {
		t.Fatal(err)
	}
	return svc, log
}
