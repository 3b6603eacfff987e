package apiv1

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/insights"
)

// themeJSON is a theme's figures as the API shows them: no number that is not there.
type themeJSON struct {
	Key         string            `json:"key"`
	Name        map[string]string `json:"name"`
	Count       int               `json:"count"`
	Positive    int               `json:"positive"`
	Neutral     int               `json:"neutral"`
	Negative    int               `json:"negative"`
	TrendPoints float64           `json:"trend_points"` // change of its share of feedback, first half to second
	RatingWith  *float64          `json:"rating_with"`
	RatingOther *float64          `json:"rating_without"`
	NPSWith     *float64          `json:"nps_with"`
	NPSOther    *float64          `json:"nps_without"`
	Quotes      []quoteJSON       `json:"quotes"`
}

type quoteJSON struct {
	Text      string `json:"text"`
	URL       string `json:"url"`
	Sentiment string `json:"sentiment"`
	Source    string `json:"source"`
}

func jsonNumber(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	v = math.Round(v*100) / 100
	return &v
}

func (a *API) apiInsightThemes(c *fiber.Ctx) error {
	r, err := a.insightsReport(c)
	if err != nil {
		return err
	}
	out := themesJSON{From: r.Filter.From(), To: r.Filter.To, Total: r.Total(), Themes: []themeJSON{}, Emerging: []phraseJSON{}, Products: []productJSON{}}
	for _, t := range r.Themes {
		j := themeJSON{Key: t.Key, Name: t.Name, Count: t.Total(), Positive: t.Positive, Neutral: t.Neutral, Negative: t.Negative,
			TrendPoints: math.Round(t.Trend()*10) / 10, RatingWith: jsonNumber(t.RatingWith.Value()), RatingOther: jsonNumber(t.RatingWithout.Value()),
			NPSWith: jsonNumber(t.NPSWith.Value()), NPSOther: jsonNumber(t.NPSWithout.Value()), Quotes: []quoteJSON{}}
		for _, q := range t.Quotes {
			j.Quotes = append(j.Quotes, quoteJSON{Text: q.Text, URL: q.URL, Sentiment: q.Sentiment, Source: q.Source})
		}
		out.Themes = append(out.Themes, j)
	}
	for _, p := range r.Emerging {
		out.Emerging = append(out.Emerging, phraseJSON{Phrase: p.Text, Recent: p.Recent, Before: p.Before,
			RecentShare: math.Round(p.RecentShare*10) / 10, BeforeShare: math.Round(p.BeforeShare*10) / 10})
	}
	for _, p := range r.Products {
		out.Products = append(out.Products, productJSON{Product: p.Slug, Count: p.Total(), Positive: p.Positive, Neutral: p.Neutral,
			Negative: p.Negative, Rating: jsonNumber(p.Rating.Value()), TopTheme: p.TopTheme})
	}
	return c.JSON(out)
}

type phraseJSON struct {
	Phrase      string  `json:"phrase"`
	Recent      int     `json:"last_30_days"`
	Before      int     `json:"previous_90_days"`
	RecentShare float64 `json:"share_last_30_days"`
	BeforeShare float64 `json:"share_previous_90_days"`
}

type productJSON struct {
	Product  string   `json:"product"`
	Count    int      `json:"count"`
	Positive int      `json:"positive"`
	Neutral  int      `json:"neutral"`
	Negative int      `json:"negative"`
	Rating   *float64 `json:"rating"`
	TopTheme string   `json:"top_theme,omitempty"`
}

func (a *API) apiInsightSentiment(c *fiber.Ctx) error {
	r, err := a.insightsReport(c)
	if err != nil {
		return err
	}
	out := sentimentJSON{From: r.Filter.From(), To: r.Filter.To, Granularity: r.Granularity, Total: r.Total(), Positive: r.Positive, Neutral: r.Neutral,
		Negative: r.Negative, Rating: jsonNumber(r.Rating.Value()), Ratings: r.Rating.N, NPS: jsonNumber(r.NPS.Value()), NPSAnswers: r.NPS.N(),
		Buckets: []bucketJSON{}}
	for _, b := range r.Buckets {
		out.Buckets = append(out.Buckets, bucketJSON{Start: b.Start, Positive: b.Positive, Neutral: b.Neutral, Negative: b.Negative})
	}
	return c.JSON(out)
}

// exportColumns are the export's fields, in order.
var exportColumns = []string{"id", "source", "kind", "created_at", "product", "lang", "sentiment", "score", "themes",
	"rating", "survey", "answer", "touchpoint", "stage", "band", "url", "text"}

// InsightsExport streams every piece of feedback the filter chooses, with its analysis, as
// CSV (formula-safe) or JSON Lines, a page at a time by key: the whole set is never held.
func (a *API) InsightsExport(c *fiber.Ctx) error {
	format := c.Params("format", c.Query("format", "csv"))
	if format != "csv" && format != "jsonl" {
		return fiber.NewError(fiber.StatusNotFound)
	}
	f, err := web.InsightsFilter(c)
	if err == nil {
		err = f.Validate(time.Now().UTC())
	}
	if err != nil {
		return err
	}
	// A few exports at a time: each streams after its handler returns, outside the limits
	// on requests in flight.
	select {
	case a.exports <- struct{}{}:
	default:
		return errs.New(errs.ErrUnavailable, "insights.exports_busy")
	}
	if format == "csv" {
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	} else {
		c.Set(fiber.HeaderContentType, "application/x-ndjson; charset=utf-8")
	}
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="feedback.`+format+`"`)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	// The body is written after the handler returns: the export outlives the request's
	// context, within a bound of its own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), 10*time.Minute)
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer func() { cancel(); <-a.exports }()
		var write func(*insights.Item) error
		if format == "csv" {
			cw := csv.NewWriter(w)
			_ = cw.Write(exportColumns)
			write = func(it *insights.Item) error {
				// Words people chose are made inert for spreadsheets; numbers stay numbers
				// (a negative score starts with "-").
				err := cw.Write([]string{it.ID, it.Source, it.Kind, it.CreatedAt.Format(time.RFC3339), web.CSVCell(it.Product), it.Lang, it.Sentiment,
					strconv.FormatFloat(it.Score, 'f', 3, 64), strings.Join(it.Themes, ";"), optionalInt(it.Rating), it.Survey,
					optionalAnswer(it), web.CSVCell(it.Touchpoint), it.Stage, it.Band, web.CSVCell(it.URL), web.CSVCell(it.Text)})
				cw.Flush()
				return err
			}
		} else {
			enc := json.NewEncoder(w)
			write = func(it *insights.Item) error { return enc.Encode(it) }
		}
		err := a.Insights.Export(ctx, f, func(page []*insights.Item) error {
			for _, it := range page {
				if err := write(it); err != nil {
					return err
				}
			}
			return w.Flush()
		})
		if err != nil {
			a.Log.Warn("insights export stopped", "err", err)
		}
	})
	return nil
}

func optionalInt(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func optionalAnswer(it *insights.Item) string {
	if it.Survey == "" {
		return ""
	}
	return strconv.Itoa(it.Answer)
}

// insightsReport is the report the query asks for.
func (a *API) insightsReport(c *fiber.Ctx) (*insights.Report, error) {
	f, err := web.InsightsFilter(c)
	if err != nil {
		return nil, err
	}
	return a.Insights.Report(c.UserContext(), f)
}

// themesJSON is the themes report.
type themesJSON struct {
	From     time.Time     `json:"from"`
	To       time.Time     `json:"to"`
	Total    int           `json:"total"`
	Themes   []themeJSON   `json:"themes"`
	Emerging []phraseJSON  `json:"emerging_phrases"`
	Products []productJSON `json:"products"`
}

// bucketJSON is a week's or a month's sentiment.
type bucketJSON struct {
	Start    time.Time `json:"start"`
	Positive int       `json:"positive"`
	Neutral  int       `json:"neutral"`
	Negative int       `json:"negative"`
}

// sentimentJSON is the sentiment report.
type sentimentJSON struct {
	From        time.Time    `json:"from"`
	To          time.Time    `json:"to"`
	Granularity string       `json:"granularity"`
	Total       int          `json:"total"`
	Positive    int          `json:"positive"`
	Neutral     int          `json:"neutral"`
	Negative    int          `json:"negative"`
	Rating      *float64     `json:"rating"`
	Ratings     int          `json:"ratings"`
	NPS         *float64     `json:"nps"`
	NPSAnswers  int          `json:"nps_answers"`
	Buckets     []bucketJSON `json:"buckets"`
}
