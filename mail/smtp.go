package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTPSettings say how to reach the mail server: GUYUB_SMTP_URL is
// smtp://user:pass@host:587 (STARTTLS, required unless ?tls=opportunistic or ?tls=none)
// or smtps://user:pass@host:465 (TLS from the first byte).
type SMTPSettings struct {
	Host     string
	Port     int
	Username string
	Password string
	Implicit bool   // smtps: TLS from the start
	TLS      string // STARTTLS policy: required, opportunistic, none
}

// ParseSMTPURL reads and checks GUYUB_SMTP_URL.
func ParseSMTPURL(raw string) (SMTPSettings, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPSettings{}, errors.New("not a URL")
	}
	s := SMTPSettings{Host: u.Hostname(), TLS: "required"}
	switch u.Scheme {
	case "smtp":
		s.Port = 587
	case "smtps":
		s.Port, s.Implicit = 465, true
	default:
		return s, fmt.Errorf("scheme %q: use smtp:// (STARTTLS) or smtps:// (TLS)", u.Scheme)
	}
	if s.Host == "" {
		return s, errors.New("no host")
	}
	if p := u.Port(); p != "" {
		if s.Port, err = strconv.Atoi(p); err != nil || s.Port < 1 || s.Port > 65535 {
			return s, fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	if policy := u.Query().Get("tls"); policy != "" {
		if s.Implicit || (policy != "required" && policy != "opportunistic" && policy != "none") {
			return s, fmt.Errorf("tls=%q: smtp:// takes tls=required, opportunistic or none; smtps:// is always TLS", policy)
		}
		s.TLS = policy
	}
	return s, nil
}

// Address is a sender's address, with a name or without.
type Address = mail.Address

// ParseFrom checks GUYUB_MAIL_FROM: an address, with a name or without.
func ParseFrom(from string) (*mail.Address, error) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("%q is not an email address (like \"Guyub <community@example.com>\")", from)
	}
	return a, nil
}

// SMTP sends through a mail server.
type SMTP struct {
	settings SMTPSettings
	from     *mail.Address
	domain   string // for Message-IDs
}

// NewSMTP returns a sender through the server in settings, from the address from.
func NewSMTP(settings SMTPSettings, from *mail.Address) *SMTP {
	_, domain, _ := strings.Cut(from.Address, "@")
	return &SMTP{settings: settings, from: from, domain: domain}
}

// Send sends one message: HTML with a plain-text alternative, in the recipient's language.
// A refusal the server calls permanent (5xx) is not tried again.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	msg := gomail.NewMsg()
	msg.FromMailAddress(s.from)
	if err := msg.To(m.To); err != nil {
		return Permanent(fmt.Errorf("recipient %q: %w", m.To, err))
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(strings.Trim(m.MessageID(s.domain), "<>"))
	msg.SetDate()
	msg.SetGenHeader(gomail.HeaderContentLang, m.Lang)
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	for name, value := range m.Headers {
		msg.SetGenHeader(gomail.Header(name), value)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	opts := []gomail.Option{gomail.WithPort(s.settings.Port), gomail.WithTimeout(30 * time.Second)}
	switch {
	case s.settings.Implicit:
		opts = append(opts, gomail.WithSSL())
	case s.settings.TLS == "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case s.settings.TLS == "opportunistic":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.settings.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.settings.Username), gomail.WithPassword(s.settings.Password))
	}
	client, err := gomail.NewClient(s.settings.Host, opts...)
	if err != nil {
		return Permanent(err)
	}
	err = client.DialAndSendWithContext(ctx, msg)
	var sendErr *gomail.SendError
	if errors.As(err, &sendErr) && !sendErr.IsTemp() && sendErr.ErrorCode() >= 500 {
		return Permanent(err)
	}
	return err // anything else (the server away, busy, a 4xx) is tried again later
}
