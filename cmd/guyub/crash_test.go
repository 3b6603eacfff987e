package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets the test binary be guyub itself, so a test can run the server as a process
// of its own and kill it.
func TestMain(m *testing.M) {
	if os.Getenv("RUN_AS_GUYUB") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// process is guyub running as a child process.
type process struct {
	cmd *exec.Cmd
	url string
}

func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", addr}, args...)...)
	cmd.Env = append(os.Environ(), "RUN_AS_GUYUB=1")
	out, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, bufio.NewReader(out)) }()
	p := &process{cmd: cmd, url: "http://" + addr}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if res, err := http.Get(p.url + "/healthz"); err == nil {
			res.Body.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatal("guyub did not start within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Writers run, the process is killed (kill -9), and started again: every write it
// acknowledged is there, and the thread's reply count is exact, without anyone running
// guyub repair: the restarted server sees the crash and repairs at once.
func TestServe_KilledUnderWritersLosesNothingAndRepairsItself(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a server")
	}
	dir := t.TempDir()
	p := startProcess(t, "--data", dir, "--rate-limit", "0", "--demo")
	api := newAPIClient(t, p.url, dir)
	var thread struct{ ID string }
	api.mustDecode(api.call("POST", "/api/v1/threads", `{"category":"help","title":"Crash test","body":"Replies below."}`, 201), &thread)

	// Eight writers reply until the server dies; each keeps the replies it was told were stored.
	var mu sync.Mutex
	var acked []string
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				status, body, err := api.try("POST", "/api/v1/threads/"+thread.ID+"/posts", fmt.Sprintf(`{"body":"reply %d-%d"}`, w, i))
				if err != nil {
					return
				}
				var post struct{ ID string }
				if status == 201 && json.Unmarshal([]byte(body), &post) == nil {
					mu.Lock()
					acked = append(acked, post.ID)
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(3 * time.Second)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	stop()
	wg.Wait()
	if len(acked) < 20 {
		t.Fatalf("only %d replies acknowledged before the kill", len(acked))
	}

	p = startProcess(t, "--data", dir, "--rate-limit", "0")
	api.base = p.url
	// Every acknowledged reply is there, and the thread's count agrees with its replies.
	deadline := time.Now().Add(30 * time.Second)
	for {
		replies, count := api.threadReplies(thread.ID)
		missing := 0
		for _, id := range acked {
			if !replies[id] {
				missing++
			}
		}
		if missing > 0 {
			t.Fatalf("%d of %d acknowledged replies are gone", missing, len(acked))
		}
		if count == len(replies) {
			t.Logf("%d replies acknowledged, %d stored, count exact", len(acked), len(replies))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the thread counts %d replies, it has %d: never repaired", count, len(replies))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// apiClient calls the API with an admin's personal token.
type apiClient struct {
	t     *testing.T
	base  string
	token string
}

// newAPIClient makes an admin on the server running on dir, and a token for them.
func newAPIClient(t *testing.T, base, dir string) *apiClient {
	t.Helper()
	if _, err := runCmd(t, "admin", "create", "--data", dir, "--email", "ops@example.com", "--password", "nasi uduk betawi", "--role", "admin"); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "admin", "token", "--data", dir, "--email", "ops@example.com", "--name", "test", "--scopes", "read,write")
	if err != nil {
		t.Fatal(err)
	}
	c := &apiClient{t: t, base: base, token: strings.TrimSpace(out)}
	return c
}

func (c *apiClient) try(method, path, body string) (int, string, error) {
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// call answers the body, failing the test unless the status is want (0: any).
func (c *apiClient) call(method, path, body string, want int) string {
	c.t.Helper()
	status, got, err := c.try(method, path, body)
	if err != nil || (want != 0 && status != want) {
		c.t.Fatalf("%s %s: %d %v\n%s", method, path, status, err, got)
	}
	return got
}

func (c *apiClient) mustDecode(body string, v any) {
	c.t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		c.t.Fatalf("%v: %s", err, body)
	}
}

// threadReplies reads every page of a thread: the IDs of its replies, and the count the
// thread keeps.
func (c *apiClient) threadReplies(id string) (map[string]bool, int) {
	c.t.Helper()
	ids := map[string]bool{}
	count, after := 0, ""
	for {
		var page struct {
			Thread struct {
				ReplyCount int `json:"reply_count"`
			}
			Posts []struct{ ID string }
			Next  string
		}
		c.mustDecode(c.call("GET", "/api/v1/threads/"+id+"?after="+after, "", 200), &page)
		count = page.Thread.ReplyCount
		for _, p := range page.Posts {
			ids[p.ID] = true
		}
		if page.Next == "" {
			return ids, count
		}
		after = page.Next
	}
}
