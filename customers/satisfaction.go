package customers

import (
	"math"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Bands of the satisfaction score.
const (
	BandSatisfied = "satisfied" // ≥ 70
	BandNeutral   = "neutral"   // 40–69
	BandAtRisk    = "at_risk"   // < 40
)

// Bands lists the bands, best first.
var Bands = []string{BandSatisfied, BandNeutral, BandAtRisk}

// NPS categories from the latest NPS answer.
const (
	NPSPromoter  = "promoter"  // 9–10
	NPSPassive   = "passive"   // 7–8
	NPSDetractor = "detractor" // 0–6
)

// Satisfaction is the decayed weighted mean of a customer's signals, kept in O(1) per
// signal: S and W are the weighted sums as of T0. Waiting does not change the mean (all
// weights decay alike), so only a new signal moves it.
type Satisfaction struct {
	S       float64   `bson:"s" json:"-"`
	W       float64   `bson:"w" json:"-"`
	T0      time.Time `bson:"t0" json:"-"`
	Score   int       `bson:"score" json:"score"` // 0–100, meaningful when W > 0
	Band    string    `bson:"band,omitempty" json:"band,omitempty"`
	NPS     int       `bson:"nps" json:"nps"` // the latest NPS answer, -1 for none
	NPSAt   time.Time `bson:"nps_at,omitempty" json:"-"`
	NPSCat  string    `bson:"nps_category,omitempty" json:"nps_category,omitempty"`
	Signals int       `bson:"signals" json:"signals"`
	Version int       `bson:"version" json:"-"`
	// Stored is the greatest Signal.Stored counted: a copy stored after it cannot be in the
	// sums yet, so it can be added without replaying the others (see foldNew).
	Stored bson.ObjectID `bson:"stored,omitempty" json:"-"`
	// Settings is the version of the score settings it was counted with.
	Settings int `bson:"settings,omitempty" json:"-"`
}

// HasScore reports whether any signal has been counted.
func (s Satisfaction) HasScore() bool { return s.W > 0 }

// decay is 2^(−d/halfLife).
func decay(d, halfLife time.Duration) float64 { return math.Exp2(-float64(d) / float64(halfLife)) }

// Add counts one signal of value v (0–100) and weight w at time t, with the default
// half-life of 90 days.
func (s Satisfaction) Add(v, w float64, t time.Time) Satisfaction {
	return s.add(v, w, t, DefaultScoreSettings().HalfLife())
}

// add counts a signal. A signal newer than T0 decays the sums to t; an older one is added
// already decayed to T0, so the order in which signals arrive does not change the result.
func (s Satisfaction) add(v, w float64, t time.Time, halfLife time.Duration) Satisfaction {
	if w == 0 {
		s.Signals++ // a kind weighed at nothing is counted, not scored
		return s
	}
	switch {
	case s.W == 0:
		s.S, s.W, s.T0 = w*v, w, t
	case !t.Before(s.T0):
		f := decay(t.Sub(s.T0), halfLife)
		s.S, s.W, s.T0 = s.S*f+w*v, s.W*f+w, t
	default:
		d := decay(s.T0.Sub(t), halfLife)
		s.S, s.W = s.S+w*v*d, s.W+w*d
	}
	s.Signals++
	s.Score = int(math.Round(s.S / s.W))
	s.Band = band(s.Score)
	return s
}

// withNPS records an NPS answer if it is the latest.
func (s Satisfaction) withNPS(answer int, at time.Time) Satisfaction {
	if s.NPS < 0 || !at.Before(s.NPSAt) {
		s.NPS, s.NPSAt, s.NPSCat = answer, at, NPSCategory(answer)
	}
	return s
}

func band(score int) string {
	switch {
	case score >= 70:
		return BandSatisfied
	case score >= 40:
		return BandNeutral
	}
	return BandAtRisk
}

// NPSCategory of an answer 0–10.
func NPSCategory(answer int) string {
	switch {
	case answer >= 9:
		return NPSPromoter
	case answer >= 7:
		return NPSPassive
	}
	return NPSDetractor
}

// Recompute folds raw signals into a satisfaction with the default settings.
func Recompute(signals []Signal) Satisfaction {
	return DefaultScoreSettings().Replay(signals).Satisfaction
}

// Stage is where a customer is in their relationship with the company.
type Stage string

const (
	StageAwareness   Stage = "awareness"
	StageExploration Stage = "exploration"
	StageExpansion   Stage = "expansion"
	StageCommitment  Stage = "commitment"
	StageDissolution Stage = "dissolution"
)

// Stages lists the stages in the order a relationship goes through them.
var Stages = []Stage{StageAwareness, StageExploration, StageExpansion, StageCommitment, StageDissolution}

// StageChange is one move, with its cause, kept on the record.
type StageChange struct {
	From  Stage     `bson:"from" json:"from"`
	To    Stage     `bson:"to" json:"to"`
	Cause string    `bson:"cause" json:"cause"`
	At    time.Time `bson:"at" json:"at"`
}

// Facts are what the stage rules look at.
type Facts struct {
	Contributions      int // posted, asked, voted or searched
	Purchases          int
	Reviews            int
	Products           int // distinct products bought or reviewed
	Satisfaction       Satisfaction
	LastActive         time.Time
	ReachedExpansionAt *time.Time
	Now                time.Time
}

// CauseKey names a stage change's cause for a message file ("stage.cause.<key>"); "" for
// a cause it does not know (then the stored words are shown). Causes are stored in words,
// as they were from the start, so records written before keys read the same.
func CauseKey(cause string) string { return causeKeys[cause] }

var causeKeys = map[string]string{
	"score below 40":                                                     "score_below_40",
	"latest NPS answer is a detractor":                                   "detractor",
	"inactive for 180 days":                                              "inactive_180",
	"back from dissolution (commitment comes after)":                     "back_from_dissolution",
	"two or more products, score 70 or more, active in the last 90 days": "committed",
	"a purchase or a review":                                             "purchase_or_review",
	"took part without buying or reviewing":                              "took_part",
	"registered":                                                         "registered",
}

// NextStage applies ARCHITECTURE §4 to the facts and says why. From dissolution a customer
// can come back to expansion, not straight to commitment.
func NextStage(current Stage, f Facts) (Stage, string) {
	sat := f.Satisfaction
	switch {
	case sat.HasScore() && sat.Score < 40:
		return StageDissolution, "score below 40"
	case sat.NPSCat == NPSDetractor:
		return StageDissolution, "latest NPS answer is a detractor"
	case f.ReachedExpansionAt != nil && f.Now.Sub(f.LastActive) > 180*24*time.Hour:
		return StageDissolution, "inactive for 180 days"
	}
	if f.Products >= 2 && sat.HasScore() && sat.Score >= 70 && f.Now.Sub(f.LastActive) <= 90*24*time.Hour {
		if current == StageDissolution {
			return StageExpansion, "back from dissolution (commitment comes after)"
		}
		return StageCommitment, "two or more products, score 70 or more, active in the last 90 days"
	}
	if f.Purchases > 0 || f.Reviews > 0 {
		return StageExpansion, "a purchase or a review"
	}
	if f.Contributions > 0 {
		return StageExploration, "took part without buying or reviewing"
	}
	return StageAwareness, "registered"
}
