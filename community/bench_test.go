package community_test

import (
	"context"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/markdown"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/store/storetest"
)

// benchWorld is a forum of 300 threads (one with 200 replies) and 100 ideas with 1,000
// recent votes, on the embedded FerretDB.
func benchWorld(b *testing.B) (*community.Service, *community.Thread) {
	b.Helper()
	ctx := context.Background()
	db := storetest.DB(b)
	if err := store.EnsureIndexes(ctx, db, append(customers.Indexes, community.Indexes...)...); err != nil {
		b.Fatal(err)
	}
	cust := customers.NewService(db, []string{"en", "id"})
	svc := community.New(db, cust, nil, nil, markdown.New())
	admin, err := cust.Create(ctx, customers.NewCustomer{Email: "root@example.com", DisplayName: "Root", Roles: []customers.Role{customers.RoleAdmin}})
	if err != nil {
		b.Fatal(err)
	}
	cat, err := svc.SaveCategory(ctx, admin, bson.ObjectID{}, community.CategoryInput{Name: "Help"})
	if err != nil {
		b.Fatal(err)
	}
	var people []*customers.Customer
	for i := range 10 {
		p, err := cust.Create(ctx, customers.NewCustomer{Email: fmt.Sprintf("p%d@example.com", i), DisplayName: fmt.Sprint("P", i)})
		if err != nil {
			b.Fatal(err)
		}
		people = append(people, p)
	}
	var busy *community.Thread
	for i := range 300 {
		t, err := svc.CreateThread(ctx, people[i%10], community.ThreadInput{Category: cat.Slug, Title: fmt.Sprintf("Question number %d", i), Body: "Details."})
		if err != nil {
			b.Fatal(err)
		}
		busy = t
	}
	for i := range 200 {
		if _, err := svc.Reply(ctx, people[i%10], content.Ref{Kind: content.KindThread, ID: busy.ID}, community.PostInput{Body: fmt.Sprint("Reply ", i)}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 100 {
		idea, err := svc.CreateIdea(ctx, people[i%10], community.IdeaInput{Title: fmt.Sprintf("Idea number %d", i), Body: "Please."})
		if err != nil {
			b.Fatal(err)
		}
		for j := range i % 10 {
			if _, err := svc.Vote(ctx, people[j], idea.ID, true); err != nil {
				b.Fatal(err)
			}
		}
	}
	return svc, busy
}

// BenchmarkLists is one page of each list a visitor opens.
func BenchmarkLists(b *testing.B) {
	svc, busy := benchWorld(b)
	ctx := context.Background()
	for _, sort := range community.ThreadSorts {
		b.Run("threads-"+sort, func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.Threads(ctx, community.ThreadQuery{Sort: sort}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("posts-of-a-thread", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := svc.Posts(ctx, community.PostQuery{Parent: busy.ID}); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, sort := range community.IdeaSorts {
		b.Run("ideas-"+sort, func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.Ideas(ctx, community.IdeaQuery{Sort: sort}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
