package insights

import "slices"

// maxPhrases bounds the phrases kept for one text.
const maxPhrases = 30

// phrases lists a text's two-word phrases whose words both carry meaning ("baterai cepat",
// "lid cracked"), each once, within clauses: what emerging phrases count.
func phrases(toks []token) []string {
	out := []string{}
	prev := ""
	for _, t := range toks {
		switch {
		case t.stop || t.emoji || stopword[t.text] || isNumber(t.text) || len(t.text) < 3:
			prev = ""
			continue
		case prev != "":
			p := prev + " " + t.text
			if !slices.Contains(out, p) {
				out = append(out, p)
				if len(out) == maxPhrases {
					return out
				}
			}
		}
		prev = t.text
	}
	return out
}

// stopword holds the words that carry no subject of their own, English and Indonesian
// (as the tokenizer spells them: slang already written out).
var stopword = setOf(
	"the", "and", "for", "are", "was", "were", "with", "this", "that", "these", "those", "from", "have", "has", "had",
	"but", "not", "you", "your", "our", "their", "they", "them", "its", "it's", "his", "her", "she", "him", "who", "what",
	"which", "when", "where", "why", "how", "all", "any", "can", "could", "would", "should", "will", "just", "very",
	"really", "too", "also", "than", "then", "there", "here", "been", "being", "into", "out", "about", "after", "before",
	"over", "again", "only", "more", "most", "some", "such", "own", "same", "each", "other", "does", "did", "doing",
	"one", "two", "get", "got", "because", "while", "off", "yet", "even", "still", "much", "many", "now", "ever",
	"yang", "dan", "di", "ke", "dari", "ini", "itu", "untuk", "dengan", "ada", "tidak", "saya", "kami", "kita", "anda",
	"aku", "dia", "mereka", "juga", "sudah", "belum", "akan", "bisa", "karena", "tapi", "tetapi", "namun", "atau",
	"saja", "lagi", "sama", "jadi", "kalau", "pada", "dalam", "oleh", "sangat", "banget", "sekali", "lebih", "agak",
	"masih", "buat", "nya", "pun", "lah", "kah", "sih", "deh", "dong", "kok", "yah", "nih", "tuh", "gan", "kak", "min",
	"terus", "memang", "bagaimana", "kenapa", "apa", "mau", "harus", "hanya", "baru", "sampai", "setelah", "sebelum",
	"para", "bukan", "jangan", "tanpa", "kurang", "paling", "semua", "satu", "dua", "hari", "waktu", "tadi", "sini",
)

func setOf(words ...string) map[string]bool {
	out := make(map[string]bool, len(words))
	for _, w := range words {
		out[w] = true
	}
	return out
}
