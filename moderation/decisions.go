package moderation

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// Action is what an audit log entry records.
type Action string

const (
	ActionScreen    Action = "screen"    // a rule held content for review
	ActionAutoHide  Action = "auto_hide" // flags hid content
	ActionApprove   Action = "approve"
	ActionReject    Action = "reject"
	ActionSuspend   Action = "suspend"
	ActionReinstate Action = "reinstate"
	ActionRoles     Action = "roles"
	ActionRules     Action = "rules"
	// Staff actions on forum threads and ideas, taken in community and logged here.
	ActionPin        Action = "pin"
	ActionUnpin      Action = "unpin"
	ActionLock       Action = "lock"
	ActionUnlock     Action = "unlock"
	ActionMove       Action = "move"
	ActionIdeaStatus Action = "idea_status"
	ActionMerge      Action = "merge"
	ActionBadge      Action = "badge"        // an admin gave a member a badge
	ActionBadgeTaken Action = "badge_revoke" // an admin took a badge back
	ActionErase      Action = "erase"        // an account deleted, on its member's request
	ActionActAs      Action = "act_as"       // a staff token wrote on behalf of a member
	ActionDataExport Action = "data_export"  // an admin downloaded a member's data, on their request
)

// Actions lists every action, for the log's filter.
var Actions = []Action{ActionScreen, ActionAutoHide, ActionApprove, ActionReject, ActionSuspend, ActionReinstate,
	ActionRoles, ActionRules, ActionPin, ActionUnpin, ActionLock, ActionUnlock, ActionMove, ActionIdeaStatus, ActionMerge, ActionBadge, ActionBadgeTaken, ActionErase, ActionActAs, ActionDataExport}

// Entry is one line of the audit log. The log is append-only: nothing here updates or
// deletes an entry.
type Entry struct {
	ID             bson.ObjectID    `bson:"_id" json:"id"`
	At             time.Time        `bson:"at" json:"at"`
	Actor          bson.ObjectID    `bson:"actor,omitempty" json:"actor_id,omitzero"` // zero: the system (a rule, flags)
	Action         Action           `bson:"action" json:"action"`
	Target         *content.Ref     `bson:"target,omitempty" json:"target,omitempty"`
	TargetAuthor   bson.ObjectID    `bson:"target_author,omitempty" json:"target_author,omitzero"` // whose content, or which account
	Before         content.Status   `bson:"before,omitempty" json:"before,omitempty"`
	After          content.Status   `bson:"after,omitempty" json:"after,omitempty"`
	RolesBefore    []customers.Role `bson:"roles_before,omitempty" json:"roles_before,omitempty"`
	RolesAfter     []customers.Role `bson:"roles_after,omitempty" json:"roles_after,omitempty"`
	Reason         string           `bson:"reason,omitempty" json:"reason,omitempty"`
	Reasons        []content.Reason `bson:"reasons,omitempty" json:"reasons,omitempty"`
	SuspendedUntil *time.Time       `bson:"suspended_until,omitempty" json:"suspended_until,omitempty"`
}

// Append adds a decision taken elsewhere (a testimonial's approval) to the audit log.
func (s *Service) Append(ctx context.Context, e Entry) error { return s.record(ctx, e) }

func (s *Service) record(ctx context.Context, e Entry) error {
	e.ID, e.At = bson.NewObjectID(), s.now()
	if _, err := s.log.InsertOne(ctx, e); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

// DecisionInput is one decision about one or many items.
type DecisionInput struct {
	Refs   []string `json:"refs"`
	Action Action   `json:"action"` // approve or reject
	Reason string   `json:"reason"` // required to reject; the author sees it
}

// DecisionResult is the outcome for one item.
type DecisionResult struct {
	Ref    string         `json:"ref"`
	Before content.Status `json:"before,omitempty"`
	After  content.Status `json:"after,omitempty"`
	Error  string         `json:"error,omitempty"`
}

// Decide approves (publishes) or rejects (hides, with a reason for the author) items.
// Each is logged; the content's owner updates its counters and search flag with the status.
func (s *Service) Decide(ctx context.Context, moderator *customers.Customer, in DecisionInput) ([]DecisionResult, error) {
	if !moderator.HasRole(customers.RoleModerator) {
		return nil, errs.New(errs.ErrForbidden, "error.403.message")
	}
	var f errs.Fields
	after := content.StatusPublished
	switch in.Action {
	case ActionApprove:
	case ActionReject:
		after = content.StatusHidden
		if in.Reason = strings.TrimSpace(in.Reason); in.Reason == "" {
			f.Add("reason", "moderation.reason_required")
		}
	default:
		f.Add("action", "field.choose_one")
	}
	if len(in.Refs) == 0 {
		f.Add("refs", "moderation.choose_items")
	}
	if len(in.Refs) > 100 {
		f.Add("refs", "moderation.too_many_items", "Max", 100)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	results := make([]DecisionResult, 0, len(in.Refs))
	for _, raw := range in.Refs {
		res := DecisionResult{Ref: raw}
		ref, ok := content.ParseRef(raw)
		pub := s.publishers[ref.Kind]
		if !ok || pub == nil {
			res.Error = "unknown content"
			results = append(results, res)
			continue
		}
		sub, _, err := pub.Describe(ctx, ref.ID)
		if err != nil {
			res.Error = "not found"
			results = append(results, res)
			continue
		}
		reason := ""
		if after == content.StatusHidden {
			reason = in.Reason
		}
		before, err := pub.SetStatus(ctx, ref.ID, after, reason)
		if err != nil {
			return results, err
		}
		res.Before, res.After = before, after
		if err := s.close(ctx, raw); err != nil {
			return results, err
		}
		err = s.record(ctx, Entry{Actor: moderator.ID, Action: in.Action, Target: &ref, TargetAuthor: sub.Author,
			Before: before, After: after, Reason: in.Reason})
		if err != nil {
			return results, err
		}
		if after == content.StatusHidden && before != content.StatusHidden && s.notices != nil {
			store.FollowUp(ctx, "tell the author", func() error {
				return s.notices.Moderated(ctx, sub.Author, ref, headline(sub.Text), in.Reason)
			})
		}
		if after == content.StatusHidden && before != content.StatusHidden && s.standing != nil {
			store.FollowUp(ctx, "lower the author's standing", func() error { return s.standing.Strike(ctx, sub.Author) })
		}
		results = append(results, res)
	}
	return results, nil
}

// close takes an item off the queue and settles its flags: later flags count afresh.
func (s *Service) close(ctx context.Context, ref string) error {
	if _, err := s.queue.UpdateOne(ctx, bson.M{"_id": ref}, bson.M{"$set": bson.M{"open": false, "flags": 0}}); err != nil {
		return fmt.Errorf("close queue item: %w", err)
	}
	if _, err := s.flags.UpdateMany(ctx, bson.M{"ref": ref, "resolved": false}, bson.M{"$set": bson.M{"resolved": true}}); err != nil {
		return fmt.Errorf("settle flags: %w", err)
	}
	return nil
}

// Suspend stops an author from posting, and logs it.
func (s *Service) Suspend(ctx context.Context, moderator *customers.Customer, target bson.ObjectID, reason string, until *time.Time) error {
	if !moderator.HasRole(customers.RoleModerator) {
		return errs.New(errs.ErrForbidden, "error.403.message")
	}
	if target == moderator.ID {
		return errs.New(errs.ErrConflict, "admin.not_yourself")
	}
	if err := s.mayActOn(ctx, moderator, target); err != nil {
		return err
	}
	if err := s.customers.Suspend(ctx, target, moderator.ID, reason, until); err != nil {
		return err
	}
	return s.record(ctx, Entry{Actor: moderator.ID, Action: ActionSuspend, TargetAuthor: target, Reason: strings.TrimSpace(reason), SuspendedUntil: until})
}

// Reinstate lifts a suspension, and logs it.
func (s *Service) Reinstate(ctx context.Context, moderator *customers.Customer, target bson.ObjectID) error {
	if !moderator.HasRole(customers.RoleModerator) {
		return errs.New(errs.ErrForbidden, "error.403.message")
	}
	if err := s.mayActOn(ctx, moderator, target); err != nil {
		return err
	}
	if err := s.customers.Reinstate(ctx, target); err != nil {
		return err
	}
	return s.record(ctx, Entry{Actor: moderator.ID, Action: ActionReinstate, TargetAuthor: target})
}

// mayActOn refuses a moderator acting on staff: staff and admins answer to admins only.
func (s *Service) mayActOn(ctx context.Context, actor *customers.Customer, target bson.ObjectID) error {
	t, err := s.customers.Get(ctx, target)
	if err != nil {
		return err
	}
	if !actor.MayActOn(t) {
		return errs.New(errs.ErrForbidden, "admin.higher_role")
	}
	return nil
}

// SetRoles changes an account's roles (admins only), and logs before and after.
func (s *Service) SetRoles(ctx context.Context, admin *customers.Customer, target bson.ObjectID, roles []customers.Role) error {
	if !admin.HasRole(customers.RoleAdmin) {
		return errs.New(errs.ErrForbidden, "error.403.message")
	}
	if target == admin.ID && !slices.Contains(roles, customers.RoleAdmin) {
		return errs.New(errs.ErrConflict, "admin.keep_own_admin")
	}
	c, err := s.customers.Get(ctx, target)
	if err != nil {
		return err
	}
	if err := s.customers.SetRoles(ctx, target, roles); err != nil {
		return err
	}
	after, err := s.customers.Get(ctx, target)
	if err != nil {
		return err
	}
	return s.record(ctx, Entry{Actor: admin.ID, Action: ActionRoles, TargetAuthor: target, RolesBefore: c.Roles, RolesAfter: after.Roles})
}

// LogQuery filters the audit log.
type LogQuery struct {
	Action Action
	Actor  bson.ObjectID
	Author bson.ObjectID // entries about this customer or their content
	Before bson.ObjectID // key of the last entry of the previous page (newest first)
	Limit  int
}

// Log lists audit entries, newest first, a page at a time by key.
func (s *Service) Log(ctx context.Context, q LogQuery) ([]*Entry, error) {
	filter := bson.M{}
	if q.Action != "" {
		filter["action"] = q.Action
	}
	if !q.Actor.IsZero() {
		filter["actor"] = q.Actor
	}
	if !q.Author.IsZero() {
		filter["target_author"] = q.Author
	}
	if !q.Before.IsZero() {
		filter["_id"] = bson.M{"$lt": q.Before}
	}
	limit := q.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	cur, err := s.log.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	list := []*Entry{}
	if err := cur.All(ctx, &list); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return list, nil
}

// headline is the start of what an author wrote on one line, enough to recognise it in a
// notification.
func headline(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > 80 {
		return string(r[:79]) + "…"
	}
	return text
}
