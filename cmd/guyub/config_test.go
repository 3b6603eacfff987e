package main

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestLoadConfig_Defaults(t *testing.T) {
	c, err := loadConfig("guyub", nil, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.DataDir != "./data" || c.MongoURI != "" || c.DefaultLang != "en" ||
		c.RateLimit != 300 || c.BodyLimitMB != 24 || c.LogLevel != slog.LevelInfo || c.BaseURL != "http://localhost:8080" {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestLoadConfig_FlagBeatsEnvBeatsDefault(t *testing.T) {
	env := []string{"GUYUB_ADDR=:9000", "GUYUB_DEFAULT_LANG=id", "GUYUB_RATE_LIMIT=10"}
	c, err := loadConfig("guyub", []string{"--addr", "127.0.0.1:7000"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7000" || c.DefaultLang != "id" || c.RateLimit != 10 {
		t.Fatalf("config = %+v", c)
	}
}

func TestLoadConfig_BadValuesNameTheSetting(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"unparseable MongoDB URI", nil, []string{"MONGODB_URI=postgres://db"}, "MONGODB_URI"},
		{"MongoDB URI flag", []string{"--mongodb-uri", "mongodb://"}, nil, "--mongodb-uri (MONGODB_URI)"},
		{"unknown language", nil, []string{"GUYUB_DEFAULT_LANG=fr"}, `GUYUB_DEFAULT_LANG: unknown language "fr"`},
		{"bad port", nil, []string{"GUYUB_ADDR=:http99"}, "GUYUB_ADDR"},
		{"address without port", []string{"--addr", "localhost"}, nil, "--addr (GUYUB_ADDR)"},
		{"negative rate limit", nil, []string{"GUYUB_RATE_LIMIT=-1"}, "GUYUB_RATE_LIMIT"},
		{"relative base URL", nil, []string{"GUYUB_BASE_URL=example.com"}, "GUYUB_BASE_URL"},
		{"bad proxy", nil, []string{"GUYUB_TRUSTED_PROXIES=10.0.0.1,lb.local"}, `GUYUB_TRUSTED_PROXIES: "lb.local"`},
		{"log level", nil, []string{"GUYUB_LOG_LEVEL=loud"}, "GUYUB_LOG_LEVEL"},
		{"misspelt setting", nil, []string{"GUYUB_ADRR=:80"}, "unknown setting GUYUB_ADRR"},
		{"unknown flag", []string{"--colour"}, nil, "flag provided but not defined: -colour"},
		{"key without secret", nil, []string{"GUYUB_GITHUB_KEY=abc"}, "GUYUB_GITHUB_KEY and GUYUB_GITHUB_SECRET must be set together"},
		{"OIDC without issuer", nil, []string{"GUYUB_OIDC_KEY=a", "GUYUB_OIDC_SECRET=b"}, "GUYUB_OIDC_ISSUER"},
		{"short session secret", nil, []string{"GUYUB_SESSION_SECRET=short"}, "GUYUB_SESSION_SECRET: must be at least 32 characters"},
		{"stray argument", []string{"now"}, nil, `unexpected argument "now"`},
		{"SMTP scheme", nil, []string{"GUYUB_SMTP_URL=http://mail.example"}, "GUYUB_SMTP_URL: scheme"},
		{"SMTP port", []string{"--smtp-url", "smtp://mail.example:99999"}, nil, "--smtp-url (GUYUB_SMTP_URL): port"},
		{"SMTP TLS mode", nil, []string{"GUYUB_SMTP_URL=smtp://mail.example?tls=maybe"}, "GUYUB_SMTP_URL: tls="},
		{"SMTP without sender", nil, []string{"GUYUB_SMTP_URL=smtp://u:p@mail.example"}, "GUYUB_MAIL_FROM is required"},
		{"bad sender", nil, []string{"GUYUB_MAIL_FROM=guyub"}, "GUYUB_MAIL_FROM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig("guyub", tt.args, tt.env, io.Discard)
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q should be one line containing %q", err, tt.want)
			}
		})
	}
}

func TestLoadConfig_EnabledProviders(t *testing.T) {
	env := []string{"GUYUB_GITHUB_KEY=gh", "GUYUB_GITHUB_SECRET=s1", "GUYUB_OIDC_ISSUER=https://sso.example/realms/acme",
		"GUYUB_OIDC_KEY=portal", "GUYUB_OIDC_SECRET=s2", "GUYUB_OIDC_NAME=Acme"}
	c, err := loadConfig("guyub", nil, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := c.enabledProviders()
	if len(got) != 2 || got[0].Kind != "oidc" || got[0].Label != "Acme" || got[0].Issuer != "https://sso.example/realms/acme" || got[1].Kind != "github" || got[1].Secret != "s1" {
		t.Fatalf("providers = %+v", got)
	}
}

func TestLoadConfig_TestVariablesAreNotSettings(t *testing.T) {
	if _, err := loadConfig("guyub", nil, []string{"GUYUB_TEST_MONGODB_URI=mongodb://x"}, io.Discard); err != nil {
		t.Fatal(err)
	}
}

func TestLoadConfig_SMTP(t *testing.T) {
	c, err := loadConfig("guyub", nil, []string{"GUYUB_SMTP_URL=smtps://me%40x:p%3Ass@mail.example", "GUYUB_MAIL_FROM=Guyub <community@x.example>"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.SMTP; s == nil || s.Host != "mail.example" || s.Port != 465 || !s.Implicit || s.Username != "me@x" || s.Password != "p:ss" || c.MailFrom.Address != "community@x.example" {
		t.Fatalf("SMTP settings = %+v %v", c.SMTP, c.MailFrom)
	}
	c, err = loadConfig("guyub", []string{"--smtp-url", "smtp://mail.example:2525?tls=opportunistic", "--mail-from", "a@x.example"}, nil, io.Discard)
	if err != nil || c.SMTP.Port != 2525 || c.SMTP.TLS != "opportunistic" || c.SMTP.Implicit {
		t.Fatalf("SMTP settings = %+v %v", c.SMTP, err)
	}
}
