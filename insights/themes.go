package insights

import (
	"slices"
	"strings"
)

// Theme is a subject customers write about, told by its cues: words or phrases in either
// language. A cue ending in * matches every word that starts with it ("kirim*" matches
// "kiriman", not "pengiriman": list that too).
type Theme struct {
	Key  string            `bson:"_id" json:"key"`
	Name map[string]string `bson:"name" json:"name"` // by language
	Cues []string          `bson:"cues" json:"cues"`
	// Position orders the stored themes.
	Position int `bson:"position" json:"-"`
}

// NameIn is the theme's name in a language, or in English.
func (t Theme) NameIn(lang string) string {
	if n := t.Name[lang]; n != "" {
		return n
	}
	return t.Name["en"]
}

// DefaultThemes fit a portal of consumer products; admins add, rename and edit them.
var DefaultThemes = []Theme{
	{Key: "price", Name: map[string]string{"en": "Price and value", "id": "Harga dan nilai"}, Cues: []string{
		"price", "prices", "priced", "pricey", "expensive", "cheap", "cheaper", "affordable", "overpriced", "value for money", "worth", "cost", "costs", "discount*", "promo*",
		"harga", "harganya", "mahal", "murah", "murahnya", "terjangkau", "worth it", "diskon*", "promo", "ongkos", "sepadan", "hemat"}},
	{Key: "quality", Name: map[string]string{"en": "Quality", "id": "Kualitas"}, Cues: []string{
		"quality", "well made", "sturdy", "flimsy", "cheaply made", "durable", "material", "materials",
		"kualitas", "kualitasnya", "berkualitas", "bahan", "bahannya", "kokoh", "awet", "tipis", "ringkih", "original", "asli", "kw"}},
	{Key: "delivery", Name: map[string]string{"en": "Delivery", "id": "Pengiriman"}, Cues: []string{
		"delivery", "delivered", "deliver", "shipping", "shipped", "courier", "arrived", "arrive", "late", "delayed", "delay", "tracking", "parcel",
		"pengiriman", "pengirimannya", "kirim*", "dikirim", "sampainya", "kurir", "kurirnya", "ekspedisi", "paket", "paketnya", "terlambat", "telat", "lambat", "resi", "ongkir"}},
	{Key: "packaging", Name: map[string]string{"en": "Packaging", "id": "Kemasan"}, Cues: []string{
		"packaging", "package", "packed", "box", "wrapped", "bubble wrap", "sealed", "dented", "leaking", "leaked",
		"kemasan", "kemasannya", "packing", "packingnya", "dus", "kardus", "bungkus*", "segel", "penyok", "bocor", "rapi", "rapih"}},
	{Key: "service", Name: map[string]string{"en": "Customer service", "id": "Layanan pelanggan"}, Cues: []string{
		"customer service", "service", "support", "staff", "seller", "response", "responsive", "refund", "return", "replied", "helpful staff", "complaint",
		"pelayanan", "pelayanannya", "layanan", "cs", "admin", "penjual", "penjualnya", "seller", "respon", "responnya", "fast respon", "ramah", "komplain", "retur", "pengembalian"}},
	{Key: "ease_of_use", Name: map[string]string{"en": "Ease of use", "id": "Kemudahan pakai"}, Cues: []string{
		"easy to use", "easy", "simple", "intuitive", "complicated", "confusing", "manual", "instructions", "setup", "set up", "user friendly",
		"mudah", "gampang", "praktis", "ribet", "rumit", "susah", "petunjuk", "cara pakai", "pemakaian"}},
	{Key: "reliability", Name: map[string]string{"en": "Reliability and defects", "id": "Keandalan dan cacat"}, Cues: []string{
		"broken", "broke", "defect*", "faulty", "stopped working", "not working", "doesn't work", "malfunction*", "cracked", "damaged", "battery", "reliable", "lasts",
		"rusak", "cacat", "mati", "error", "patah", "retak", "tidak berfungsi", "tidak nyala", "baterai", "baterainya", "awet", "bermasalah", "garansi"}},
	{Key: "design", Name: map[string]string{"en": "Design and look", "id": "Desain dan tampilan"}, Cues: []string{
		"design", "looks", "color", "colour", "style", "stylish", "beautiful", "ugly", "size", "fits", "elegant",
		"desain", "desainnya", "warna", "warnanya", "model", "modelnya", "tampilan", "cantik", "ukuran", "ukurannya", "elegan", "keren"}},
	{Key: "taste_scent", Name: map[string]string{"en": "Taste and scent", "id": "Rasa dan aroma"}, Cues: []string{
		"taste", "tastes", "tasty", "flavor", "flavour", "delicious", "smell", "smells", "scent", "aroma", "bitter", "sweet", "sour", "fresh", "stale",
		"rasa", "rasanya", "enak", "lezat", "aroma", "aromanya", "wangi", "harum", "bau", "pahit", "manis", "asam", "asin", "segar", "hambar", "gurih"}},
	{Key: "account_payment", Name: map[string]string{"en": "Account and payment", "id": "Akun dan pembayaran"}, Cues: []string{
		"account", "login", "log in", "sign in", "password", "payment", "paid", "pay", "checkout", "invoice", "charged", "credit card", "voucher",
		"akun", "akunnya", "kata sandi", "pembayaran", "bayar", "dibayar", "transfer", "tagihan", "saldo", "cod", "voucher", "ovo", "gopay"}},
	{Key: "feature_request", Name: map[string]string{"en": "Feature requests", "id": "Permintaan fitur"}, Cues: []string{
		"please add", "would be nice", "wish", "would love", "feature", "should have", "option to", "suggest*",
		"tolong tambah*", "semoga", "mohon", "fitur", "fiturnya", "sebaiknya", "harusnya", "saran", "usul*", "ditambah*"}},
}

// Themes is a compiled set of themes: cues looked up by the word they start with.
type Themes struct {
	list     []Theme
	words    map[string][]int       // a one-word cue → its themes
	prefixes map[string][]int       // a "stem*" cue, without the star → its themes
	phrases  map[string][]phraseCue // a phrase's first word → the phrases
}

type phraseCue struct {
	words []string
	theme int
}

// CompileThemes prepares themes for matching; cues are normalised as texts are.
func CompileThemes(list []Theme) *Themes {
	t := &Themes{list: list, words: map[string][]int{}, prefixes: map[string][]int{}, phrases: map[string][]phraseCue{}}
	for i, th := range list {
		for _, cue := range th.Cues {
			prefix := strings.HasSuffix(cue, "*")
			ws := words(tokens(strings.TrimSuffix(cue, "*")))
			switch {
			case len(ws) == 0:
			case len(ws) == 1 && prefix:
				t.prefixes[ws[0]] = appendOnce(t.prefixes[ws[0]], i)
			case len(ws) == 1:
				t.words[ws[0]] = appendOnce(t.words[ws[0]], i)
			default:
				t.phrases[ws[0]] = append(t.phrases[ws[0]], phraseCue{words: ws, theme: i})
			}
		}
	}
	return t
}

func appendOnce(list []int, i int) []int {
	if slices.Contains(list, i) {
		return list
	}
	return append(list, i)
}

// List is the themes, in their order.
func (t *Themes) List() []Theme { return t.list }

// match lists the keys of the themes a text's tokens mention, in the themes' order.
func (t *Themes) match(toks []token) []string {
	ws := words(toks)
	hit := make([]bool, len(t.list))
	for i, w := range ws {
		for _, th := range t.words[w] {
			hit[th] = true
		}
		for n := 3; n <= len(w); n++ {
			for _, th := range t.prefixes[w[:n]] {
				hit[th] = true
			}
		}
		for _, p := range t.phrases[w] {
			if i+len(p.words) <= len(ws) && slices.Equal(ws[i:i+len(p.words)], p.words) {
				hit[p.theme] = true
			}
		}
	}
	out := []string{}
	for i, h := range hit {
		if h {
			out = append(out, t.list[i].Key)
		}
	}
	return out
}
