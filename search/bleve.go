package search

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"slices"
	"strconv"
	"strings"
	uni "unicode"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/token/edgengram"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/unicodenorm"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Bleve is the embedded index: Bleve on disk, in-process.
type Bleve struct {
	index   bleve.Index
	dir     string // "" in memory
	created bool
}

// textAnalyzer splits on Unicode word boundaries, lower-cases and folds accents, and stems
// nothing: the same words work in English and Indonesian, and typo tolerance covers plurals.
const textAnalyzer = "guyub_text"

// Analyzers of the fields only the public's searches read (see bleveMapping).
const (
	// searchAnalyzer is textAnalyzer that also gives each word of a synonym group its
	// group's token (synonymToken).
	searchAnalyzer = "guyub_search"
	// startsAnalyzer and shortStartsAnalyzer are textAnalyzer that gives each word its
	// starts (edge n-grams) of four letters or more — with its synonyms' — and of two and
	// three: a word typed so far is one term to look up, however many words start with it.
	startsAnalyzer      = "guyub_starts"
	shortStartsAnalyzer = "guyub_short_starts"
	// maxStart is the longest start indexed; a longer one is looked up in the dictionary.
	maxStart = 20
)

// synonymFilter is the token filter behind searchAnalyzer ("group": true) and
// startsAnalyzer.
const synonymFilter = "guyub_synonyms"

func init() {
	err := registry.RegisterTokenFilter(synonymFilter, func(config map[string]any, _ *registry.Cache) (analysis.TokenFilter, error) {
		group, _ := config["group"].(bool)
		return synonymTokens{group: group}, nil
	})
	if err != nil {
		panic(err)
	}
}

// synonymTokens adds, after each word of a synonym group, at the same place, the group's
// token (group): a search for any word of the group reads one list of postings; or the
// group's other words: their starts are then the word's too.
type synonymTokens struct{ group bool }

func (f synonymTokens) Filter(in analysis.TokenStream) analysis.TokenStream {
	out := make(analysis.TokenStream, 0, len(in))
	for _, t := range in {
		out = append(out, t)
		word := string(t.Term)
		if f.group {
			if group := synonymToken(word); group != "" {
				g := *t
				g.Term = []byte(group)
				out = append(out, &g)
			}
			continue
		}
		for _, other := range synonymsOf(word) {
			o := *t
			o.Term = []byte(other)
			out = append(out, &o)
		}
	}
	return out
}

// synonymToken names a word's synonym group in the index, or is "" for a word in none. It
// starts with a character no word has, so it is never found as a word or a word's start.
func synonymToken(word string) string {
	if group := synonymGroup[word]; group != nil {
		return "~" + group[0]
	}
	return ""
}

func bleveMapping() (*mapping.IndexMappingImpl, error) {
	m := bleve.NewIndexMapping()
	for name, filter := range map[string]map[string]any{
		"guyub_fold":          {"type": unicodenorm.Name, "form": unicodenorm.NFKD},
		"guyub_starts":        {"type": edgengram.Name, "min": 4.0, "max": float64(maxStart)},
		"guyub_short_starts":  {"type": edgengram.Name, "min": 2.0, "max": 3.0},
		"guyub_synonym_group": {"type": synonymFilter, "group": true},
		"guyub_synonym_words": {"type": synonymFilter},
	} {
		if err := m.AddCustomTokenFilter(name, filter); err != nil {
			return nil, err
		}
	}
	for name, extra := range map[string][]string{textAnalyzer: nil, searchAnalyzer: {"guyub_synonym_group"},
		startsAnalyzer: {"guyub_synonym_words", "guyub_starts"}, shortStartsAnalyzer: {"guyub_short_starts"}} {
		err := m.AddCustomAnalyzer(name, map[string]any{
			"type":          custom.Name,
			"tokenizer":     unicode.Name,
			"token_filters": append([]string{lowercase.Name, "guyub_fold"}, extra...),
		})
		if err != nil {
			return nil, err
		}
	}
	// Only the fields below are indexed, each once: no "_all" field, nothing unmapped.
	m.IndexDynamic, m.StoreDynamic, m.DocValuesDynamic = false, false, false
	doc := bleve.NewDocumentMapping()
	doc.Dynamic = false
	field := func(f *mapping.FieldMapping, store, docValues bool) *mapping.FieldMapping {
		f.Store, f.DocValues, f.IncludeInAll, f.IncludeTermVectors = store, docValues, false, false
		return f
	}
	text := func(analyzer string, store bool) *mapping.FieldMapping {
		f := field(bleve.NewTextFieldMapping(), store, false)
		f.Analyzer = analyzer
		f.IncludeTermVectors = store // the highlights' positions
		return f
	}
	// Title and body are stored, and shown with the words highlighted. The public's searches
	// find and rank matches on fields that hold published documents only, so no filter by
	// status is walked beside them: "text", the title twice and the body, where a word and its
	// synonyms are one list of postings to walk, not one per word and field; and, for the
	// word being typed, the starts of words: "starts" of four letters or more in the title and
	// body, "title_starts" of two or three in the title (a short start in the body matches
	// nearly every text).
	for _, name := range []string{"title", "body"} {
		doc.AddFieldMappingsAt(name, text(textAnalyzer, true))
	}
	doc.AddFieldMappingsAt("text", text(searchAnalyzer, false))
	doc.AddFieldMappingsAt("starts", text(startsAnalyzer, false))
	doc.AddFieldMappingsAt("title_starts", text(shortStartsAnalyzer, false))
	// Keywords: filters and shown values; sorts' values (doc values); and every facet's
	// value as "name=value" in one field, so that counting them reads one list of doc values,
	// not one per facet.
	for _, name := range []string{"kind", "product", "category", "forum", "tags", "lang", "status", "visibility", "author", "url"} {
		doc.AddFieldMappingsAt(name, field(bleve.NewKeywordFieldMapping(), true, false))
	}
	doc.AddFieldMappingsAt("rating_s", field(bleve.NewKeywordFieldMapping(), false, true))
	doc.AddFieldMappingsAt("created_key", field(bleve.NewKeywordFieldMapping(), false, true))
	doc.AddFieldMappingsAt("facets", field(bleve.NewKeywordFieldMapping(), false, true))
	// Numbers are only shown: sorting by a numeric field reads sixteen terms per document.
	for _, name := range []string{"rating", "created_at", "sentiment"} {
		f := field(bleve.NewNumericFieldMapping(), true, false)
		f.Index = false
		doc.AddFieldMappingsAt(name, f)
	}
	m.DefaultMapping = doc
	m.DefaultAnalyzer = textAnalyzer
	return m, nil
}

// schemaVersion changes whenever the mapping does; an index made with another one is made
// anew, since Bleve cannot change the mapping of an index. 2: forum categories apart from
// product categories. 3: the public's fields, sorts on keywords. The synonyms are part of it:
// they are in the index.
var schemaVersion = func() string {
	h := fnv.New64a()
	for _, group := range Synonyms {
		fmt.Fprintln(h, strings.Join(group, " "))
	}
	return fmt.Sprintf("3-%x", h.Sum64())
}()

var schemaKey = []byte("guyub_schema")

// OpenBleve opens the index under dir, creating it on first use or when it was made with
// an older mapping (Created then says so: the caller fills it from the database).
func OpenBleve(dir string) (*Bleve, error) {
	idx, err := bleve.Open(dir)
	if err == nil {
		if v, verr := idx.GetInternal(schemaKey); verr == nil && string(v) == schemaVersion {
			return &Bleve{index: idx, dir: dir}, nil
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
	return &Bleve{index: idx, dir: dir, created: created}, nil
}

// Created reports whether the index was made empty when opened: new, or rebuilt for a new
// mapping.
func (b *Bleve) Created() bool { return b.created }

// PageOut hands the memory that holds the index's files back to the kernel, for a server
// gone quiet: Bleve maps its segments, and the pages a burst of searches read stay in the
// process's resident memory until the kernel needs them. The next search reads them again.
func (b *Bleve) PageOut() (int64, error) {
	if b.dir == "" {
		return 0, nil
	}
	return pageOutMapped(b.dir)
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

// bleveDoc is what Bleve indexes: the document; for a published one, the words the public
// searches in (the title twice: a word in the title counts more); the rating and date as
// keywords to sort by; and the facets' values.
type bleveDoc struct {
	Document
	Text        string   `json:"text,omitempty"`
	Starts      string   `json:"starts,omitempty"`
	TitleStarts string   `json:"title_starts,omitempty"`
	Facets      []string `json:"facets"`
	RatingS     string   `json:"rating_s,omitempty"`
	CreatedKey  string   `json:"created_key"`
}

// createdKey orders by date as text: fixed-width hexadecimal seconds.
func createdKey(unix int64) string { return fmt.Sprintf("%016x", max(unix, 0)) }

// Upsert adds or replaces documents in one batch.
func (b *Bleve) Upsert(_ context.Context, docs ...Document) error {
	batch := b.index.NewBatch()
	for _, d := range docs {
		bd := bleveDoc{Document: d, CreatedKey: createdKey(d.CreatedAt)}
		for _, name := range Facets {
			if v := d.facet(name); v != "" {
				bd.Facets = append(bd.Facets, name+"="+v)
			}
		}
		if d.Status == published {
			bd.Text, bd.TitleStarts = d.Title+"\n"+d.Title+"\n"+d.Body, d.Title
			bd.Starts = bd.Text
		}
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
	public := slices.Equal(q.Statuses, []string{published})
	page := q.PerPage
	from := (q.Page - 1) * q.PerPage
	keep := from + page
	if !q.NoFacets {
		keep = max(keep, facetSample)
	}
	typos := false
	text, onlyPublished := textQuery(ws, typos, asYouType, q.AnyWord, public)
	res, err := b.ids(ctx, q, text, b.filters(q, !onlyPublished), keep)
	if err != nil {
		return nil, err
	}
	if res.Total == 0 && len(ws) > 0 {
		typos = true
		text, onlyPublished = textQuery(ws, typos, asYouType, q.AnyWord, public)
		if res, err = b.ids(ctx, q, text, b.filters(q, !onlyPublished), keep); err != nil {
			return nil, err
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
		// The words are highlighted where they are: in the title or the body.
		shown, _ := textQuery(ws, typos, asYouType, q.AnyWord, false)
		if out.Hits, err = b.hits(ctx, pageIDs, shown, !q.NoFacets); err != nil {
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

// filters are the query's conditions other than its words; byStatus: with its statuses.
func (b *Bleve) filters(q Query, byStatus bool) []query.Query {
	term := func(field, value string) query.Query {
		tq := bleve.NewTermQuery(value)
		tq.SetField(field)
		return tq
	}
	var must []query.Query
	if byStatus {
		var statuses []query.Query
		for _, st := range q.Statuses {
			statuses = append(statuses, term("status", st))
		}
		must = append(must, bleve.NewDisjunctionQuery(statuses...))
	}
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

// textQuery matches every word, as typed or as a synonym. With typos, words of five letters
// or more may be one or two letters off. As the words are typed (asYouType), the last one is
// also the start of a longer word: of two or three letters in the title, of four or more in
// the title or body. anyWord needs only one of the words. nil: no words.
//
// public looks in the fields that hold published documents only ("text" and the starts);
// else the words are looked for in the title (which counts double) and the body of every
// document. onlyPublished says whether the query matches published documents only, so that
// it needs no filter by status.
func textQuery(ws []string, typos, asYouType, anyWord, public bool) (q query.Query, onlyPublished bool) {
	match := func(field, word string) *query.MatchQuery {
		mq := bleve.NewMatchQuery(word)
		mq.SetField(field)
		mq.Analyzer = textAnalyzer // the word as typed, not its synonym group's token
		if typos {
			mq.SetFuzziness(fuzziness(word))
		}
		return mq
	}
	onlyPublished = public
	var must []query.Query
	for i, w := range ws {
		n := len([]rune(w))
		typing := asYouType && i == len(ws)-1 && n >= 2
		if typing && public && n >= 4 && n <= maxStart && !typos {
			// The word's starts hold the word itself and its synonyms.
			must = append(must, match("starts", w))
			continue
		}
		var alternatives []query.Query
		switch group := synonymToken(w); {
		case public && group != "" && !typos:
			tq := bleve.NewTermQuery(group)
			tq.SetField("text")
			alternatives = append(alternatives, tq)
		case public:
			for _, term := range append([]string{w}, synonymsOf(w)...) {
				alternatives = append(alternatives, match("text", term))
			}
		default:
			for _, term := range append([]string{w}, synonymsOf(w)...) {
				title := match("title", term)
				title.SetBoost(2)
				alternatives = append(alternatives, title, match("body", term))
			}
		}
		if typing {
			switch {
			case public && n <= maxStart:
				start := match("starts", w)
				if n < 4 {
					start.SetField("title_starts")
				}
				start.SetFuzziness(0)
				alternatives = append(alternatives, start)
			default:
				// Looked up in the dictionary: a short start stands for many words, so two
				// letters search titles, four the bodies.
				for _, field := range []string{"title", "body"} {
					if field == "body" && (n < 4 || public) {
						continue
					}
					pq := bleve.NewPrefixQuery(w)
					pq.SetField(field)
					alternatives = append(alternatives, pq)
				}
				onlyPublished = false
			}
		}
		if len(alternatives) == 1 {
			must = append(must, alternatives[0])
		} else {
			must = append(must, bleve.NewDisjunctionQuery(alternatives...))
		}
	}
	switch {
	case len(must) == 0:
		return nil, false
	case anyWord:
		// Alike means sharing more than one word, when there are several to share.
		d := bleve.NewDisjunctionQuery(must...)
		d.SetMin(float64(min(2, len(must))))
		return d, onlyPublished
	case len(must) == 1:
		return must[0], onlyPublished
	}
	return bleve.NewConjunctionQuery(must...), onlyPublished
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
	} else if len(must) == 0 {
		must = append(must, bleve.NewMatchAllQuery())
	}
	var all query.Query = bleve.NewConjunctionQuery(must...)
	if len(must) == 1 {
		all = must[0]
	}
	req := bleve.NewSearchRequestOptions(all, keep, 0, false)
	switch q.Sort {
	case SortNewest:
		req.SortBy([]string{"-created_key", "-_score"})
	case SortRating:
		req.SortBy([]string{"-rating_s", "-_score"})
	case SortRelevance:
		if text == nil { // no words: every match is as relevant, so the newest first
			req.SortBy([]string{"-created_key"})
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

// facets counts the values of each facet among the documents ids, the 20 commonest of each.
func (b *Bleve) facets(ctx context.Context, ids []string) (map[string]map[string]int, error) {
	req := bleve.NewSearchRequestOptions(bleve.NewDocIDQuery(ids), 0, 0, false)
	req.AddFacet("facets", bleve.NewFacetRequest("facets", len(ids)*len(Facets)))
	res, err := b.index.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	type count struct {
		value string
		n     int
	}
	byFacet := map[string][]count{}
	if fr := res.Facets["facets"]; fr != nil && fr.Terms != nil {
		for _, t := range fr.Terms.Terms() {
			if name, value, ok := strings.Cut(t.Term, "="); ok {
				byFacet[name] = append(byFacet[name], count{value, t.Count})
			}
		}
	}
	out := map[string]map[string]int{}
	for _, name := range Facets {
		counts := byFacet[name]
		slices.SortFunc(counts, func(a, b count) int { return cmp.Or(b.n-a.n, strings.Compare(a.value, b.value)) })
		out[name] = map[string]int{}
		for _, c := range counts[:min(len(counts), 20)] {
			out[name][c.value] = c.n
		}
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
