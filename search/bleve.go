package search

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	uni "unicode"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/unicodenorm"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Bleve is the embedded index: Bleve on disk, in-process.
type Bleve struct {
	index bleve.Index
}

// textAnalyzer splits on Unicode word boundaries, lower-cases and folds accents, and stems
// nothing: the same words work in English and Indonesian, and typo tolerance covers plurals.
const textAnalyzer = "guyub_text"

func bleveMapping() (*mapping.IndexMappingImpl, error) {
	m := bleve.NewIndexMapping()
	if err := m.AddCustomTokenFilter("guyub_fold", map[string]any{"type": unicodenorm.Name, "form": unicodenorm.NFKD}); err != nil {
		return nil, err
	}
	err := m.AddCustomAnalyzer(textAnalyzer, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": []string{lowercase.Name, "guyub_fold"},
	})
	if err != nil {
		return nil, err
	}
	doc := bleve.NewDocumentMapping()
	text := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = textAnalyzer
		f.Store, f.IncludeTermVectors = true, true
		return f
	}
	kw := func() *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = true
		return f
	}
	num := func() *mapping.FieldMapping {
		f := bleve.NewNumericFieldMapping()
		f.Store = true
		return f
	}
	for _, name := range []string{"title", "body"} {
		doc.AddFieldMappingsAt(name, text())
	}
	for _, name := range []string{"kind", "product", "category", "tags", "status", "visibility", "author", "lang", "url", "rating_s"} {
		doc.AddFieldMappingsAt(name, kw())
	}
	for _, name := range []string{"rating", "created_at", "sentiment"} {
		doc.AddFieldMappingsAt(name, num())
	}
	m.DefaultMapping = doc
	m.DefaultAnalyzer = textAnalyzer
	return m, nil
}

// OpenBleve opens the index under dir, creating it on first use.
func OpenBleve(dir string) (*Bleve, error) {
	idx, err := bleve.Open(dir)
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		m, merr := bleveMapping()
		if merr != nil {
			return nil, merr
		}
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
		_ = os.Remove(dir) // bleve creates the directory itself and wants it absent
		idx, err = bleve.New(dir, m)
	}
	if err != nil {
		return nil, fmt.Errorf("search index %s: %w", dir, err)
	}
	return &Bleve{index: idx}, nil
}

// OpenBleveMemory is an index in memory, for tests.
func OpenBleveMemory() (*Bleve, error) {
	m, err := bleveMapping()
	if err != nil {
		return nil, err
	}
	idx, err := bleve.NewMemOnly(m)
	if err != nil {
		return nil, err
	}
	return &Bleve{index: idx}, nil
}

// bleveDoc is what Bleve stores: the document plus the rating as a keyword for its facet.
type bleveDoc struct {
	Document
	RatingS string `json:"rating_s,omitempty"`
}

// Upsert adds or replaces documents in one batch.
func (b *Bleve) Upsert(_ context.Context, docs ...Document) error {
	batch := b.index.NewBatch()
	for _, d := range docs {
		bd := bleveDoc{Document: d}
		if d.Rating > 0 {
			bd.RatingS = strconv.Itoa(d.Rating)
		}
		if err := batch.Index(d.ID, bd); err != nil {
			return err
		}
	}
	return b.index.Batch(batch)
}

// Delete removes documents.
func (b *Bleve) Delete(_ context.Context, ids ...string) error {
	batch := b.index.NewBatch()
	for _, id := range ids {
		batch.Delete(id)
	}
	return b.index.Batch(batch)
}

// Clear removes every document.
func (b *Bleve) Clear(ctx context.Context) error {
	for {
		req := bleve.NewSearchRequestOptions(bleve.NewMatchAllQuery(), 1000, 0, false)
		res, err := b.index.SearchInContext(ctx, req)
		if err != nil {
			return err
		}
		if len(res.Hits) == 0 {
			return nil
		}
		ids := make([]string, len(res.Hits))
		for i, h := range res.Hits {
			ids[i] = h.ID
		}
		if err := b.Delete(ctx, ids...); err != nil {
			return err
		}
	}
}

// Ping: an in-process index is there while the process is.
func (b *Bleve) Ping(context.Context) error { return nil }

// Close closes the index files.
func (b *Bleve) Close() error { return b.index.Close() }

// fuzziness follows Meilisearch's typo tolerance: none under 5 letters, one up to 8, two beyond.
func fuzziness(word string) int {
	switch n := len([]rune(word)); {
	case n < 5:
		return 0
	case n < 9:
		return 1
	}
	return 2
}

func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicodeIsWord(r) })
}

func unicodeIsWord(r rune) bool { return uni.IsLetter(r) || uni.IsDigit(r) }

// Search runs a query: every word must match (in title, body, tags, product or category),
// allowing typos and synonyms, the last word also as a prefix (search as you type).
func (b *Bleve) Search(ctx context.Context, q Query) (*Results, error) {
	q.Normalize()
	var must []query.Query
	ws := words(q.Text)
	for i, w := range ws {
		var alternatives []query.Query
		for _, term := range append([]string{w}, synonymsOf(w)...) {
			for _, field := range []string{"title", "body"} {
				mq := bleve.NewMatchQuery(term)
				mq.SetField(field)
				mq.SetFuzziness(fuzziness(term))
				if field == "title" {
					mq.SetBoost(2)
				}
				alternatives = append(alternatives, mq)
			}
			for _, field := range []string{"tags", "product", "category"} {
				tq := bleve.NewTermQuery(term)
				tq.SetField(field)
				alternatives = append(alternatives, tq)
			}
		}
		if i == len(ws)-1 && len([]rune(w)) >= 2 {
			for _, field := range []string{"title", "body"} {
				pq := bleve.NewPrefixQuery(w)
				pq.SetField(field)
				alternatives = append(alternatives, pq)
			}
		}
		must = append(must, bleve.NewDisjunctionQuery(alternatives...))
	}
	term := func(field, value string) query.Query {
		tq := bleve.NewTermQuery(value)
		tq.SetField(field)
		return tq
	}
	var statuses []query.Query
	for _, st := range q.Statuses {
		statuses = append(statuses, term("status", st))
	}
	must = append(must, bleve.NewDisjunctionQuery(statuses...))
	for field, value := range map[string]string{"kind": q.Kind, "product": q.Product, "category": q.Category, "lang": q.Lang} {
		if value != "" {
			must = append(must, term(field, value))
		}
	}
	if q.Rating > 0 {
		must = append(must, term("rating_s", strconv.Itoa(q.Rating)))
	}
	if len(ws) == 0 {
		must = append(must, bleve.NewMatchAllQuery())
	}
	req := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(must...), q.PerPage, (q.Page-1)*q.PerPage, false)
	req.Fields = []string{"*"}
	req.IncludeLocations = true
	switch q.Sort {
	case SortNewest:
		req.SortBy([]string{"-created_at", "-_score"})
	case SortRating:
		req.SortBy([]string{"-rating", "-_score"})
	default:
		req.SortBy([]string{"-_score", "-created_at"})
	}
	for _, f := range Facets {
		if q.NoFacets {
			break
		}
		field := f
		if f == "rating" {
			field = "rating_s"
		}
		req.AddFacet(f, bleve.NewFacetRequest(field, 20))
	}
	res, err := b.index.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	out := &Results{Total: int(res.Total), Page: q.Page, PerPage: q.PerPage, Pages: pages(int(res.Total), q.PerPage),
		Facets: map[string]map[string]int{}, Took: res.Took}
	for name, fr := range res.Facets {
		counts := map[string]int{}
		if fr.Terms != nil {
			for _, t := range fr.Terms.Terms() {
				if t.Term != "" && t.Term != "0" { // no rating, no language: not a value to filter by
					counts[t.Term] = t.Count
				}
			}
		}
		out.Facets[name] = counts
	}
	for _, h := range res.Hits {
		d := docFromFields(h.ID, h.Fields)
		spans := func(field string) []Span {
			var s []Span
			for _, locs := range h.Locations[field] {
				for _, l := range locs {
					s = append(s, Span{Start: int(l.Start), End: int(l.End)})
				}
			}
			return s
		}
		out.Hits = append(out.Hits, Hit{Document: d, TitleHTML: highlight(d.Title, spans("title"), 0),
			SnippetHTML: highlight(d.Body, spans("body"), 240)})
	}
	return out, nil
}

func docFromFields(id string, f map[string]any) Document {
	str := func(k string) string { s, _ := f[k].(string); return s }
	num := func(k string) float64 { n, _ := f[k].(float64); return n }
	d := Document{ID: id, Kind: str("kind"), Title: str("title"), Body: str("body"), URL: str("url"),
		Product: str("product"), Category: str("category"), Status: str("status"), Visibility: str("visibility"),
		Author: str("author"), Lang: str("lang"), Rating: int(num("rating")), Sentiment: num("sentiment"),
		CreatedAt: int64(num("created_at"))}
	switch t := f["tags"].(type) {
	case string:
		d.Tags = []string{t}
	case []any:
		for _, v := range t {
			if s, ok := v.(string); ok {
				d.Tags = append(d.Tags, s)
			}
		}
	}
	return d
}
