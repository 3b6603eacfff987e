package insights

import (
	"math"
	"unicode/utf8"
)

// Features are hashed (the hashing trick): no vocabulary to keep, and a word never seen in
// training still shares its character n-grams with words that were. The space is large
// enough that a feature seen in training rarely shares its bucket with another: the model
// keeps only the buckets training saw (Model.Keys), so an unseen feature weighs nothing
// rather than some other feature's weight.
const (
	hashBits = 22
	buckets  = 1 << hashBits
)

// Dense features come first: what the lexicons say, summed over the text.
const (
	denseLexPos     = iota // sum of positive lexicon valences (a negated word counts the other way)
	denseLexNeg            // sum of negative valences, as a positive number
	denseBang              // exclamation marks
	denseBias              // always 1
	denseIndonesian        // share of the words that are Indonesian (of those that tell)
	denseEnglish           // share of the words that are English
	denseCount
)

// featureSettings are the choices made on the validation sets (see train.go).
type featureSettings struct {
	CharMin, CharMax int  // character n-gram lengths within words; 0: none
	Bigrams          bool // adjacent word pairs
	NegateChars      bool // character n-grams of negated words apart from plain ones
	Contrast         bool // words after a "but" apart too (as well as plain)
	Intensify        bool // a lexicon word next to an intensifier weighs more
	// Length is how a text's length scales its words: each counts 1/√n (lengthSqrt), or
	// 1/log₂(n+1) (lengthLog), or 1 whatever the length (lengthNone).
	Length int
}

// How a text's length scales its words' weights.
const (
	lengthSqrt = iota
	lengthLog
	lengthNone
)

// intensifiers strengthen the word after them; trailing ones ("enak banget") the word before.
var (
	intensifiers         = setOf("very", "really", "so", "extremely", "super", "totally", "absolutely", "incredibly", "sangat", "amat", "paling", "terlalu", "sungguh")
	trailingIntensifiers = setOf("banget", "sekali", "pol", "parah", "benar")
)

// intensified says whether the word at i has an intensifier next to it.
func intensified(toks []token, i int) bool {
	return i > 0 && intensifiers[toks[i-1].text] || i+1 < len(toks) && trailingIntensifiers[toks[i+1].text]
}

// vector is a text's features: hashed sparse indices with one shared value (each feature
// weighs the same, the whole vector has length 1), and the dense features.
type vector struct {
	idx   []uint32
	value float32
	dense [denseCount]float32
}

// fnv-1a, seeded by the feature's kind so "w:bagus" and the n-gram "bagus" differ.
const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func hashStr(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= fnvPrime
	}
	return h
}

func seed(kind byte) uint32 { return (fnvOffset ^ uint32(kind)) * fnvPrime }

// vectorize turns tokens into features, reusing v's storage; id and en are how many of
// its words are Indonesian and English (langCounts): the languages' priors differ.
func (m *Model) vectorize(toks []token, id, en int, v *vector) {
	v.idx = v.idx[:0]
	v.dense = [denseCount]float32{}
	v.dense[denseBias] = 1
	if id+en > 0 {
		v.dense[denseIndonesian] = float32(id) / float32(id+en)
		v.dense[denseEnglish] = float32(en) / float32(id+en)
	}
	st := m.Settings
	var padded []byte
	prev := ""
	for i, t := range toks {
		switch {
		case t.stop:
			if t.text == "!" {
				v.dense[denseBang]++
			}
			prev = ""
			continue
		case t.emoji:
			v.idx = append(v.idx, hashStr(seed('e'), t.text)&(buckets-1))
		default:
			kind := byte('w')
			if t.negated {
				kind = 'n'
			}
			v.idx = append(v.idx, hashStr(seed(kind), t.text)&(buckets-1))
			if t.contrasted && st.Contrast {
				v.idx = append(v.idx, hashStr(seed(kind+1), t.text)&(buckets-1))
			}
			if st.Bigrams && prev != "" {
				h := hashStr(hashStr(seed('b'), prev), " ")
				v.idx = append(v.idx, hashStr(h, t.text)&(buckets-1))
			}
			if st.CharMax > 0 {
				ck := byte('c')
				if t.negated && st.NegateChars {
					ck = 'd'
				}
				padded = append(append(append(padded[:0], '^'), t.text...), '$')
				v.idx = appendCharGrams(v.idx, seed(ck), padded, st.CharMin, st.CharMax)
			}
		}
		if val, ok := m.lexicon[t.text]; ok {
			if st.Intensify && intensified(toks, i) {
				val *= 1.3 // "sangat enak", "enak banget", "very good"
			}
			if t.negated {
				val = -val * 0.75 // "not good" is less bad than "bad" (VADER's factor)
			}
			if val > 0 {
				v.dense[denseLexPos] += val
			} else {
				v.dense[denseLexNeg] -= val
			}
		}
		prev = t.text
	}
	// Lexicon sums grow with length; their logarithm keeps a long text from swamping the rest.
	for _, i := range []int{denseLexPos, denseLexNeg, denseBang} {
		v.dense[i] = float32(math.Log1p(float64(v.dense[i])))
	}
	v.value = 0
	if n := len(v.idx); n > 0 {
		switch st.Length {
		case lengthSqrt:
			v.value = float32(1 / math.Sqrt(float64(n)))
		case lengthLog:
			v.value = float32(1 / math.Log2(float64(n)+1))
		default:
			v.value = 1
		}
	}
}

// appendCharGrams hashes the character n-grams of a word (with ^ and $ at its ends).
func appendCharGrams(idx []uint32, h0 uint32, w []byte, lo, hi int) []uint32 {
	// starts holds the byte offset of each character.
	var startsBuf [64]int
	starts := startsBuf[:0]
	for i := 0; i < len(w); {
		starts = append(starts, i)
		_, size := utf8.DecodeRune(w[i:])
		i += size
		if len(starts) == cap(startsBuf) {
			break // a "word" of 64 characters is not one: its first n-grams are enough
		}
	}
	n := len(starts)
	for i := 0; i < n; i++ {
		h := h0
		end := starts[i]
		for k := 1; k <= hi && i+k <= n; k++ {
			next := len(w)
			if i+k < n {
				next = starts[i+k]
			}
			for ; end < next; end++ {
				h ^= uint32(w[end])
				h *= fnvPrime
			}
			if k >= lo {
				idx = append(idx, h&(buckets-1))
			}
		}
	}
	return idx
}

// words are a text's words and emoji, for themes and phrases: the same normalisation as
// the model reads.
func words(toks []token) []string {
	out := make([]string, 0, len(toks))
	for _, t := range toks {
		if !t.stop {
			out = append(out, t.text)
		}
	}
	return out
}
