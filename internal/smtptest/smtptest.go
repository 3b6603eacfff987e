// Package smtptest runs a real SMTP server in the test's process (emersion/go-smtp) that
// keeps what it receives, so tests send email over the wire and read it as a mail client
// would: headers, the plain-text and HTML parts, decoded.
package smtptest

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one message as received.
type Message struct {
	From   string
	To     []string
	Header mail.Header
	Text   string // the text/plain part, decoded
	HTML   string // the text/html part, decoded
}

// Server is a running SMTP server.
type Server struct {
	Addr string

	mu       sync.Mutex
	received []Message
	failNext int             // the next deliveries answered 451 (try again later)
	refused  map[string]bool // recipients answered 550 (no such user)
	arrived  chan struct{}
}

// Start runs a server on a loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{arrived: make(chan struct{}, 1000)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{server: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// FailNext answers the next n deliveries with a temporary failure (451).
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// Refuse answers deliveries to to with a permanent failure (550).
func (s *Server) Refuse(to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused == nil {
		s.refused = map[string]bool{}
	}
	s.refused[strings.ToLower(to)] = true
}

// Received lists what arrived for to ("" for everyone), oldest first.
func (s *Server) Received(to string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.received {
		for _, rcpt := range m.To {
			if to == "" || strings.EqualFold(rcpt, to) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// Wait waits until n messages have arrived for to, and returns them.
func (s *Server) Wait(t testing.TB, to string, n int, within time.Duration) []Message {
	t.Helper()
	deadline := time.After(within)
	for {
		if got := s.Received(to); len(got) >= n {
			return got
		}
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("%d of %d messages for %s arrived within %s", len(s.Received(to)), n, to, within)
		}
	}
}

type session struct {
	server *Server
	from   string
	to     []string
}

func (s *session) AuthPlain(string, string) error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.server.mu.Lock()
	refused := s.server.refused[strings.ToLower(to)]
	s.server.mu.Unlock()
	if refused {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.server.mu.Lock()
	if s.server.failNext > 0 {
		s.server.failNext--
		s.server.mu.Unlock()
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.server.mu.Unlock()
	m, err := parse(raw)
	if err != nil {
		return err
	}
	m.From, m.To = s.from, s.to
	s.server.mu.Lock()
	s.server.received = append(s.server.received, m)
	s.server.mu.Unlock()
	s.server.arrived <- struct{}{}
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// parse reads a message's header and its text and HTML parts.
func parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	m := Message{Header: msg.Header}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return m, err
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		body, _ := io.ReadAll(msg.Body)
		m.Text = string(body)
		return m, nil
	}
	parts := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := parts.NextPart() // decodes quoted-printable
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return m, err
		}
		body, _ := io.ReadAll(p)
		switch t, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); t {
		case "text/plain":
			m.Text = string(body)
		case "text/html":
			m.HTML = string(body)
		}
	}
}
