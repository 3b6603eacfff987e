package main

import (
	"strings"
	"testing"
)

// The start-up log says what it opens, the URL actually served, and warns when the base
// URL for links points at another port of this machine.
func TestServe_LogsTheServedURLAndABaseURLThatDoesNotMatch(t *testing.T) {
	r := start(t) // a random port; GUYUB_BASE_URL is the default http://localhost:8080
	logs := r.Log.String()
	for _, want := range []string{"opening the embedded database", "opening the search index",
		`msg="guyub is serving" url=` + r.URL, "GUYUB_BASE_URL does not match the address served"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the start-up log lacks %q:\n%s", want, logs)
		}
	}
}

func TestServedURLAndMismatch(t *testing.T) {
	for addr, want := range map[string]string{"[::]:9090": "http://localhost:9090", "0.0.0.0:8080": "http://localhost:8080", "127.0.0.1:3000": "http://127.0.0.1:3000"} {
		if got := servedURL(addr); got != want {
			t.Errorf("servedURL(%s) = %s, want %s", addr, got, want)
		}
	}
	for _, c := range []struct {
		base, served string
		want         bool
	}{
		{"http://localhost:8080", "http://localhost:9090", true},
		{"http://localhost:8080", "http://127.0.0.1:8080", false},
		{"https://community.example.com", "http://localhost:8080", false}, // behind a proxy
		{"http://localhost", "http://localhost:80", false},
	} {
		if got := mismatch(c.base, c.served); got != c.want {
			t.Errorf("mismatch(%s, %s) = %v", c.base, c.served, got)
		}
	}
}
