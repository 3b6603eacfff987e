package main

import (
	"io"
	"mime"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/guyub/guyub/internal/smtptest"
)

// form is a browser without JavaScript: it keeps cookies and sends forms with their CSRF token.
type form struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newForm(t *testing.T, base string) *form {
	jar, _ := cookiejar.New(nil)
	return &form{t: t, base: base, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (f *form) get(path string) (int, string) {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.base+path, nil)
	return f.do(req)
}

// do sends a request as a reader of Indonesian.
func (f *form) do(req *http.Request) (int, string) {
	f.t.Helper()
	req.Header.Set("Accept-Language", "id")
	res, err := f.client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// submit opens the page at path and posts its form with values.
func (f *form) submit(path string, values url.Values) (int, string) {
	f.t.Helper()
	_, page := f.get(path)
	csrf := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if csrf == nil {
		f.t.Fatalf("no form on %s", path)
	}
	values.Set("_csrf", csrf[1])
	req, _ := http.NewRequest(http.MethodPost, f.base+path, strings.NewReader(values.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return f.do(req)
}

// The whole email loop against a real SMTP server: signing up sends a confirmation in the
// reader's language, with links from GUYUB_BASE_URL, that confirms and signs in; a
// forgotten password is reset from the received email, and the new one signs in.
func TestServe_EmailsGoOutBySMTPAndTheirLinksWork(t *testing.T) {
	smtp := smtptest.Start(t)
	r := start(t, "--smtp-url", "smtp://"+smtp.Addr+"?tls=none", "--mail-from", "Guyub <komunitas@guyub.example>",
		"--base-url", "http://portal.example")
	link := func(m smtptest.Message, prefix string) string {
		t.Helper()
		found := regexp.MustCompile(`http://portal\.example(` + prefix + `[A-Za-z0-9_-]+)`).FindStringSubmatch(m.Text)
		if found == nil || !strings.Contains(m.HTML, `href="`+found[0]+`"`) {
			t.Fatalf("no %s link in both parts:\n%s\n%s", prefix, m.Text, m.HTML)
		}
		return found[1]
	}

	sari := newForm(t, r.URL)
	if status, page := sari.submit("/signup", url.Values{"email": {"sari@example.com"}, "display_name": {"Sari"}, "password": {"nasi uduk betawi"}}); status != 200 || !strings.Contains(page, "Periksa kotak masuk") {
		t.Fatalf("sign up: %d", status)
	}
	m := smtp.Wait(t, "sari@example.com", 1, 30*time.Second)[0]
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if !strings.Contains(subject, "Konfirmasi alamat email") || m.Header.Get("Content-Language") != "id" ||
		!strings.Contains(m.Header.Get("From"), "komunitas@guyub.example") || m.From != "komunitas@guyub.example" {
		t.Fatalf("confirmation email: %q %v", subject, m.Header)
	}
	verify := link(m, "/verify/")
	if status, _ := sari.submit(verify, url.Values{"password": {"nasi uduk betawi"}}); status != http.StatusSeeOther {
		t.Fatalf("confirm: %d", status)
	}
	if status, page := sari.get("/profile"); status != 200 || !strings.Contains(page, "sari@example.com") {
		t.Fatalf("signed in by the confirmation: %d", status)
	}

	someone := newForm(t, r.URL)
	if status, page := someone.submit("/forgot", url.Values{"email": {"sari@example.com"}}); status != 200 || !strings.Contains(page, "Periksa kotak masuk") {
		t.Fatalf("forgot: %d", status)
	}
	reset := link(smtp.Wait(t, "sari@example.com", 2, 30*time.Second)[1], "/reset/")
	if status, _ := someone.submit(reset, url.Values{"password": {"soto betawi gurih"}}); status != http.StatusSeeOther {
		t.Fatalf("reset: %d", status)
	}
	if status, _ := sari.get("/profile"); status != http.StatusFound {
		t.Fatalf("the session from before the reset survived: %d", status)
	}
	if status, _ := newForm(t, r.URL).submit("/signin", url.Values{"email": {"sari@example.com"}, "password": {"soto betawi gurih"}}); status != http.StatusSeeOther {
		t.Fatalf("sign in with the new password: %d", status)
	}
	if _, metrics := httpGet(t, r.URL+"/metrics"); !strings.Contains(metrics, `guyub_mail_messages_total{result="sent"} 2`) {
		t.Errorf("metrics do not count the two sent emails:\n%s", grepLines(metrics, "guyub_mail"))
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
