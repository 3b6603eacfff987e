// Package browsertest drives a real headless Chromium (Debian's package) for page tests.
//
// Without a Chromium the tests skip with a message, except in CI (CI=true), where that is
// a failure: CI must install it. Set GUYUB_SCREENSHOTS=dir to keep screenshots to look at.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser is one headless Chromium with one tab.
type Browser struct {
	t   testing.TB
	ctx context.Context
}

// Sizes of the screens pages are checked on.
var (
	Phone   = Viewport{Name: "phone", Width: 390, Height: 844}
	Desktop = Viewport{Name: "desktop", Width: 1280, Height: 900}
)

// Viewport is a screen size.
type Viewport struct {
	Name          string
	Width, Height int64
}

func chromiumPath() string {
	if p := os.Getenv("GUYUB_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts Chromium for one test and closes it when the test ends.
func New(t testing.TB) *Browser {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium found: CI must install it (apt-get install -y chromium)")
		}
		t.Skip("browser test skipped: no Chromium found (apt-get install -y chromium, or set GUYUB_CHROMIUM)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], // headless, no background networking
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		// The machine has no network but loopback; these fetches would only fail slowly.
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(int(Desktop.Width), int(Desktop.Height)),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	b := &Browser{t: t, ctx: ctx}
	b.Do() // starts the browser now, so a start-up failure is reported as such
	return b
}

// Do performs chromedp steps and fails the test on the first error.
func (b *Browser) Do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// Get runs an action that reads a value and fails the test on error.
func Get[T any](b *Browser, action chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, action)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

// Open loads a URL and waits for its body.
func (b *Browser) Open(url string) {
	b.t.Helper()
	b.Do(chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
}

// Text returns the visible text of the first element matching a CSS selector.
func (b *Browser) Text(selector string) string {
	b.t.Helper()
	return strings.TrimSpace(Get(b, chromedp.Text(chromedp.CSS(selector))))
}

// Click clicks a link or button matching a CSS selector and waits for the next page.
func (b *Browser) Click(selector string) {
	b.t.Helper()
	b.navigate(chromedp.Click(chromedp.CSS(selector)))
}

// Toggle clicks something that changes the page without loading another (a <details>).
func (b *Browser) Toggle(selector string) {
	b.t.Helper()
	b.Do(chromedp.Click(chromedp.CSS(selector)))
}

// navigate runs an action that loads another page and waits until the old document is
// gone and the new one is ready, so what follows reads the new page.
func (b *Browser) navigate(action chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	Get(b, chromedp.Evaluate[bool](`window.__guyubOld = true`))
	b.Do(action)
	deadline := time.Now().Add(20 * time.Second)
	for Get(b, chromedp.Evaluate[bool](`window.__guyubOld === true`)) {
		if time.Now().After(deadline) {
			b.t.Fatal("browser: the page did not change")
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Do(chromedp.WaitReady(chromedp.CSS("body")))
}

// Fill types text into the form field matching a CSS selector.
func (b *Browser) Fill(selector, text string) {
	b.t.Helper()
	b.Do(chromedp.SendKeys(chromedp.CSS(selector), text))
}

// Submit clicks a form's button and waits for the page that answers it.
func (b *Browser) Submit(button string) {
	b.t.Helper()
	b.navigate(chromedp.Click(chromedp.CSS(button)))
}

// Location is the current URL.
func (b *Browser) Location() string {
	b.t.Helper()
	return Get(b, chromedp.Location())
}

// Screenshots saves full-page screenshots of the current page on a phone and a desktop when
// GUYUB_SCREENSHOTS names a directory, and checks nothing overflows the phone's width.
func (b *Browser) Screenshots(name string) {
	b.t.Helper()
	dir := os.Getenv("GUYUB_SCREENSHOTS")
	for _, v := range []Viewport{Phone, Desktop} {
		b.Do(chromedp.EmulateViewport(v.Width, v.Height))
		if Get(b, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)) {
			b.t.Errorf("%s on a %s: the page is wider than the screen", name, v.Name)
		}
		if dir == "" {
			continue
		}
		png := Get(b, chromedp.FullScreenshot(100)) // quality 100 gives a PNG
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+v.Name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.Do(chromedp.EmulateViewport(Desktop.Width, Desktop.Height))
}
