package customers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/store"
)

// SignalFollowUp is a follow-up task resolved with a good outcome: the company listened.
const SignalFollowUp SignalKind = "followup"

// SignalKinds lists the kinds of signal, for the settings form.
var SignalKinds = []SignalKind{SignalNPS, SignalCSAT, SignalReview, SignalCES, SignalSentiment, SignalFollowUp}

// ScoreSettings are what admins may tune in the health score: how much each kind of signal
// weighs and how fast signals fade. The defaults are ARCHITECTURE §4's.
type ScoreSettings struct {
	Weights      map[SignalKind]float64 `bson:"weights" json:"weights"`
	HalfLifeDays int                    `bson:"half_life_days" json:"half_life_days"`
	// RiskDrop is how many points a score must lose in 30 days to be a churn-risk reason.
	RiskDrop  int           `bson:"risk_drop" json:"risk_drop"`
	Version   int           `bson:"version" json:"version"`
	UpdatedAt time.Time     `bson:"updated_at,omitempty" json:"updated_at,omitzero"`
	UpdatedBy bson.ObjectID `bson:"updated_by,omitempty" json:"-"`
}

// DefaultScoreSettings are §4's weights and half-life.
func DefaultScoreSettings() ScoreSettings {
	return ScoreSettings{
		Weights:      map[SignalKind]float64{SignalNPS: 3, SignalCSAT: 2, SignalReview: 2, SignalCES: 1, SignalSentiment: 1, SignalFollowUp: 1},
		HalfLifeDays: 90, RiskDrop: 15,
	}
}

// HalfLife is how long until a signal counts half as much.
func (st ScoreSettings) HalfLife() time.Duration {
	return time.Duration(st.HalfLifeDays) * 24 * time.Hour
}

// Weight of a kind of signal.
func (st ScoreSettings) Weight(kind SignalKind) float64 { return st.Weights[kind] }

// Validate checks settings from the admin form: weights 0–10 with one above 0, a half-life
// from 7 days to 2 years, a drop from 5 to 100 points.
func (st ScoreSettings) Validate() error {
	var f errs.Fields
	some := false
	for _, k := range SignalKinds {
		w := st.Weights[k]
		if math.IsNaN(w) || w < 0 || w > 10 {
			f.Add("weight_"+string(k), "score.weight_range")
		}
		some = some || w > 0
	}
	if !some {
		f.Add("weight_nps", "score.weight_none")
	}
	if st.HalfLifeDays < 7 || st.HalfLifeDays > 730 {
		f.Add("half_life_days", "field.range", "Min", 7, "Max", 730)
	}
	if st.RiskDrop < 5 || st.RiskDrop > 100 {
		f.Add("risk_drop", "field.range", "Min", 5, "Max", 100)
	}
	return f.Err()
}

// Replayed is what a record keeps of its signals.
type Replayed struct {
	Satisfaction Satisfaction
	Trail        []ScorePoint
	Mood         Mood
}

// Replay folds raw signals, oldest first, into a satisfaction, its trail and the mood, as
// `repair`, a settings change and every edit or removal of a signal do. Each kind weighs
// what the settings say, whatever it weighed when it was recorded.
func (st ScoreSettings) Replay(signals []Signal) Replayed {
	r := Replayed{Satisfaction: Satisfaction{NPS: -1, Settings: st.Version}, Trail: []ScorePoint{}} // stored as an array, never null
	for _, sig := range signals {
		r = st.count(r, sig)
		if r.Satisfaction.HasScore() {
			sat := r.Satisfaction
			f := decay(sig.At.Sub(sat.T0), st.HalfLife()) // 1 but after a signal weighed at nothing
			r.Trail = append(r.Trail, ScorePoint{At: sig.At, Score: sat.Score, S: sat.S * f, W: sat.W * f})
		}
	}
	if len(r.Trail) > trailLength {
		r.Trail = r.Trail[len(r.Trail)-trailLength:]
	}
	return r
}

// count adds a signal to the sums, the latest NPS and the mood, which come out the same
// whatever order signals are counted in.
func (st ScoreSettings) count(r Replayed, sig Signal) Replayed {
	r.Satisfaction = r.Satisfaction.add(sig.Value, st.Weight(sig.Kind), sig.At, st.HalfLife())
	if sig.Kind == SignalNPS {
		r.Satisfaction = r.Satisfaction.withNPS(int(sig.Raw), sig.At)
	}
	if sig.Kind == SignalSentiment {
		r.Mood = r.Mood.add(sig.Value, sig.At)
	}
	if bytes.Compare(sig.Stored[:], r.Satisfaction.Stored[:]) > 0 {
		r.Satisfaction.Stored = sig.Stored
	}
	return r
}

// Add adds one more signal to a replay, of any age, and gives what replaying them all
// would (to within rounding), without the others: the sums do not depend on the order, a
// point is put in the trail at the signal's time, and each later point gains the signal's
// share decayed to its time. sig must have been stored after every signal in r. false when
// the trail cannot tell: the signal is older than the trail kept, or the points predate
// their sums being kept; replay then.
func (st ScoreSettings) Add(r Replayed, sig Signal) (Replayed, bool) {
	trail, w := r.Trail, st.Weight(sig.Kind)
	if len(trail) == 0 && r.Satisfaction.HasScore() {
		return r, false
	}
	// After the points as old as it: it was stored after them (see Signals).
	i := sort.Search(len(trail), func(i int) bool { return trail[i].At.After(sig.At) })
	if i == 0 && (len(trail) == trailLength || r.Satisfaction.Signals != len(trail)) {
		// Older than every point: a replay knows what came before only if nothing has
		// been trimmed and every signal has a point (signals weighed at nothing before
		// the first weighed one have none, and would gain one after this one).
		return r, false
	}
	for _, p := range trail[max(i-1, 0):] {
		if p.W == 0 {
			return r, false
		}
	}
	hl := st.HalfLife()
	at := ScorePoint{At: sig.At, S: w * sig.Value, W: w}
	if i > 0 {
		f := decay(sig.At.Sub(trail[i-1].At), hl)
		at.S, at.W = trail[i-1].S*f+at.S, trail[i-1].W*f+at.W
	}
	next := make([]ScorePoint, 0, len(trail)+1)
	next = append(next, trail[:i]...)
	if at.W > 0 { // a replay puts a point once a signal is weighed
		at.Score = int(math.Round(at.S / at.W))
		next = append(next, at)
	}
	for _, p := range trail[i:] {
		f := decay(p.At.Sub(sig.At), hl)
		p.S, p.W = p.S+w*sig.Value*f, p.W+w*f
		p.Score = int(math.Round(p.S / p.W))
		next = append(next, p)
	}
	if len(next) > trailLength {
		next = next[len(next)-trailLength:]
	}
	r = st.count(r, sig)
	r.Trail = next
	return r, true
}

// ScoreSettings are the settings in force: the defaults until an admin saves some.
func (s *Service) ScoreSettings(ctx context.Context) (ScoreSettings, error) {
	return s.scoreSettings.Get(ctx)
}

func (s *Service) loadScoreSettings(ctx context.Context) (ScoreSettings, error) {
	st, err := store.FindOne[ScoreSettings](ctx, s.settings, bson.M{"_id": "score"}, errNoSettings)
	if errors.Is(err, errNoSettings) {
		return DefaultScoreSettings(), nil
	}
	if err != nil {
		return ScoreSettings{}, fmt.Errorf("score settings: %w", err)
	}
	if st.Weights == nil {
		st.Weights = map[SignalKind]float64{}
	}
	for k, w := range DefaultScoreSettings().Weights {
		if _, set := st.Weights[k]; !set {
			st.Weights[k] = w // a kind added after the settings were saved
		}
	}
	return *st, nil
}

var errNoSettings = errors.New("no settings saved")

// Recompute is the progress of recomputing every record after the settings changed.
type RecomputeProgress struct {
	Version int           `bson:"version" json:"version"` // of the settings being applied
	After   bson.ObjectID `bson:"after" json:"-"`         // the last customer done
	// Done counts the records recomputed so far (the total is not counted first: counting a
	// whole collection reads it all on the embedded database).
	Done       int        `bson:"done" json:"done"`
	StartedAt  time.Time  `bson:"started_at" json:"started_at"`
	FinishedAt *time.Time `bson:"finished_at,omitempty" json:"finished_at,omitempty"`
}

// Running reports whether records are still being recomputed.
func (p RecomputeProgress) Running() bool { return p.Version > 0 && p.FinishedAt == nil }

// SaveScoreSettings validates and stores new settings, and starts recomputing every record
// with them in the background (RecomputePass).
func (s *Service) SaveScoreSettings(ctx context.Context, st ScoreSettings, by bson.ObjectID) error {
	if err := st.Validate(); err != nil {
		return err
	}
	current, err := s.loadScoreSettings(ctx)
	if err != nil {
		return err
	}
	st.Version, st.UpdatedAt, st.UpdatedBy = current.Version+1, s.now(), by
	// Saved only over the version read: two admins saving at once do not both win.
	filter := bson.M{"_id": "score", "version": current.Version}
	if current.Version == 0 {
		filter = bson.M{"_id": "score", "version": bson.M{"$in": bson.A{0, nil}}}
	}
	if _, err := s.settings.ReplaceOne(ctx, filter, st, options.Replace().SetUpsert(true)); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			return ErrSettingsChanged
		}
		return fmt.Errorf("save score settings: %w", err)
	}
	s.scoreSettings.Forget()
	return s.startRecompute(ctx, st.Version)
}

// startRecompute starts recomputing every record for a version of the settings, over the
// progress of any older version (a newer one is not set back).
func (s *Service) startRecompute(ctx context.Context, version int) error {
	p := RecomputeProgress{Version: version, StartedAt: s.now()}
	_, err := s.settings.ReplaceOne(ctx, bson.M{"_id": "recompute", "version": bson.M{"$lt": version}}, p, options.Replace().SetUpsert(true))
	if err != nil && !mongo.IsDuplicateKeyError(err) { // a duplicate: a newer version's progress is there
		return fmt.Errorf("start recompute: %w", err)
	}
	return nil
}

// ErrSettingsChanged: someone else saved the settings first.
var ErrSettingsChanged = errs.New(errs.ErrConflict, "score.changed")

// Progress says how far the last recompute got.
func (s *Service) Progress(ctx context.Context) (RecomputeProgress, error) {
	p, err := store.FindOne[RecomputeProgress](ctx, s.settings, bson.M{"_id": "recompute"}, errNoSettings)
	if errors.Is(err, errNoSettings) {
		return RecomputeProgress{}, nil
	}
	if err != nil {
		return RecomputeProgress{}, err
	}
	return *p, nil
}

// RecomputeDue reports whether records wait to be recomputed: two point reads, for the job
// that checks every few seconds.
func (s *Service) RecomputeDue(ctx context.Context) (bool, error) {
	p, err := s.Progress(ctx)
	if err != nil || p.Running() {
		return p.Running(), err
	}
	st, err := s.loadScoreSettings(ctx)
	return st.Version > p.Version, err
}

// recomputeBatch is how many records a recompute step reads and writes.
const recomputeBatch = 200

// RecomputeStep recomputes the next batch of records with the settings in force, and saves
// how far it got: a crash or a restart resumes after the last batch done. It reports whether
// anything is left. Run it under a lease (one instance at a time); a settings change while it
// runs starts over from the first record.
func (s *Service) RecomputeStep(ctx context.Context) (more bool, err error) {
	p, err := s.Progress(ctx)
	if err != nil {
		return false, err
	}
	s.scoreSettings.Forget()
	st, err := s.ScoreSettings(ctx)
	if err != nil {
		return false, err
	}
	if st.Version > p.Version {
		// Saved, and its start not recorded (two saves crossed, or the second write failed).
		return true, s.startRecompute(ctx, st.Version)
	}
	if !p.Running() {
		return false, nil
	}
	filter := bson.M{}
	if !p.After.IsZero() {
		filter["_id"] = bson.M{"$gt": p.After}
	}
	batch, err := store.FindAll[Customer](ctx, s.customers, filter, options.Find().
		SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(recomputeBatch).SetProjection(bson.M{"password_hash": 0}))
	if err != nil {
		return false, fmt.Errorf("recompute: %w", err)
	}
	if len(batch) > 0 {
		if err := s.recomputeAll(ctx, batch, st); err != nil {
			return false, err
		}
	}
	set := bson.M{"done": p.Done + len(batch)}
	if len(batch) > 0 {
		set["after"] = batch[len(batch)-1].ID
	}
	if len(batch) < recomputeBatch {
		set["finished_at"] = s.now()
	}
	// Only over the version recomputed: a newer save has reset the progress.
	if _, err := s.settings.UpdateOne(ctx, bson.M{"_id": "recompute", "version": p.Version, "after": p.After}, bson.M{"$set": set}); err != nil {
		return false, fmt.Errorf("recompute: %w", err)
	}
	return len(batch) == recomputeBatch, nil
}

// recomputeAll replays the signals of a batch of records, read in one query, and writes each
// record once; a record that changed meanwhile is recomputed on its own.
func (s *Service) recomputeAll(ctx context.Context, batch []*Customer, st ScoreSettings) error {
	ids := make([]bson.ObjectID, len(batch))
	for i, c := range batch {
		ids[i] = c.ID
	}
	by, err := s.signalsOf(ctx, ids)
	if err != nil {
		return fmt.Errorf("recompute: %w", err)
	}
	for _, c := range batch {
		if len(by[c.ID]) == 0 && !c.Satisfaction.HasScore() && len(s.assessment(c, st).set) == 0 {
			continue // no signal, and nothing else to bring up to date: most members of a big community
		}
		_, done, err := s.storeReplay(ctx, c, st.Replay(by[c.ID]), st, nil)
		if err == nil && !done {
			err = s.RecomputeSatisfaction(ctx, c.ID)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Preview is how the score bands of a sample of customers would change with new settings.
type Preview struct {
	Sample  int            // customers with a score in the sample
	Before  map[string]int // band → customers, with the settings in force
	After   map[string]int // band → customers, with the proposed ones
	Moved   int            // customers whose band would change
	Changed int            // customers whose score would change
}

// previewSample is how many of the newest customers a preview replays.
const previewSample = 2000

// PreviewScoreSettings replays the signals of the newest customers with the settings in
// force and with proposed ones: a few indexed queries, whatever the community's size.
func (s *Service) PreviewScoreSettings(ctx context.Context, proposed ScoreSettings) (Preview, error) {
	pv := Preview{Before: map[string]int{}, After: map[string]int{}}
	current, err := s.ScoreSettings(ctx)
	if err != nil {
		return pv, err
	}
	recent, err := store.FindAll[Customer](ctx, s.customers, bson.M{}, options.Find().
		SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(previewSample).SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return pv, fmt.Errorf("preview: %w", err)
	}
	for start := 0; start < len(recent); start += 500 {
		ids := make([]bson.ObjectID, 0, 500)
		for _, c := range recent[start:min(start+500, len(recent))] {
			ids = append(ids, c.ID)
		}
		by, err := s.signalsOf(ctx, ids)
		if err != nil {
			return pv, fmt.Errorf("preview: %w", err)
		}
		for _, list := range by {
			was, will := current.Replay(list).Satisfaction, proposed.Replay(list).Satisfaction
			if !was.HasScore() && !will.HasScore() {
				continue
			}
			pv.Sample++
			if was.HasScore() {
				pv.Before[was.Band]++
			}
			if will.HasScore() {
				pv.After[will.Band]++
			}
			if was.Band != will.Band {
				pv.Moved++
			}
			if was.Score != will.Score {
				pv.Changed++
			}
		}
	}
	return pv, nil
}

// signalsOf reads the signals of a batch of customers in one indexed query, in the order of
// Signals.
func (s *Service) signalsOf(ctx context.Context, ids []bson.ObjectID) (map[bson.ObjectID][]Signal, error) {
	signals, err := store.FindAll[Signal](ctx, s.signals, bson.M{"customer_id": bson.M{"$in": ids}},
		options.Find().SetSort(bson.D{{Key: "customer_id", Value: 1}, {Key: "at", Value: 1}}))
	if err != nil {
		return nil, err
	}
	by := map[bson.ObjectID][]Signal{}
	for _, sig := range signals {
		by[sig.CustomerID] = append(by[sig.CustomerID], *sig)
	}
	for _, list := range by {
		sortSignals(list)
	}
	return by, nil
}
