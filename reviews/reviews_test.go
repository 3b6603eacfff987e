package reviews_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/markdown"
	"github.com/guyub/guyub/reviews"
	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

type world struct {
	t         *testing.T
	ctx       context.Context
	db        *mongo.Database
	customers *customers.Service
	reviews   *reviews.Service
}

func corruptRating(t *testing.T, w *world, p *reviews.Product) {
	reviews.CorruptRatingOf(t, w.reviews, p.Slug)
}

func corruptHelpful(t *testing.T, w *world, id bson.ObjectID) {
	reviews.CorruptHelpfulOf(t, w.reviews, id)
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	db := storetest.DB(t)
	if err := store.EnsureIndexes(ctx, db, append(customers.Indexes, reviews.Indexes...)...); err != nil {
		t.Fatal(err)
	}
	cust := customers.NewService(db, []string{"en", "id"})
	return &world{t: t, ctx: ctx, db: db, customers: cust, reviews: reviews.NewService(db, cust, cust, markdown.New())}
}

func (w *world) person(name string, roles ...customers.Role) *customers.Customer {
	w.t.Helper()
	c, err := w.customers.Create(w.ctx, customers.NewCustomer{Email: strings.ToLower(name) + "@example.com", DisplayName: name, Roles: roles})
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *world) product(name string) *reviews.Product {
	w.t.Helper()
	p, err := w.reviews.CreateProduct(w.ctx, reviews.ProductInput{Name: name, Description: "A product."})
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *world) review(author *customers.Customer, p *reviews.Product, rating int, body ...string) *reviews.Review {
	w.t.Helper()
	text := fmt.Sprintf("%d stars from %s", rating, author.DisplayName)
	if len(body) > 0 {
		text = body[0]
	}
	r, err := w.reviews.Create(w.ctx, author, p.Slug, reviews.Input{Rating: rating, Title: "Title", Body: text})
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

func (w *world) summary(p *reviews.Product) reviews.RatingSummary {
	w.t.Helper()
	got, err := w.reviews.Product(w.ctx, p.Slug)
	if err != nil {
		w.t.Fatal(err)
	}
	return got.Rating
}

func wantSummary(t *testing.T, got reviews.RatingSummary, count, sum int, hist [5]int) {
	t.Helper()
	if got.Count != count || got.Sum != sum || got.Hist != hist {
		t.Fatalf("summary = %+v, want count %d sum %d hist %v", got, count, sum, hist)
	}
}

func TestCreate_OneReviewPerCustomerPerProductEvenConcurrently(t *testing.T) {
	w := newWorld(t)
	ayu, p := w.person("Ayu"), w.product("Kopi Gayo")
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, refused := 0, 0
	var link string
	for i := range 8 {
		wg.Go(func() {
			_, err := w.reviews.Create(w.ctx, ayu, p.Slug, reviews.Input{Rating: 1 + i%5, Body: "Enak sekali"})
			mu.Lock()
			defer mu.Unlock()
			var e *errs.Error
			switch {
			case err == nil:
				created++
			case errors.As(err, &e) && errors.Is(err, errs.ErrConflict) && e.Message.ID == "review.exists":
				refused++
				link = e.Link
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if created != 1 || refused != 7 {
		t.Fatalf("created %d, refused %d; want 1 and 7", created, refused)
	}
	mine, _ := w.reviews.ReviewBy(w.ctx, ayu.ID, p.ID)
	if link != "/reviews/"+mine.ID.Hex()+"/edit" {
		t.Fatalf("the refusal should link to the existing review, got %q", link)
	}
	if s := w.summary(p); s.Count != 1 || s.Sum != mine.Rating {
		t.Fatalf("summary %+v after one review of %d stars", s, mine.Rating)
	}
}

// A member whose record says they reviewed the product is refused with nothing written (a
// bench's reviewers hit this half the time); one whose review was deleted writes over it.
func TestCreate_ASecondReviewWritesNothing(t *testing.T) {
	w := newWorld(t)
	ayu, p := w.person("Ayu"), w.product("Kopi Gayo")
	first := w.review(ayu, p, 4)
	ayu, err := w.customers.Get(w.ctx, ayu.ID) // as a request reads the member
	if err != nil {
		t.Fatal(err)
	}
	storetest.Commands(w.db)
	_, err = w.reviews.Create(w.ctx, ayu, p.Slug, reviews.Input{Rating: 2, Body: "Lagi"})
	var e *errs.Error
	if !errors.As(err, &e) || e.Message.ID != "review.exists" || e.Link != "/reviews/"+first.ID.Hex()+"/edit" {
		t.Fatalf("err = %v, want review.exists linking to the first", err)
	}
	for _, c := range storetest.Commands(w.db) {
		if c.Name != "find" && c.Name != "aggregate" {
			t.Errorf("the refused review sent %s to %s", c.Name, c.Collection)
		}
	}
	if err := w.reviews.Delete(w.ctx, ayu, first.ID); err != nil {
		t.Fatal(err)
	}
	again, err := w.reviews.Create(w.ctx, ayu, p.Slug, reviews.Input{Rating: 2, Body: "Lagi"})
	if err != nil || again.ID != first.ID || again.Rating != 2 {
		t.Fatalf("a review after deleting the first: %+v %v, want the first written over", again, err)
	}
}

func TestRatingSummary_ExactThroughCreateEditDeleteHideAndRepair(t *testing.T) {
	w := newWorld(t)
	p := w.product("Rice Cooker")
	a, b, c := w.person("A"), w.person("B"), w.person("C")
	ra := w.review(a, p, 5)
	rb := w.review(b, p, 3)
	rc := w.review(c, p, 4)
	wantSummary(t, w.summary(p), 3, 12, [5]int{0, 0, 1, 1, 1})

	if _, err := w.reviews.Update(w.ctx, b, rb.ID, reviews.Input{Rating: 1, Body: "Broke after a week"}); err != nil {
		t.Fatal(err)
	}
	wantSummary(t, w.summary(p), 3, 10, [5]int{1, 0, 0, 1, 1})
	edited, _ := w.reviews.Review(w.ctx, rb.ID)
	if len(edited.History) != 1 || edited.History[0].Rating != 3 || edited.EditedAt == nil {
		t.Fatalf("an edit keeps the earlier version: %+v", edited.History)
	}

	if err := w.reviews.Delete(w.ctx, a, ra.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.reviews.Delete(w.ctx, a, ra.ID); err != nil { // a retry counts nothing
		t.Fatal(err)
	}
	wantSummary(t, w.summary(p), 2, 5, [5]int{1, 0, 0, 1, 0})

	if _, err := w.reviews.SetStatus(w.ctx, rc.ID, reviews.StatusHidden, ""); err != nil {
		t.Fatal(err)
	}
	wantSummary(t, w.summary(p), 1, 1, [5]int{1, 0, 0, 0, 0})
	if _, err := w.reviews.SetStatus(w.ctx, rc.ID, reviews.StatusPublished, ""); err != nil {
		t.Fatal(err)
	}
	wantSummary(t, w.summary(p), 2, 5, [5]int{1, 0, 0, 1, 0})

	// The author writes again after deleting: the deleted review is revived, not duplicated.
	again, err := w.reviews.Create(w.ctx, a, p.Slug, reviews.Input{Rating: 2, Body: "Changed my mind"})
	if err != nil || again.ID != ra.ID {
		t.Fatalf("re-review after delete: %v, %v", again, err)
	}
	wantSummary(t, w.summary(p), 3, 7, [5]int{1, 1, 0, 1, 0})

	// Damage the summary (as a crash between two writes would); repair rebuilds it.
	if _, err := w.reviews.Repair(w.ctx); err != nil {
		t.Fatal(err)
	}
	wantSummary(t, w.summary(p), 3, 7, [5]int{1, 1, 0, 1, 0})
	corruptRating(t, w, p)
	rep, err := w.reviews.Repair(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ProductsFixed != 1 {
		t.Fatalf("repair report %+v", rep)
	}
	wantSummary(t, w.summary(p), 3, 7, [5]int{1, 1, 0, 1, 0})
}

func TestRatingSummary_ConcurrentReviewsCountExactly(t *testing.T) {
	w := newWorld(t)
	p := w.product("Batik Tote")
	var wg sync.WaitGroup
	for i := range 20 {
		author := w.person(fmt.Sprintf("Buyer%d", i))
		wg.Go(func() { w.review(author, p, 1+i%5) })
	}
	wg.Wait()
	wantSummary(t, w.summary(p), 20, 60, [5]int{4, 4, 4, 4, 4})
}

func TestSignals_PublishedReviewsOnly(t *testing.T) {
	w := newWorld(t)
	p, a := w.product("Earbuds"), w.person("Dewi")
	r := w.review(a, p, 4)
	sigs, _ := w.customers.Signals(w.ctx, a.ID)
	if len(sigs) != 1 || sigs[0].Value != 75 || sigs[0].Weight != 2 || sigs[0].Kind != customers.SignalReview {
		t.Fatalf("signals = %+v, want one review signal of 75", sigs)
	}
	if _, err := w.reviews.SetStatus(w.ctx, r.ID, reviews.StatusHidden, ""); err != nil {
		t.Fatal(err)
	}
	if sigs, _ := w.customers.Signals(w.ctx, a.ID); len(sigs) != 0 {
		t.Fatalf("a hidden review's signal is withdrawn: %+v", sigs)
	}
}

func TestValidation_ClearMessagesPerField(t *testing.T) {
	w := newWorld(t)
	p, a := w.product("Lamp"), w.person("Eko")
	tests := []struct {
		in          reviews.Input
		field, want string
	}{
		{reviews.Input{Rating: 0, Body: "ok"}, "rating", "review.rating_range"},
		{reviews.Input{Rating: 6, Body: "ok"}, "rating", "review.rating_range"},
		{reviews.Input{Rating: 3, Body: "   "}, "body", "review.body_required"},
		{reviews.Input{Rating: 3, Body: strings.Repeat("x", reviews.MaxBody+1)}, "body", "field.too_long"},
		{reviews.Input{Rating: 3, Body: "ok", Title: strings.Repeat("t", 121)}, "title", "field.too_long"},
	}
	for _, tt := range tests {
		_, err := w.reviews.Create(w.ctx, a, p.Slug, tt.in)
		var f *errs.Fields
		if !errors.As(err, &f) || f.ByName[tt.field].ID != tt.want {
			t.Errorf("%+v: err = %v, want %s on %s", tt.in.Rating, err, tt.want, tt.field)
		}
	}
	if s := w.summary(p); s.Count != 0 {
		t.Fatal("an invalid review must not count")
	}
}

func TestHelpfulVotes_OnePerCustomerChangeableNeverOwn(t *testing.T) {
	w := newWorld(t)
	p, author, voter := w.product("Tumbler"), w.person("Fajar"), w.person("Gita")
	r := w.review(author, p, 5)
	if _, err := w.reviews.Vote(w.ctx, author, r.ID, true); !errors.Is(err, reviews.ErrOwnReview) {
		t.Fatalf("voting on one's own review: %v", err)
	}
	for range 2 {
		if _, err := w.reviews.Vote(w.ctx, voter, r.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := w.reviews.Review(w.ctx, r.ID)
	if got.HelpfulYes != 1 || got.HelpfulNo != 0 {
		t.Fatalf("yes twice: %d/%d", got.HelpfulYes, got.HelpfulNo)
	}
	got, _ = w.reviews.Vote(w.ctx, voter, r.ID, false)
	if got.HelpfulYes != 0 || got.HelpfulNo != 1 {
		t.Fatalf("changed to no: %d/%d", got.HelpfulYes, got.HelpfulNo)
	}
	var wg sync.WaitGroup
	for i := range 15 {
		v := w.person(fmt.Sprintf("Voter%d", i))
		wg.Go(func() {
			if _, err := w.reviews.Vote(w.ctx, v, r.ID, true); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, _ = w.reviews.Review(w.ctx, r.ID)
	if got.HelpfulYes != 15 || got.HelpfulNo != 1 {
		t.Fatalf("after 15 concurrent votes: %d/%d", got.HelpfulYes, got.HelpfulNo)
	}
	corruptHelpful(t, w, r.ID)
	if _, err := w.reviews.Repair(w.ctx); err != nil {
		t.Fatal(err)
	}
	got, _ = w.reviews.Review(w.ctx, r.ID)
	if got.HelpfulYes != 15 || got.HelpfulNo != 1 {
		t.Fatalf("after repair: %d/%d", got.HelpfulYes, got.HelpfulNo)
	}
}

func TestVerifiedPurchase(t *testing.T) {
	w := newWorld(t)
	p, q := w.product("Kettle"), w.product("Teapot")
	buyer, browser := w.person("Hana"), w.person("Indra")
	if _, err := w.reviews.RecordPurchase(w.ctx, buyer.ID, customers.Purchase{ProductID: p.ID, OrderID: "A-1", Amount: 250000}); err != nil {
		t.Fatal(err)
	}
	// The same order again records nothing.
	if added, _ := w.reviews.RecordPurchase(w.ctx, buyer.ID, customers.Purchase{ProductID: p.ID, OrderID: "A-1"}); added {
		t.Fatal("a repeated order must not add a purchase")
	}
	buyer, _ = w.customers.Get(w.ctx, buyer.ID)
	if len(buyer.Purchases) != 1 {
		t.Fatalf("purchases = %+v", buyer.Purchases)
	}
	if r := w.review(buyer, p, 5); !r.Verified {
		t.Fatal("a buyer's review is a verified purchase")
	}
	if r := w.review(browser, p, 2); r.Verified {
		t.Fatal("a non-buyer's review is not verified")
	}
	later := w.review(browser, q, 4)
	if _, err := w.reviews.RecordPurchase(w.ctx, browser.ID, customers.Purchase{ProductID: q.ID}); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.reviews.Review(w.ctx, later.ID); !got.Verified {
		t.Fatal("a purchase recorded after the review verifies it")
	}
	if _, err := w.reviews.RecordPurchase(w.ctx, browser.ID, customers.Purchase{ProductID: bson.NewObjectID()}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("an unknown product: %v", err)
	}
}

func TestBrandReply_StaffOnly(t *testing.T) {
	w := newWorld(t)
	p, author := w.product("Fan"), w.person("Joko")
	r := w.review(author, p, 2)
	for _, who := range []*customers.Customer{author, w.person("Mod", customers.RoleModerator)} {
		if _, err := w.reviews.SetReply(w.ctx, who, r.ID, reviews.ReplyInput{Body: "Thanks"}); !errors.Is(err, errs.ErrForbidden) {
			t.Fatalf("%s replying: %v", who.DisplayName, err)
		}
	}
	staff := w.person("Product", customers.RoleProduct)
	got, err := w.reviews.SetReply(w.ctx, staff, r.ID, reviews.ReplyInput{Body: "Sorry! We sent a **replacement**."})
	if err != nil || got.Reply == nil || !strings.Contains(string(got.Reply.BodyHTML), "<strong>replacement</strong>") {
		t.Fatalf("reply = %+v, %v", got.Reply, err)
	}
}

func TestReviews_KeyPaginationNoRepeatsOrGapsWhileReviewsArrive(t *testing.T) {
	w := newWorld(t)
	p := w.product("Notebook")
	for i := range 9 {
		w.review(w.person(fmt.Sprintf("Early%d", i)), p, 1+i%5)
	}
	for _, sort := range reviews.Sorts {
		seen := map[bson.ObjectID]bool{}
		after := ""
		for page := 0; ; page++ {
			got, err := w.reviews.Reviews(w.ctx, reviews.Query{ProductID: p.ID, Sort: sort, After: after, Limit: 4})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range got.Reviews {
				if seen[r.ID] {
					t.Fatalf("%s: review %s shown twice", sort, r.ID)
				}
				seen[r.ID] = true
			}
			if page == 0 {
				// New reviews arrive while someone reads page one.
				w.review(w.person("Late"+sort), p, 5)
			}
			if got.Next == "" {
				break
			}
			after = got.Next
		}
		// Every review that existed when reading began was shown.
		if len(seen) < 9 {
			t.Fatalf("%s: saw %d reviews, want at least the 9 that existed", sort, len(seen))
		}
	}
	stars, _ := w.reviews.Reviews(w.ctx, reviews.Query{ProductID: p.ID, Stars: 5, Limit: 50})
	for _, r := range stars.Reviews {
		if r.Rating != 5 {
			t.Fatalf("filter by 5 stars returned %d", r.Rating)
		}
	}
	if _, err := w.reviews.Reviews(w.ctx, reviews.Query{ProductID: p.ID, After: "garbage!"}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("a forged cursor: %v", err)
	}
}

func TestTestimonials_ConsentFlowAndWall(t *testing.T) {
	w := newWorld(t)
	p := w.product("Coffee Grinder")
	fan, critic := w.person("Kartika"), w.person("Lukas")
	mod := w.person("Mod", customers.RoleModerator)

	if _, err := w.reviews.SubmitTestimonial(w.ctx, fan, reviews.TestimonialInput{Quote: "Best grinder I have owned.", Product: p.Slug}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("without permission to publish: %v", err)
	}
	own, err := w.reviews.SubmitTestimonial(w.ctx, fan, reviews.TestimonialInput{Quote: "Best grinder I have owned.", Product: p.Slug, Consent: true})
	if err != nil {
		t.Fatal(err)
	}
	wall := func() []*reviews.Testimonial {
		list, _, err := w.reviews.Wall(w.ctx, reviews.WallQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	if len(wall()) != 0 {
		t.Fatal("nothing is shown before a moderator approves")
	}

	low := w.review(critic, p, 3)
	if _, err := w.reviews.PromoteReview(w.ctx, mod, low.ID); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("promoting a 3-star review: %v", err)
	}
	high := w.review(w.person("Maya"), p, 5)
	promoted, err := w.reviews.PromoteReview(w.ctx, mod, high.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := w.reviews.PromoteReview(w.ctx, mod, high.ID); again.ID != promoted.ID {
		t.Fatal("promoting twice asks once")
	}
	if err := w.reviews.Decide(w.ctx, mod, promoted.ID, reviews.DecideApprove, ""); !errors.Is(err, reviews.ErrNoConsent) {
		t.Fatalf("approving before the author consents: %v", err)
	}
	maya, _ := w.customers.Get(w.ctx, high.AuthorID)
	if err := w.reviews.AnswerConsent(w.ctx, fan, promoted.ID, true); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("someone else consenting: %v", err)
	}
	if err := w.reviews.AnswerConsent(w.ctx, maya, promoted.ID, true); err != nil {
		t.Fatal(err)
	}
	if got := wall(); len(got) != 1 || got[0].ID != promoted.ID {
		t.Fatalf("after consent the promoted review is shown: %v", got)
	}

	if err := w.reviews.Decide(w.ctx, mod, own.ID, reviews.DecideReject, " "); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("a rejection needs a reason: %v", err)
	}
	if err := w.reviews.Decide(w.ctx, fan, own.ID, reviews.DecideApprove, ""); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("a customer deciding: %v", err)
	}
	if err := w.reviews.Decide(w.ctx, mod, own.ID, reviews.DecideFeature, ""); err != nil {
		t.Fatal(err)
	}
	got := wall()
	if len(got) != 2 || got[0].ID != own.ID {
		t.Fatalf("featured comes first: %v", got)
	}
	if list, _, _ := w.reviews.Wall(w.ctx, reviews.WallQuery{ProductID: bson.NewObjectID()}); len(list) != 0 {
		t.Fatal("filter by another product shows none")
	}
	if err := w.reviews.Decide(w.ctx, mod, own.ID, reviews.DecideReject, "Mentions a competitor"); err != nil {
		t.Fatal(err)
	}
	if got := wall(); len(got) != 1 {
		t.Fatalf("a rejected testimonial leaves the wall: %d shown", len(got))
	}
}

func TestImportProducts_IdempotentWithErrorsPerLine(t *testing.T) {
	w := newWorld(t)
	describe := func(err error) map[string]string {
		var f *errs.Fields
		if errors.As(err, &f) {
			out := map[string]string{}
			for k, m := range f.ByName {
				out[k] = m.ID
			}
			return out
		}
		return map[string]string{"error": err.Error()}
	}
	file := `{"name":"Kopi Toraja","category":"Coffee"}
{"name":""}
{"slug":"teh-melati","name":"Teh Melati","image_url":"ftp://x"}
not json
{"slug":"teh-melati","name":"Teh Melati"}`
	res, err := w.reviews.ImportProducts(w.ctx, strings.NewReader(file), describe)
	if err != nil {
		t.Fatal(err)
	}
	statuses := []string{}
	for _, r := range res {
		statuses = append(statuses, r.Status)
	}
	if strings.Join(statuses, ",") != "created,error,error,error,created" || res[1].Errors["name"] != "field.required" || res[2].Errors["image_url"] != "field.url" {
		t.Fatalf("results = %+v", res)
	}
	res, _ = w.reviews.ImportProducts(w.ctx, strings.NewReader(file), describe)
	if res[0].Status != "updated" || res[4].Status != "updated" {
		t.Fatalf("second import should update: %+v", res)
	}
	list, _, _ := w.reviews.Products(w.ctx, "", 10)
	if len(list) != 2 || list[0].Slug != "kopi-toraja" {
		t.Fatalf("products = %+v", list)
	}
}

// BenchmarkReviewsPage is one page of 10 reviews out of 200, per sort order, on the
// embedded FerretDB (MongoDB serves these from the declared indexes).
func BenchmarkReviewsPage(b *testing.B) {
	ctx := context.Background()
	db := storetest.DB(b)
	if err := store.EnsureIndexes(ctx, db, append(customers.Indexes, reviews.Indexes...)...); err != nil {
		b.Fatal(err)
	}
	cust := customers.NewService(db, nil)
	svc := reviews.NewService(db, cust, cust, markdown.New())
	p, _ := svc.CreateProduct(ctx, reviews.ProductInput{Name: "Bench"})
	for i := range 200 {
		c, _ := cust.Create(ctx, customers.NewCustomer{Email: fmt.Sprintf("b%d@example.com", i)})
		if _, err := svc.Create(ctx, c, p.Slug, reviews.Input{Rating: 1 + i%5, Body: strings.Repeat("Good product. ", 20)}); err != nil {
			b.Fatal(err)
		}
	}
	for _, sort := range reviews.Sorts {
		b.Run(sort, func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.Reviews(ctx, reviews.Query{ProductID: p.ID, Sort: sort}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A testimonial made from a review leaves the wall when the review is hidden, and comes
// back when it is published again.
func TestTestimonials_FollowTheirReview(t *testing.T) {
	w := newWorld(t)
	p := w.product("Sandals")
	author, mod := w.person("Nia"), w.person("Mod", customers.RoleModerator)
	r := w.review(author, p, 5, "Comfortable all day.")
	tm, err := w.reviews.PromoteReview(w.ctx, mod, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.reviews.AnswerConsent(w.ctx, author, tm.ID, true); err != nil {
		t.Fatal(err)
	}
	shown := func() int {
		list, _, _ := w.reviews.Wall(w.ctx, reviews.WallQuery{})
		return len(list)
	}
	if shown() != 1 {
		t.Fatal("consented: shown")
	}
	if _, err := w.reviews.SetStatus(w.ctx, r.ID, reviews.StatusHidden, "Off-topic"); err != nil {
		t.Fatal(err)
	}
	if shown() != 0 {
		t.Fatal("the review is hidden: its testimonial leaves the wall")
	}
	if _, err := w.reviews.SetStatus(w.ctx, r.ID, reviews.StatusPublished, ""); err != nil {
		t.Fatal(err)
	}
	if shown() != 1 {
		t.Fatal("published again: back on the wall")
	}
}

// Products are searchable: new and edited ones are synced, rated ones carry their rating,
// and those made before search knew products are found by the repair.
func TestProductSource_NewEditedRatedAndOld(t *testing.T) {
	w := newWorld(t)
	src := w.reviews.ProductSource()
	dirty := func() []search.Pending {
		t.Helper()
		list, err := src.Dirty(w.ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	p := w.product("Kopi Gayo")
	if got := dirty(); len(got) != 1 || got[0].Doc.Kind != "product" || got[0].Doc.Title != "Kopi Gayo" || got[0].Doc.URL != "/products/"+p.Slug {
		t.Fatalf("a new product: %+v", got)
	}
	src.MarkIndexed(w.ctx, dirty())
	w.review(w.person("Ayu"), p, 4)
	if got := dirty(); len(got) != 1 || got[0].Doc.Rating != 4 {
		t.Fatalf("a rated product: %+v", got)
	}
	src.MarkIndexed(w.ctx, dirty())
	reviews.AsBeforeSearch(t, w.reviews, p.Slug)
	if got := dirty(); len(got) != 0 {
		t.Fatalf("an old product is dirty: %+v", got)
	}
	if _, err := w.reviews.Repair(w.ctx); err != nil {
		t.Fatal(err)
	}
	if got := dirty(); len(got) != 1 {
		t.Fatalf("the repair did not bring the old product to the index: %+v", got)
	}
}
