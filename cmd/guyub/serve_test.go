package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guyub/guyub/store"
)

// syncBuffer collects a server's log while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// running is a guyub process started in-process, as `go run ./cmd/guyub` would.
type running struct {
	URL  string
	Log  *syncBuffer
	stop func() error
}

// start runs the program with args on a random loopback port and a data directory of its own
// (unless args name one), and stops it when the test ends.
func start(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	addr := make(chan string, 1)
	p := program{stdout: logs, stderr: logs, environ: nil, listening: func(a string) { addr <- a }}
	if !strings.Contains(strings.Join(args, " "), "--data") {
		args = append(args, "--data", t.TempDir())
	}
	args = append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)
	done := make(chan error, 1)
	go func() { done <- p.run(ctx, args) }()
	r := &running{Log: logs}
	select {
	case a := <-addr:
		r.URL = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("guyub stopped at start: %v\n%s", err, logs)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("guyub did not start within a minute:\n%s", logs)
	}
	var once sync.Once
	var stopErr error
	r.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = errors.New("guyub did not stop within 30 s")
			}
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return r
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestServe_EmbeddedDefaultStartsAndStopsGracefully(t *testing.T) {
	dir := t.TempDir()
	r := start(t, "--data", dir)
	if code, body := httpGet(t, r.URL+"/readyz"); code != 200 || !strings.Contains(body, `"mongodb":"ok"`) || !strings.Contains(body, `"search":"ok"`) {
		t.Fatalf("/readyz = %d %s", code, body)
	}
	if code, body := httpGet(t, r.URL+"/"); code != 200 || !strings.Contains(body, "Welcome to Guyub") {
		t.Fatalf("/ = %d %s", code, body)
	}
	if _, ok := store.EmbeddedURI(dir); !ok {
		t.Fatal("the embedded server should record its address under GUYUB_DATA")
	}
	if err := r.stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	if !strings.Contains(r.Log.String(), "shutting down") {
		t.Fatalf("no shutdown in the log:\n%s", r.Log)
	}
	if _, err := http.Get(r.URL + "/healthz"); err == nil {
		t.Fatal("still serving after stop")
	}
	// The same data directory serves again: the lock was released.
	start(t, "--data", dir)
}

func TestServe_PortInUseIsReportedWithTheSetting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := program{stdout: io.Discard, stderr: io.Discard}
	err = p.run(context.Background(), []string{"--addr", ln.Addr().String(), "--data", t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "GUYUB_ADDR") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("err = %v", err)
	}
}

func TestServe_UnreachableMongoDBStopsStartUp(t *testing.T) {
	p := program{stdout: io.Discard, stderr: io.Discard}
	err := p.run(context.Background(), []string{"--addr", "127.0.0.1:0",
		"--mongodb-uri", "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300"})
	if err == nil || !strings.Contains(err.Error(), "MONGODB_URI") {
		t.Fatalf("err = %v", err)
	}
}

func TestRun_UnknownCommand(t *testing.T) {
	p := program{stdout: io.Discard, stderr: io.Discard}
	if err := p.run(context.Background(), []string{"frobnicate"}); err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Fatalf("err = %v", err)
	}
}

// Memory is given back once per idle spell: after a quiet minute, not again while it stays
// quiet, and again after the next busy spell; the first busy look after an idle spell says so
// at once (the collection target goes back up), and a look under 2 % of a core is quiet.
func TestIdleWatch_ReleasesOncePerIdleSpell(t *testing.T) {
	w := idleWatch{quiet: time.Minute}
	used := time.Duration(0)
	for i, c := range []struct {
		spent time.Duration // in a look of 20 s
		want  idleChange
	}{
		{10 * time.Second, noChange}, // busy, from the start
		{100 * time.Millisecond, noChange},
		{100 * time.Millisecond, noChange},
		{300 * time.Millisecond, wentIdle}, // 1.5 %: quiet; a minute so far
		{0, noChange},
		{time.Second, wentBusy}, // 5 %
		{5 * time.Second, noChange},
		{0, noChange},
		{0, noChange},
		{0, wentIdle},
	} {
		used += c.spent
		if got := w.look(used, 20*time.Second); got != c.want {
			t.Fatalf("look %d (%s used): %v, want %v", i, c.spent, got, c.want)
		}
	}
}
