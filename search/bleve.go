package search

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
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
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Bleve is the embedded index: Bleve on disk, in-process.
type Bleve struct {
	index   bleve.Index
	created bool
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
	for _, name := range []string{"kind", "product", "category", "forum", "tags", "status", "visibility", "author", "lang", "url", "rating_s"} {
		doc.AddFieldMappingsAt(name, kw())
	}
	for _, name := range []string{"rating", "created_at", "sentiment"} {
		doc.AddFieldMappingsAt(name, num())
	}
	m.DefaultMapping = doc
	m.DefaultAnalyzer = textAnalyzer
	return m, nil
}

// schemaVersion changes whenever the mapping does; an index made with another one is made
// anew, since Bleve cannot change the mapping of an index. 2: forum categories apart from
// product categories.
const schemaVersion = "2"

var schemaKey = []byte("guyub_schema")

// OpenBleve opens the index under dir, creating it on first use or when it was made with
// an older mapping (Created then says so: the caller fills it from the database).
func OpenBleve(dir string) (*Bleve, error) {
	idx, err := bleve.Open(dir)
	if err == nil {
		if v, verr := idx.GetInternal(schemaKey); verr == nil && string(v) == schemaVersion {
			return &Bleve{index: idx}, nil
		}
		_ = idx.Close()
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("search index %s: remove the old version: %w", dir, err)
		}
		err = bleve.ErrorIndexPathDoesNotExist
	}
	created := false
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		created = true
		m, merr := bleveMapping()
		if merr != nil {
			return nil, merr
		}
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
		_ = os.Remove(dir) // bleve creates the directory itself and wants it absent
		if idx, err = bleve.New(dir, m); err == nil {
			err = idx.SetInternal(schemaKey, []byte(schemaVersion))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("search index %s: %w", dir, err)
	}
	return &Bleve{index: idx, created: created}, nil
}

// Created reports whether the index was made empty when opened: new, or rebuilt for a new
// mapping.
func (b *Bleve) Created() bool { return b.created }

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
// facetSample is how many of the best hits facets are counted over when there are more:
// counting walks the hits' values, so past this the counts describe the most relevant
// matches (Results.FacetsSampled) and the time stays bounded however common the words are.
const facetSample = 500

// Search runs a query in passes that each stay cheap on a large index:
//
//  1. the words as typed (and their synonyms), the last one also as a prefix: one walk
//     over the matches that keeps only the best hits' IDs;
//  2. only when that finds nothing, again with typos allowed (fuzzy matching is the
//     expensive part, and a query that matches as typed needs none);
//  3. the page's hits with their stored fields and highlights, by ID;
//  4. the facet counts, over all the matches when they are few, else over the best
//     facetSample of them.
func (b *Bleve) Search(ctx context.Context, q Query) (*Results, error) {
	q.Normalize()
	ws := words(q.Text)
	asYouType := q.NoFacets
	if q.AnyWord {
		if ws, asYouType = significant(ws), false; len(ws) == 0 {
			return &Results{Page: q.Page, PerPage: q.PerPage, Facets: map[string]map[string]int{}}, nil // nothing to be alike in
		}
	}
	filters := b.filters(q)
	page := q.PerPage
	from := (q.Page - 1) * q.PerPage
	keep := from + page
	if !q.NoFacets {
		keep = max(keep, facetSample)
	}
	text := textQuery(ws, false, asYouType, q.AnyWord)
	res, err := b.ids(ctx, q, text, filters, keep)
	if err != nil {
		return nil, err
	}
	if res.Total == 0 && len(ws) > 0 {
		if text = textQuery(ws, true, asYouType, q.AnyWord); text != nil {
			if res, err = b.ids(ctx, q, text, filters, keep); err != nil {
				return nil, err
			}
		}
	}
	out := &Results{Total: int(res.Total), Page: q.Page, PerPage: q.PerPage, Pages: pages(int(res.Total), q.PerPage),
		Facets: map[string]map[string]int{}, Took: res.Took}
	var pageIDs, all []string
	for i, h := range res.Hits {
		all = append(all, h.ID)
		if i >= from && i < from+page {
			pageIDs = append(pageIDs, h.ID)
		}
	}
	if len(pageIDs) > 0 {
		if out.Hits, err = b.hits(ctx, pageIDs, text, !q.NoFacets); err != nil {
			return nil, err
		}
	}
	if !q.NoFacets && len(all) > 0 {
		out.FacetsSampled = res.Total > uint64(len(all))
		if out.Facets, err = b.facets(ctx, all); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// filters are the query's conditions other than its words.
func (b *Bleve) filters(q Query) []query.Query {
	term := func(field, value string) query.Query {
		tq := bleve.NewTermQuery(value)
		tq.SetField(field)
		return tq
	}
	var statuses []query.Query
	for _, st := range q.Statuses {
		statuses = append(statuses, term("status", st))
	}
	must := []query.Query{bleve.NewDisjunctionQuery(statuses...)}
	for field, value := range map[string]string{"kind": q.Kind, "product": q.Product, "category": q.Category, "forum": q.Forum, "lang": q.Lang} {
		if value != "" {
			must = append(must, term(field, value))
		}
	}
	if q.Rating > 0 {
		must = append(must, term("rating_s", strconv.Itoa(q.Rating)))
	}
	return must
}

// textQuery matches every word in the title (which counts double) or the body, as typed or
// as a synonym. With typos, words of five letters or more may be one or two letters off.
// As the words are typed (asYouType), the last one is also the start of a longer word: a
// prefix stands for many words, so it is left out of searches made with the whole words.
// anyWord needs only one of the words. nil: no words.
func textQuery(ws []string, typos, asYouType, anyWord bool) query.Query {
	fields := []string{"title", "body"}
	var must []query.Query
	for i, w := range ws {
		var alternatives []query.Query
		for _, term := range append([]string{w}, synonymsOf(w)...) {
			for _, field := range fields {
				mq := bleve.NewMatchQuery(term)
				mq.SetField(field)
				if typos {
					mq.SetFuzziness(fuzziness(term))
				}
				if field == "title" {
					mq.SetBoost(2)
				}
				alternatives = append(alternatives, mq)
			}
		}
		// A short prefix stands for many words: two letters search titles, four the bodies.
		if n := len([]rune(w)); asYouType && i == len(ws)-1 && n >= 2 {
			for _, field := range fields {
				if field == "body" && n < 4 {
					continue
				}
				pq := bleve.NewPrefixQuery(w)
				pq.SetField(field)
				alternatives = append(alternatives, pq)
			}
		}
		must = append(must, bleve.NewDisjunctionQuery(alternatives...))
	}
	if len(must) == 0 {
		return nil
	}
	if anyWord {
		// Alike means sharing more than one word, when there are several to share.
		d := bleve.NewDisjunctionQuery(must...)
		d.SetMin(float64(min(2, len(must))))
		return d
	}
	return bleve.NewConjunctionQuery(must...)
}

// significant keeps the words that say what a text is about, the first 16: the short ones
// every text has ("the", "dan", "for") are left out.
func significant(ws []string) []string {
	var out []string
	for _, w := range ws {
		if len(out) < 16 && len([]rune(w)) >= 3 && !smallWords[w] && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// smallWords are English and Indonesian words of three letters or more that say nothing
// about a text's subject.
var smallWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`the and but for not was are you our its has had out all any can with this that
		from have they them then than when what were will would there their very also just into
		dan ini itu ada apa aku kau dia kami kita yang untuk dari pada atau tapi juga sudah belum
		tidak bisa akan dengan saya mereka sangat lebih karena`) {
		smallWords[w] = true
	}
}

// ids walks the matches once and keeps the best keep hits' IDs, in the query's order.
func (b *Bleve) ids(ctx context.Context, q Query, text query.Query, filters []query.Query, keep int) (*bleve.SearchResult, error) {
	must := append([]query.Query{}, filters...)
	if text != nil {
		must = append(must, text)
	} else {
		must = append(must, bleve.NewMatchAllQuery())
	}
	req := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(must...), keep, 0, false)
	switch q.Sort {
	case SortNewest:
		req.SortBy([]string{"-created_at", "-_score"})
	case SortRating:
		req.SortBy([]string{"-rating", "-_score"})
	case SortRelevance:
		if text == nil { // no words: every match is as relevant, so the newest first
			req.SortBy([]string{"-created_at"})
		} else {
			// By score alone: a tie-break on a stored value costs a look-up per match,
			// and doubled the time of a common word's search.
			req.SortBy([]string{"-_score"})
		}
	}
	res, err := b.index.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return res, nil
}

// hits loads the stored fields of the page's hits, in order, with the words highlighted.
func (b *Bleve) hits(ctx context.Context, ids []string, text query.Query, highlights bool) ([]Hit, error) {
	var q query.Query = bleve.NewDocIDQuery(ids)
	if text != nil && highlights {
		q = bleve.NewConjunctionQuery(q, text)
	}
	req := bleve.NewSearchRequestOptions(q, len(ids), 0, false)
	req.Fields = []string{"*"}
	req.IncludeLocations = highlights
	res, err := b.index.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	byID := map[string]*search.DocumentMatch{}
	for _, h := range res.Hits {
		byID[h.ID] = h
	}
	out := make([]Hit, 0, len(ids))
	for _, id := range ids {
		h := byID[id]
		if h == nil {
			continue // deleted between the passes
		}
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
		out = append(out, Hit{Document: d, TitleHTML: highlight(d.Title, spans("title"), 0),
			SnippetHTML: highlight(d.Body, spans("body"), 240)})
	}
	return out, nil
}

// facets counts the values of each facet field among the documents ids.
func (b *Bleve) facets(ctx context.Context, ids []string) (map[string]map[string]int, error) {
	req := bleve.NewSearchRequestOptions(bleve.NewDocIDQuery(ids), 0, 0, false)
	for _, f := range Facets {
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
	out := map[string]map[string]int{}
	for name, fr := range res.Facets {
		counts := map[string]int{}
		if fr.Terms != nil {
			for _, t := range fr.Terms.Terms() {
				if t.Term != "" && t.Term != "0" { // no rating, no language: not a value to filter by
					counts[t.Term] = t.Count
				}
			}
		}
		out[name] = counts
	}
	return out, nil
}

func docFromFields(id string, f map[string]any) Document {
	str := func(k string) string { s, _ := f[k].(string); return s }
	num := func(k string) float64 { n, _ := f[k].(float64); return n }
	d := Document{ID: id, Kind: str("kind"), Title: str("title"), Body: str("body"), URL: str("url"),
		Product: str("product"), Category: str("category"), Forum: str("forum"), Status: str("status"), Visibility: str("visibility"),
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
