package customers_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func newService(t *testing.T) *customers.Service {
	t.Helper()
	s, _ := newServiceOn(t)
	return s
}

// newServiceOn is newService with its database, for tests that look at what was sent to it.
func newServiceOn(t *testing.T) (*customers.Service, *mongo.Database) {
	t.Helper()
	db := storetest.DB(t)
	if err := store.EnsureIndexes(context.Background(), db, customers.Indexes...); err != nil {
		t.Fatal(err)
	}
	return customers.NewService(db, []string{"en", "id"}), db
}

func TestCreate_EmailIsUniqueWhateverItsCase(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	c, err := s.Create(ctx, customers.NewCustomer{Email: " Ayu@Example.com ", DisplayName: "Ayu Lestari", Locale: "id"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Email != "ayu@example.com" || c.Status != customers.StatusActive || !c.HasRole(customers.RoleCustomer) {
		t.Fatalf("created %+v", c)
	}
	if _, err := s.Create(ctx, customers.NewCustomer{Email: "AYU@example.com"}); !errors.Is(err, customers.ErrEmailTaken) {
		t.Fatalf("second account with the same email: err = %v", err)
	}
	// Social logins without an email do not collide with each other.
	for i := range 2 {
		if _, err := s.Create(ctx, customers.NewCustomer{DisplayName: "No Email", Identity: &customers.Identity{Provider: "github", Subject: string(rune('a' + i))}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.FindByEmail(ctx, "ayu@EXAMPLE.com")
	if err != nil || got.ID != c.ID {
		t.Fatalf("FindByEmail = %v, %v", got, err)
	}
}

func TestCreate_ConcurrentFirstSignInsMakeOneCustomer(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	ident := &customers.Identity{Provider: "openid-connect", Subject: "sub-42"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, inUse := 0, 0
	for range 8 {
		wg.Go(func() {
			_, err := s.Create(ctx, customers.NewCustomer{DisplayName: "Budi", Identity: ident})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case errors.Is(err, customers.ErrIdentityInUse):
				inUse++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if created != 1 || inUse != 7 {
		t.Fatalf("created %d, refused %d; want 1 and 7", created, inUse)
	}
	c, err := s.FindByIdentity(ctx, "openid-connect", "sub-42")
	if err != nil || len(c.Identities) != 1 {
		t.Fatalf("FindByIdentity = %+v, %v", c, err)
	}
}

func TestCreate_EmailTakenReleasesTheIdentity(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	if _, err := s.Create(ctx, customers.NewCustomer{Email: "x@example.com"}); err != nil {
		t.Fatal(err)
	}
	ident := &customers.Identity{Provider: "github", Subject: "7"}
	if _, err := s.Create(ctx, customers.NewCustomer{Email: "x@example.com", Identity: ident}); !errors.Is(err, customers.ErrEmailTaken) {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.FindByIdentity(ctx, "github", "7"); !errors.Is(err, customers.ErrNotFound) {
		t.Fatalf("the identity should be free again: %v", err)
	}
	if _, err := s.Create(ctx, customers.NewCustomer{Email: "other@example.com", Identity: ident}); err != nil {
		t.Fatal(err)
	}
}

func TestLinkIdentity_IdempotentAndExclusive(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	a, _ := s.Create(ctx, customers.NewCustomer{Email: "a@example.com"})
	b, _ := s.Create(ctx, customers.NewCustomer{Email: "b@example.com"})
	gh := customers.Identity{Provider: "github", Subject: "99"}
	for range 2 {
		if err := s.LinkIdentity(ctx, a.ID, gh); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := s.Get(ctx, a.ID)
	if len(got.Identities) != 1 || !got.HasIdentity("github") {
		t.Fatalf("identities = %+v, want github once", got.Identities)
	}
	if err := s.LinkIdentity(ctx, b.ID, gh); !errors.Is(err, customers.ErrIdentityInUse) {
		t.Fatalf("linking another's identity: err = %v", err)
	}
	if err := s.LinkIdentity(ctx, a.ID, customers.Identity{Provider: "github", Subject: "100"}); !errors.Is(err, customers.ErrProviderLinked) {
		t.Fatalf("a second GitHub account: err = %v", err)
	}
	if c, _ := s.FindByIdentity(ctx, "github", "99"); c.ID != a.ID {
		t.Fatal("identity moved to another customer")
	}
}

func TestUpdateProfile_Validates(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	c, _ := s.Create(ctx, customers.NewCustomer{Email: "p@example.com"})
	err := s.UpdateProfile(ctx, c.ID, customers.Profile{DisplayName: "  ", Locale: "fr"})
	var f *errs.Fields
	if !errors.As(err, &f) || f.ByName["display_name"].ID != "field.required" || f.ByName["locale"].ID != "field.choose_one" {
		t.Fatalf("err = %v", err)
	}
	if err := s.UpdateProfile(ctx, c.ID, customers.Profile{DisplayName: " Putri  Ayu ", Locale: "id"}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, c.ID)
	if got.DisplayName != "Putri  Ayu" || got.Locale != "id" || got.Version != 2 {
		t.Fatalf("got %+v", got)
	}
}

func TestSuspend_ReasonRequiredAndUntilRespected(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	c, _ := s.Create(ctx, customers.NewCustomer{Email: "s@example.com"})
	admin := bson.NewObjectID()
	if err := s.Suspend(ctx, c.ID, admin, " ", nil); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("no reason: err = %v", err)
	}
	past := time.Now().Add(-time.Hour)
	if err := s.Suspend(ctx, c.ID, admin, "spam", &past); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("end in the past: err = %v", err)
	}
	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Millisecond)
	if err := s.Suspend(ctx, c.ID, admin, "spam links", &until); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(ctx, c.ID)
	if !got.SuspendedAt(time.Now()) || got.Suspension.Reason != "spam links" || !got.Suspension.Until.Equal(until) {
		t.Fatalf("suspension = %+v", got.Suspension)
	}
	if got.SuspendedAt(until.Add(time.Second)) {
		t.Fatal("a suspension ends at its end date")
	}
	if err := s.Reinstate(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, c.ID); got.SuspendedAt(time.Now()) || got.Suspension != nil {
		t.Fatalf("still suspended: %+v", got)
	}
}

func TestSearch_TextRoleAndKeyPagination(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	for _, n := range []string{"Ayu Lestari", "Budi Santoso", "Citra Ayuningtyas", "Dewi (Ayu)", "Eko"} {
		c, err := s.Create(ctx, customers.NewCustomer{Email: n[:3] + "@example.com", DisplayName: n})
		if err != nil {
			t.Fatal(err)
		}
		if n == "Budi Santoso" {
			if err := s.SetRoles(ctx, c.ID, []customers.Role{customers.RoleModerator, "bogus"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	names := func(list []*customers.Customer) (out []string) {
		for _, c := range list {
			if c.PasswordHash != "" {
				t.Error("password hashes must not be listed")
			}
			out = append(out, c.DisplayName)
		}
		return out
	}
	page1, _ := s.Search(ctx, customers.Query{Text: "ayu", Limit: 2})
	page2, _ := s.Search(ctx, customers.Query{Text: "ayu", Limit: 2, Before: page1[len(page1)-1].ID})
	got := append(names(page1), names(page2)...)
	want := []string{"Dewi (Ayu)", "Citra Ayuningtyas", "Ayu Lestari"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if got, _ := s.Search(ctx, customers.Query{Text: "(ayu"}); len(got) != 1 {
		t.Fatalf("regex characters in the query must be literal: %v", names(got))
	}
	mods, _ := s.Search(ctx, customers.Query{Role: customers.RoleModerator})
	if len(mods) != 1 || mods[0].DisplayName != "Budi Santoso" || len(mods[0].Roles) != 2 {
		t.Fatalf("moderators = %+v", mods)
	}
}

func TestInitials(t *testing.T) {
	for name, want := range map[string]string{"ayu lestari": "AL", "Budi": "B", "": "?", "Dewi Sri Ayu": "DS", "«» x": "X"} {
		c := customers.Customer{DisplayName: name}
		if got := c.Initials(); got != want {
			t.Errorf("Initials(%q) = %q, want %q", name, got, want)
		}
	}
}

// A crash between claiming an identity and creating its customer must not lock the person
// out: once the claim is old, a new sign-in takes it over.
func TestCreate_TakesOverAnOrphanedIdentity(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	if err := store.EnsureIndexes(ctx, db, customers.Indexes...); err != nil {
		t.Fatal(err)
	}
	s := customers.NewService(db, nil)
	_, err := db.Collection("identities").InsertOne(ctx, bson.M{"_id": "github|77", "provider": "github", "subject": "77",
		"customer_id": bson.NewObjectID(), "linked_at": time.Now().Add(-10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Create(ctx, customers.NewCustomer{DisplayName: "Indra", Identity: &customers.Identity{Provider: "github", Subject: "77"}})
	if err != nil {
		t.Fatalf("an orphaned identity should be taken over: %v", err)
	}
	if got, err := s.FindByIdentity(ctx, "github", "77"); err != nil || got.ID != c.ID {
		t.Fatalf("FindByIdentity = %v, %v", got, err)
	}
}

func TestSatisfaction_ConcurrentAnswersFromOneCustomerAreAllCounted(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	c, _ := s.Create(ctx, customers.NewCustomer{Email: "busy@example.com"})
	var wg sync.WaitGroup
	base := time.Now().Add(-time.Hour)
	var signals []customers.Signal
	for i := range 12 {
		sig := customers.SurveySignal(c.ID, customers.SignalCSAT, fmt.Sprint("r", i), 1+i%5, base.Add(time.Duration(i)*time.Minute))
		signals = append(signals, sig)
		wg.Go(func() {
			if err := s.RecordSignal(ctx, sig); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, _ := s.Get(ctx, c.ID)
	want := customers.Recompute(signals)
	if got.Satisfaction.Signals != 12 || got.Satisfaction.Score != want.Score {
		t.Fatalf("after 12 concurrent answers: %d signals, score %d; want 12 and %d", got.Satisfaction.Signals, got.Satisfaction.Score, want.Score)
	}
	// Repair recomputes the same from the raw signals.
	if _, err := s.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.Get(ctx, c.ID); again.Satisfaction.Score != want.Score {
		t.Fatalf("repair: %d, want %d", again.Satisfaction.Score, want.Score)
	}
}

func TestStage_MovesWithSignalsAndKeepsItsHistory(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	c, _ := s.Create(ctx, customers.NewCustomer{Email: "journey@example.com"})
	if c.Stage != customers.StageAwareness {
		t.Fatalf("a new account is in awareness: %s", c.Stage)
	}
	s.Contributed(ctx, c.ID, "votes", bson.ObjectID{})
	p1, p2 := bson.NewObjectID(), bson.NewObjectID()
	s.AddPurchase(ctx, c.ID, customers.Purchase{ProductID: p1, OrderID: "A"})
	s.RecordSignal(ctx, customers.SurveySignal(c.ID, customers.SignalNPS, "n1", 10, time.Now()))
	s.AddPurchase(ctx, c.ID, customers.Purchase{ProductID: p2, OrderID: "B"})
	got, _ := s.Get(ctx, c.ID)
	if got.Stage != customers.StageCommitment {
		t.Fatalf("two products, NPS 10, active: %s", got.Stage)
	}
	s.RecordSignal(ctx, customers.SurveySignal(c.ID, customers.SignalNPS, "n2", 2, time.Now()))
	got, _ = s.Get(ctx, c.ID)
	if got.Stage != customers.StageDissolution || got.Satisfaction.NPSCat != customers.NPSDetractor {
		t.Fatalf("a detractor answer: %s %s", got.Stage, got.Satisfaction.NPSCat)
	}
	// Changing the answer back (the same source) recomputes: back to expansion, not commitment.
	s.RecordSignal(ctx, customers.SurveySignal(c.ID, customers.SignalNPS, "n2", 10, time.Now()))
	got, _ = s.Get(ctx, c.ID)
	if got.Stage != customers.StageExpansion {
		t.Fatalf("from dissolution: %s, want expansion", got.Stage)
	}
	var path []string
	for _, h := range got.StageHistory {
		if h.Cause == "" {
			t.Errorf("a change without a cause: %+v", h)
		}
		path = append(path, string(h.To))
	}
	if strings.Join(path, ",") != "awareness,exploration,expansion,commitment,dissolution,expansion" {
		t.Fatalf("history: %v", path)
	}
}

func TestBuyersOf_EachBuyerOncePageByPage(t *testing.T) {
	ctx := context.Background()
	db := storetest.DB(t)
	s := customers.NewService(db, []string{"en", "id"})
	if err := store.EnsureIndexes(ctx, db, customers.Indexes...); err != nil {
		t.Fatal(err)
	}
	product, other := bson.NewObjectID(), bson.NewObjectID()
	var buyers []bson.ObjectID
	for i := range 5 {
		c, _ := s.Create(ctx, customers.NewCustomer{Email: fmt.Sprintf("buyer%d@example.com", i)})
		buyers = append(buyers, c.ID)
		// Two orders of the product, one recorded twice, and another product.
		for _, order := range []string{"A", "B", "B"} {
			if _, err := s.AddPurchase(ctx, c.ID, customers.Purchase{ProductID: product, OrderID: order}); err != nil {
				t.Fatal(err)
			}
		}
		s.AddPurchase(ctx, c.ID, customers.Purchase{ProductID: other, OrderID: "C"})
	}
	s.Create(ctx, customers.NewCustomer{Email: "never-bought@example.com"})
	var got []bson.ObjectID
	var after bson.ObjectID
	for {
		page, err := s.BuyersOf(ctx, product, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got, after = append(got, page...), page[len(page)-1]
	}
	if !slices.Equal(got, buyers) {
		t.Fatalf("buyers page by page: %v, want %v", got, buyers)
	}
	if n, _ := db.Collection("purchases").CountDocuments(ctx, bson.M{}); n != 15 {
		t.Fatalf("%d purchases stored, want 15 (a purchase recorded twice is stored once)", n)
	}
	// Purchases recorded before they had documents of their own get them from the repair.
	db.Collection("purchases").DeleteMany(ctx, bson.M{"customer_id": buyers[0]})
	if _, err := s.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	if page, _ := s.BuyersOf(ctx, product, bson.ObjectID{}, 1); len(page) != 1 || page[0] != buyers[0] {
		t.Fatalf("after repair the first buyer is back: %v", page)
	}
	active, err := s.ActiveBetween(ctx, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil || len(active) != 5 {
		t.Fatalf("buyers active this hour: %d (%v)", len(active), err)
	}
}
