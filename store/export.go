package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// MemberData names where a collection keeps a member's data: the field holding their ID,
// and the fields never given out (secrets, hashes). Each package declares its own, next
// to its indexes, so a new collection of personal data is declared where it is made, with
// what deleting the member's account does to it (EraseMember).
type MemberData struct {
	Collection string
	Field      string
	Omit       []string
	// Keep: erasing the member keeps these documents under a pseudonym (content, votes,
	// answers: what others read, and the counts and ratings they make); otherwise they are
	// deleted.
	Keep bool
	// Text are the fields holding the member's own words, blanked when they ask for their
	// content to be removed rather than kept.
	Text []string
	// Indexed: the documents are in the search index, which is told to take the name out.
	Indexed bool
}

// MemberRef is another field that may name a member (who a notification is from, who
// replied last): set to the pseudonym when the member is erased.
type MemberRef struct {
	Collection string
	Field      string
}

// ExportMember hands fn every document each place holds for member, as stored but for the
// omitted fields, a page of 500 at a time in _id order (through the member field's index).
func ExportMember(ctx context.Context, db *mongo.Database, member bson.ObjectID, places []MemberData,
	fn func(collection string, docs []bson.M) error) error {
	for _, p := range places {
		projection := bson.M{}
		dropID := false
		for _, f := range p.Omit {
			if f == "_id" {
				dropID = true // read for paging, dropped after
				continue
			}
			projection[f] = 0
		}
		var after any
		for {
			filter := bson.M{p.Field: member}
			if after != nil {
				filter["_id"] = bson.M{"$gt": after}
			}
			opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(500)
			if len(projection) > 0 {
				opts.SetProjection(projection)
			}
			docs, err := FindAll[bson.M](ctx, db.Collection(p.Collection), filter, opts)
			if err != nil {
				return fmt.Errorf("export %s: %w", p.Collection, err)
			}
			if len(docs) == 0 {
				break
			}
			after = (*docs[len(docs)-1])["_id"]
			list := make([]bson.M, len(docs))
			for i, d := range docs {
				if dropID {
					delete(*d, "_id")
				}
				list[i] = *d
			}
			if err := fn(p.Collection, list); err != nil {
				return err
			}
			if len(docs) < 500 {
				break
			}
		}
	}
	return nil
}
