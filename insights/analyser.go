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
	// ThemeSentiments is each theme's feeling, read in the clause that mentions it.
	ThemeSentiments map[string]string `json:"-"`
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
	r := Result{Lang: lang, Themes: []string{}, Phrases: phrases(toks)}
	r.Sentiment, r.Score = a.sentiment(toks, id, en, lang)
	if a.themes != nil {
		r.Themes = a.themes.match(toks)
		if len(r.Themes) > 0 {
			r.ThemeSentiments = a.themeSentiments(toks, id, en, lang)
		}
	}
	return r
}

// sentiment reads the feeling of some tokens: of a text, or of one clause of it.
func (a *Analyser) sentiment(toks []token, id, en int, lang string) (string, float64) {
	v := a.vectors.Get().(*vector)
	defer a.vectors.Put(v)
	a.model.vectorize(toks, id, en, v)
	if len(v.idx) == 0 {
		return Neutral, 0 // nothing to read: no words, no emoji
	}
	if lang == LangEnglish {
		// Neutral was learned from Indonesian only: an English text is positive or
		// negative, unless nothing in it leans either way.
		p := a.model.probabilities(v, &positiveOrNegative)
		score := round3(float64(p[classPositive] - p[classNegative]))
		switch {
		case math.Abs(score) < float64(a.model.EnglishNeutral) && v.dense[denseLexPos] == 0 && v.dense[denseLexNeg] == 0:
			return Neutral, score
		case score >= 0:
			return Positive, score
		default:
			return Negative, score
		}
	}
	p := a.model.probabilities(v, nil)
	best := classNeutral
	if p[classPositive] > p[best] {
		best = classPositive
	}
	if p[classNegative] > p[best] {
		best = classNegative
	}
	return classNames[best], round3(float64(p[classPositive] - p[classNegative]))
}

// themeSentiments reads each theme's feeling in the clause that mentions it: "the coffee
// is delicious, but delivery was slow" praises the taste and blames the delivery. A theme
// mentioned in several clauses takes the feeling of the strongest.
func (a *Analyser) themeSentiments(toks []token, id, en int, lang string) map[string]string {
	out := map[string]string{}
	strongest := map[string]float64{}
	for _, clause := range clauses(toks) {
		themes := a.themes.match(clause)
		if len(themes) == 0 {
			continue
		}
		sentiment, score := a.sentiment(clause, id, en, lang)
		for _, t := range themes {
			if prev, ok := strongest[t]; !ok || math.Abs(score) > math.Abs(prev) {
				strongest[t], out[t] = score, sentiment
			}
		}
	}
	return out
}

// clauses splits tokens at punctuation and at the words where a sentence turns ("but",
// "tapi"): the parts a theme's feeling is read in.
func clauses(toks []token) [][]token {
	var out [][]token
	start := 0
	for i, t := range toks {
		if t.stop || contrasts[t.text] {
			if i > start {
				out = append(out, toks[start:i])
			}
			start = i + 1
		}
	}
	if start < len(toks) {
		out = append(out, toks[start:])
	}
	return out
}

func round3(f float64) float64 {
	if f < 0 {
		return -round3(-f)
	}
	return float64(int64(f*1000+0.5)) / 1000
}
