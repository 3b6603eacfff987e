package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
)

var demoProducts = []reviews.ProductInput{
	{Slug: "kopi-gayo-arabika", Name: "Kopi Gayo Arabika 250 g", Category: "Kopi / Coffee",
		Description:   "Single-origin arabica from the Gayo highlands of Aceh, medium roast.",
		DescriptionID: "Biji kopi arabika dari dataran tinggi Gayo, Aceh, sangrai sedang."},
	{Slug: "penanak-nasi-rc-1", Name: "Penanak Nasi RC-1", Category: "Dapur / Kitchen",
		Description:   "A 1.8 litre rice cooker with a non-stick pot and keep-warm.",
		DescriptionID: "Penanak nasi 1,8 liter dengan panci antilengket dan fitur penghangat."},
	{Slug: "tas-tote-batik-parang", Name: "Tas Tote Batik Parang", Category: "Fesyen / Fashion",
		Description:   "Hand-stamped batik tote bag from Solo, lined cotton.",
		DescriptionID: "Tas tote batik cap dari Solo, berlapis katun."},
	{Slug: "suara-wireless-earbuds", Name: "Suara Wireless Earbuds", Category: "Audio",
		Description:   "Bluetooth 5.3 earbuds with 30 hours of battery in the case.",
		DescriptionID: "Earbud Bluetooth 5.3 dengan baterai 30 jam di dalam wadahnya."},
}

type demoReview struct {
	author, product string
	rating          int
	title, body     string
	pros, cons      string
	bought          bool
	lang            string
}

var demoReviews = []demoReview{
	{"ayu@guyub.example", "kopi-gayo-arabika", 5, "Aromanya luar biasa", "Wangi cokelat dan rempah, asamnya lembut. Cocok untuk **V60** maupun tubruk.", "Aroma kuat", "Cepat habis", true, "id"},
	{"budi@guyub.example", "kopi-gayo-arabika", 4, "Enak, tapi gilingan kasar", "Rasa mantap. Saya pesan yang sudah digiling dan ternyata terlalu kasar untuk mesin espresso saya.", "", "Gilingan kasar", true, "id"},
	{"emma@guyub.example", "kopi-gayo-arabika", 5, "My new morning coffee", "Chocolatey, low acidity and very smooth as a flat white. Arrived two days after roasting.", "Fresh", "", false, "en"},
	{"rahul@guyub.example", "penanak-nasi-rc-1", 2, "Lid seal wore out", "Cooks rice well, but the lid seal started leaking steam after two months.", "Even cooking", "Seal quality", true, "en"},
	{"ayu@guyub.example", "penanak-nasi-rc-1", 4, "Praktis", "Nasi pulen dan fitur hangatnya awet. Tombolnya agak keras.", "Nasi pulen", "Tombol keras", true, "id"},
	{"emma@guyub.example", "tas-tote-batik-parang", 5, "Beautiful and sturdy", "The stamping is lovely up close and it carries my laptop without sagging.", "Craftsmanship", "", true, "en"},
	{"budi@guyub.example", "tas-tote-batik-parang", 3, "Bagus, warnanya luntur sedikit", "Motifnya indah, tapi setelah dicuci warnanya agak pudar.", "", "Luntur", false, "id"},
	{"rahul@guyub.example", "suara-wireless-earbuds", 4, "Great battery", "Battery life is as promised. Call quality is average in the wind.", "Battery", "Mic in wind", true, "en"},
	// Held by the watched-word rule, so the moderation queue has something to show.
	{"rahul@guyub.example", "tas-tote-batik-parang", 1, "Feels like a scam", "The strap tore on day three and nobody answered my email.", "", "Strap", false, "en"},
}

// loadReviews writes the demo catalogue, reviews, votes, a reply and testimonials. Every step
// looks before it writes, so a second run adds nothing.
func loadReviews(ctx context.Context, d Deps) (products, reviewsMade int, err error) {
	for _, in := range demoProducts {
		if _, err := d.Reviews.Product(ctx, in.Slug); err == nil {
			continue
		}
		if _, err := d.Reviews.CreateProduct(ctx, in); err != nil {
			return 0, 0, fmt.Errorf("demo product %s: %w", in.Slug, err)
		}
		products++
	}
	byEmail := func(email string) (*customers.Customer, error) { return d.Customers.FindByEmail(ctx, email) }
	made := map[string]*reviews.Review{}
	for i, r := range demoReviews {
		author, err := byEmail(r.author)
		if err != nil {
			return 0, 0, err
		}
		p, err := d.Reviews.Product(ctx, r.product)
		if err != nil {
			return 0, 0, err
		}
		if r.bought {
			order := fmt.Sprintf("DEMO-%03d", i+1)
			at := time.Date(2026, time.Month(1+i), 10, 9, 0, 0, 0, time.UTC)
			if _, err := d.Reviews.RecordPurchase(ctx, author.ID, customers.Purchase{ProductID: p.ID, OrderID: order, At: at, Amount: 150000}); err != nil {
				return 0, 0, err
			}
			if author, err = byEmail(r.author); err != nil {
				return 0, 0, err
			}
		}
		existing, err := d.Reviews.ReviewBy(ctx, author.ID, p.ID)
		if err == nil {
			made[r.author+r.product] = existing
			continue
		}
		if !errors.Is(err, reviews.ErrReviewNotFound) {
			return 0, 0, err
		}
		rev, err := d.Reviews.Create(ctx, author, p.Slug, reviews.Input{Rating: r.rating, Title: r.title, Body: r.body, Pros: r.pros, Cons: r.cons, Lang: r.lang})
		if err != nil {
			return 0, 0, fmt.Errorf("demo review: %w", err)
		}
		made[r.author+r.product] = rev
		reviewsMade++
	}
	// Votes, a brand reply and testimonials; each call is idempotent.
	votes := []struct {
		voter, review string
		helpful       bool
	}{
		{"emma@guyub.example", "ayu@guyub.examplekopi-gayo-arabika", true},
		{"rahul@guyub.example", "ayu@guyub.examplekopi-gayo-arabika", true},
		{"budi@guyub.example", "emma@guyub.examplekopi-gayo-arabika", true},
		{"ayu@guyub.example", "rahul@guyub.examplepenanak-nasi-rc-1", true},
		{"emma@guyub.example", "budi@guyub.exampletas-tote-batik-parang", false},
	}
	for _, v := range votes {
		voter, err := byEmail(v.voter)
		if err != nil {
			return 0, 0, err
		}
		if _, err := d.Reviews.Vote(ctx, voter, made[v.review].ID, v.helpful); err != nil {
			return 0, 0, err
		}
	}
	staff, err := byEmail("product@guyub.example")
	if err != nil {
		return 0, 0, err
	}
	if low := made["rahul@guyub.examplepenanak-nasi-rc-1"]; low.Reply == nil {
		_, err := d.Reviews.SetReply(ctx, staff, low.ID, reviews.ReplyInput{Body: "Sorry about the seal, Rahul. Replacement seals are free under warranty — our support team has emailed you."})
		if err != nil {
			return 0, 0, err
		}
	}
	moderator, err := byEmail("moderator@guyub.example")
	if err != nil {
		return 0, 0, err
	}
	ayu, err := byEmail("ayu@guyub.example")
	if err != nil {
		return 0, 0, err
	}
	if mine, err := d.Reviews.TestimonialsBy(ctx, ayu.ID); err == nil && len(mine) == 0 {
		t, err := d.Reviews.SubmitTestimonial(ctx, ayu, reviews.TestimonialInput{
			Quote: "Sejak kenal komunitas ini, saya selalu tahu kopi mana yang cocok. Pelayanannya ramah dan cepat!", Product: "kopi-gayo-arabika", Consent: true})
		if err != nil {
			return 0, 0, err
		}
		if err := d.Reviews.Decide(ctx, moderator, t.ID, reviews.DecideFeature, ""); err != nil {
			return 0, 0, err
		}
	}
	emma, err := byEmail("emma@guyub.example")
	if err != nil {
		return 0, 0, err
	}
	promoted, err := d.Reviews.PromoteReview(ctx, staff, made["emma@guyub.exampletas-tote-batik-parang"].ID)
	if err != nil {
		return 0, 0, err
	}
	if err := d.Reviews.AnswerConsent(ctx, emma, promoted.ID, true); err != nil {
		return 0, 0, err
	}
	// Rahul has been asked about his earbuds review and not yet answered.
	if _, err := d.Reviews.PromoteReview(ctx, staff, made["rahul@guyub.examplesuara-wireless-earbuds"].ID); err != nil {
		return 0, 0, err
	}
	// Two customers report a review as off-topic: flagged, below the threshold, in the queue.
	if d.Moderation != nil {
		budiTote := made["budi@guyub.exampletas-tote-batik-parang"]
		for _, email := range []string{"ayu@guyub.example", "emma@guyub.example"} {
			flagger, err := byEmail(email)
			if err != nil {
				return 0, 0, err
			}
			in := moderation.FlagInput{Ref: content.Ref{Kind: content.KindReview, ID: budiTote.ID}.String(), Reason: "off_topic"}
			if _, err := d.Moderation.Flag(ctx, flagger, in); err != nil {
				return 0, 0, err
			}
		}
	}
	return products, reviewsMade, nil
}
