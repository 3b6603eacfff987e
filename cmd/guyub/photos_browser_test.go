package main

import (
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/guyub/guyub/internal/browsertest"
)

// A photo file as a phone would send one.
func photoFile(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 1200, 900))
	for y := 0; y < 900; y++ {
		for x := 0; x < 1200; x++ {
			img.Set(x, y, color.RGBA{uint8(60 + x/8), uint8(40 + y/10), 30, 255})
		}
	}
	path := filepath.Join(t.TempDir(), "earbuds.jpg")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := jpeg.Encode(f, img, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// A review with a photo from the form's file input, the "with photos" filter applied as it
// is ticked, a picture dropped on a reply's text, and a profile picture.
func TestBrowser_PhotosOnReviewsPostsAndProfile(t *testing.T) {
	r := start(t, "--demo")
	b := browsertest.New(t)
	signInAs(b, r.URL, "ayu@guyub.example")
	photo := photoFile(t)

	b.Open(r.URL + "/products/suara-wireless-earbuds")
	b.Do(chromedp.Click(chromedp.CSS(`input[name=rating][value="5"]`)))
	b.Fill("#body", "Suaranya jernih, baterai awet.")
	b.Do(chromedp.SetUploadFiles(chromedp.CSS(`#photos`), []string{photo}))
	b.Submit(`form[action$="/reviews"] button[type=submit]`)
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('.review .photo-row img').length`)); n != 1 {
		t.Fatalf("photos shown on the review: %d", n)
	}
	b.Screenshots("review-photos")

	// Ticking "With photos" applies the filter at once (no Apply button with JavaScript).
	if visible := browsertest.Get(b, chromedp.Evaluate[bool](`getComputedStyle(document.querySelector('.review-filters [data-nojs]')).display !== 'none'`)); visible {
		t.Error("the Apply button is shown although the filter applies itself")
	}
	browsertest.Get(b, chromedp.Evaluate[bool](`window.__guyubOld = true`))
	b.Do(chromedp.Click(chromedp.CSS(`.review-filters input[name=photos]`)))
	waitFor(t, b, `location.search.includes('photos=1') && document.readyState === 'complete' && !window.__guyubOld`)
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('.review').length`)); n != 1 {
		t.Errorf("reviews with photos: %d, want only Ayu's", n)
	}

	// A picture dropped on a reply's text is uploaded and shown by Markdown.
	b.Open(r.URL + "/forums")
	b.Click(`a[href^="/threads/"]`)
	browsertest.Get(b, chromedp.Evaluate[bool](`(function () {
		var c = document.createElement('canvas'); c.width = 120; c.height = 80;
		var g = c.getContext('2d'); g.fillStyle = '#c0392b'; g.fillRect(0, 0, 120, 80);
		c.toBlob(function (blob) {
			var dt = new DataTransfer();
			dt.items.add(new File([blob], 'red.png', { type: 'image/png' }));
			var area = document.querySelector('#reply-body');
			area.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
		}, 'image/png');
		return true;
	})()`))
	waitFor(t, b, `document.querySelector('#reply-body').value.includes('](/media/')`)
	b.Submit(`#reply form button[type=submit]`)
	if n := browsertest.Get(b, chromedp.Evaluate[int](`document.querySelectorAll('.post .prose img[src^="/media/"]').length`)); n != 1 {
		t.Errorf("pictures in the reply: %d", n)
	}

	// A profile picture, shown in the header.
	b.Open(r.URL + "/profile")
	b.Do(chromedp.SetUploadFiles(chromedp.CSS(`#avatar`), []string{photo}))
	b.Submit(`form[action="/profile/avatar"] button`)
	if src := browsertest.Get(b, chromedp.Evaluate[string](`(document.querySelector('header .me img.avatar') || {}).src || ''`)); !strings.Contains(src, "/media/") {
		t.Errorf("the header's avatar: %q", src)
	}
	b.Screenshots("profile-avatar")
	b.Open(r.URL + "/products/suara-wireless-earbuds?lang=id")
	b.Screenshots("review-photos-id")
}

// waitFor waits until a script's condition holds on the page.
func waitFor(t *testing.T, b *browsertest.Browser, condition string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !browsertest.Get(b, chromedp.Evaluate[bool](condition)) {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s", condition)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
