package mail

import (
	"bytes"
	"context"
	"embed"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

//go:embed templates
var templates embed.FS

var (
	htmlLayout = htmltemplate.Must(htmltemplate.ParseFS(templates, "templates/letter.html"))
	textLayout = texttemplate.Must(texttemplate.ParseFS(templates, "templates/letter.txt"))
)

// Writer puts an email's words together in the recipient's language: the words of kind K
// are the catalog's messages mail.K.subject, mail.K.body (paragraphs split by blank
// lines), mail.K.action (the button) and mail.K.after (below it, may be empty).
type Writer struct {
	T       func(lang, id string, args ...any) string
	BaseURL string // links are built from it
	Site    string // the portal's name
}

// letter is what the templates show.
type letter struct {
	Lang, Site, BaseURL, Subject string
	Body, After                  []string
	Action                       string
	Link                         string
	Lists                        []list // a digest's lists of links
}

// list is a heading and its links, in a letter.
type list struct {
	Heading string
	Links   []link
}

type link struct{ Text, URL string }

// Item is one line of a digest: the catalog message that says what happened (filled with
// Args; Words values are translated too) and the page it leads to.
type Item struct {
	What string
	Args []any
	Path string
}

// Words is an argument that is itself a message of the catalog, put into the recipient's
// language before it fills a placeholder (an idea's status, say).
type Words string

// Write composes a message of kind to to in lang, whose button leads to path (a path on the
// portal, or "" for none). args fill the words' placeholders; Site is always there.
func (w Writer) Write(to, lang, kind, key, path string, args ...any) (Message, error) {
	args = append(w.translated(lang, args), "Site", w.Site)
	l := letter{Lang: lang, Site: w.Site, BaseURL: w.BaseURL,
		Subject: w.T(lang, "mail."+kind+".subject", args...),
		Body:    paragraphs(w.T(lang, "mail."+kind+".body", args...)),
		After:   paragraphs(w.T(lang, "mail."+kind+".after", args...))}
	if path != "" {
		l.Action, l.Link = w.T(lang, "mail."+kind+".action", args...), w.BaseURL+path
	}
	return w.render(to, key, l)
}

func (w Writer) render(to, key string, l letter) (Message, error) {
	var text, html bytes.Buffer
	if err := textLayout.Execute(&text, l); err != nil {
		return Message{}, err
	}
	if err := htmlLayout.Execute(&html, l); err != nil {
		return Message{}, err
	}
	return Message{To: to, Key: key, Lang: l.Lang, Subject: l.Subject, Text: text.String(), HTML: html.String()}, nil
}

// Digest queues a digest of period (daily, weekly): the member's unread items, then what
// was most active, each a link; unsubscribe stops digests in one click.
func (o *Outbox) Digest(ctx context.Context, to, lang, key, unsubscribe, period string, items, popular []Item) error {
	w := o.Letters
	args := []any{"Site", w.Site, "Count", len(items), "Unsubscribe", w.BaseURL + unsubscribe}
	l := letter{Lang: lang, Site: w.Site, BaseURL: w.BaseURL,
		Subject: w.T(lang, "mail.digest_"+period+".subject", args...),
		Body:    paragraphs(w.T(lang, "mail.digest_"+period+".body", args...)),
		After:   paragraphs(w.T(lang, "mail.notice.after", args...))}
	for _, group := range []struct {
		heading string
		items   []Item
	}{{"mail.digest.unread", items}, {"mail.digest.popular", popular}} {
		if len(group.items) == 0 {
			continue
		}
		g := list{Heading: w.T(lang, group.heading)}
		for _, it := range group.items {
			g.Links = append(g.Links, link{Text: w.T(lang, it.What, w.translated(lang, it.Args)...), URL: w.BaseURL + it.Path})
		}
		l.Lists = append(l.Lists, g)
	}
	m, err := w.render(to, key, l)
	if err != nil {
		return err
	}
	m.Headers = unsubscribeHeaders(w.BaseURL + unsubscribe)
	return o.Queue(ctx, m)
}

// translated copies args with every Words value in lang.
func (w Writer) translated(lang string, args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if words, ok := a.(Words); ok {
			a = w.T(lang, string(words))
		}
		out[i] = a
	}
	return out
}

// paragraphs splits words at blank lines; a missing message (its ID comes back) is none.
func paragraphs(s string) []string {
	if s == "" || strings.HasPrefix(s, "mail.") {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Account queues an account email (a password reset, an address to confirm): kind names
// its words, key the event, path the button's link; secret says the link signs in.
func (o *Outbox) Account(ctx context.Context, to, lang, kind, key, path string, secret bool) error {
	m, err := o.Letters.Write(to, lang, kind, key, path)
	if err != nil {
		return err
	}
	m.Secret = secret
	return o.Queue(ctx, m)
}

// Notice is a notification's email: What is the catalog message that says what happened
// (filled with Args), Path the page it happened on, and Unsubscribe the path that stops
// this kind of email in one click (RFC 8058), which every such email carries.
type Notice struct {
	To, Lang, Key, Path, Unsubscribe, What string
	Args                                   []any
}

// Notice queues one notification's email (see Notice).
func (o *Outbox) Notice(ctx context.Context, to, lang, key, path, unsubscribe, what string, args ...any) error {
	return o.Notices(ctx, Notice{To: to, Lang: lang, Key: key, Path: path, Unsubscribe: unsubscribe, What: what, Args: args})
}

// Notices queues notifications' emails in one write: the notification job's batch.
func (o *Outbox) Notices(ctx context.Context, notices ...Notice) error {
	msgs := make([]Message, 0, len(notices))
	for _, n := range notices {
		m, err := o.Letters.Write(n.To, n.Lang, "notice", n.Key, n.Path,
			"What", o.Letters.T(n.Lang, n.What, o.Letters.translated(n.Lang, n.Args)...), "Unsubscribe", o.Letters.BaseURL+n.Unsubscribe)
		if err != nil {
			return err
		}
		m.Headers = unsubscribeHeaders(o.Letters.BaseURL + n.Unsubscribe)
		msgs = append(msgs, m)
	}
	return o.Queue(ctx, msgs...)
}

// unsubscribeHeaders let a mail client stop a kind of email in one click (RFC 8058).
func unsubscribeHeaders(url string) map[string]string {
	return map[string]string{"List-Unsubscribe": "<" + url + ">", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
}

// Letter queues an email of kind to to in lang about the event key, with a button to path;
// args fill its words' placeholders (name, value pairs).
func (o *Outbox) Letter(ctx context.Context, to, lang, kind, key, path string, args ...any) error {
	m, err := o.Letters.Write(to, lang, kind, key, path, args...)
	if err != nil {
		return err
	}
	return o.Queue(ctx, m)
}
