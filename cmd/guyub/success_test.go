package main

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/demo"
)

// Loading the demo again (every --demo restart does) records no purchase twice, on the
// record or in the purchases collection, and the demo opens its follow-ups once.
func TestDemo_RestartsRecordEachPurchaseOnce(t *testing.T) {
	ctx := context.Background()
	svc, _ := demoServices(t)
	count := func() (int64, int64) {
		docs, err := svc.store.DB.Collection("purchases").CountDocuments(ctx, bson.M{})
		if err != nil {
			t.Fatal(err)
		}
		tasks, _ := svc.store.DB.Collection("followups").CountDocuments(ctx, bson.M{})
		return docs, tasks
	}
	purchases, tasks := count()
	if purchases == 0 {
		t.Fatal("the demo records purchases")
	}
	for range 2 {
		if _, err := demo.Load(ctx, svc.demoDeps()); err != nil {
			t.Fatal(err)
		}
	}
	if p, f := count(); p != purchases || f != tasks {
		t.Fatalf("after two more loads: %d purchases (was %d), %d follow-ups (was %d)", p, purchases, f, tasks)
	}
	list, err := svc.customers.Search(ctx, customers.Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	onRecords := 0
	for _, c := range list {
		seen := map[string]bool{}
		for _, p := range c.Purchases {
			if seen[p.Key] {
				t.Fatalf("%s holds purchase %s twice", c.Email, p.Key)
			}
			seen[p.Key] = true
		}
		onRecords += len(c.Purchases)
		if len(c.Purchases) > 0 && (c.Value.Orders == 0 || c.Value.CLTV == 0 || c.Value.Currency != customers.DefaultCurrency) {
			t.Fatalf("%s: value %+v", c.Email, c.Value)
		}
	}
	if int64(onRecords) != purchases {
		t.Fatalf("%d purchases on the records, %d stored", onRecords, purchases)
	}
}
