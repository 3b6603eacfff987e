package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/handlers"
	"github.com/guyub/guyub/media"
)

// jpegWithGPS is a w×h photo carrying an EXIF block with a marker where a GPS position would be.
func jpegWithGPS(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 3), uint8(y * 5), 90, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	exif := append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"), "GPS-52.37N-4.89E"...)
	seg := append([]byte{0xFF, 0xE1, byte((len(exif) + 2) >> 8), byte(len(exif) + 2)}, exif...)
	raw := buf.Bytes()
	return append(append(append([]byte{}, raw[:2]...), seg...), raw[2:]...)
}

var mediaURL = regexp.MustCompile(`/media/[0-9a-f]{2}/[0-9a-f]{64}\.(?:jpg|png)`)

func fetch(t *testing.T, base, path string) (*http.Response, []byte) {
	t.Helper()
	res, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

// A review with photos, from the plain form (no JavaScript): stored re-encoded without their
// metadata, shown as small versions linking to the full ones, served from our origin with
// a year's cache, and found by the "with photos" filter.
func TestReviewPhotos_UploadShowFilterAndServe(t *testing.T) {
	e := newEnv(t)
	p := e.product("Kopi Gayo")
	e.person("sari@example.com")
	e.review(e.person("budi@example.com"), p, 4, "Tanpa foto, enak.")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn("sari@example.com")
	b.get("/products/" + p.Slug)
	if !strings.Contains(b.last.body, `enctype="multipart/form-data"`) || !strings.Contains(b.last.body, `type="file" name="photos" multiple`) {
		t.Fatalf("the review form offers no photos:\n%s", b.last.body)
	}
	form := url.Values{"rating": {"5"}, "title": {"Harum"}, "body": {"Aromanya harum sekali."}}
	res := b.postFiles("/products/"+p.Slug+"/reviews", form,
		upload{"photos", "cup.jpg", jpegWithGPS(t, 900, 600)}, upload{"photos", "beans.jpg", jpegWithGPS(t, 200, 150)})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("review with photos: %d\n%s", res.StatusCode, res.body)
	}
	page := b.get("/products/" + p.Slug).body
	links := mediaURL.FindAllString(page, -1)
	if len(links) < 3 { // two small versions (one photo is small already) and two links
		t.Fatalf("photos on the product page: %v", links)
	}
	if !strings.Contains(page, `alt="Photo 1 from the reviewer"`) {
		t.Error("the photo has no alternative text")
	}
	for _, link := range links {
		res, body := fetch(t, base, link)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" ||
			!strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
			t.Fatalf("GET %s: %d %q %q", link, res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
		}
		if bytes.Contains(body, []byte("GPS-52.37N")) || bytes.Contains(body, []byte("Exif")) {
			t.Errorf("%s still carries the EXIF block", link)
		}
	}
	if res, _ := fetch(t, base, "/media/00/"+strings.Repeat("0", 64)+".jpg"); res.StatusCode != 404 {
		t.Errorf("a picture never stored: %d", res.StatusCode)
	}
	if res, _ := fetch(t, base, "/media/../../go.mod"); res.StatusCode != 404 {
		t.Errorf("a path out of the store: %d", res.StatusCode)
	}

	filtered := b.get("/products/" + p.Slug + "?photos=1").body
	if !strings.Contains(filtered, "Aromanya harum") || strings.Contains(filtered, "Tanpa foto") {
		t.Error("the with-photos filter shows the wrong reviews")
	}
	if !strings.Contains(b.get("/products/"+p.Slug).body, "Tanpa foto") {
		t.Error("without the filter the review without photos is gone")
	}
	api := b.get("/api/v1/products/" + p.Slug + "/reviews?photos=1")
	var out struct {
		Reviews []struct {
			Photos []struct {
				URL string `json:"url"`
			} `json:"photos"`
		} `json:"reviews"`
	}
	if err := json.Unmarshal([]byte(api.body), &out); err != nil || len(out.Reviews) != 1 || len(out.Reviews[0].Photos) != 2 ||
		!mediaURL.MatchString(out.Reviews[0].Photos[0].URL) {
		t.Errorf("API reviews with photos: %v %s", err, api.body)
	}
}

// What goes wrong is said on the photo field, and nothing typed or uploaded is lost.
func TestReviewPhotos_ErrorsKeepTheFormAndEditsRemovePhotos(t *testing.T) {
	e := newEnv(t)
	p := e.product("Rice Cooker")
	e.person("ayu@example.com")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn("ayu@example.com")
	b.get("/products/" + p.Slug)
	path := "/products/" + p.Slug + "/reviews"
	form := url.Values{"rating": {"4"}, "body": {"Nasi pulen."}}

	res := b.postFiles(path, form, upload{"photos", "photo.jpg", []byte("<html><script>alert(1)</script>")})
	if res.StatusCode != 422 || !strings.Contains(res.body, "This is not a picture we can read") || !strings.Contains(res.body, "Nasi pulen.") {
		t.Fatalf("an HTML file named .jpg: %d\n%s", res.StatusCode, res.body)
	}
	var six []upload
	for range 6 {
		six = append(six, upload{"photos", "p.jpg", jpegWithGPS(t, 20, 20)})
	}
	if res := b.postFiles(path, form, six...); res.StatusCode != 422 || !strings.Contains(res.body, "Add at most 5 pictures.") {
		t.Fatalf("six photos: %d", res.StatusCode)
	}
	// The body is missing, the photo was fine: it is kept on the form, not asked for again.
	res = b.postFiles(path, url.Values{"rating": {"4"}}, upload{"photos", "p.jpg", jpegWithGPS(t, 640, 480)})
	kept := regexp.MustCompile(`name="keep_photo" value="([^"]+)" checked`).FindStringSubmatch(res.body)
	if res.StatusCode != 422 || kept == nil {
		t.Fatalf("the photo is not kept on the form: %d\n%s", res.StatusCode, res.body)
	}
	if n, _ := e.db.Collection("reviews").CountDocuments(context.Background(), map[string]any{}); n != 0 {
		t.Fatalf("%d reviews stored by failed forms", n)
	}
	res = b.postFiles(path, url.Values{"rating": {"4"}, "body": {"Nasi pulen."}, "keep_photo": {kept[1]}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("again with the kept photo: %d\n%s", res.StatusCode, res.body)
	}
	ayu, _ := e.customers.FindByEmail(context.Background(), "ayu@example.com")
	r, err := e.reviews.ReviewBy(context.Background(), ayu.ID, p.ID)
	if err != nil || len(r.Photos) != 1 || r.Photos[0].Key != kept[1] || !r.HasPhotos {
		t.Fatalf("stored review: %+v %v", r, err)
	}
	// A key that was never uploaded is refused, not shown as a broken picture.
	edit := "/reviews/" + r.ID.Hex() + "/edit"
	b.get(edit)
	if res := b.postFiles(edit, url.Values{"rating": {"4"}, "body": {"x"}, "keep_photo": {"ab/" + strings.Repeat("ab", 32) + ".jpg"}}); res.StatusCode != 422 {
		t.Errorf("a made-up photo key: %d", res.StatusCode)
	}
	// Unticking the photo removes it; the edit keeps the old version in the history.
	if res := b.postFiles(edit, url.Values{"rating": {"4"}, "body": {"Nasi pulen, tanpa foto."}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", res.StatusCode, res.body)
	}
	r, _ = e.reviews.Review(context.Background(), r.ID)
	if len(r.Photos) != 0 || r.HasPhotos || len(r.History) != 1 || len(r.History[0].Photos) != 1 {
		t.Errorf("after unticking: photos %v, has %v, history %+v", r.Photos, r.HasPhotos, r.History)
	}
}

// Photos go through moderation with their review: a held review's photos are in the queue
// item, beside its title, text, pros and cons, each apart.
func TestReviewPhotos_InTheModerationQueue(t *testing.T) {
	e := newEnv(t)
	p := e.product("Teh Tarik")
	e.person("dewi@example.com")
	e.person("mod@example.com", customers.RoleModerator)
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn("dewi@example.com")
	b.get("/products/" + p.Slug)
	res := b.postFiles("/products/"+p.Slug+"/reviews", url.Values{"rating": {"1"}, "title": {"Kecewa"}, "body": {"This shop is a scam."},
		"pros": {"Cepat"}, "cons": {"Basi"}}, upload{"photos", "proof.jpg", jpegWithGPS(t, 500, 500)})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("review: %d", res.StatusCode)
	}
	dewi, _ := e.customers.FindByEmail(context.Background(), "dewi@example.com")
	r, _ := e.reviews.ReviewBy(context.Background(), dewi.ID, p.ID)
	if r.Status != content.StatusPending {
		t.Fatalf("a watched word: %s", r.Status)
	}
	if strings.Contains(newBrowser(t, base).get("/products/"+p.Slug).body, r.Photos[0].ThumbURL()) {
		t.Error("a held review's photo is shown to the public")
	}
	mod := newBrowser(t, base)
	mod.signIn("mod@example.com")
	q := mod.get("/moderation/").body
	for _, want := range []string{"<dt>Title</dt><dd>Kecewa</dd>", "<dt>Pros</dt><dd>Cepat</dd>", "<dt>Cons</dt><dd>Basi</dd>",
		"<dt>Text</dt><dd>This shop is a scam.</dd>", r.Photos[0].ThumbURL()} {
		if !strings.Contains(q, want) {
			t.Errorf("the queue lacks %q", want)
		}
	}
	// Filters are pickers of names, not URL-name text fields.
	if !strings.Contains(q, `<option value="`+p.Slug+`">Teh Tarik</option>`) || strings.Contains(q, `<input id="product"`) {
		t.Error("the product filter is not a picker")
	}
	// "All on this page" decides every item shown, none ticked.
	res = mod.post("/moderation/decisions", url.Values{"action": {"approve"}, "scope": {"page"}, "page_refs": {"review:" + r.ID.Hex()}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve the page: %d\n%s", res.StatusCode, res.body)
	}
	if r, _ = e.reviews.Review(context.Background(), r.ID); r.Status != content.StatusPublished {
		t.Errorf("after approving the page: %s", r.Status)
	}
	if !strings.Contains(newBrowser(t, base).get("/products/"+p.Slug).body, r.Photos[0].ThumbURL()) {
		t.Error("the approved review's photo is not shown")
	}
}

// A profile picture replaces the initials everywhere; removing it brings them back.
func TestAvatar_UploadAndRemove(t *testing.T) {
	e := newEnv(t)
	e.person("rina@example.com")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn("rina@example.com")
	b.get("/profile")
	if res := b.postFiles("/profile/avatar", nil, upload{"avatar", "me.png", []byte("not a picture")}); res.StatusCode != 422 ||
		!strings.Contains(res.body, "This is not a picture we can read") {
		t.Fatalf("a bad avatar: %d", res.StatusCode)
	}
	if res := b.postFiles("/profile/avatar", nil, upload{"avatar", "me.jpg", jpegWithGPS(t, 800, 400)}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("avatar: %d\n%s", res.StatusCode, res.body)
	}
	rina, _ := e.customers.FindByEmail(context.Background(), "rina@example.com")
	if !mediaURL.MatchString(rina.AvatarURL) {
		t.Fatalf("avatar URL %q", rina.AvatarURL)
	}
	res, body := fetch(t, base, rina.AvatarURL)
	cfg, _, err := image.DecodeConfig(bytes.NewReader(body))
	if res.StatusCode != 200 || err != nil || cfg.Width != media.AvatarSide || cfg.Height != media.AvatarSide {
		t.Errorf("the avatar as served: %d %v %dx%d", res.StatusCode, err, cfg.Width, cfg.Height)
	}
	if !strings.Contains(b.get("/members/"+rina.ID.Hex()).body, `src="`+rina.AvatarURL+`"`) {
		t.Error("the member page does not show the picture")
	}
	b.get("/profile")
	if res := b.post("/profile/avatar/remove", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: %d", res.StatusCode)
	}
	if rina, _ = e.customers.FindByEmail(context.Background(), "rina@example.com"); rina.AvatarURL != "" {
		t.Errorf("after removing: %q", rina.AvatarURL)
	}
}

// Pictures in posts: from the reply form's file input (no JavaScript), and from the
// editor's drag and drop (POST /uploads, which answers JSON and its errors in JSON too).
func TestPostImages_FromTheFormAndTheEditor(t *testing.T) {
	e := newEnv(t)
	help := e.category("Help", false)
	ayu := e.person("ayu@example.com")
	th, err := e.community.CreateThread(context.Background(), ayu, community.ThreadInput{Category: help.Slug, Title: "Grinder settings", Body: "Which setting for a V60?"})
	if err != nil {
		t.Fatal(err)
	}
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn("ayu@example.com")
	b.get(th.URL())
	res := b.postFiles("/threads/"+th.ID.Hex()+"/posts", url.Values{"body": {"This one:"}}, upload{"images", "grinder.jpg", jpegWithGPS(t, 1000, 700)})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reply with a picture: %d\n%s", res.StatusCode, res.body)
	}
	page := b.get(th.URL()).body
	if !regexp.MustCompile(`<a href="/media/[0-9a-f/]+\.jpg" rel="[^"]*"><img src="/media/[0-9a-f/]+\.jpg"`).MatchString(page) {
		t.Fatalf("the reply does not show its picture:\n%s", page)
	}

	up := b.postFiles("/uploads", nil, upload{"file", "x.webp", jpegWithGPS(t, 64, 64)})
	var ok struct {
		Markdown string `json:"markdown"`
	}
	if up.StatusCode != 201 || json.Unmarshal([]byte(up.body), &ok) != nil || !strings.HasPrefix(ok.Markdown, "[![](/media/") {
		t.Fatalf("upload: %d %s", up.StatusCode, up.body)
	}
	bad := b.postFiles("/uploads", nil, upload{"file", "x.jpg", []byte("GIF89a\x02\x00\x02\x00 not really")})
	if bad.StatusCode != 422 || !strings.Contains(bad.body, `"file":"This is not a picture we can read`) {
		t.Errorf("a bad upload: %d %s", bad.StatusCode, bad.body)
	}
	anon := newBrowser(t, base)
	if res := anon.postFiles("/uploads", url.Values{"_csrf": {"x"}}, upload{"file", "x.jpg", jpegWithGPS(t, 8, 8)}); res.StatusCode < 400 || res.StatusCode >= 500 {
		t.Errorf("an anonymous upload: %d", res.StatusCode)
	}
}

// The API: a picture uploaded with a token, then named by key in a review.
func TestAPI_ReviewWithUploadedPhotos(t *testing.T) {
	e := newEnv(t)
	p := e.product("Sambal")
	budi := e.person("budi@example.com")
	base := listen(t, e.app(handlers.Config{}, handlers.Deps{}))
	b := newBrowser(t, base)
	b.signIn(budi.Email)
	b.get("/profile")
	res := b.postFiles("/api/v1/uploads", nil, upload{"file", "s.jpg", jpegWithGPS(t, 400, 300)})
	var up struct {
		Photo struct{ Key string } `json:"photo"`
	}
	if res.StatusCode != 201 || json.Unmarshal([]byte(res.body), &up) != nil || !media.ValidKey(up.Photo.Key) {
		t.Fatalf("API upload: %d %s", res.StatusCode, res.body)
	}
	call := e.apiAs(base, budi)
	r := call("POST", "/api/v1/products/"+p.Slug+"/reviews", `{"rating":5,"body":"Pedas!","photos":["`+up.Photo.Key+`"]}`)
	if r.StatusCode != 201 || !strings.Contains(r.body, `"url":"/media/`+up.Photo.Key+`"`) {
		t.Fatalf("API review with a photo: %d %s", r.StatusCode, r.body)
	}
	bad := e.apiAs(base, e.person("x@example.com"))("POST", "/api/v1/products/"+p.Slug+"/reviews", `{"rating":5,"body":"x","photos":["nope"]}`)
	if bad.StatusCode != 422 || !strings.Contains(bad.body, `"photos"`) {
		t.Errorf("an unknown photo key: %d %s", bad.StatusCode, bad.body)
	}
}
