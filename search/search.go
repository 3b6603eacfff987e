// Package search owns the search index: one Document shape for every kind of content, the
// Index interface with a Meilisearch adapter (production) and a Bleve adapter (embedded
// default), the settings both apply, and the worker that keeps the index in step with
// MongoDB.
package search

import (
	"context"
	"html"
	"html/template"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Document is anything searchable, in one shape.
type Document struct {
	ID         string   `json:"id"`   // "review-<hex>": letters, digits, - and _ only (Meilisearch's rule)
	Kind       string   `json:"kind"` // thread, post, review, testimonial, idea, feedback
	Title      string   `json:"title"`
	Body       string   `json:"body"`
	URL        string   `json:"url"`
	Product    string   `json:"product,omitempty"`  // slug
	Category   string   `json:"category,omitempty"` // a product's category
	Forum      string   `json:"forum,omitempty"`    // a forum category's slug (threads and their replies)
	Tags       []string `json:"tags,omitempty"`
	Rating     int      `json:"rating,omitempty"`
	Sentiment  float64  `json:"sentiment,omitempty"`
	Status     string   `json:"status"`     // published or pending (hidden and deleted are not indexed)
	Visibility string   `json:"visibility"` // public or staff
	Author     string   `json:"author,omitempty"`
	Lang       string   `json:"lang,omitempty"`
	CreatedAt  int64    `json:"created_at"` // Unix seconds

	// For the sinks that read what customers write (insights), not indexed:
	Source     string `json:"-"` // the part of the portal: reviews, forums, ideas, surveys, testimonials
	AuthorID   string `json:"-"` // the author's customer ID (hex)
	OwnText    string `json:"-"` // the author's own words, if Title and Body are not only theirs
	Answer     int    `json:"-"` // a survey answer's score (0–10, 1–5 or 1–7 by Survey)
	Survey     string `json:"-"` // a survey answer's kind: nps, csat, ces
	Touchpoint string `json:"-"` // a survey answer's touchpoint
	State      string `json:"-"` // an idea's status: open, planned… (webhooks tell its changes)
	// Private documents go to the sinks only, never into the index (survey comments).
	Private bool `json:"-"`
	// Duplicate documents repeat words another document holds (a testimonial quoted from a
	// review): sinks that count feedback leave them out.
	Duplicate bool `json:"-"`
}

// public drops the private documents.
func public(docs []Document) []Document {
	out := docs[:0:0]
	for _, d := range docs {
		if !d.Private {
			out = append(out, d)
		}
	}
	return out
}

// Words is the author's own words: OwnText, else Title and Body.
func (d *Document) Words() string {
	if d.OwnText != "" {
		return d.OwnText
	}
	return strings.TrimSpace(d.Title + "\n" + d.Body)
}

// Sorts of results.
const (
	SortRelevance = "relevance"
	SortNewest    = "newest"
	SortRating    = "rating"
)

// Query is a search: text, filters, order and page.
type Query struct {
	Text     string
	Kind     string
	Product  string
	Category string // a product category
	Forum    string // a forum category's slug
	Lang     string
	Rating   int
	Statuses []string // empty: published only (what the public may see)
	Sort     string
	Page     int // from 1
	PerPage  int
	NoFacets bool // search as you type needs no counts, and is faster without them
	// AnyWord finds documents with any of the words, those sharing the most and rarest first:
	// what is like a text (the ideas a complaint is about), not a search for all its words.
	AnyWord bool
}

// published is the status of what the public may see.
const published = "published"

// Normalize fills in defaults and bounds.
func (q *Query) Normalize() {
	q.Text = strings.TrimSpace(q.Text)
	if r := []rune(q.Text); len(r) > 200 {
		q.Text = string(r[:200])
	}
	if len(q.Statuses) == 0 {
		q.Statuses = []string{published}
	}
	if q.Page < 1 {
		q.Page = 1
	}
	if q.PerPage < 1 || q.PerPage > 50 {
		q.PerPage = 10
	}
	if q.Page > 1000 {
		q.Page = 1000
	}
	switch q.Sort {
	case SortNewest, SortRating:
	default:
		q.Sort = SortRelevance
	}
}

// Hit is one result, with its title and a snippet of its body highlighted.
type Hit struct {
	Document
	TitleHTML   template.HTML `json:"title_html"`
	SnippetHTML template.HTML `json:"snippet_html"`
}

// Results is one page of hits with the facet counts of all matches.
type Results struct {
	Hits    []Hit                     `json:"hits"`
	Total   int                       `json:"total"`
	Page    int                       `json:"page"`
	PerPage int                       `json:"per_page"`
	Pages   int                       `json:"pages"`
	Facets  map[string]map[string]int `json:"facets"` // facet → value → count
	// FacetsSampled: there were too many matches to count them all, and the facets count
	// the most relevant of them (the embedded index; Meilisearch counts all).
	FacetsSampled bool          `json:"facets_sampled,omitempty"`
	Took          time.Duration `json:"-"`
}

// Facets are the fields counted for every search.
var Facets = []string{"kind", "product", "category", "forum", "rating", "lang"}

// facet is a document's value of a facet: "" for none (no rating, no language).
func (d *Document) facet(name string) string {
	switch name {
	case "kind":
		return d.Kind
	case "product":
		return d.Product
	case "category":
		return d.Category
	case "forum":
		return d.Forum
	case "rating":
		if d.Rating > 0 {
			return strconv.Itoa(d.Rating)
		}
	case "lang":
		return d.Lang
	}
	return ""
}

// Index is a search index.
type Index interface {
	Upsert(ctx context.Context, docs ...Document) error
	Delete(ctx context.Context, ids ...string) error
	Search(ctx context.Context, q Query) (*Results, error)
	Clear(ctx context.Context) error // remove every document, for reindex
	Ping(ctx context.Context) error
	Close() error
}

// Synonyms are groups of words that mean the same, English and Indonesian together, so a
// search in either language finds both.
var Synonyms = [][]string{
	{"review", "ulasan"}, {"service", "pelayanan", "layanan"}, {"customer", "pelanggan"},
	{"delivery", "pengiriman", "shipping"}, {"price", "harga"}, {"coffee", "kopi"}, {"rice", "nasi"},
	{"bag", "tas"}, {"broken", "rusak"}, {"quality", "kualitas"}, {"fast", "cepat"}, {"slow", "lambat"},
	{"cheap", "murah"}, {"expensive", "mahal"}, {"battery", "baterai"}, {"warranty", "garansi"},
	{"question", "pertanyaan"}, {"idea", "ide"}, {"problem", "masalah"}, {"sound", "suara"},
}

// synonymGroup is each word's group in Synonyms: the index looks words up for every word it
// indexes.
var synonymGroup = func() map[string][]string {
	m := map[string][]string{}
	for _, group := range Synonyms {
		for _, w := range group {
			m[w] = group
		}
	}
	return m
}()

// synonymsOf returns the other words of a word's group.
func synonymsOf(word string) []string {
	var out []string
	for _, o := range synonymGroup[word] {
		if o != word {
			out = append(out, o)
		}
	}
	return out
}

// Span is a matched range of a field, in bytes.
type Span struct{ Start, End int }

// highlight escapes text for HTML and marks the spans with <mark>. With snippet > 0 it
// keeps about that many characters around the first match.
func highlight(text string, spans []Span, snippet int) template.HTML {
	// Spans come from the engine; keep only those that lie within the text on character
	// boundaries, whatever it sent.
	valid := spans[:0:0]
	for _, s := range spans {
		if s.Start >= 0 && s.End <= len(text) && s.Start < s.End && utf8.RuneStart(text[s.Start]) &&
			(s.End == len(text) || utf8.RuneStart(text[s.End])) {
			valid = append(valid, s)
		}
	}
	spans = valid
	sort.Slice(spans, func(i, j int) bool { return spans[i].Start < spans[j].Start })
	from, to := 0, len(text)
	if snippet > 0 && len(text) > snippet {
		center := 0
		if len(spans) > 0 {
			center = spans[0].Start
		}
		from = max(center-snippet/3, 0)
		to = min(from+snippet, len(text))
		for from > 0 && !utf8.RuneStart(text[from]) {
			from--
		}
		for to < len(text) && !utf8.RuneStart(text[to]) {
			to++
		}
	}
	var b strings.Builder
	if from > 0 {
		b.WriteString("…")
	}
	pos := from
	for _, s := range spans {
		if s.Start < pos || s.End > to || s.Start >= s.End {
			continue
		}
		b.WriteString(html.EscapeString(text[pos:s.Start]))
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(text[s.Start:s.End]))
		b.WriteString("</mark>")
		pos = s.End
	}
	b.WriteString(html.EscapeString(text[pos:to]))
	if to < len(text) {
		b.WriteString("…")
	}
	return template.HTML(b.String()) //nolint:gosec // every piece of text is escaped above
}

// pages is the number of pages for total hits.
func pages(total, perPage int) int {
	if total == 0 {
		return 0
	}
	return (total + perPage - 1) / perPage
}
