package demo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
)

var demoCategories = []community.CategoryInput{
	{Name: "Announcements", NameID: "Pengumuman", Slug: "announcements", Description: "News from the team.", DescriptionID: "Kabar dari tim.", StaffOnly: true, Position: 1},
	{Name: "Help & Questions", NameID: "Bantuan", Slug: "help", Description: "Ask the community.", DescriptionID: "Tanya sesama pelanggan.", Position: 2},
	{Name: "Coffee corner", NameID: "Pojok Kopi", Slug: "coffee", Description: "Recipes, rituals and chat.", DescriptionID: "Resep dan obrolan santai.", Position: 3},
}

type demoReply struct {
	author, body string
	quote        int  // 1-based index of an earlier reply to quote; 0 for none
	accepted     bool // the thread's author accepts it
}

var demoThreads = []struct {
	author, category, title, body, lang string
	tags                                []string
	pinned                              bool
	replies                             []demoReply
}{
	{AdminEmail, "announcements", "Welcome to the Guyub community · Selamat datang",
		"Ask questions, share ideas and tell us what you think. **Be kind**; moderators keep things tidy.\n\nSilakan bertanya, berbagi ide, dan beri masukan. Jaga sopan santun, ya!",
		"en", []string{"welcome"}, true, nil},
	{"ayu@guyub.example", "help", "Bagaimana cara membersihkan penanak nasi RC-1?",
		"Kerak nasi menempel di dasar panci. Apa cara aman membersihkannya tanpa merusak lapisan antilengket?",
		"id", []string{"penanak-nasi", "perawatan"}, false, []demoReply{
			{author: "budi@guyub.example", body: "Rendam dengan air hangat dan sedikit sabun 15 menit, lalu pakai spons lembut. Jangan pakai sabut kawat.", accepted: true},
			{author: "product@guyub.example", body: "Betul. Panduan perawatan lengkap ada di buku manual halaman 12.", quote: 1},
		}},
	{"emma@guyub.example", "help", "Earbuds won't pair with my laptop",
		"My Suara earbuds pair with my phone but my Windows laptop never sees them. Any tips?",
		"en", []string{"earbuds", "bluetooth"}, false, []demoReply{
			{author: "rahul@guyub.example", body: "Put both buds in the case, hold the case button for 5 seconds until the light blinks white, then search from the laptop.", accepted: true},
			{author: "emma@guyub.example", body: "That worked, thank you!", quote: 1},
		}},
	{"budi@guyub.example", "coffee", "Resep kopi tubruk favorit kalian?",
		"Saya pakai Gayo giling kasar, 1 sendok makan per cangkir, air 92°C. Kalian bagaimana?",
		"id", []string{"resep", "kopi"}, false, []demoReply{
			{author: "ayu@guyub.example", body: "Saya tambah sedikit gula aren. Mantap!"},
			{author: "emma@guyub.example", body: "I tried this with Toraja beans — lovely and chocolatey."},
		}},
	{"rahul@guyub.example", "coffee", "Hand grinder recommendations?",
		"Looking for a hand grinder for pour-over under 1 million rupiah. What do you use?",
		"en", []string{"grinder"}, false, nil},
}

var demoIdeas = []struct {
	author, title, body, product, lang string
	state                              community.IdeaState
	response                           string
	voters                             []string
	comments                           []demoReply
}{
	{"emma@guyub.example", "Dark mode for the mobile app", "The app is very bright at night. A dark theme would be easier on the eyes.", "", "en",
		community.StatePlanned, "Planned for the next release. Direncanakan untuk rilis berikutnya.", []string{"rahul@guyub.example", "ayu@guyub.example", "budi@guyub.example"},
		[]demoReply{{author: "rahul@guyub.example", body: "Yes please — and follow the phone's setting automatically."},
			{author: "product@guyub.example", body: "It will follow the system setting, with a switch in Settings."}}},
	{"ayu@guyub.example", "Kemasan isi ulang untuk kopi", "Kemasan refill yang lebih murah dan mengurangi sampah plastik.", "kopi-gayo-arabika", "id",
		community.StateInProgress, "Sedang kami uji dengan pemasok. We are testing pouches with a supplier.", []string{"budi@guyub.example", "emma@guyub.example"},
		[]demoReply{{author: "budi@guyub.example", body: "Setuju! Kemasan 500 g juga boleh."}}},
	{"rahul@guyub.example", "Pay with QRIS at checkout", "Most of my friends pay with QRIS; please support it at checkout.", "", "en",
		community.StateDone, "Live since October. Sudah tersedia sejak Oktober.", []string{"ayu@guyub.example", "budi@guyub.example", "emma@guyub.example"}, nil},
	{"budi@guyub.example", "Tas tote dengan resleting", "Tas tote batiknya bagus, tapi perlu resleting supaya barang aman.", "tas-tote-batik-parang", "id",
		community.StateUnderReview, "", []string{"ayu@guyub.example"}, nil},
	{"rahul@guyub.example", "Free shipping on every order", "Shipping costs more than a bag of coffee to Papua.", "", "en",
		community.StateDeclined, "We cannot offer it on every order, but orders above Rp 300.000 ship free. Gratis ongkir untuk belanja di atas Rp 300.000.", []string{"emma@guyub.example"}, nil},
	{"budi@guyub.example", "Resep seduh di kemasan kopi", "Cantumkan resep seduh singkat (rasio, suhu air) di setiap kemasan.", "kopi-gayo-arabika", "id",
		community.StateOpen, "", []string{"emma@guyub.example", "rahul@guyub.example"},
		[]demoReply{{author: "emma@guyub.example", body: "A QR code to a brewing video would be nice too."}}},
}

// loadCommunity writes the demo forums and ideas, looking before each write so a second run
// adds nothing.
func loadCommunity(ctx context.Context, d Deps) (threads, ideas int, err error) {
	byEmail := func(email string) (*customers.Customer, error) { return d.Customers.FindByEmail(ctx, email) }
	admin, err := byEmail(AdminEmail)
	if err != nil {
		return 0, 0, err
	}
	for _, in := range demoCategories {
		if _, err := d.Community.Category(ctx, in.Slug); err == nil {
			continue
		}
		if _, err := d.Community.SaveCategory(ctx, admin, bson.ObjectID{}, in); err != nil {
			return 0, 0, fmt.Errorf("demo category %s: %w", in.Slug, err)
		}
	}
	for _, th := range demoThreads {
		author, err := byEmail(th.author)
		if err != nil {
			return 0, 0, err
		}
		if _, err := d.Community.ThreadBy(ctx, author.ID, th.title); err == nil {
			continue
		} else if !errors.Is(err, community.ErrThreadNotFound) {
			return 0, 0, err
		}
		threads++
		t, err := d.Community.CreateThread(ctx, author, community.ThreadInput{Category: th.category, Title: th.title, Body: th.body, Tags: th.tags, Lang: th.lang})
		if err != nil {
			return 0, 0, fmt.Errorf("demo thread %q: %w", th.title, err)
		}
		if th.pinned {
			if _, err := d.Community.Pin(ctx, admin, t.ID, true); err != nil {
				return 0, 0, err
			}
		}
		var posted []*community.Post
		for _, r := range th.replies {
			who, err := byEmail(r.author)
			if err != nil {
				return 0, 0, err
			}
			in := community.PostInput{Body: r.body, Lang: th.lang}
			if r.quote > 0 {
				in.QuoteOf = posted[r.quote-1].ID.Hex()
			}
			p, err := d.Community.Reply(ctx, who, content.Ref{Kind: content.KindThread, ID: t.ID}, in)
			if err != nil {
				return 0, 0, fmt.Errorf("demo reply: %w", err)
			}
			posted = append(posted, p)
			if r.accepted {
				if _, err := d.Community.Accept(ctx, author, t.ID, p.ID); err != nil {
					return 0, 0, err
				}
			}
			if r.author != th.author {
				if _, err := d.Community.Like(ctx, author, p.ID, true); err != nil {
					return 0, 0, err
				}
			}
		}
	}
	pm, err := byEmail("product@guyub.example")
	if err != nil {
		return 0, 0, err
	}
	for _, in := range demoIdeas {
		author, err := byEmail(in.author)
		if err != nil {
			return 0, 0, err
		}
		if _, err := d.Community.IdeaBy(ctx, author.ID, in.title); err == nil {
			continue
		} else if !errors.Is(err, community.ErrIdeaNotFound) {
			return 0, 0, err
		}
		idea := community.IdeaInput{Title: in.title, Body: in.body, Lang: in.lang}
		if in.product != "" {
			p, err := d.Reviews.Product(ctx, in.product)
			if err != nil {
				return 0, 0, err
			}
			idea.ProductID = p.ID
		}
		ideas++
		made, err := d.Community.CreateIdea(ctx, author, idea)
		if err != nil {
			return 0, 0, fmt.Errorf("demo idea %q: %w", in.title, err)
		}
		for _, v := range in.voters {
			voter, err := byEmail(v)
			if err != nil {
				return 0, 0, err
			}
			if _, err := d.Community.Vote(ctx, voter, made.ID, true); err != nil {
				return 0, 0, err
			}
		}
		for _, r := range in.comments {
			who, err := byEmail(r.author)
			if err != nil {
				return 0, 0, err
			}
			if _, err := d.Community.Reply(ctx, who, content.Ref{Kind: content.KindIdea, ID: made.ID}, community.PostInput{Body: r.body, Lang: in.lang}); err != nil {
				return 0, 0, fmt.Errorf("demo comment: %w", err)
			}
		}
		if in.state != community.StateOpen {
			if _, err := d.Community.SetState(ctx, pm, made.ID, community.StatusInput{Status: in.state, Response: in.response}); err != nil {
				return 0, 0, err
			}
		}
	}
	return threads, ideas, nil
}
