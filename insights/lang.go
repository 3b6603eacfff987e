package insights

// Languages a text can be in.
const (
	LangEnglish    = "en"
	LangIndonesian = "id"
	LangMixed      = "mixed" // Indonesian customers often mix both: "barangnya bagus, fast delivery"
)

// A word counts for a language when its log-odds pass langDecisive; a text is mixed when
// each language has at least mixedMin such words and the smaller share is at least
// mixedShare.
const (
	langDecisive = 1.0
	mixedMin     = 2
	mixedShare   = 0.2
)

// wordLang is a word's log-odds of being Indonesian rather than English: from the table of
// frequent words, else from its character trigrams.
func (m *Model) wordLang(w string) float32 {
	if lo, ok := m.langWords[w]; ok {
		return lo
	}
	var sum float32
	n := 0
	padded := make([]byte, 0, len(w)+2)
	padded = append(append(append(padded, '^'), w...), '$')
	for _, h := range appendCharGrams(nil, seed('l'), padded, 3, 3) {
		sum += m.LangGrams[h&(langGramBuckets-1)]
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float32(n)
}

// langCounts counts a text's words that are clearly Indonesian and clearly English.
func (m *Model) langCounts(toks []token) (id, en int) {
	for _, t := range toks {
		if t.stop || t.emoji || isNumber(t.text) {
			continue
		}
		switch lo := m.wordLang(t.text); {
		case lo >= langDecisive:
			id++
		case lo <= -langDecisive:
			en++
		}
	}
	return id, en
}

// language tells the language of a text from its counts of words; hint is the answer when
// no word decides (an emoji, a number, a brand name).
func language(id, en int, hint string) string {
	switch {
	case id+en == 0:
		return hint
	case min(id, en) >= mixedMin && float64(min(id, en)) >= mixedShare*float64(id+en):
		return LangMixed
	case id >= en:
		return LangIndonesian
	default:
		return LangEnglish
	}
}

func isNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
