package insights

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxTextBytes is how much of a text is analysed: enough for any review or post, and a
// bound on the time a pasted novel can take. Longer texts are cut at a character boundary.
const MaxTextBytes = 16 << 10

// token is a word, an emoji, or a punctuation mark that ends a clause.
type token struct {
	text    string
	emoji   bool
	stop    bool // punctuation: ends a negation's scope
	negated bool // within the scope of a negation ("tidak enak", "not good")
	// contrasted: after a "but" ("bagus, tapi mahal"): what follows it usually says more.
	contrasted bool
}

// contrasts are the words after which a sentence turns.
var contrasts = map[string]bool{"but": true, "however": true, "though": true, "tapi": true, "tetapi": true, "namun": true, "sayangnya": true, "unfortunately": true}

// slang maps the informal spellings customers write to the word the model knows: it is
// how "gak enak bgt" reads as "tidak enak banget". Indonesian chat abbreviations first, then
// English ones.
var slang = map[string]string{
	// negation
	"gak": "tidak", "ga": "tidak", "gk": "tidak", "g": "tidak", "nggak": "tidak", "ngga": "tidak", "nggk": "tidak",
	"enggak": "tidak", "engga": "tidak", "tdk": "tidak", "tak": "tidak", "kagak": "tidak", "ndak": "tidak", "nda": "tidak",
	"bkn": "bukan", "blm": "belum", "blum": "belum", "jgn": "jangan", "tnp": "tanpa",
	// intensity
	"bgt": "banget", "bngt": "banget", "bgtt": "banget", "sgt": "sangat", "bener": "benar", "bnr": "benar",
	"poll": "pol", "parahh": "parah", "kurg": "kurang", "krg": "kurang", "lbh": "lebih", "plg": "paling",
	// praise and blame
	"mantul": "mantap", "mantab": "mantap", "mantep": "mantap", "mntp": "mantap", "josss": "jos", "joss": "jos",
	"bgs": "bagus", "bagu": "bagus", "jlk": "jelek", "jelk": "jelek", "rekomen": "rekomendasi", "rekomended": "rekomendasi",
	"recomended": "recommended", "recommended": "recommended", "rekom": "rekomendasi", "rekomendid": "rekomendasi",
	"mksh": "makasih", "makasi": "makasih", "trims": "makasih", "thx": "thanks", "tq": "thanks", "ty": "thanks",
	"kecewaa": "kecewa", "kcewa": "kecewa", "kcw": "kecewa", "lelet": "lambat", "lemot": "lambat",
	"ok": "oke", "okey": "oke", "okay": "oke", "okeh": "oke", "sip": "oke", "sipp": "oke",
	// function words that carry meaning in context
	"yg": "yang", "dgn": "dengan", "dg": "dengan", "krn": "karena", "karna": "karena", "jg": "juga", "tp": "tapi",
	"tpi": "tapi", "kalo": "kalau", "klo": "kalau", "udh": "sudah", "udah": "sudah", "sdh": "sudah", "dah": "sudah",
	"bnyk": "banyak", "byk": "banyak", "jd": "jadi", "jdi": "jadi", "emg": "memang", "emang": "memang", "aja": "saja",
	"aj": "saja", "lg": "lagi", "bs": "bisa", "bsa": "bisa", "utk": "untuk", "untk": "untuk", "dr": "dari",
	"sm": "sama", "org": "orang", "brg": "barang", "brng": "barang", "pengiriman": "pengiriman", "kirim": "kirim",
	"trs": "terus", "trus": "terus", "gmn": "bagaimana", "gimana": "bagaimana", "knp": "kenapa", "napa": "kenapa",
	"skrg": "sekarang", "bln": "bulan", "hr": "hari", "bru": "baru", "br": "baru", "msh": "masih", "masi": "masih",
	"sampe": "sampai", "smpe": "sampai", "smp": "sampai", "cpt": "cepat", "cepet": "cepat", "lmbt": "lambat",
	"mahal2": "mahal", "murmer": "murah", "harga2": "harga",
	// English chat spellings
	"u": "you", "ur": "your", "r": "are", "gr8": "great", "luv": "love", "pls": "please", "plz": "please",
	"dont": "do not", "didnt": "did not", "doesnt": "does not", "isnt": "is not", "wasnt": "was not",
	"cant": "can not", "cannot": "can not", "wont": "will not", "aint": "is not", "arent": "are not",
	"werent": "were not", "havent": "have not", "hasnt": "has not", "wouldnt": "would not", "couldnt": "could not",
	"shouldnt": "should not", "nothin": "nothing", "v": "very", "rly": "really", "srsly": "seriously",
}

// negators open a negation's scope: the next few words read the other way.
var negators = map[string]bool{
	"not": true, "no": true, "never": true, "nothing": true, "nobody": true, "none": true, "neither": true,
	"nor": true, "without": true, "hardly": true, "barely": true,
	"tidak": true, "bukan": true, "belum": true, "jangan": true, "tanpa": true, "kurang": true, "tiada": true,
}

// negationScope is how many words after a negator it reaches, unless punctuation ends it.
const negationScope = 3

// tokens splits a text into normalised tokens: lower case, slang spelled out, letters
// repeated for emphasis cut to two ("bagusss" → "baguss", "goood" → "good"), contractions
// opened ("don't" and the corpus's "do n't" both → "do not"), emoji kept as tokens, and
// the words after a negator marked.
func tokens(text string) []token {
	text = cut(text, MaxTextBytes)
	var out []token
	var word strings.Builder
	flush := func() {
		if word.Len() == 0 {
			return
		}
		w := word.String()
		word.Reset()
		if w == "n't" || w == "nt" && len(out) > 0 && isContractionStem(out[len(out)-1].text) {
			out = append(out, token{text: "not"})
			return
		}
		if strings.HasSuffix(w, "n't") {
			out = append(out, token{text: strings.TrimSuffix(w, "n't")}, token{text: "not"})
			return
		}
		w = strings.ReplaceAll(w, "'", "")
		if s, ok := slang[w]; ok {
			w = s
		}
		for _, part := range strings.Fields(w) {
			out = append(out, token{text: part})
		}
	}
	prevRune, run := rune(0), 0
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' && word.Len() > 0:
			r = unicode.ToLower(r)
			if r == prevRune {
				run++
			} else {
				prevRune, run = r, 1
			}
			if run <= 2 {
				word.WriteRune(r)
			}
			continue
		case r == '’':
			if word.Len() > 0 {
				word.WriteRune('\'')
				continue
			}
		case isEmoji(r):
			flush()
			out = append(out, token{text: string(r), emoji: true})
		case r == '.' || r == ',' || r == '!' || r == '?' || r == ';' || r == ':' || r == '\n':
			flush()
			out = append(out, token{text: string(r), stop: true})
		default:
			flush()
		}
		prevRune, run = 0, 0
	}
	flush()
	markNegation(out)
	after := false
	for i := range out {
		out[i].contrasted = after
		after = after || contrasts[out[i].text]
	}
	return out
}

// isContractionStem says whether a word written apart from its "n't" in a tokenised corpus
// ("do n't", "ca n't", "wo n't") is the start of a contraction.
func isContractionStem(w string) bool {
	switch w {
	case "do", "does", "did", "is", "are", "was", "were", "ca", "wo", "could", "would", "should", "have", "has", "had", "ai", "need", "must":
		return true
	}
	return false
}

// markNegation marks the words a negator reaches; a negator itself is never marked, it
// starts its own scope.
func markNegation(list []token) {
	left := 0
	for i := range list {
		t := &list[i]
		switch {
		case t.stop:
			left = 0
		case negators[t.text]:
			left = negationScope
		case left > 0:
			t.negated = true
			left--
		}
	}
}

// cut shortens s to at most n bytes, at a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// isEmoji says whether r is a pictograph, a symbol customers use as a word (❤, ★, 👍).
func isEmoji(r rune) bool {
	return r >= 0x1F300 && r <= 0x1FAFF || r >= 0x2600 && r <= 0x27BF || r == 0x2B50 || r == 0x2764 || r == 0x2605
}
