package demo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/feedback"
)

// A product survey after purchase, per product, and its comments: the story the insights
// page tells. The earbuds' deliveries went wrong in the last month (a new courier, boxes
// crushed); the coffee is loved for its taste all along; the rice cooker's lid seal is a
// slow, steady complaint.
type demoComment struct {
	author  string
	daysAgo int
	score   int // CSAT 1–5
	text    string
}

var demoProductComments = map[string][]demoComment{
	"suara-wireless-earbuds": {
		{"emma@guyub.example", 110, 5, "Arrived the next day, well packed. Sound is great."},
		{"rahul@guyub.example", 95, 4, "Good battery, decent bass. Delivery was quick."},
		{"ayu@guyub.example", 80, 4, "Suaranya jernih, baterainya awet. Pengiriman cepat."},
		{"budi@guyub.example", 62, 4, "Nyaman dipakai lari, tidak mudah lepas."},
		{"emma@guyub.example", 45, 4, "Pairing was easy and the case feels solid."},
		{"rahul@guyub.example", 26, 2, "The parcel arrived a week late and the box was crushed."},
		{"ayu@guyub.example", 24, 1, "Paket telat seminggu, kotak penyok, kurir tidak bisa dihubungi."},
		{"budi@guyub.example", 21, 2, "Pengiriman lama banget, kotak penyok waktu sampai."},
		{"emma@guyub.example", 18, 2, "Earbuds are fine but the delivery took twelve days and the tracking never updated."},
		{"rahul@guyub.example", 14, 1, "Box crushed, one earbud case scratched. The new courier is terrible."},
		{"ayu@guyub.example", 11, 2, "Kurir baru lambat sekali, paket baru sampai setelah dua minggu."},
		{"budi@guyub.example", 8, 2, "Barang bagus tapi pengiriman terlambat dan kotak penyok."},
		{"emma@guyub.example", 5, 1, "Still waiting for my order after ten days, very disappointed."},
		{"rahul@guyub.example", 3, 2, "Late delivery again, box crushed in transit."},
	},
	"kopi-gayo-arabika": {
		{"ayu@guyub.example", 115, 5, "Rasanya enak sekali, aromanya harum seperti cokelat."},
		{"emma@guyub.example", 100, 5, "Delicious, smooth and chocolatey. My favourite coffee."},
		{"budi@guyub.example", 88, 4, "Enak, asamnya pas. Harganya sedikit mahal."},
		{"rahul@guyub.example", 70, 5, "The aroma when you open the bag is wonderful. Tastes fresh."},
		{"ayu@guyub.example", 55, 5, "Kopinya mantap, rasa dan aromanya konsisten tiap pesan."},
		{"emma@guyub.example", 40, 5, "Lovely taste as a flat white, no bitterness at all."},
		{"budi@guyub.example", 28, 4, "Rasanya enak, cocok untuk tubruk maupun V60."},
		{"rahul@guyub.example", 16, 5, "Great flavour, fresh roast, worth every rupiah."},
		{"ayu@guyub.example", 9, 5, "Harum dan lezat, keluarga saya suka sekali."},
		{"emma@guyub.example", 2, 5, "Tastes amazing, the best coffee I have ordered online."},
	},
	"penanak-nasi-rc-1": {
		{"rahul@guyub.example", 105, 3, "Cooks evenly, but the lid seal leaks a little steam."},
		{"budi@guyub.example", 75, 2, "Karet tutupnya cepat rusak, uapnya bocor."},
		{"ayu@guyub.example", 50, 4, "Nasi pulen, mudah dibersihkan."},
		{"emma@guyub.example", 30, 3, "Easy to use, though the seal is wearing out after a few months."},
		{"budi@guyub.example", 12, 2, "Segel tutup bocor lagi, harus ganti karet."},
	},
}

// loadInsights adds each product's survey and its comments, keyed so that a second run
// adds nothing, dated back from now so the story is always about "last month".
func loadInsights(ctx context.Context, d Deps, now time.Time) error {
	staff, err := d.Customers.FindByEmail(ctx, "product@guyub.example")
	if err != nil {
		return err
	}
	existing, err := d.Feedback.Surveys(ctx)
	if err != nil {
		return err
	}
	for _, p := range demoProducts {
		comments := demoProductComments[p.Slug]
		if len(comments) == 0 {
			continue
		}
		var sv *feedback.Survey
		for _, s := range existing {
			if s.Product == p.Slug && s.Kind == feedback.KindCSAT {
				sv = s
			}
		}
		if sv == nil {
			in := feedback.SurveyInput{Kind: "csat", Touchpoint: "purchase", Product: p.Slug,
				QuestionEN: "How satisfied are you with " + p.Name + "?", QuestionID: "Seberapa puas Anda dengan " + p.Name + "?", FollowUp: true, Active: true}
			if sv, err = d.Feedback.SaveSurvey(ctx, staff, bson.ObjectID{}, in); err != nil {
				return fmt.Errorf("demo survey %s: %w", p.Slug, err)
			}
		}
		for i, c := range comments {
			who, err := d.Customers.FindByEmail(ctx, c.author)
			if err != nil {
				return err
			}
			score := c.score
			at := now.Add(-time.Duration(c.daysAgo)*24*time.Hour - time.Duration(i)*time.Hour)
			in := feedback.AnswerInput{Score: &score, Comment: c.text, Key: fmt.Sprintf("demo-insight-%s-%d", p.Slug, i), At: at.Format(time.RFC3339)}
			if _, _, err := d.Feedback.Answer(ctx, who, sv.ID, in, "api"); err != nil {
				return fmt.Errorf("demo comment: %w", err)
			}
		}
	}
	return nil
}
