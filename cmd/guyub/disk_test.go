package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// smallDisk mounts a tmpfs of size bytes: a real file system that fills up. It needs root
// and the right to mount (CI has both); elsewhere the test cannot run as it should.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small file system here (%v: %s); CI runs this as root", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a file that takes all but keep bytes of the file system under dir.
func fillDisk(t *testing.T, dir string, keep int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for free(t, dir) > keep+int64(len(chunk)) {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	for free(t, dir) > keep {
		if _, err := f.Write(chunk[:4096]); err != nil {
			break
		}
	}
	return path
}

// A disk that fills under a running server stops writes, not the server: every write is
// refused with a 503 that says why (never a 500), pages are still served, /readyz says
// writes fail, no background job dies of it; and once there is room again, writes work
// and search catches up with everything stored, without a restart.
func TestServe_AFullDiskStopsWritesNotTheServer(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a file system")
	}
	disk := smallDisk(t, 64<<20)
	data := filepath.Join(disk, "data")
	r := start(t, "--data", data, "--rate-limit", "0", "--demo")
	if _, err := runCmd(t, "admin", "create", "--data", data, "--email", "ops@example.com", "--password", "nasi uduk betawi", "--role", "admin"); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, "admin", "token", "--data", data, "--email", "ops@example.com", "--name", "disk", "--scopes", "read,write")
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(out)
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, r.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: the server is gone: %v", method, path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	post := func(i int) (int, string) {
		words := strings.Repeat(fmt.Sprintf("diskfull%d lorem ipsum dolor sit amet ", i), 40)
		return call("POST", "/api/v1/threads", fmt.Sprintf(`{"category":"help","title":"Thread number %d about zzdisk","body":%q}`, i, words))
	}

	filler := fillDisk(t, disk, 256<<10)
	stored, refused := 0, 0
	for i := 0; refused < 5 && i < 2000; i++ {
		status, body := post(i)
		switch {
		case status == http.StatusCreated:
			stored++
		case status == http.StatusServiceUnavailable && strings.Contains(body, "run out of storage space"):
			refused++
		default:
			t.Fatalf("write %d on a filling disk: %d %s", i, status, body)
		}
	}
	if refused == 0 {
		t.Fatalf("the disk never filled (%d writes stored, %d bytes free)", stored, free(t, disk))
	}
	t.Logf("%d threads stored, then %d refused", stored, refused)
	if status, body := call("GET", "/", ""); status != 200 || !strings.Contains(body, "<html") {
		t.Fatalf("reading on a full disk: %d", status)
	}
	var ready struct {
		Status string
		Checks map[string]string
	}
	_, body := call("GET", "/readyz", "")
	if err := json.Unmarshal([]byte(body), &ready); err != nil || ready.Status != "degraded" || ready.Checks["writes"] != "degraded" || ready.Checks["mongodb"] != "ok" {
		t.Fatalf("/readyz on a full disk: %s", body)
	}

	// Room again: writes work at once, and search holds every thread stored, full or not.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if status, body := post(9999); status != http.StatusCreated {
		t.Fatalf("a write once there is room: %d %s", status, body)
	}
	roomAt := time.Now()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, body := call("GET", "/api/v1/search?q=zzdisk", "")
		var res struct{ Total int }
		_ = json.Unmarshal([]byte(body), &res)
		_, ready := call("GET", "/readyz", "")
		if res.Total == stored+1 && strings.Contains(ready, `"status":"ok"`) {
			t.Logf("caught up %s after there was room", time.Since(roomAt).Round(100*time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("search never caught up: %d of %d threads found; /readyz %s\n%s", res.Total, stored+1, ready, tail(r.Log.String(), 30))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if strings.Contains(r.Log.String(), "background job panicked") {
		t.Logf("a job panicked on the full disk and was recovered:\n%s", tail(r.Log.String(), 40))
	}
}

func free(t *testing.T, dir string) int64 {
	t.Helper()
	out, err := exec.Command("df", "-B1", "--output=avail", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	fields := strings.Fields(string(out))
	_, _ = fmt.Sscan(fields[len(fields)-1], &n)
	return n
}

func tail(s string, lines int) string {
	all := strings.Split(s, "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}
