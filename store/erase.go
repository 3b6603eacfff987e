package store

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// EraseMember takes a member out of every place their data is declared: documents kept
// (Keep) are given the pseudonym instead of their ID, their words blanked too if removeText;
// the others are deleted. refs naming them are given the pseudonym. What follows the
// pseudonym cannot be traced back to the person: nothing records which member it was.
func EraseMember(ctx context.Context, db *mongo.Database, member, pseudonym bson.ObjectID, places []MemberData, refs []MemberRef, removeText bool) error {
	for _, p := range places {
		coll := db.Collection(p.Collection)
		filter := bson.M{p.Field: member}
		if !p.Keep {
			if _, err := coll.DeleteMany(ctx, filter); err != nil {
				return fmt.Errorf("erase %s: %w", p.Collection, err)
			}
			continue
		}
		set := bson.M{p.Field: pseudonym}
		if p.Indexed {
			set["search_dirty"] = true
		}
		update := bson.M{"$set": set}
		if removeText && len(p.Text) > 0 {
			for _, f := range p.Text {
				set[f] = ""
			}
			update["$unset"] = bson.M{"history": ""} // earlier versions of the words
		}
		if _, err := coll.UpdateMany(ctx, filter, update); err != nil {
			return fmt.Errorf("erase %s: %w", p.Collection, err)
		}
	}
	for _, r := range refs {
		if _, err := db.Collection(r.Collection).UpdateMany(ctx, bson.M{r.Field: member}, bson.M{"$set": bson.M{r.Field: pseudonym}}); err != nil {
			return fmt.Errorf("erase %s.%s: %w", r.Collection, r.Field, err)
		}
	}
	return nil
}
