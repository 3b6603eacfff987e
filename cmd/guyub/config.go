package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/frontend"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/mail"
	"github.com/guyub/guyub/media"
	"github.com/guyub/guyub/store"
)

// config is the whole configuration; every field has an environment variable and a flag twin.
type config struct {
	Addr           string
	DataDir        string
	BaseURL        string
	MongoURI       string
	SiteName       string
	DefaultLang    string
	RateLimit      int
	BodyLimitMB    int
	TrustedProxies []string
	LogLevel       slog.Level
	LogFormat      string
	SessionSecret  string
	MeiliURL       string
	MeiliKey       string
	SearchIndex    string
	Providers      map[string]*providerSettings // by kind: google, github, facebook, oidc
	SMTP           *mail.SMTPSettings           // nil: emails are kept in the outbox
	// ReviewRequestDays is how long after a purchase its review is asked for, and again.
	ReviewRequestDays int
	// Currency is the portal's currency: every purchase is recorded in it.
	Currency string
	// WebhooksAllowPrivate lets webhook endpoints be on private, loopback or link-local
	// addresses (refused otherwise: no SSRF).
	WebhooksAllowPrivate bool
	MailFrom             *mail.Address
	// S3 keeps uploaded pictures in a bucket; empty Endpoint: under GUYUB_DATA/uploads.
	S3 media.S3Config
}

// providerSettings enables a social login when both key and secret are set.
type providerSettings struct {
	Key, Secret, Issuer, Label string
}

func (c *config) provider(kind string) *providerSettings {
	if c.Providers == nil {
		c.Providers = map[string]*providerSettings{}
	}
	if c.Providers[kind] == nil {
		c.Providers[kind] = &providerSettings{}
	}
	return c.Providers[kind]
}

// providerSetting declares one field of a social login's settings.
func providerSetting(kind, field, usage string, set func(p *providerSettings, v string)) setting {
	env := "GUYUB_" + strings.ToUpper(kind) + "_" + strings.ToUpper(field)
	flagName := kind + "-" + strings.ToLower(field)
	return setting{env, flagName, "", usage, func(c *config, v string) error {
		set(c.provider(kind), strings.TrimSpace(v))
		return nil
	}}
}

// setting declares one configuration value: where it comes from, its default, how it parses.
type setting struct {
	env, flag, def, usage string
	apply                 func(c *config, v string) error
}

var settings = []setting{
	{"GUYUB_ADDR", "addr", ":8080", "address to serve HTTP on", func(c *config, v string) error {
		host, port, err := net.SplitHostPort(v)
		if err != nil {
			return err
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("port %q is not a number from 0 to 65535", port)
		}
		if host != "" && host != "localhost" && net.ParseIP(host) == nil {
			return fmt.Errorf("host %q is not an IP address", host)
		}
		c.Addr = v
		return nil
	}},
	{"GUYUB_DATA", "data", "./data", "directory for the embedded database and search index", func(c *config, v string) error {
		if strings.TrimSpace(v) == "" {
			return errors.New("must not be empty")
		}
		c.DataDir = v
		return nil
	}},
	{"GUYUB_BASE_URL", "base-url", "http://localhost:8080", "public URL of the portal, for links and OAuth callbacks", func(c *config, v string) error {
		u, err := url.Parse(v)
		if err != nil {
			return err
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("%q is not an absolute http(s) URL without query", v)
		}
		c.BaseURL = strings.TrimSuffix(v, "/")
		return nil
	}},
	{"MONGODB_URI", "mongodb-uri", "", "MongoDB connection string; empty runs the embedded FerretDB", func(c *config, v string) error {
		if v != "" {
			if err := store.ValidateURI(v); err != nil {
				return err
			}
		}
		c.MongoURI = v
		return nil
	}},
	{"GUYUB_SITE_NAME", "site-name", "Guyub", "name of the portal shown in the header", func(c *config, v string) error {
		if strings.TrimSpace(v) == "" {
			return errors.New("must not be empty")
		}
		c.SiteName = v
		return nil
	}},
	{"GUYUB_DEFAULT_LANG", "default-lang", "en", "language when the visitor's browser asks for none we have (en, id)", func(c *config, v string) error {
		if langs := frontend.Languages(); !slices.Contains(langs, v) {
			return fmt.Errorf("unknown language %q; one of %s", v, strings.Join(langs, ", "))
		}
		c.DefaultLang = v
		return nil
	}},
	{"GUYUB_RATE_LIMIT", "rate-limit", "300", "requests per minute per client IP; 0 turns the limit off", func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a whole number ≥ 0", v)
		}
		c.RateLimit = n
		return nil
	}},
	{"GUYUB_BODY_LIMIT_MB", "body-limit-mb", "24", "largest request body accepted, in MiB (a review takes five photos of up to 8 MiB each; larger ones are refused with a message)", func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			return fmt.Errorf("%q is not a whole number from 1 to 1024", v)
		}
		c.BodyLimitMB = n
		return nil
	}},
	{"GUYUB_TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated IPs or CIDRs of load balancers whose X-Forwarded-For is believed", func(c *config, v string) error {
		c.TrustedProxies = nil
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
				return fmt.Errorf("%q is neither an IP address nor a CIDR range", p)
			}
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
		return nil
	}},
	{"GUYUB_LOG_LEVEL", "log-level", "info", "debug, info, warn or error", func(c *config, v string) error {
		return c.LogLevel.UnmarshalText([]byte(v))
	}},
	{"GUYUB_LOG_FORMAT", "log-format", "text", "text or json", func(c *config, v string) error {
		if v != "text" && v != "json" {
			return fmt.Errorf("%q is neither text nor json", v)
		}
		c.LogFormat = v
		return nil
	}},
	{"GUYUB_SESSION_SECRET", "session-secret", "", "key for CSRF tokens, 32+ characters; empty: generated once and kept in MongoDB", func(c *config, v string) error {
		if v != "" && len(v) < 32 {
			return errors.New("must be at least 32 characters")
		}
		c.SessionSecret = v
		return nil
	}},
	{"MEILISEARCH_URL", "meilisearch-url", "", "Meilisearch URL; empty uses the embedded Bleve index under GUYUB_DATA/search", func(c *config, v string) error {
		if v != "" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("%q is not an http(s) URL", v)
			}
		}
		c.MeiliURL = strings.TrimSuffix(v, "/")
		return nil
	}},
	{"MEILISEARCH_API_KEY", "meilisearch-api-key", "", "Meilisearch API key", func(c *config, v string) error {
		c.MeiliKey = v
		return nil
	}},
	{"GUYUB_SEARCH_INDEX", "search-index", "guyub", "name of the Meilisearch index", func(c *config, v string) error {
		if !regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`).MatchString(v) {
			return fmt.Errorf("%q: use letters, digits, - and _", v)
		}
		c.SearchIndex = v
		return nil
	}},
	{"GUYUB_S3_ENDPOINT", "s3-endpoint", "", "S3-compatible storage for uploaded pictures, host[:port] (s3.amazonaws.com, a MinIO); empty keeps them under GUYUB_DATA/uploads", func(c *config, v string) error {
		if strings.Contains(v, "://") || strings.Contains(v, "/") {
			return fmt.Errorf("%q: give host[:port] only, no scheme or path", v)
		}
		c.S3.Endpoint = v
		return nil
	}},
	{"GUYUB_S3_BUCKET", "s3-bucket", "guyub-uploads", "bucket for uploaded pictures (made if missing)", func(c *config, v string) error {
		c.S3.Bucket = v
		return nil
	}},
	{"GUYUB_S3_REGION", "s3-region", "us-east-1", "region of the bucket", func(c *config, v string) error {
		c.S3.Region = v
		return nil
	}},
	{"GUYUB_S3_ACCESS_KEY", "s3-access-key", "", "S3 access key", func(c *config, v string) error {
		c.S3.AccessKey = v
		return nil
	}},
	{"GUYUB_S3_SECRET_KEY", "s3-secret-key", "", "S3 secret key", func(c *config, v string) error {
		c.S3.SecretKey = v
		return nil
	}},
	{"GUYUB_S3_INSECURE", "s3-insecure", "false", "true: plain HTTP to the S3 endpoint (a local MinIO)", func(c *config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		c.S3.Insecure = b
		return nil
	}},
	{"GUYUB_SMTP_URL", "smtp-url", "", "mail server, smtp://user:pass@host:587 (STARTTLS; ?tls=opportunistic or none) or smtps://user:pass@host:465; empty keeps emails in the outbox at /admin/outbox", func(c *config, v string) error {
		c.SMTP = nil
		if v == "" {
			return nil
		}
		s, err := mail.ParseSMTPURL(v)
		if err != nil {
			return err
		}
		c.SMTP = &s
		return nil
	}},
	{"GUYUB_MAIL_FROM", "mail-from", "", "sender of the portal's emails, like \"Guyub <community@example.com>\"; required with GUYUB_SMTP_URL", func(c *config, v string) error {
		c.MailFrom = nil
		if v == "" {
			return nil
		}
		a, err := mail.ParseFrom(v)
		if err != nil {
			return err
		}
		c.MailFrom = a
		return nil
	}},
	{"GUYUB_REVIEW_REQUEST_DAYS", "review-request-days", "14", "days after a purchase that its review is asked for by email (and once more after as many days)", func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 365 {
			return fmt.Errorf("%q is not a whole number from 1 to 365", v)
		}
		c.ReviewRequestDays = n
		return nil
	}},
	{"GUYUB_WEBHOOKS_ALLOW_PRIVATE", "webhooks-allow-private", "false", "let webhook endpoints be on private, loopback or link-local addresses (a receiver inside your network)", func(c *config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		c.WebhooksAllowPrivate = b
		return nil
	}},
	{"GUYUB_CURRENCY", "currency", customers.DefaultCurrency, "the ISO 4217 currency purchases are recorded in (amounts in its minor units through the API)", func(c *config, v string) error {
		code := strings.ToUpper(strings.TrimSpace(v))
		if _, ok := customers.MinorDigits(code); !ok {
			return fmt.Errorf("%q is not an ISO 4217 currency code", v)
		}
		c.Currency = code
		return nil
	}},
	providerSetting("google", "key", "Google OAuth client ID", func(p *providerSettings, v string) { p.Key = v }),
	providerSetting("google", "secret", "Google OAuth client secret", func(p *providerSettings, v string) { p.Secret = v }),
	providerSetting("github", "key", "GitHub OAuth app client ID", func(p *providerSettings, v string) { p.Key = v }),
	providerSetting("github", "secret", "GitHub OAuth app client secret", func(p *providerSettings, v string) { p.Secret = v }),
	providerSetting("facebook", "key", "Facebook app ID", func(p *providerSettings, v string) { p.Key = v }),
	providerSetting("facebook", "secret", "Facebook app secret", func(p *providerSettings, v string) { p.Secret = v }),
	providerSetting("oidc", "issuer", "OpenID Connect issuer URL (Keycloak realm, Okta, Auth0, Azure AD…)", func(p *providerSettings, v string) { p.Issuer = v }),
	providerSetting("oidc", "key", "OpenID Connect client ID", func(p *providerSettings, v string) { p.Key = v }),
	providerSetting("oidc", "secret", "OpenID Connect client secret", func(p *providerSettings, v string) { p.Secret = v }),
	providerSetting("oidc", "name", "label of the OpenID Connect button, e.g. your company's name", func(p *providerSettings, v string) { p.Label = v }),
}

// checkProviders: a half-configured provider is a mistake worth stopping for.
func (c *config) checkProviders() error {
	for _, kind := range []string{"google", "github", "facebook", "oidc"} {
		p := c.Providers[kind]
		if p == nil {
			continue
		}
		prefix := "GUYUB_" + strings.ToUpper(kind)
		if (p.Key == "") != (p.Secret == "") {
			return fmt.Errorf("%s_KEY and %s_SECRET must be set together", prefix, prefix)
		}
		if kind == "oidc" && p.Key != "" {
			u, err := url.Parse(p.Issuer)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return fmt.Errorf("GUYUB_OIDC_ISSUER: %q is not an http(s) URL; it is required with GUYUB_OIDC_KEY", p.Issuer)
			}
		}
	}
	return nil
}

// enabledProviders lists the configured social logins in the order the buttons show.
func (c *config) enabledProviders() []identity.ProviderConfig {
	var out []identity.ProviderConfig
	for _, kind := range []string{"oidc", "google", "github", "facebook"} {
		if p := c.Providers[kind]; p != nil && p.Key != "" {
			out = append(out, identity.ProviderConfig{Kind: kind, Key: p.Key, Secret: p.Secret, Issuer: p.Issuer, Label: p.Label})
		}
	}
	return out
}

// ignoredEnv are GUYUB_ variables that belong to the tests, not to the server.
var ignoredEnv = []string{"GUYUB_TEST_MONGODB_URI"}

// loadConfig reads flags, then environment variables, then defaults, in that order of
// precedence. Any bad value stops with one line that names the setting.
// extra adds a subcommand's own flags.
func loadConfig(name string, args []string, environ []string, usageOut io.Writer, extra ...func(*flag.FlagSet)) (config, error) {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.env] = true
	}
	for k := range env {
		if strings.HasPrefix(k, "GUYUB_") && !known[k] && !slices.Contains(ignoredEnv, k) {
			return config{}, fmt.Errorf("unknown setting %s (see --help for the settings there are)", k)
		}
	}

	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(usageOut)
	values := make([]*string, len(settings))
	for i, s := range settings {
		values[i] = fs.String(s.flag, "", fmt.Sprintf("%s (env %s, default %q)", s.usage, s.env, s.def))
	}
	var c config
	for _, add := range extra {
		add(fs)
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	for i, s := range settings {
		v, from := s.def, "default"
		if ev, ok := env[s.env]; ok {
			v, from = ev, s.env
		}
		if set[s.flag] {
			v, from = *values[i], "--"+s.flag
		}
		if err := s.apply(&c, v); err != nil {
			if from != s.env {
				from += " (" + s.env + ")"
			}
			return config{}, fmt.Errorf("%s: %v", from, err)
		}
	}
	if err := c.checkProviders(); err != nil {
		return config{}, err
	}
	if c.SMTP != nil && c.MailFrom == nil {
		return config{}, errors.New("GUYUB_MAIL_FROM is required with GUYUB_SMTP_URL: the address the portal's emails come from")
	}
	if c.S3.Endpoint != "" && (c.S3.AccessKey == "" || c.S3.SecretKey == "" || c.S3.Bucket == "") {
		return config{}, errors.New("GUYUB_S3_ENDPOINT needs GUYUB_S3_ACCESS_KEY, GUYUB_S3_SECRET_KEY and GUYUB_S3_BUCKET")
	}
	return c, nil
}

func (c config) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
