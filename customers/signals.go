package customers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/store"
)

// SignalKind is where a satisfaction signal comes from (ARCHITECTURE §4).
type SignalKind string

const (
	SignalNPS       SignalKind = "nps"
	SignalCSAT      SignalKind = "csat"
	SignalCES       SignalKind = "ces"
	SignalReview    SignalKind = "review"
	SignalSentiment SignalKind = "sentiment"
)

// baseWeights are the §4 weights of each kind of signal.
var baseWeights = map[SignalKind]float64{SignalNPS: 3, SignalCSAT: 2, SignalReview: 2, SignalCES: 1, SignalSentiment: 1}

// Signal is one piece of evidence of how satisfied a customer is, normalised to 0–100. Its
// source (a review, a survey answer) identifies it, so recording it again replaces it.
type Signal struct {
	ID         string        `bson:"_id"` // kind:source
	CustomerID bson.ObjectID `bson:"customer_id"`
	Kind       SignalKind    `bson:"kind"`
	Value      float64       `bson:"value"`
	Raw        float64       `bson:"raw"` // the answer as given (the NPS 0–10 for the category)
	Weight     float64       `bson:"weight"`
	At         time.Time     `bson:"at"`
	Stored     bson.ObjectID `bson:"stored,omitempty"` // this copy: new on every store (see foldNew)
}

// ReviewSignal is a review's rating r (1–5) as a signal: 25(r−1).
func ReviewSignal(customer bson.ObjectID, reviewID string, rating int, at time.Time) Signal {
	return Signal{
		ID: string(SignalReview) + ":" + reviewID, CustomerID: customer, Kind: SignalReview,
		Value: 25 * float64(rating-1), Raw: float64(rating), Weight: baseWeights[SignalReview], At: at.UTC(),
	}
}

// SurveySignal is a survey answer as a signal: NPS n (0–10) → 10n, CSAT c (1–5) → 25(c−1),
// CES e (1–7, 1 effortless) → 100(7−e)/6.
func SurveySignal(customer bson.ObjectID, kind SignalKind, responseID string, answer int, at time.Time) Signal {
	a := float64(answer)
	v := map[SignalKind]float64{SignalNPS: 10 * a, SignalCSAT: 25 * (a - 1), SignalCES: 100 * (7 - a) / 6}[kind]
	return Signal{ID: string(kind) + ":" + responseID, CustomerID: customer, Kind: kind, Value: v, Raw: a,
		Weight: baseWeights[kind], At: at.UTC()}
}

// SentimentSignal is the sentiment s (−1…1) of a customer's own text: 50(s+1).
func SentimentSignal(customer bson.ObjectID, sourceID string, s float64, at time.Time) Signal {
	return Signal{ID: string(SignalSentiment) + ":" + sourceID, CustomerID: customer, Kind: SignalSentiment,
		Value: 50 * (s + 1), Raw: s, Weight: baseWeights[SignalSentiment], At: at.UTC()}
}

var signalIndexes = store.Indexes{Collection: "signals", Models: []mongo.IndexModel{
	{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "at", Value: 1}}},
	{Keys: bson.D{{Key: "at", Value: 1}}}, // who was active in a period (KPIs)
}}

// RecordSignal stores a signal and moves the customer's score, stage and risk; recording the
// same signal again (an edited answer or review, a retried request) replaces it. Watchers
// hear of it each time and act once per cause; their failure is the caller's, so a retry
// gives them another chance.
//
// A new signal is added to the record without reading the customer's other signals (an
// active member has hundreds); an edited one replays them (see replay). Records written by
// a version of Guyub from before this (without Stored and the trail's sums) are replayed;
// instances of both versions should not run side by side.
func (s *Service) RecordSignal(ctx context.Context, sig Signal) error {
	return s.record(ctx, []Signal{sig}, false)
}

// RecordSignals records signals as RecordSignal does each, and counts each customer's on
// their record in one write (the insights feed brings a batch of texts at a time, several
// by the same active member). A customer who is gone is skipped.
//
// However many customers, the signals are stored in one write and the records and stored
// copies read in one query each: the feed of a few hundred members' texts is then a write
// per member, not four.
func (s *Service) RecordSignals(ctx context.Context, signals []Signal) error {
	return s.record(ctx, signals, true)
}

// record stores signals and counts each customer's on their record; skipGone: a customer who
// is gone is not an error.
func (s *Service) record(ctx context.Context, signals []Signal, skipGone bool) error {
	last := map[string]int{} // a signal given twice counts as given last
	for i, sig := range signals {
		last[sig.ID] = i
	}
	var kept []Signal
	for i, sig := range signals {
		if last[sig.ID] == i {
			sig.Stored = bson.NewObjectID() // increasing: Add takes them in this order
			kept = append(kept, sig)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	models := make([]mongo.WriteModel, len(kept))
	for i := range kept {
		models[i] = mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": kept[i].ID}).SetReplacement(kept[i]).SetUpsert(true)
	}
	res, err := s.signals.BulkWrite(ctx, models)
	if err != nil {
		return fmt.Errorf("record signal: %w", err)
	}
	if s.afterStored != nil {
		s.afterStored(kept)
	}

	// Each customer's signals, in order, and whether every one of them is new.
	by := map[bson.ObjectID]*signalGroup{}
	var groups []*signalGroup
	for i, sig := range kept {
		g := by[sig.CustomerID]
		if g == nil {
			g = &signalGroup{customer: sig.CustomerID, allNew: true}
			by[sig.CustomerID] = g
			groups = append(groups, g)
		}
		g.signals = append(g.signals, sig)
		if _, upserted := res.UpsertedIDs[int64(i)]; !upserted {
			g.allNew = false
		}
		if sig.Kind != SignalFollowUp && g.touch == nil { // the customer spoke; a follow-up resolved is staff's doing
			g.touch = bson.M{"last_active_at": s.now()}
		}
	}
	read, err := s.readForFold(ctx, groups)
	if err != nil {
		return err
	}
	folds, err := s.foldAll(ctx, groups, read)
	if err != nil {
		return err
	}
	var failed []error
	for i, g := range groups {
		if err := s.count(ctx, g, read, folds[i]); err != nil && !(skipGone && errors.Is(err, ErrNotFound)) {
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}

// signalGroup is one customer's signals just stored.
type signalGroup struct {
	customer bson.ObjectID
	signals  []Signal
	allNew   bool   // every signal's ID was new: it may be folded in (see foldNew)
	touch    bson.M // fields set with the count
}

// foldReads is what foldAll folds onto, read for several customers at once.
type foldReads struct {
	settings ScoreSettings
	records  map[bson.ObjectID]*Customer
	copies   map[string]bson.ObjectID // each signal's stored copy
}

// readForFold reads the records, and the stored copies of the signals, of the groups whose
// signals are all new, in one query each.
func (s *Service) readForFold(ctx context.Context, groups []*signalGroup) (*foldReads, error) {
	st, err := s.ScoreSettings(ctx)
	if err != nil {
		return nil, err
	}
	var customers []bson.ObjectID
	var ids []string
	for _, g := range groups {
		if !g.allNew {
			continue
		}
		customers = append(customers, g.customer)
		for _, sig := range g.signals {
			ids = append(ids, sig.ID)
		}
	}
	read := &foldReads{settings: st}
	if len(customers) == 0 {
		return read, nil
	}
	if read.records, err = s.getMany(ctx, customers); err != nil {
		return nil, err
	}
	if read.copies, err = s.storedCopies(ctx, ids); err != nil {
		return nil, err
	}
	return read, nil
}

// storedCopies returns the Stored of each signal with one of ids, as stored now.
func (s *Service) storedCopies(ctx context.Context, ids []string) (map[string]bson.ObjectID, error) {
	stored, err := store.FindAll[Signal](ctx, s.signals, bson.M{"_id": bson.M{"$in": ids}}, options.Find().SetProjection(bson.M{"stored": 1}))
	if err != nil {
		return nil, fmt.Errorf("record signal: %w", err)
	}
	copies := make(map[string]bson.ObjectID, len(stored))
	for _, sig := range stored {
		copies[sig.ID] = sig.Stored
	}
	return copies, nil
}

// count counts one customer's stored signals on their record — folded in already by
// foldAll, or else by reading the record again or replaying them all — and tells the
// watchers.
func (s *Service) count(ctx context.Context, g *signalGroup, read *foldReads, f fold) error {
	after, err := f.after, f.err
	if err != nil {
		return err
	}
	if g.allNew && read.records[g.customer] == nil {
		return ErrNotFound
	}
	if after == nil && f.moved {
		if after, err = s.foldNew(ctx, g.customer, g.signals, g.touch); err != nil {
			return err
		}
	}
	if after == nil {
		if after, err = s.replay(ctx, g.customer, g.touch); err != nil {
			return err
		}
	}
	var failed []error
	for i := range g.signals {
		if err := s.notify(ctx, Event{Customer: after, Signal: &g.signals[i]}); err != nil {
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}

// fold is what foldAll did for one group: after, the record as written; or moved, the
// record changed since it was read (read it again); or neither: replay the signals.
type fold struct {
	after *Customer
	moved bool
	err   error // from the watchers told of the record's move
}

// foldAll folds the new signals of every group whose signals are all new onto the record
// read for it (see foldOnto), writing every record with one command.
func (s *Service) foldAll(ctx context.Context, groups []*signalGroup, read *foldReads) ([]fold, error) {
	folds := make([]fold, len(groups))
	var befores []*Customer
	var writes []assessed
	var at []int
	for i, g := range groups {
		c := read.records[g.customer]
		if !g.allNew || c == nil {
			continue
		}
		a, ok := s.planFold(c, g.signals, read.copies, read.settings, g.touch)
		switch {
		case !ok: // replay instead
		case a == nil:
			folds[i].after = c
		default:
			befores, writes, at = append(befores, c), append(writes, *a), append(at, i)
		}
	}
	if s.beforeFold != nil {
		s.beforeFold()
	}
	afters, err := s.storeMany(ctx, befores, writes)
	if err != nil {
		return nil, err
	}
	for k, i := range at {
		if folds[i].after = afters[k]; afters[k] == nil {
			folds[i].moved = true
			continue
		}
		folds[i].err = s.toldMove(ctx, befores[k], afters[k], writes[k].moved)
	}
	return folds, nil
}

// storeMany writes many records' assessments in one command, each guarded by the version
// its record was read at as storeAssessed's is, and returns each record as written (nil:
// it changed since it was read). The command tells how many writes landed, not which: when
// some did not, the records are read again for the batch's mark (signals_batch).
func (s *Service) storeMany(ctx context.Context, befores []*Customer, writes []assessed) ([]*Customer, error) {
	if len(writes) == 0 {
		return nil, nil
	}
	batch := bson.NewObjectID()
	models := make([]mongo.WriteModel, len(writes))
	ids := make([]bson.ObjectID, len(writes))
	for i, a := range writes {
		a.set["signals_batch"] = batch
		ids[i] = befores[i].ID
		models[i] = mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": befores[i].ID, "version": befores[i].Version}).SetUpdate(a.update())
	}
	res, err := s.customers.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	if err != nil {
		return nil, fmt.Errorf("recompute satisfaction: %w", err)
	}
	var now map[bson.ObjectID]*Customer
	if int(res.MatchedCount) < len(writes) {
		if now, err = s.GetManyFields(ctx, ids, "signals_batch"); err != nil {
			return nil, err
		}
	}
	afters := make([]*Customer, len(writes))
	for i, a := range writes {
		if now != nil && (now[ids[i]] == nil || now[ids[i]].SignalsBatch != batch) {
			continue
		}
		if afters[i], err = a.applied(befores[i]); err != nil {
			return nil, err
		}
	}
	return afters, nil
}

// foldNew adds newly stored signals (their IDs were not stored before) to their customer's
// record without reading the others, reading the record and the stored copies again while
// other writes move the record (a contribution counted, points earned). nil: replay instead.
func (s *Service) foldNew(ctx context.Context, customer bson.ObjectID, signals []Signal, set bson.M) (*Customer, error) {
	st, err := s.ScoreSettings(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(signals))
	for i, sig := range signals {
		ids[i] = sig.ID
	}
	for range 5 {
		c, err := s.Get(ctx, customer)
		if err != nil {
			return nil, err
		}
		copies, err := s.storedCopies(ctx, ids)
		if err != nil {
			return nil, err
		}
		after, done, err := s.foldOnto(ctx, c, signals, copies, st, set)
		if err != nil || done {
			return after, err
		}
	}
	return nil, nil
}

// foldOnto adds newly stored signals to the record read as c when that is sure to give what
// a replay would:
//   - each copy was stored after every signal the record has counted, by Stored, so no
//     replay that saw this copy has written the record yet (Stored is unique per store and
//     increases within a process; between processes its order is arbitrary, which only
//     sends more signals to a replay);
//   - each copy is still the one stored once the record is read (copies, read after c), so
//     no withdrawal's replay has left it out since, and no later store of the same ID has
//     replaced it;
//   - the record was counted with the settings in force, and the trail can place each
//     signal (ScoreSettings.Add).
//
// The write is guarded by the version read: false, the record changed since. A nil record
// with true: replay instead.
func (s *Service) foldOnto(ctx context.Context, c *Customer, signals []Signal, copies map[string]bson.ObjectID, st ScoreSettings, set bson.M) (*Customer, bool, error) {
	a, ok := s.planFold(c, signals, copies, st, set)
	if !ok {
		return nil, true, nil
	}
	return s.storeAssessed(ctx, c, a)
}

// planFold is foldOnto's write, not made yet: false, replay instead; nil, nothing changes.
func (s *Service) planFold(c *Customer, signals []Signal, copies map[string]bson.ObjectID, st ScoreSettings, set bson.M) (*assessed, bool) {
	if c.Satisfaction.Settings != st.Version {
		if c.Satisfaction.Settings > st.Version { // saved by another instance: read them afresh for the replay
			s.scoreSettings.Forget()
		}
		return nil, false
	}
	r := Replayed{Satisfaction: c.Satisfaction, Trail: c.ScoreTrail, Mood: c.Mood}
	for _, sig := range signals {
		if bytes.Compare(sig.Stored[:], r.Satisfaction.Stored[:]) <= 0 || copies[sig.ID] != sig.Stored {
			return nil, false
		}
		var ok bool
		if r, ok = st.Add(r, sig); !ok {
			return nil, false
		}
	}
	return s.planReplay(c, r, st, set), true
}

// WithdrawSignal removes a signal whose source is gone (a hidden or deleted review) and
// recomputes the score without it.
func (s *Service) WithdrawSignal(ctx context.Context, id string) error {
	var sig Signal
	err := s.signals.FindOneAndDelete(ctx, bson.M{"_id": id}).Decode(&sig)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("withdraw signal: %w", err)
	}
	return s.RecomputeSatisfaction(ctx, sig.CustomerID)
}

// WithdrawSignals removes the signals with some IDs, those that exist, and recomputes the
// score of each customer they were on: one query to find them however many IDs, which are
// mostly of sources that never gave a signal.
func (s *Service) WithdrawSignals(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	found, err := store.FindAll[Signal](ctx, s.signals, bson.M{"_id": bson.M{"$in": ids}}, options.Find().SetProjection(bson.M{"customer_id": 1}))
	if err != nil {
		return fmt.Errorf("withdraw signals: %w", err)
	}
	if len(found) == 0 {
		return nil
	}
	var gone []string
	whose := map[bson.ObjectID]bool{}
	for _, sig := range found {
		gone = append(gone, sig.ID)
		whose[sig.CustomerID] = true
	}
	if _, err := s.signals.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": gone}}); err != nil {
		return fmt.Errorf("withdraw signals: %w", err)
	}
	for customer := range whose {
		if err := s.RecomputeSatisfaction(ctx, customer); err != nil {
			return err
		}
	}
	return nil
}

// RecomputeSatisfaction rebuilds a customer's score from the raw signals — what repair
// runs for everyone — and re-evaluates the stage.
func (s *Service) RecomputeSatisfaction(ctx context.Context, id bson.ObjectID) error {
	_, err := s.replay(ctx, id, nil)
	return err
}

// replay folds a customer's signals into their record, with the stage and risk that follow,
// and sets set's fields too; it retries, reading the signals again, while other writes
// change the record. It returns the record as written.
func (s *Service) replay(ctx context.Context, id bson.ObjectID, set bson.M) (*Customer, error) {
	st, err := s.ScoreSettings(ctx)
	if err != nil {
		return nil, err
	}
	for range 20 {
		c, err := s.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		signals, err := s.Signals(ctx, id)
		if err != nil {
			return nil, err
		}
		after, done, err := s.storeReplay(ctx, c, st.Replay(signals), st, set)
		if err != nil || done {
			return after, err
		}
	}
	return nil, fmt.Errorf("recompute satisfaction: too much contention on customer %s", id.Hex())
}

// storeReplay writes a replay onto the record read as c, with the stage and risk it leads
// to and any other fields in set, in one write guarded by the record's version; false: the
// record changed meanwhile. A move to another stage is told to the watchers.
func (s *Service) storeReplay(ctx context.Context, c *Customer, r Replayed, st ScoreSettings, set bson.M) (*Customer, bool, error) {
	return s.storeAssessed(ctx, c, s.planReplay(c, r, st, set))
}

// planReplay is storeReplay's write, not made yet; nil, nothing changes.
func (s *Service) planReplay(c *Customer, r Replayed, st ScoreSettings, set bson.M) *assessed {
	r.Satisfaction.Version = c.Satisfaction.Version + 1
	next := *c
	next.Satisfaction, next.ScoreTrail, next.Mood = r.Satisfaction, r.Trail, r.Mood
	a := s.assessment(&next, st)
	// A replay that finds the record as it is (most members, on most days' repair) writes
	// nothing.
	unchanged := r.Satisfaction
	unchanged.Version = c.Satisfaction.Version
	if len(a.set) == 0 && len(set) == 0 && sameBSON(c.Satisfaction, unchanged) && sameBSON(c.ScoreTrail, r.Trail) && sameBSON(c.Mood, r.Mood) {
		return nil
	}
	a.set["satisfaction"], a.set["score_trail"], a.set["mood"] = r.Satisfaction, r.Trail, r.Mood
	for k, v := range set {
		a.set[k] = v
	}
	return &a
}

// storeAssessed writes a onto the record read as c, guarded by its version; false: the
// record changed meanwhile. A nil a writes nothing.
func (s *Service) storeAssessed(ctx context.Context, c *Customer, a *assessed) (*Customer, bool, error) {
	if a == nil {
		return c, true, nil
	}
	var after Customer
	err := s.customers.FindOneAndUpdate(ctx, bson.M{"_id": c.ID, "version": c.Version}, a.update(),
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&after)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("recompute satisfaction: %w", err)
	}
	return &after, true, s.toldMove(ctx, c, &after, a.moved)
}

// toldMove tells the watchers of a record's move to another stage, band or NPS category.
func (s *Service) toldMove(ctx context.Context, before, after *Customer, moved *StageChange) error {
	if moved != nil || before.Satisfaction.Band != after.Satisfaction.Band || before.Satisfaction.NPSCat != after.Satisfaction.NPSCat {
		return s.notify(ctx, Event{Customer: after, Before: before, StageChange: moved})
	}
	return nil
}

// Contributed counts a contribution (a review, post, vote…) and re-evaluates the stage.
// product is the reviewed product, for reviews.
func (s *Service) Contributed(ctx context.Context, id bson.ObjectID, kind string, product bson.ObjectID) error {
	// $max: content imported with its old date does not make the member look active now.
	update := bson.M{"$inc": bson.M{"counters." + kind: 1, "version": 1}, "$max": bson.M{"last_active_at": content.Now(ctx, s.now)}}
	if !product.IsZero() {
		update["$addToSet"] = bson.M{"reviewed_products": product}
	}
	// The counted record comes back with the update: the stage rules read it (one round trip
	// instead of two on every contribution).
	var c Customer
	err := s.customers.FindOneAndUpdate(ctx, bson.M{"_id": id}, update, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("count contribution: %w", err)
	}
	return s.evaluateStage(ctx, &c)
}

// Withdrawn uncounts a contribution its author took back (a vote withdrawn), so toggling
// cannot inflate the counters; the count never goes below zero.
func (s *Service) Withdrawn(ctx context.Context, id bson.ObjectID, kind string) error {
	if _, err := s.customers.UpdateOne(ctx, bson.M{"_id": id, "counters." + kind: bson.M{"$gte": 1}},
		bson.M{"$inc": bson.M{"counters." + kind: -1, "version": 1}}); err != nil {
		return fmt.Errorf("uncount contribution: %w", err)
	}
	return s.EvaluateStage(ctx, id)
}

// EvaluateStage applies the stage rules and records a change with its cause. The write is
// guarded by the stage read, so two evaluations at once record one change.
func (s *Service) EvaluateStage(ctx context.Context, id bson.ObjectID) error {
	c, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	return s.evaluateStage(ctx, c)
}

func (s *Service) evaluateStage(ctx context.Context, c *Customer) error {
	st, err := s.ScoreSettings(ctx)
	if err != nil {
		return err
	}
	for range 20 {
		a := s.assessment(c, st)
		if len(a.set) == 0 {
			return nil
		}
		// Guarded by the version read, so two evaluations at once record one change and an
		// older read never overwrites a newer risk.
		var after Customer
		err := s.customers.FindOneAndUpdate(ctx, bson.M{"_id": c.ID, "version": c.Version}, a.update(),
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&after)
		if errors.Is(err, mongo.ErrNoDocuments) {
			if c, err = s.Get(ctx, c.ID); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("stage: %w", err)
		}
		if a.moved != nil {
			return s.notify(ctx, Event{Customer: &after, Before: c, StageChange: a.moved})
		}
		return nil
	}
	return fmt.Errorf("stage: too much contention on customer %s", c.ID.Hex())
}

// assessed is what brings a record's stage and churn risk up to date: the fields to set
// (none when both are), and the stage change to record, if any.
type assessed struct {
	set   bson.M
	moved *StageChange
}

// update is the write: the fields, the change appended to the history, the version moved.
func (a assessed) update() bson.M {
	u := bson.M{"$set": a.set, "$inc": bson.M{"version": 1}}
	if a.moved != nil {
		u["$push"] = bson.M{"stage_history": a.moved}
	}
	return u
}

// applied is the record read as before once the update is made, as stored (times to the
// millisecond): what a write made in a batch, which returns no document, returned. Like
// $set, each field set replaces the field whole (a risk without reasons has none after);
// the fields set are top-level ones, as assessment and its callers set them.
func (a assessed) applied(before *Customer) (*Customer, error) {
	raw, err := bson.Marshal(before)
	if err != nil {
		return nil, err
	}
	var doc bson.D
	if err := bson.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	changes := bson.M{"version": before.Version + 1}
	for k, v := range a.set {
		changes[k] = v
	}
	if a.moved != nil {
		changes["stage_history"] = append(slices.Clone(before.StageHistory), *a.moved)
	}
	for i := range doc {
		if v, ok := changes[doc[i].Key]; ok {
			doc[i].Value = v
			delete(changes, doc[i].Key)
		}
	}
	for k, v := range changes { // fields the record did not have yet
		doc = append(doc, bson.E{Key: k, Value: v})
	}
	if raw, err = bson.Marshal(doc); err != nil {
		return nil, err
	}
	var after Customer
	if err := bson.Unmarshal(raw, &after); err != nil {
		return nil, err
	}
	return &after, nil
}

func (s *Service) assessment(c *Customer, st ScoreSettings) assessed {
	current := c.Stage
	if current == "" {
		current = StageAwareness
	}
	now := s.now()
	next, cause := NextStage(current, c.Facts(now))
	a := assessed{set: bson.M{}}
	if next != current {
		a.set["stage"] = next
		if next == StageExpansion && c.ReachedExpansionAt == nil {
			a.set["reached_expansion_at"] = now
		}
		a.moved = &StageChange{From: current, To: next, Cause: cause, At: now}
	}
	if risk := assessRisk(c, next, now, st.RiskDrop); !sameRisk(risk, c.Risk) {
		a.set["risk"] = risk
	}
	return a
}

// EvaluateAllStages re-applies the stage rules to every customer (the daily job: inactivity
// moves stages without any event).
func (s *Service) EvaluateAllStages(ctx context.Context) (int, error) {
	return s.forEach(ctx, s.EvaluateStage)
}

// Repair recomputes every customer's score from the raw signals, and their stage, and
// gives each of their purchases its own document.
func (s *Service) Repair(ctx context.Context) (int, error) {
	// The staff flag of records made before it existed, or changed by hand.
	for _, staff := range []bool{true, false} {
		roles := bson.M{"$in": StaffRoles}
		if !staff {
			roles = bson.M{"$nin": StaffRoles}
		}
		if _, err := s.customers.UpdateMany(ctx, bson.M{"roles": roles, "staff": bson.M{"$ne": staff}}, bson.M{"$set": bson.M{"staff": staff}}); err != nil {
			return 0, fmt.Errorf("staff flags: %w", err)
		}
	}
	return s.forEach(ctx, func(ctx context.Context, id bson.ObjectID) error {
		if err := s.RecomputeSatisfaction(ctx, id); err != nil {
			return err
		}
		return s.repairPurchases(ctx, id)
	})
}

// sameBSON says whether a and b are stored alike (times to the millisecond, as stored).
func sameBSON(a, b any) bool {
	x, errA := bson.Marshal(bson.D{{Key: "v", Value: a}})
	y, errB := bson.Marshal(bson.D{{Key: "v", Value: b}})
	return errA == nil && errB == nil && bytes.Equal(x, y)
}

// forEach calls fn for every customer, a batch of IDs at a time.
func (s *Service) forEach(ctx context.Context, fn func(context.Context, bson.ObjectID) error) (int, error) {
	var after bson.ObjectID
	n := 0
	for {
		filter := bson.M{}
		if !after.IsZero() {
			filter["_id"] = bson.M{"$gt": after}
		}
		cur, err := s.customers.Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).
			SetLimit(500).SetProjection(bson.M{"_id": 1}))
		if err != nil {
			return n, fmt.Errorf("customers: %w", err)
		}
		var ids []struct {
			ID bson.ObjectID `bson:"_id"`
		}
		if err := cur.All(ctx, &ids); err != nil {
			return n, fmt.Errorf("customers: %w", err)
		}
		if len(ids) == 0 {
			return n, nil
		}
		for _, x := range ids {
			if err := fn(ctx, x.ID); err != nil {
				return n, err
			}
			n++
		}
		after = ids[len(ids)-1].ID
	}
}

// Signals lists a customer's signals, oldest first, and those as old as each other in the
// order they were stored.
func (s *Service) Signals(ctx context.Context, customer bson.ObjectID) ([]Signal, error) {
	cur, err := s.signals.Find(ctx, bson.M{"customer_id": customer}, options.Find().SetSort(bson.D{{Key: "at", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("signals: %w", err)
	}
	var out []Signal
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("signals: %w", err)
	}
	sortSignals(out)
	return out, nil
}

// sortSignals orders signals as a replay takes them: by time, then by when they were
// stored (the index gives the first, not the second).
func sortSignals(signals []Signal) {
	slices.SortStableFunc(signals, func(a, b Signal) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return bytes.Compare(a.Stored[:], b.Stored[:])
	})
}

// ActiveBetween lists the customers with a signal or a purchase in [from, to): one
// aggregation over signals and one query over purchases.
func (s *Service) ActiveBetween(ctx context.Context, from, to time.Time) ([]bson.ObjectID, error) {
	cur, err := s.signals.Aggregate(ctx, bson.A{
		bson.M{"$match": bson.M{"at": bson.M{"$gte": from, "$lt": to}}},
		bson.M{"$group": bson.M{"_id": "$customer_id"}},
	})
	if err != nil {
		return nil, fmt.Errorf("active customers: %w", err)
	}
	var groups []struct {
		ID bson.ObjectID `bson:"_id"`
	}
	if err := cur.All(ctx, &groups); err != nil {
		return nil, fmt.Errorf("active customers: %w", err)
	}
	seen := map[bson.ObjectID]bool{}
	var out []bson.ObjectID
	for _, g := range groups {
		seen[g.ID] = true
		out = append(out, g.ID)
	}
	bought, err := store.FindAll[purchaseDoc](ctx, s.purchases, bson.M{"at": bson.M{"$gte": from, "$lt": to}},
		options.Find().SetProjection(bson.M{"customer_id": 1}))
	if err != nil {
		return nil, fmt.Errorf("active customers: %w", err)
	}
	for _, b := range bought {
		if !seen[b.CustomerID] {
			seen[b.CustomerID] = true
			out = append(out, b.CustomerID)
		}
	}
	return out, nil
}

// StagesOf lists every customer's stage and its history (for the KPIs).
func (s *Service) StagesOf(ctx context.Context) ([]*Customer, error) {
	cur, err := s.customers.Find(ctx, bson.M{}, options.Find().SetProjection(bson.M{"stage": 1, "stage_history": 1, "value": 1}))
	if err != nil {
		return nil, fmt.Errorf("stages: %w", err)
	}
	list := []*Customer{}
	return list, cur.All(ctx, &list)
}

// SetFollowUps records a customer's open follow-up tasks (package followups keeps them) and
// re-weighs the churn risk, which counts an overdue one.
func (s *Service) SetFollowUps(ctx context.Context, id bson.ObjectID, f FollowUps) error {
	var c Customer
	err := s.customers.FindOneAndUpdate(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"followups": f}, "$inc": bson.M{"version": 1}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&c)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("follow-ups: %w", err)
	}
	return s.evaluateStage(ctx, &c)
}
