// Package erasure deletes a member's account on their request (or an admin's, on theirs):
// their identities, address, password, sessions, tokens, record and notifications go; what
// they contributed stays under a pseudonym that leads back to nobody, or is removed, as they
// choose; the counts and ratings their contributions make stay exact; the audit log keeps
// that it happened, not who it was. Each package declares where it keeps a member's data
// (store.MemberData, store.MemberRef); this package walks them.
package erasure

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/store"
)

// Remover deletes every piece of content a member wrote, through its owner's own status
// changes (so that counts and ratings follow).
type Remover interface {
	DeleteAllBy(ctx context.Context, member bson.ObjectID) error
}

// Forgetter is a place the declarations do not reach: kept by address, or with the member's
// ID inside other keys.
type Forgetter func(ctx context.Context, member *customers.Customer, pseudonym bson.ObjectID) error

// Service erases members.
type Service struct {
	db         *mongo.Database
	customers  *customers.Service
	moderation *moderation.Service
	places     []store.MemberData
	refs       []store.MemberRef
	removers   []Remover
	forgetters []Forgetter
}

// New returns the service: places and refs are every package's declarations.
func New(db *mongo.Database, c *customers.Service, m *moderation.Service, places []store.MemberData, refs []store.MemberRef,
	removers []Remover, forgetters ...Forgetter) *Service {
	return &Service{db: db, customers: c, moderation: m, places: places, refs: refs, removers: removers, forgetters: forgetters}
}

// ErrStaff: a member of staff is erased only once their roles are taken away.
var ErrStaff = errs.New(errs.ErrConflict, "erasure.staff")

// Erase deletes a member's account. by is who asked: the member, or an admin on their
// request. removeContent removes what they wrote instead of keeping it under the pseudonym.
// The steps can run again: a failure half-way is finished by asking again.
func (s *Service) Erase(ctx context.Context, member, by *customers.Customer, removeContent bool) error {
	if member.Staff {
		return ErrStaff
	}
	if removeContent {
		for _, r := range s.removers {
			if err := r.DeleteAllBy(ctx, member.ID); err != nil {
				return fmt.Errorf("erase: %w", err)
			}
		}
	}
	pseudonym, err := s.customers.NewPseudonym(ctx)
	if err != nil {
		return err
	}
	for _, f := range s.forgetters {
		if err := f(ctx, member, pseudonym); err != nil {
			return fmt.Errorf("erase: %w", err)
		}
	}
	if err := store.EraseMember(ctx, s.db, member.ID, pseudonym, s.places, s.refs, removeContent); err != nil {
		return err
	}
	// The fact stays in the audit log, under the pseudonym; an admin's request names the admin.
	actor := pseudonym
	reason := "at the member's request"
	if by.ID != member.ID {
		actor, reason = by.ID, "at the member's request, by an admin"
	}
	if removeContent {
		reason += "; their contributions removed"
	} else {
		reason += "; their contributions kept under a pseudonym"
	}
	return s.moderation.Append(ctx, moderation.Entry{ID: bson.NewObjectID(), At: time.Now().UTC(), Actor: actor,
		Action: moderation.ActionErase, TargetAuthor: pseudonym, Reason: reason})
}
