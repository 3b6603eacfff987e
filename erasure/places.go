package erasure

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/exports"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/followups"
	"github.com/guyub/guyub/idempotency"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/importer"
	"github.com/guyub/guyub/loyalty"
	"github.com/guyub/guyub/mail"
	"github.com/guyub/guyub/media"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/ratelimit"
	"github.com/guyub/guyub/reviews"
	"github.com/guyub/guyub/store"
	"github.com/guyub/guyub/webhooks"
)

// Places lists every collection holding a member's own data, each package's declaration:
// what their download holds and their erasure walks.
func Places() []store.MemberData {
	var all []store.MemberData
	for _, set := range [][]store.MemberData{customers.MemberData, identity.MemberData, reviews.MemberData, community.MemberData,
		feedback.MemberData, moderation.MemberData, loyalty.MemberData, media.MemberData, followups.MemberData, importer.MemberData,
		exports.MemberData} {
		all = append(all, set...)
	}
	return all
}

// Refs lists the other fields that may name a member, each package's.
func Refs() []store.MemberRef {
	return append(append([]store.MemberRef{}, community.MemberRefs...), moderation.MemberRefs...)
}

// Forget erases a member from what the declarations do not reach: messages to their
// address, rate-limit windows keyed by it or by their ID, stored API answers, webhook
// deliveries about them, the points others earned from them, and the key of their answers.
func Forget(outbox *mail.Outbox, limiter *ratelimit.Limiter, keys *idempotency.Keys, hooks *webhooks.Service, points *loyalty.Service,
	answers *feedback.Service) Forgetter {
	return func(ctx context.Context, c *customers.Customer, pseudonym bson.ObjectID) error {
		if err := answers.EraseMember(ctx, c.ID, pseudonym); err != nil {
			return err
		}
		if err := outbox.Forget(ctx, c.Email); err != nil {
			return err
		}
		hex := c.ID.Hex()
		prefixes := []string{"reset:account:" + hex, "confirm:account:" + hex, "email_change:account:" + hex}
		if c.Email != "" {
			prefixes = append(prefixes, "signin:account:"+c.Email+"|", "signin:pair:"+c.Email+"|", "signin:device:"+c.Email+"|")
		}
		if err := limiter.Forget(ctx, prefixes...); err != nil {
			return err
		}
		if err := keys.Forget(ctx, hex); err != nil {
			return err
		}
		if err := hooks.Forget(ctx, c.ID); err != nil {
			return err
		}
		return points.EraseActor(ctx, c.ID, pseudonym)
	}
}
