package loyalty

import (
	"context"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/store"
)

// EraseActor takes an erased member out of what others earned from them (their helpful
// votes, their likes): the entries and awards stay, the points are not taken back, under the
// pseudonym, whose ID replaces theirs in the keys too, so that a later repair, which reads the
// votes and likes now under the pseudonym, finds them booked. The caps counted about them go.
func (s *Service) EraseActor(ctx context.Context, member, pseudonym bson.ObjectID) error {
	swap := func(v string) string { return strings.ReplaceAll(v, member.Hex(), pseudonym.Hex()) }
	entries, err := store.FindAll[Entry](ctx, s.ledger, bson.M{"actor_id": member})
	if err != nil {
		return fmt.Errorf("erase points: %w", err)
	}
	for _, e := range entries {
		old := e.ID
		e.ID, e.Ref, e.ActorID = swap(e.ID), swap(e.Ref), pseudonym
		if _, err := store.InsertNew(ctx, s.ledger, []any{e}); err != nil {
			return fmt.Errorf("erase points: %w", err)
		}
		if _, err := s.ledger.DeleteOne(ctx, bson.M{"_id": old}); err != nil {
			return fmt.Errorf("erase points: %w", err)
		}
	}
	awards, err := store.FindAll[bson.M](ctx, s.awards, bson.M{"actor_id": member})
	if err != nil {
		return fmt.Errorf("erase awards: %w", err)
	}
	for _, a := range awards {
		old, _ := (*a)["_id"].(string)
		(*a)["_id"], (*a)["actor_id"] = swap(old), pseudonym
		if _, err := store.InsertNew(ctx, s.awards, []any{*a}); err != nil {
			return fmt.Errorf("erase awards: %w", err)
		}
		if _, err := s.awards.DeleteOne(ctx, bson.M{"_id": old}); err != nil {
			return fmt.Errorf("erase awards: %w", err)
		}
	}
	if _, err := s.counters.DeleteMany(ctx, bson.M{"actor_id": member}); err != nil {
		return fmt.Errorf("erase counters: %w", err)
	}
	return nil
}
