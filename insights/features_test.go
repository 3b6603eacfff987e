package insights

import "testing"

// The lexicon reads a word next to an intensifier as stronger, before it or after it.
func TestVectorize_IntensifierStrengthensTheLexicon(t *testing.T) {
	m, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	if !m.Settings.Intensify {
		t.Skip("the shipped model does not read intensifiers")
	}
	lex := func(text string) [2]float32 {
		var v vector
		m.vectorize(tokens(text), 1, 0, &v)
		return [2]float32{v.dense[denseLexPos], v.dense[denseLexNeg]}
	}
	for _, pair := range [][2]string{{"bagus", "sangat bagus"}, {"puas", "puas banget"}, {"good", "very good"}, {"jelek", "jelek banget"}} {
		plain, strong := lex(pair[0]), lex(pair[1])
		if strong[0] <= plain[0] && strong[1] <= plain[1] {
			t.Errorf("%q reads %v in the lexicon, no stronger than %q at %v", pair[1], strong, pair[0], plain)
		}
	}
}
