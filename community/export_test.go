package community

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// SetClock sets the service's clock (for trending windows).
func SetClock(s *Service, now func() time.Time) { s.now = now }

// Corrupt writes wrong counters, as a crash between two writes could leave them.
func Corrupt(t *testing.T, s *Service, post, thread, idea bson.ObjectID) {
	t.Helper()
	set := func(coll *mongo.Collection, id bson.ObjectID, fields bson.M) {
		if _, err := coll.UpdateOne(context.Background(), bson.M{"_id": id}, bson.M{"$set": fields}); err != nil {
			t.Fatal(err)
		}
	}
	set(s.posts, post, bson.M{"likes": 41, "counted": false})
	set(s.threads, thread, bson.M{"reply_count": 99})
	set(s.ideas, idea, bson.M{"vote_count": -3, "reply_count": 7})
}

// CorruptVotes sets an idea's vote count wrong, as an interrupted merge could leave it.
func CorruptVotes(t *testing.T, s *Service, idea bson.ObjectID, n int) {
	t.Helper()
	if _, err := s.ideas.UpdateOne(context.Background(), bson.M{"_id": idea}, bson.M{"$set": bson.M{"vote_count": n}}); err != nil {
		t.Fatal(err)
	}
}

// LeaveNotifying marks an idea's change of state as not yet told to every voter, as a
// crash in the middle of telling them would leave it.
func LeaveNotifying(t *testing.T, s *Service, idea bson.ObjectID, key string) {
	t.Helper()
	if _, err := s.ideas.UpdateOne(context.Background(), bson.M{"_id": idea}, bson.M{"$set": bson.M{"notify_key": key}}); err != nil {
		t.Fatal(err)
	}
}
