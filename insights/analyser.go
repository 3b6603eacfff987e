// Package insights reads what customers write: the language, the sentiment and the themes
// of each text (Analyser), and the product teams' analytics over them.
package insights

import (
	"math"
	"sync"
)

// Sentiments a text can have.
const (
	Positive = "positive"
	Neutral  = "neutral"
	Negative = "negative"
)

// Result is what the analyser reads in a text.
type Result struct {
	Lang      string   `json:"lang"`
	Sentiment string   `json:"sentiment"`
	Score     float64  `json:"score"` // −1 (negative) … 1 (positive)
	Themes    []string `json:"themes"`
	Phrases   []string `json:"-"` // two-word phrases of content words, for emerging phrases
}

// Analyser analyses texts with a model and a set of themes. It is safe for concurrent use.
type Analyser struct {
	model   *Model
	themes  *Themes
	vectors sync.Pool
}

// NewAnalyser returns an analyser; themes may be nil (no themes are told).
func NewAnalyser(m *Model, themes *Themes) *Analyser {
	return &Analyser{model: m, themes: themes, vectors: sync.Pool{New: func() any { return &vector{idx: make([]uint32, 0, 256)} }}}
}

// Analyse reads a text; hint is the language to assume when no word tells (the author's,
// or "" for English).
func (a *Analyser) Analyse(text, hint string) Result {
	if hint == "" {
		hint = LangEnglish
	}
	return a.analyse(text, hint, false)
}

// AnalyseIn reads a text known to be in a language (en or id).
func (a *Analyser) AnalyseIn(text, lang string) Result {
	return a.analyse(text, lang, true)
}

func (a *Analyser) analyse(text, lang string, known bool) Result {
	toks := tokens(text)
	id, en := a.model.langCounts(toks)
	if !known {
		lang = language(id, en, lang)
	}
	r := Result{Lang: lang, Sentiment: Neutral, Themes: []string{}}
	if a.themes != nil {
		r.Themes = a.themes.match(toks)
	}
	r.Phrases = phrases(toks)
	v := a.vectors.Get().(*vector)
	defer a.vectors.Put(v)
	a.model.vectorize(toks, id, en, v)
	if len(v.idx) == 0 {
		return r // nothing to read: no words, no emoji
	}
	if r.Lang == LangEnglish {
		// Neutral was learned from Indonesian only: an English text is positive or
		// negative, unless nothing in it leans either way.
		p := a.model.probabilities(v, &positiveOrNegative)
		r.Score = round3(float64(p[classPositive] - p[classNegative]))
		switch {
		case math.Abs(r.Score) < float64(a.model.EnglishNeutral) && v.dense[denseLexPos] == 0 && v.dense[denseLexNeg] == 0:
			r.Sentiment = Neutral
		case r.Score >= 0:
			r.Sentiment = Positive
		default:
			r.Sentiment = Negative
		}
		return r
	}
	p := a.model.probabilities(v, nil)
	r.Score = round3(float64(p[classPositive] - p[classNegative]))
	best := classNeutral
	if p[classPositive] > p[best] {
		best = classPositive
	}
	if p[classNegative] > p[best] {
		best = classNegative
	}
	r.Sentiment = classNames[best]
	return r
}

func round3(f float64) float64 {
	if f < 0 {
		return -round3(-f)
	}
	return float64(int64(f*1000+0.5)) / 1000
}
