package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/search"
	"github.com/guyub/guyub/store"
)

// Content events come from the search sync: every write to content marks it dirty in the
// same document (ARCHITECTURE §5), so a change that was stored is told, even after a
// crash, and the sync's batch stays dirty until the deliveries are queued. What changed is
// found by comparing with what was last seen of each item (webhook_states).

// state is what was last seen of a piece of content.
type state struct {
	ID        string `bson:"_id"` // the search document's
	Published bool   `bson:"published"`
	Created   bool   `bson:"created"`         // published once: told as created (or was there before)
	Hash      string `bson:"hash"`            // of what a review's readers see
	State     string `bson:"state,omitempty"` // an idea's status
}

// fresh is how old content seen for the first time may be and still be told as created:
// older content (written before anyone listened, or before an upgrade) is told as updated.
const fresh = 10 * time.Minute

// Sink is the webhooks' side of the search sync.
func (s *Service) Sink() search.Sink { return sink{s} }

type sink struct{ s *Service }

// ChangesOnly keeps the sink out of a reindex, which goes over content that did not change.
func (sink) ChangesOnly() bool { return true }

func (k sink) Upsert(ctx context.Context, docs []search.Document) error {
	s := k.s
	if len(docs) == 0 || !s.listened(ctx) {
		return nil
	}
	seen, err := s.seen(ctx, docs)
	if err != nil {
		return err
	}
	var writes []mongo.WriteModel
	for _, d := range docs {
		kind := d.Kind
		switch kind {
		case "post":
			kind = "reply"
		case "review", "thread", "idea", "testimonial":
		default:
			continue // survey comments: told as answers, by the customer records
		}
		published := d.Status == "published"
		was, known := seen[d.ID]
		now := state{ID: d.ID, Published: published, Created: was.Created || published, Hash: hash(d), State: d.State}
		if known && was == now {
			continue
		}
		writes = append(writes, mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": d.ID}).SetReplacement(now).SetUpsert(true))
		if !published {
			continue // held for moderation: told when published
		}
		// Created: published for the first time. Content older than anyone listening, seen for
		// the first time, was not just created: a review of it is told as updated.
		created := !was.Created && (known || time.Since(time.Unix(d.CreatedAt, 0)) <= fresh)
		var typ string
		switch {
		case created && kind == "testimonial":
			typ = TestimonialApproved
		case created && (kind == "review" || kind == "thread" || kind == "reply" || kind == "idea"):
			typ = kind + ".created"
		case kind == "review" && was.Hash != now.Hash:
			typ = ReviewUpdated
		case kind == "idea" && known && was.State != "" && was.State != now.State:
			typ = IdeaStatusChanged
		case !known && kind == "review":
			typ = ReviewUpdated
		}
		if typ == "" {
			continue
		}
		cause := typ + ":" + d.ID + ":" + now.Hash + ":" + now.State
		if err := s.Emit(ctx, typ, cause, s.contentData(d, was.State)); err != nil {
			return err
		}
	}
	return s.remember(ctx, writes)
}

func (k sink) Delete(ctx context.Context, ids []string) error {
	s := k.s
	if len(ids) == 0 || !s.listened(ctx) {
		return nil
	}
	docs := make([]search.Document, len(ids))
	for i, id := range ids {
		docs[i] = search.Document{ID: id}
	}
	seen, err := s.seen(ctx, docs)
	if err != nil {
		return err
	}
	var writes []mongo.WriteModel
	for _, id := range ids {
		was, known := seen[id]
		if !known || !was.Published {
			continue // never published: nothing to take back
		}
		gone := was
		gone.Published = false
		writes = append(writes, mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": id}).SetReplacement(gone))
		if strings.HasPrefix(id, "review-") {
			data := map[string]any{"id": strings.TrimPrefix(id, "review-"), "kind": "review",
				"links": map[string]string{"api": s.cfg.BaseURL + "/api/v1/reviews/" + strings.TrimPrefix(id, "review-")}}
			if err := s.Emit(ctx, ReviewHidden, ReviewHidden+":"+id+":"+was.Hash, data); err != nil {
				return err
			}
		}
	}
	return s.remember(ctx, writes)
}

// listened reports whether any endpoint is active: with none, the sink does nothing at all.
func (s *Service) listened(ctx context.Context) bool {
	list, err := s.active.Get(ctx)
	return err == nil && len(list) > 0
}

func (s *Service) seen(ctx context.Context, docs []search.Document) (map[string]state, error) {
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	list, err := store.FindAll[state](ctx, s.states, bson.M{"_id": bson.M{"$in": ids}})
	if err != nil {
		return nil, fmt.Errorf("webhook states: %w", err)
	}
	out := make(map[string]state, len(list))
	for _, st := range list {
		out[st.ID] = *st
	}
	return out, nil
}

func (s *Service) remember(ctx context.Context, writes []mongo.WriteModel) error {
	if len(writes) == 0 {
		return nil
	}
	if _, err := s.states.BulkWrite(ctx, writes, options.BulkWrite().SetOrdered(false)); err != nil {
		return fmt.Errorf("webhook states: %w", err)
	}
	return nil
}

// hash sums what a reader sees of a piece of content.
func hash(d search.Document) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d\x00%s", d.Title, d.Body, d.Rating, d.Status)))
	return hex.EncodeToString(sum[:8])
}

// contentData is a piece of content as a payload carries it, with its links.
func (s *Service) contentData(d search.Document, previousState string) map[string]any {
	kind, id, _ := strings.Cut(d.ID, "-")
	data := map[string]any{"id": id, "kind": kind, "title": d.Title, "body": d.Body, "url": s.cfg.BaseURL + d.URL,
		"author_id": d.AuthorID, "language": d.Lang, "created_at": time.Unix(d.CreatedAt, 0).UTC()}
	links := map[string]string{"html": s.cfg.BaseURL + d.URL}
	if d.Product != "" {
		data["product"] = d.Product
		links["product"] = s.cfg.BaseURL + "/api/v1/products/" + d.Product
	}
	if d.Forum != "" {
		data["forum"] = d.Forum
	}
	switch kind {
	case "review":
		data["rating"] = d.Rating
	case "idea":
		data["status"] = d.State
		if previousState != "" && previousState != d.State {
			data["previous_status"] = previousState
		}
		links["api"] = s.cfg.BaseURL + "/api/v1/ideas/" + id
	case "thread":
		links["api"] = s.cfg.BaseURL + "/api/v1/threads/" + id
	}
	if d.AuthorID != "" {
		links["author"] = s.cfg.BaseURL + "/api/v1/customers/" + d.AuthorID
	}
	data["links"] = links
	return data
}

// Watch tells the customer events: a survey answered, a stage changed, a band changed, a
// customer become a detractor. It is a watcher of the customer records.
func (s *Service) Watch(ctx context.Context, e customers.Event) error {
	c := e.Customer
	if c.Staff || !s.listened(ctx) {
		return nil
	}
	data := func(extra map[string]any) map[string]any {
		d := map[string]any{"customer_id": c.ID.Hex(), "stage": c.Stage, "band": c.Satisfaction.Band, "score": c.Satisfaction.Score,
			"nps_category": c.Satisfaction.NPSCat, "links": map[string]string{"api": s.cfg.BaseURL + "/api/v1/customers/" + c.ID.Hex()}}
		for k, v := range extra {
			d[k] = v
		}
		return d
	}
	if ch := e.StageChange; ch != nil {
		if err := s.Emit(ctx, CustomerStageChanged, fmt.Sprintf("stage:%s:%s:%d", c.ID.Hex(), ch.To, ch.At.UnixNano()),
			data(map[string]any{"from": ch.From, "to": ch.To, "cause": ch.Cause})); err != nil {
			return err
		}
	}
	if b := e.Before; b != nil {
		was, now := b.Satisfaction, c.Satisfaction
		if was.Band != now.Band && now.Band != "" {
			if err := s.Emit(ctx, CustomerBandChanged, fmt.Sprintf("band:%s:%d", c.ID.Hex(), now.Version),
				data(map[string]any{"from": was.Band, "to": now.Band})); err != nil {
				return err
			}
		}
		if was.NPSCat != customers.NPSDetractor && now.NPSCat == customers.NPSDetractor {
			if err := s.Emit(ctx, CustomerBecameDetractor, fmt.Sprintf("detractor:%s:%d", c.ID.Hex(), now.NPSAt.UnixNano()),
				data(map[string]any{"nps": now.NPS})); err != nil {
				return err
			}
		}
	}
	if sig := e.Signal; sig != nil && (sig.Kind == customers.SignalNPS || sig.Kind == customers.SignalCSAT || sig.Kind == customers.SignalCES) {
		_, response, _ := strings.Cut(sig.ID, ":")
		return s.Emit(ctx, SurveyAnswered, "answer:"+sig.ID, data(map[string]any{"response_id": response, "survey_kind": sig.Kind,
			"answer": sig.Raw, "answered_at": sig.At}))
	}
	return nil
}

// FlagRaised tells that a member reported something (moderation calls it).
func (s *Service) FlagRaised(ctx context.Context, flag bson.ObjectID, ref, reason string, at time.Time) error {
	kind, id, _ := strings.Cut(ref, ":")
	return s.Emit(ctx, FlagRaised, "flag:"+flag.Hex(), map[string]any{"id": flag.Hex(), "content_kind": kind, "content_id": id,
		"reason": reason, "at": at})
}
