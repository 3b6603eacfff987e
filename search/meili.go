package search

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/meilisearch/meilisearch-go"
)

// Meili is the production index on Meilisearch.
type Meili struct {
	client meilisearch.ServiceManager
	index  meilisearch.IndexManager
	uid    string
}

// Settings of the index, declared once: what is searched, filtered, sorted, and the synonyms.
var (
	searchable = []string{"title", "body", "tags", "product", "category"}
	filterable = []string{"kind", "product", "category", "forum", "rating", "lang", "status", "visibility", "tags"}
	sortable   = []string{"created_at", "rating"}
)

// OpenMeili connects to Meilisearch and applies the settings, waiting for them to take.
func OpenMeili(ctx context.Context, url, apiKey, uid string) (*Meili, error) {
	client := meilisearch.New(url, meilisearch.WithAPIKey(apiKey))
	m := &Meili{client: client, index: client.Index(uid), uid: uid}
	pk := "id"
	task, err := client.CreateIndexWithContext(ctx, &meilisearch.IndexConfig{Uid: uid, PrimaryKey: pk})
	if err != nil {
		return nil, fmt.Errorf("meilisearch: create index: %w", err)
	}
	// An index that exists already fails this task; that is fine.
	if err := m.wait(ctx, task); err != nil && !strings.Contains(err.Error(), "index_already_exists") {
		return nil, err
	}
	synonyms := map[string][]string{}
	for _, group := range Synonyms {
		for _, w := range group {
			synonyms[w] = synonymsOf(w)
		}
	}
	task, err = m.index.UpdateSettingsWithContext(ctx, &meilisearch.Settings{
		SearchableAttributes: searchable,
		FilterableAttributes: filterable,
		SortableAttributes:   sortable,
		Synonyms:             synonyms,
		TypoTolerance:        &meilisearch.TypoTolerance{Enabled: true, MinWordSizeForTypos: meilisearch.MinWordSizeForTypos{OneTypo: 5, TwoTypos: 9}},
	})
	if err != nil {
		return nil, fmt.Errorf("meilisearch: settings: %w", err)
	}
	if err := m.wait(ctx, task); err != nil {
		return nil, err
	}
	return m, nil
}

// wait waits for a task and reports its failure as an error.
func (m *Meili) wait(ctx context.Context, info *meilisearch.TaskInfo) error {
	task, err := m.client.WaitForTaskWithContext(ctx, info.TaskUID, 50*time.Millisecond)
	if err != nil {
		return fmt.Errorf("meilisearch: task %d: %w", info.TaskUID, err)
	}
	if task.Status == meilisearch.TaskStatusFailed {
		return fmt.Errorf("meilisearch: task %d failed: %s (%s)", info.TaskUID, task.Error.Message, task.Error.Code)
	}
	return nil
}

// Upsert adds or replaces documents.
func (m *Meili) Upsert(ctx context.Context, docs ...Document) error {
	if len(docs) == 0 {
		return nil
	}
	pk := "id"
	task, err := m.index.AddDocumentsWithContext(ctx, docs, &meilisearch.DocumentOptions{PrimaryKey: &pk})
	if err != nil {
		return fmt.Errorf("meilisearch: add documents: %w", err)
	}
	return m.wait(ctx, task)
}

// Delete removes documents.
func (m *Meili) Delete(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	task, err := m.index.DeleteDocumentsWithContext(ctx, ids, nil)
	if err != nil {
		return fmt.Errorf("meilisearch: delete documents: %w", err)
	}
	return m.wait(ctx, task)
}

// Clear removes every document.
func (m *Meili) Clear(ctx context.Context) error {
	task, err := m.index.DeleteAllDocumentsWithContext(ctx, nil)
	if err != nil {
		return fmt.Errorf("meilisearch: clear: %w", err)
	}
	return m.wait(ctx, task)
}

// Ping asks Meilisearch whether it is healthy.
func (m *Meili) Ping(ctx context.Context) error {
	if _, err := m.client.HealthWithContext(ctx); err != nil {
		return fmt.Errorf("meilisearch: %w", err)
	}
	return nil
}

// Close has nothing to release.
func (m *Meili) Close() error { return nil }

// quote makes a value safe inside a Meilisearch filter expression.
func quote(v string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `"`, `\"`) + `"`
}

// filter is the filter expression of a query; every user value is quoted.
func filter(q Query) string {
	var statuses []string
	for _, s := range q.Statuses {
		statuses = append(statuses, quote(s))
	}
	parts := []string{"status IN [" + strings.Join(statuses, ", ") + "]"}
	for _, f := range []struct{ field, value string }{{"kind", q.Kind}, {"product", q.Product}, {"category", q.Category}, {"forum", q.Forum}, {"lang", q.Lang}} {
		if f.value != "" {
			parts = append(parts, f.field+" = "+quote(f.value))
		}
	}
	if q.Rating > 0 {
		parts = append(parts, "rating = "+strconv.Itoa(q.Rating))
	}
	return strings.Join(parts, " AND ")
}

type meiliHit struct {
	Document
	Matches map[string][]struct {
		Start  int `json:"start"`
		Length int `json:"length"`
	} `json:"_matchesPosition"`
}

// Search runs a query on Meilisearch.
func (m *Meili) Search(ctx context.Context, q Query) (*Results, error) {
	q.Normalize()
	perPage := int64(q.PerPage)
	req := &meilisearch.SearchRequest{
		Filter:              filter(q),
		Page:                int64(q.Page),
		HitsPerPage:         &perPage,
		ShowMatchesPosition: true,
	}
	if !q.NoFacets {
		req.Facets = Facets
	}
	if q.AnyWord {
		req.MatchingStrategy = meilisearch.Frequency
	}
	switch q.Sort {
	case SortNewest:
		req.Sort = []string{"created_at:desc"}
	case SortRating:
		req.Sort = []string{"rating:desc"}
	}
	res, err := m.index.SearchWithContext(ctx, q.Text, req)
	if err != nil {
		return nil, fmt.Errorf("meilisearch: search: %w", err)
	}
	out := &Results{Total: int(res.TotalHits), Page: q.Page, PerPage: q.PerPage, Pages: int(res.TotalPages),
		Facets: map[string]map[string]int{}, Took: time.Duration(res.ProcessingTimeMs) * time.Millisecond}
	if len(res.FacetDistribution) > 0 {
		if err := json.Unmarshal(res.FacetDistribution, &out.Facets); err != nil {
			return nil, fmt.Errorf("meilisearch: facets: %w", err)
		}
	}
	for _, raw := range res.Hits {
		b, err := json.Marshal(raw)
		if err != nil {
			return nil, err
		}
		var h meiliHit
		if err := json.Unmarshal(b, &h); err != nil {
			return nil, fmt.Errorf("meilisearch: hit: %w", err)
		}
		spans := func(field string) []Span {
			var s []Span
			for _, p := range h.Matches[field] {
				s = append(s, Span{Start: p.Start, End: p.Start + p.Length})
			}
			sort.Slice(s, func(i, j int) bool { return s[i].Start < s[j].Start })
			return s
		}
		out.Hits = append(out.Hits, Hit{Document: h.Document, TitleHTML: highlight(h.Title, spans("title"), 0),
			SnippetHTML: highlight(h.Body, spans("body"), 240)})
	}
	return out, nil
}
