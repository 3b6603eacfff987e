package insights

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// Sources are the parts of the portal feedback comes from.
var Sources = []string{"reviews", "forums", "ideas", "surveys", "testimonials"}

// Periods a report can cover, in days.
var Periods = []int{30, 90, 180, 365}

// Filter chooses the feedback a report reads.
type Filter struct {
	Products   []string // slugs; none: every product, and feedback about none
	Source     string
	Touchpoint string // survey comments at one moment
	Lang       string
	Stage      string // the author's lifecycle stage when they wrote it
	Band       string // the author's satisfaction band then
	Days       int    // the period: the last Days days, up to To
	To         time.Time
}

// Validate checks a filter and fills in its defaults (the last 90 days, up to now).
func (f *Filter) Validate(now time.Time) error {
	var fe errs.Fields
	if f.Days == 0 {
		f.Days = 90
	}
	if !slices.Contains(Periods, f.Days) {
		fe.Add("days", "field.choose_one")
	}
	if f.Source != "" && !slices.Contains(Sources, f.Source) {
		fe.Add("source", "field.choose_one")
	}
	if f.Lang != "" && f.Lang != LangEnglish && f.Lang != LangIndonesian && f.Lang != LangMixed {
		fe.Add("language", "field.choose_one")
	}
	f.Products = slices.Compact(slices.Sorted(slices.Values(f.Products)))
	if len(f.Products) > 10 {
		fe.Add("product", "field.too_many", "Max", 10)
	}
	if slices.ContainsFunc(f.Products, func(p string) bool { return len(p) > 200 }) {
		fe.Add("product", "field.choose_one")
	}
	if f.Stage != "" && !slices.Contains(customers.Stages, customers.Stage(f.Stage)) {
		fe.Add("stage", "field.choose_one")
	}
	if f.Band != "" && !slices.Contains(customers.Bands, f.Band) {
		fe.Add("band", "field.choose_one")
	}
	if len(f.Touchpoint) > 40 {
		fe.Add("touchpoint", "field.choose_one")
	}
	if f.To.IsZero() {
		f.To = now
	}
	return fe.Err()
}

// From is where the filter's period starts.
func (f Filter) From() time.Time { return f.To.AddDate(0, 0, -f.Days) }

// query is the filter as a query on items from a time on.
func (f Filter) query(from, to time.Time) bson.M {
	q := bson.M{"created_at": bson.M{"$gte": from, "$lt": to}}
	switch len(f.Products) {
	case 0:
	case 1:
		q["product"] = f.Products[0]
	default:
		q["product"] = bson.M{"$in": f.Products}
	}
	for field, v := range map[string]string{"source": f.Source, "touchpoint": f.Touchpoint, "lang": f.Lang, "stage": f.Stage, "band": f.Band} {
		if v != "" {
			q[field] = v
		}
	}
	return q
}

// Counts are pieces of feedback by sentiment.
type Counts struct {
	Positive, Neutral, Negative int
}

// Total is every piece counted.
func (c Counts) Total() int { return c.Positive + c.Neutral + c.Negative }

// Share is a sentiment's share of the total, in percent; 0 when there is nothing.
func (c Counts) Share(sentiment string) float64 {
	if c.Total() == 0 {
		return 0
	}
	n := map[string]int{Positive: c.Positive, Neutral: c.Neutral, Negative: c.Negative}[sentiment]
	return 100 * float64(n) / float64(c.Total())
}

func (c *Counts) add(sentiment string) {
	switch sentiment {
	case Positive:
		c.Positive++
	case Negative:
		c.Negative++
	default:
		c.Neutral++
	}
}

// Mean is an average and how many values it has: with none, there is no average.
type Mean struct {
	Sum float64
	N   int
}

// Value is the average, NaN for none.
func (m Mean) Value() float64 {
	if m.N == 0 {
		return math.NaN()
	}
	return m.Sum / float64(m.N)
}

func (m *Mean) add(v float64) { m.Sum += v; m.N++ }

// NPS counts survey answers on the 0–10 scale.
type NPS struct {
	Promoters, Passives, Detractors int
}

// N is the number of answers.
func (n NPS) N() int { return n.Promoters + n.Passives + n.Detractors }

// Value is the net promoter score (−100…100), NaN with no answers.
func (n NPS) Value() float64 {
	if n.N() == 0 {
		return math.NaN()
	}
	return 100 * float64(n.Promoters-n.Detractors) / float64(n.N())
}

func (n *NPS) add(score int) {
	switch {
	case score >= 9:
		n.Promoters++
	case score >= 7:
		n.Passives++
	default:
		n.Detractors++
	}
}

// Bucket is a week or a month of the period.
type Bucket struct {
	Start time.Time
	Counts
}

// Quote is a representative piece of feedback, linked to its source.
type Quote struct {
	ID        string
	Text      string
	URL       string
	Sentiment string
	Source    string
}

// ThemeStat is what the period's feedback says about one theme.
type ThemeStat struct {
	Theme
	Counts
	// Earlier and Later are the theme's share of all feedback (percent) before the last
	// third of the period and within it: its trend.
	Earlier, Later float64
	Quotes         []Quote
	// Ratings (a review's stars or a CSAT answer) and NPS of the feedback that mentions the
	// theme, and of the rest: what the theme does to the scores (its drivers).
	RatingWith, RatingWithout Mean
	NPSWith, NPSWithout       NPS
}

// Trend is the change of the theme's share from the first two thirds of the period to the
// last third, in percentage points.
func (t ThemeStat) Trend() float64 { return t.Later - t.Earlier }

// Worsening says whether the trend is bad news: complaints rising or praise falling.
func (t ThemeStat) Worsening() bool { return (t.Trend() > 0) == (t.Negative > t.Positive) }

// RatingGap is how much lower (negative) or higher the ratings that mention the theme are
// than the others; NaN without both.
func (t ThemeStat) RatingGap() float64 { return t.RatingWith.Value() - t.RatingWithout.Value() }

// Phrase is a phrase whose share of feedback rose.
type Phrase struct {
	Text           string
	Recent, Before int     // pieces of feedback with it in the last 30 days, and the 90 before
	RecentShare    float64 // percent of the feedback of those 30 days
	BeforeShare    float64
}

// ProductStat compares a product with the others.
type ProductStat struct {
	Slug string
	Counts
	Rating   Mean
	TopTheme string // key
}

// Report is what the feedback of a period says.
type Report struct {
	Filter      Filter
	Granularity string // week or month
	Counts
	Buckets  []Bucket
	Themes   []ThemeStat // by volume
	Drivers  []ThemeStat // the themes with ratings both ways, the one that pulls ratings down most first
	Emerging []Phrase
	Products []ProductStat // by volume
	Rating   Mean
	NPS      NPS

	themes map[string]Theme
}

// ThemeName is a theme's name in a language, or its key if it is gone.
func (r *Report) ThemeName(key, lang string) string {
	if t, ok := r.themes[key]; ok {
		return t.NameIn(lang)
	}
	return key
}

// Thin says there is too little feedback to read the figures as more than anecdotes.
func (r *Report) Thin() bool { return r.Total() > 0 && r.Total() < 20 }

// reportFields are the fields a report reads: never the text, which it fetches only for
// the quotes.
var reportFields = bson.M{"source": 1, "product": 1, "created_at": 1, "sentiment": 1, "score": 1, "themes": 1, "theme_sentiments": 1,
	"rating": 1, "survey": 1, "answer": 1, "phrases": 1}

// Limits of a report.
const (
	topThemes       = 12
	quotesPerTheme  = 3
	maxQuoteLen     = 280
	topProducts     = 8
	emergingRecent  = 30
	emergingBefore  = 90
	emergingMinimum = 3 // pieces in the last 30 days
	topPhrases      = 10
)

// reportTTL is how long a report is served before it is read again: a product team's
// view of a quarter does not need the last minute, and a report of a busy year reads tens
// of thousands of items (a second or more on the embedded database; see the benchmark).
const reportTTL = 5 * time.Minute

// reportCache keeps recent reports by filter; one reading at a time per filter.
type reportCache struct {
	mu      sync.Mutex
	entries map[string]*cachedReport
	reading singleflight.Group
}

type cachedReport struct {
	report *Report
	at     time.Time
}

// key names a filter, whatever its end: reports are of "the last N days".
func (f Filter) key() string {
	f.To = time.Time{}
	b, _ := json.Marshal(f) // every value quoted: no two filters share a key
	return string(b)
}

// Report reads the feedback the filter chooses, up to now: from a report made in the last
// few minutes if there is one (its Filter.To says when).
func (s *Service) Report(ctx context.Context, f Filter) (*Report, error) {
	if err := f.Validate(s.now()); err != nil {
		return nil, err
	}
	key := f.key()
	s.reports.mu.Lock()
	if e := s.reports.entries[key]; e != nil && s.now().Sub(e.at) < reportTTL {
		s.reports.mu.Unlock()
		return e.report, nil
	}
	s.reports.mu.Unlock()
	// The reading is shared by every caller of the same filter meanwhile, so it runs on a
	// context of its own: one caller leaving must not fail the others.
	done := s.reports.reading.DoChan(key, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reportTimeout)
		defer cancel()
		r, err := s.report(rctx, f)
		if err != nil {
			return nil, err
		}
		s.reports.mu.Lock()
		defer s.reports.mu.Unlock()
		if s.reports.entries == nil || len(s.reports.entries) >= 200 {
			s.reports.entries = map[string]*cachedReport{} // rarely reached: start afresh
		}
		s.reports.entries[key] = &cachedReport{report: r, at: s.now()}
		return r, nil
	})
	select {
	case res := <-done:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Report), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// reportTimeout bounds one reading of the items.
const reportTimeout = time.Minute

// ForgetReports drops the reports made so far: the next ones read the items again (after
// the themes change, and in tests).
func (s *Service) ForgetReports() {
	s.reports.mu.Lock()
	s.reports.entries = nil
	s.reports.mu.Unlock()
}

// report reads the feedback the filter (valid) chooses.
func (s *Service) report(ctx context.Context, f Filter) (*Report, error) {
	a, _, err := s.current(ctx) // its themes are read once per change
	if err != nil {
		return nil, err
	}
	themes := a.themes.List()
	r := &Report{Filter: f, Granularity: "week", themes: map[string]Theme{}}
	for _, t := range themes {
		r.themes[t.Key] = t
	}
	if f.Days > 90 {
		r.Granularity = "month"
	}
	from := f.From()
	r.Buckets = periodBuckets(from, f.To, r.Granularity)
	recent := f.To.Add(-f.To.Sub(from) / 3)
	var halves [2]int
	byTheme := make([]ThemeStat, len(themes))
	position := map[string]int{}
	for i, t := range themes {
		byTheme[i].Theme, position[t.Key] = t, i
	}
	byProduct := map[string]*ProductStat{}
	productThemes := map[string]map[string]int{}
	candidates := make([][]*Item, len(themes)) // the strongest few per theme, for quotes

	// One read serves the period and the emerging phrases' 120 days, whichever is longer.
	phrases := newPhraseCounter(f.To)
	first := from
	if phrases.from.Before(first) {
		first = phrases.from
	}
	cur, err := s.items.Find(ctx, f.query(first, f.To), options.Find().SetProjection(reportFields))
	if err != nil {
		return nil, fmt.Errorf("insights: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var it Item
		if err := cur.Decode(&it); err != nil {
			return nil, fmt.Errorf("insights: %w", err)
		}
		phrases.add(&it)
		if it.CreatedAt.Before(from) {
			continue
		}
		r.add(it.Sentiment)
		if b := bucketOf(r.Buckets, it.CreatedAt); b >= 0 {
			r.Buckets[b].add(it.Sentiment)
		}
		later := !it.CreatedAt.Before(recent)
		if later {
			halves[1]++
		} else {
			halves[0]++
		}
		if it.Rating > 0 {
			r.Rating.add(float64(it.Rating))
		}
		if it.Survey == "nps" {
			r.NPS.add(it.Answer)
		}
		mentioned := make([]bool, len(themes))
		for _, key := range it.Themes {
			i, ok := position[key]
			if !ok {
				continue
			}
			mentioned[i] = true
			t := &byTheme[i]
			feeling := it.themeSentiment(key)
			t.add(feeling)
			if later {
				t.Later++
			} else {
				t.Earlier++
			}
			candidates[i] = keepStrongest(candidates[i], &it, feeling)
		}
		// A driver's rating is a review's stars or a CSAT answer: both 1–5.
		stars := it.Rating
		if it.Survey == "csat" {
			stars = it.Answer
		}
		for i := range themes {
			t := &byTheme[i]
			switch {
			case stars > 0 && mentioned[i]:
				t.RatingWith.add(float64(stars))
			case stars > 0:
				t.RatingWithout.add(float64(stars))
			}
			switch {
			case it.Survey == "nps" && mentioned[i]:
				t.NPSWith.add(it.Answer)
			case it.Survey == "nps":
				t.NPSWithout.add(it.Answer)
			}
		}
		if it.Product != "" {
			p := byProduct[it.Product]
			if p == nil {
				p = &ProductStat{Slug: it.Product}
				byProduct[it.Product], productThemes[it.Product] = p, map[string]int{}
			}
			p.add(it.Sentiment)
			if it.Rating > 0 {
				p.Rating.add(float64(it.Rating))
			}
			for _, key := range it.Themes {
				productThemes[it.Product][key]++
			}
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("insights: %w", err)
	}

	for i := range byTheme {
		t := &byTheme[i]
		t.Earlier = percent(int(t.Earlier), halves[0])
		t.Later = percent(int(t.Later), halves[1])
	}
	if err := s.quotes(ctx, byTheme, candidates); err != nil {
		return nil, err
	}
	for _, t := range byTheme {
		if t.Total() > 0 {
			r.Themes = append(r.Themes, t)
		}
		if t.RatingWith.N > 0 && t.RatingWithout.N > 0 {
			r.Drivers = append(r.Drivers, t)
		}
	}
	sort.SliceStable(r.Themes, func(i, j int) bool { return r.Themes[i].Total() > r.Themes[j].Total() })
	r.Themes = r.Themes[:min(len(r.Themes), topThemes)]
	sort.SliceStable(r.Drivers, func(i, j int) bool { return r.Drivers[i].RatingGap() < r.Drivers[j].RatingGap() })
	for slug, p := range byProduct {
		best := 0
		for key, n := range productThemes[slug] {
			if n > best || n == best && key < p.TopTheme {
				p.TopTheme, best = key, n
			}
		}
		r.Products = append(r.Products, *p)
	}
	sort.Slice(r.Products, func(i, j int) bool {
		a, b := r.Products[i], r.Products[j]
		return a.Total() > b.Total() || a.Total() == b.Total() && a.Slug < b.Slug
	})
	r.Products = r.Products[:min(len(r.Products), topProducts)]
	r.Emerging = phrases.emerging()
	return r, nil
}

// periodBuckets are the weeks (from Monday) or months that cover [from, to).
func periodBuckets(from, to time.Time, granularity string) []Bucket {
	day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	var start time.Time
	if granularity == "week" {
		start = day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	} else {
		start = time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	var out []Bucket
	for t := start; t.Before(to); {
		out = append(out, Bucket{Start: t})
		if granularity == "week" {
			t = t.AddDate(0, 0, 7)
		} else {
			t = t.AddDate(0, 1, 0)
		}
	}
	return out
}

// bucketOf is the index of the bucket a time falls in, -1 for none.
func bucketOf(list []Bucket, at time.Time) int {
	i := sort.Search(len(list), func(i int) bool { return list[i].Start.After(at) }) - 1
	return i
}

func percent(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// themeSentiment is the item's feeling about a theme: read in the clause that mentions
// it, else the whole item's.
func (it *Item) themeSentiment(key string) string {
	if s, ok := it.ThemeSentiments[key]; ok {
		return s
	}
	return it.Sentiment
}

// keepStrongest keeps the quotesPerTheme×2 items with the strongest feeling: the quotes
// are chosen among them. feeling is the item's about the theme.
func keepStrongest(list []*Item, it *Item, feeling string) []*Item {
	const keep = quotesPerTheme * 2
	strength := func(x *Item) float64 { return math.Abs(x.Score) }
	c := *it
	c.Sentiment = feeling
	if len(list) < keep {
		return append(list, &c)
	}
	weakest := 0
	for i := range list {
		if strength(list[i]) < strength(list[weakest]) {
			weakest = i
		}
	}
	if strength(it) > strength(list[weakest]) {
		list[weakest] = &c
	}
	return list
}

// quotes fetches the words of each theme's candidates, in one query, and keeps the few
// that say most in the theme's prevailing mood, shortest first among equals.
func (s *Service) quotes(ctx context.Context, themes []ThemeStat, candidates [][]*Item) error {
	var ids []string
	for _, list := range candidates {
		for _, it := range list {
			ids = append(ids, it.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	texts, err := store.FindAll[Item](ctx, s.items, bson.M{"_id": bson.M{"$in": ids}},
		options.Find().SetProjection(bson.M{"text": 1, "title": 1, "url": 1, "source": 1}))
	if err != nil {
		return fmt.Errorf("insights: %w", err)
	}
	byID := map[string]*Item{}
	for _, t := range texts {
		byID[t.ID] = t
	}
	for i := range themes {
		t := &themes[i]
		mood := Positive
		if t.Negative > t.Positive {
			mood = Negative
		}
		list := slices.Clone(candidates[i])
		sort.SliceStable(list, func(a, b int) bool {
			ma, mb := list[a].Sentiment == mood, list[b].Sentiment == mood
			if ma != mb {
				return ma
			}
			return math.Abs(list[a].Score) > math.Abs(list[b].Score)
		})
		for _, c := range list {
			full := byID[c.ID]
			if full == nil || len(t.Quotes) == quotesPerTheme {
				continue
			}
			t.Quotes = append(t.Quotes, Quote{ID: c.ID, Text: excerpt(full.Text, maxQuoteLen), URL: full.URL, Sentiment: c.Sentiment, Source: full.Source})
		}
	}
	return nil
}

// excerpt cuts a text to about n characters, at a word; its lines (a review's title, body,
// pros and cons) are kept apart by a dot.
func excerpt(text string, n int) string {
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.Join(strings.Fields(line), " "); line != "" {
			lines = append(lines, line)
		}
	}
	text = strings.Join(lines, " · ")
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	cut := []rune(text)[:n]
	if i := strings.LastIndexByte(string(cut), ' '); i > n/2 {
		return string(cut)[:i] + "…"
	}
	return string(cut) + "…"
}

// phraseCounter counts the phrases of the last 30 days and of the 90 before, for
// emerging phrases: a new problem shows before anyone names a theme for it.
type phraseCounter struct {
	split, from time.Time
	total       [2]int
	counts      map[string]*[2]int
}

func newPhraseCounter(to time.Time) *phraseCounter {
	split := to.AddDate(0, 0, -emergingRecent)
	return &phraseCounter{split: split, from: split.AddDate(0, 0, -emergingBefore), counts: map[string]*[2]int{}}
}

func (pc *phraseCounter) add(it *Item) {
	if it.CreatedAt.Before(pc.from) {
		return
	}
	side := 0
	if !it.CreatedAt.Before(pc.split) {
		side = 1
	}
	pc.total[side]++
	for _, p := range it.Phrases {
		c := pc.counts[p]
		if c == nil {
			c = &[2]int{}
			pc.counts[p] = c
		}
		c[side]++
	}
}

// emerging lists the phrases whose share of feedback at least doubled in the last 30
// days against the 90 before, the most heard first.
func (pc *phraseCounter) emerging() []Phrase {
	var out []Phrase
	for text, c := range pc.counts {
		if c[1] < emergingMinimum {
			continue
		}
		recent, before := percent(c[1], pc.total[1]), percent(c[0], pc.total[0])
		// At least doubled; the earlier share is smoothed (half a mention more), so a phrase
		// never heard before counts as rare, not as infinitely rarer.
		smoothed := 100 * (float64(c[0]) + 0.5) / float64(pc.total[0]+1)
		if recent < 2*smoothed {
			continue
		}
		out = append(out, Phrase{Text: text, Recent: c[1], Before: c[0], RecentShare: recent, BeforeShare: before})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Recent != out[j].Recent {
			return out[i].Recent > out[j].Recent
		}
		return out[i].Text < out[j].Text
	})
	return out[:min(len(out), topPhrases)]
}

// exportPage is how many items an export reads at a time.
const exportPage = 500

// Export hands every item the filter chooses to fn, a page at a time, oldest first: pages
// follow each other by key (time, then ID), so an export of any size holds one page.
func (s *Service) Export(ctx context.Context, f Filter, fn func([]*Item) error) error {
	if err := f.Validate(s.now()); err != nil {
		return err
	}
	base := f.query(f.From(), f.To)
	var last *Item
	for {
		q := bson.M{}
		for k, v := range base {
			q[k] = v
		}
		if last != nil {
			q["$or"] = bson.A{
				bson.M{"created_at": bson.M{"$gt": last.CreatedAt}},
				bson.M{"created_at": last.CreatedAt, "_id": bson.M{"$gt": last.ID}},
			}
		}
		page, err := store.FindAll[Item](ctx, s.items, q, options.Find().
			SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(exportPage).
			SetProjection(bson.M{"phrases": 0, "analysed": 0, "text_hash": 0}))
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		if err := fn(page); err != nil {
			return err
		}
		if len(page) < exportPage {
			return nil
		}
		last = page[len(page)-1]
	}
}

// Ratings is the average rating of the published reviews written in [from, to), of one
// product or ("") all.
func (s *Service) Ratings(ctx context.Context, product string, from, to time.Time) (Mean, error) {
	q := bson.M{"source": "reviews", "created_at": bson.M{"$gte": from, "$lt": to}}
	if product != "" {
		q["product"] = product
	}
	list, err := store.FindAll[Item](ctx, s.items, q, options.Find().SetProjection(bson.M{"rating": 1}))
	var m Mean
	if err != nil {
		return m, fmt.Errorf("ratings: %w", err)
	}
	for _, it := range list {
		if it.Rating > 0 {
			m.add(float64(it.Rating))
		}
	}
	return m, nil
}
