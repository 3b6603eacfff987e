package seed

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode"
)

// The word banks the generated text is drawn from: short, plausible sentences in both
// languages, with the slang, praise and complaints real shoppers write.

var (
	firstID = []string{"Ayu", "Budi", "Citra", "Dewi", "Eko", "Fajar", "Gita", "Hendra", "Indah", "Joko", "Kartika", "Lestari",
		"Made", "Nur", "Putri", "Rizky", "Sari", "Teguh", "Wahyu", "Yanti", "Agus", "Bayu", "Dimas", "Rina", "Siti", "Tri"}
	lastID = []string{"Santoso", "Wulandari", "Pratama", "Saputra", "Hidayat", "Lestari", "Nugroho", "Kusuma", "Siregar",
		"Wijaya", "Permana", "Setiawan", "Harahap", "Simanjuntak", "Putra", "Rahayu", "Gunawan", "Susanto"}
	firstEN = []string{"Emma", "Rahul", "Olivia", "James", "Mia", "Noah", "Chloe", "Liam", "Grace", "Ethan", "Sophie", "Daniel",
		"Hannah", "Lucas", "Priya", "Tom", "Zoe", "Ben", "Leah", "Sam"}
	lastEN = []string{"Clarke", "Mehta", "Hughes", "Nguyen", "Smith", "Taylor", "Brown", "Wilson", "Tan", "Lee", "Walker",
		"Patel", "Evans", "Lim", "Green", "Hall", "Wood", "King"}

	productLines = []string{"Classic", "Plus", "Mini", "Pro", "Lite", "Max", "Nusantara", "Harian", "Premium", "Eco"}
	productKinds = []struct {
		name, category, descEN, descID string
		variants                       []string
	}{
		{"Kopi", "Kopi / Coffee", "Roasted coffee beans from Indonesian highlands.", "Biji kopi sangrai dari dataran tinggi Indonesia.",
			[]string{"Gayo", "Toraja", "Kintamani", "Flores Bajawa", "Java Preanger", "Mandailing", "Wamena"}},
		{"Teh", "Teh / Tea", "Loose-leaf tea from West Java estates.", "Teh daun dari perkebunan Jawa Barat.",
			[]string{"Melati", "Hijau", "Hitam", "Putih", "Tarik"}},
		{"Penanak Nasi", "Dapur / Kitchen", "A rice cooker with a non-stick pot.", "Penanak nasi dengan panci antilengket.",
			[]string{"RC-2", "RC-3", "Digital", "Mini 0,8 L"}},
		{"Blender", "Dapur / Kitchen", "A blender for juices and sambal.", "Blender untuk jus dan sambal.",
			[]string{"BL-5", "Turbo", "Kaca", "Portabel"}},
		{"Earbuds", "Audio", "Wireless earbuds with a charging case.", "Earbud nirkabel dengan wadah pengisi daya.",
			[]string{"Suara", "Gema", "Irama", "Nada"}},
		{"Tas", "Fesyen / Fashion", "A hand-made bag.", "Tas buatan tangan.",
			[]string{"Tote Batik", "Ransel Tenun", "Selempang Songket", "Pinggang"}},
		{"Sabun", "Perawatan / Care", "Natural soap with local botanicals.", "Sabun alami dengan bahan nabati lokal.",
			[]string{"Sereh", "Kopi", "Kunyit", "Lidah Buaya"}},
		{"Sambal", "Makanan / Food", "Chilli sauce in a jar.", "Sambal dalam toples.",
			[]string{"Bawang", "Matah", "Ijo", "Roa", "Terasi"}},
	}

	tags = []string{"kopi", "resep", "pengiriman", "garansi", "perawatan", "bluetooth", "baterai", "kemasan", "harga",
		"tips", "delivery", "warranty", "recipe", "setup", "battery", "packaging", "price", "promo"}

	threadTitles = map[string][]string{
		"id": {"Ada yang sudah coba %s?", "Cara merawat %s supaya awet?", "%s: pengiriman ke luar Jawa berapa lama?",
			"Bandingkan %s dengan merek lain", "Tips memakai %s setiap hari", "Masalah dengan %s, ada solusi?",
			"Garansi %s bagaimana prosedurnya?", "Review jujur %s setelah sebulan"},
		"en": {"Has anyone tried %s?", "How do you look after your %s?", "%s: delivery times outside Java?",
			"%s vs other brands", "Daily tips for the %s", "Problem with my %s, any fix?",
			"How does the warranty on %s work?", "Honest take on %s after a month"},
	}
	ideaTitles = map[string][]string{
		"id": {"Tambahkan varian baru untuk %s", "Kemasan isi ulang untuk %s", "%s dalam ukuran lebih kecil",
			"Panduan video untuk %s", "Diskon langganan %s"},
		"en": {"A new flavour or colour for %s", "Refill packs for %s", "A travel size %s",
			"Video guides for %s", "A subscription discount on %s"},
	}
	reviewTitles = map[string]map[bool][]string{
		"id": {true: {"Mantul!", "Puas banget", "Sesuai harapan", "Recommended", "Bagus bgt"},
			false: {"Kecewa bgt", "Kurang memuaskan", "Tidak sesuai deskripsi", "Biasa aja", "Cepat rusak"}},
		"en": {true: {"Love it", "Great value", "Exactly as described", "Would buy again", "Five stars"},
			false: {"Disappointed", "Not as described", "Broke quickly", "Just okay", "Poor quality"}},
	}
	goodID = []string{"Kualitasnya bagus dan harganya pas.", "Pengiriman cepat, kemasan rapi.", "Rasanya enak banget, mantap!",
		"Sudah dua bulan dipakai, masih awet.", "Pelayanan CS ramah dan responsif.", "Gak nyesel beli ini, recommended.",
		"Desainnya cantik, teman-teman pada nanya.", "Mudah dipakai, cocok buat pemula."}
	badID = []string{"Barangnya datang telat seminggu.", "Kemasannya penyok waktu sampai.", "Tidak enak, terlalu pahit.",
		"Baru sebulan sudah rusak.", "CS lambat sekali membalas.", "Harganya kemahalan untuk kualitas segini.",
		"Warnanya beda dengan di foto.", "Gak sesuai ekspektasi, kecewa."}
	goodEN = []string{"Great quality for the price.", "Fast delivery and neat packaging.", "Tastes wonderful, really smooth.",
		"Two months in and it still works like new.", "Customer service was friendly and quick.", "No regrets, highly recommended.",
		"Looks beautiful, friends keep asking about it.", "Easy to use, perfect for beginners."}
	badEN = []string{"It arrived a week late.", "The box was dented on arrival.", "Not tasty, far too bitter.",
		"Broke after a month.", "Support took ages to reply.", "Too expensive for this quality.",
		"The colour is different from the photos.", "Not what I expected, disappointed."}
	middleID = []string{"Saya pakai %s hampir setiap hari.", "Beli %s waktu promo.", "%s ini hadiah dari saudara.",
		"Dibandingkan produk sebelumnya, %s lebih praktis."}
	middleEN = []string{"I use the %s almost every day.", "Bought the %s during a sale.", "The %s was a gift from my sister.",
		"Compared to what I had before, the %s is handier."}
)

// sentence is one generated sentence in lang, positive or negative, about product.
func sentence(r *rand.Rand, lang string, good bool, product string) string {
	switch {
	case product != "" && r.IntN(3) == 0 && lang == "id":
		return fmt.Sprintf(pick(r, middleID), product)
	case product != "" && r.IntN(3) == 0:
		return fmt.Sprintf(pick(r, middleEN), product)
	case lang == "id" && good:
		return pick(r, goodID)
	case lang == "id":
		return pick(r, badID)
	case good:
		return pick(r, goodEN)
	default:
		return pick(r, badEN)
	}
}

// paragraph is two to five sentences; one in eight mixes in the other language, as
// Indonesian customers often do.
func paragraph(r *rand.Rand, lang string, good bool, product string) string {
	n := 2 + r.IntN(4)
	parts := make([]string, 0, n)
	for k := range n {
		l := lang
		if k > 0 && r.IntN(8) == 0 {
			l = map[string]string{"id": "en", "en": "id"}[lang]
		}
		parts = append(parts, sentence(r, l, good, product))
	}
	return strings.Join(parts, " ")
}

// slugOf lower-cases name and joins its words with hyphens.
func slugOf(name string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(name), func(c rune) bool {
		return !unicode.IsLetter(c) && !unicode.IsDigit(c)
	}), "-")
}
