package erasure_test

import (
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/erasure"
	"github.com/guyub/guyub/exports"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/followups"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/importer"
	"github.com/guyub/guyub/loyalty"
	"github.com/guyub/guyub/media"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
	"github.com/guyub/guyub/store"
)

// Every place a member's data is declared is found by an index whose first key is its
// field (or by _id): the download and the erasure read and write them by it, and the
// embedded database reads a whole collection otherwise.
func TestPlaces_EachFoundByAnIndex(t *testing.T) {
	var all []store.Indexes
	for _, set := range [][]store.Indexes{customers.Indexes, identity.Indexes, reviews.Indexes, community.Indexes, feedback.Indexes,
		moderation.Indexes, loyalty.Indexes, media.Indexes, followups.Indexes, importer.Indexes, exports.Indexes} {
		all = append(all, set...)
	}
	indexed := func(coll, field string) bool {
		if field == "_id" {
			return true
		}
		for _, ix := range all {
			if ix.Collection != coll {
				continue
			}
			for _, m := range ix.Models {
				if keys, ok := m.Keys.(bson.D); ok && len(keys) > 0 && keys[0].Key == field {
					return true
				}
			}
		}
		return false
	}
	for _, p := range erasure.Places() {
		if !indexed(p.Collection, p.Field) {
			t.Errorf("%s.%s has no index that starts with it", p.Collection, p.Field)
		}
	}
	for _, r := range erasure.Refs() {
		if !indexed(r.Collection, r.Field) {
			t.Errorf("%s.%s (a reference) has no index that starts with it", r.Collection, r.Field)
		}
	}
}
