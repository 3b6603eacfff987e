package customers

import (
	"math"
	"slices"
	"time"
)

// Churn risk: each reason adds its weight to a figure from 0 to 100. The reasons are kept
// with the figure, so nobody sees a risk without its words, and every customer in
// dissolution, every detractor and every at-risk band shows why.
const (
	ReasonDetractor         = "detractor"          // latest NPS answer 0–6
	ReasonDissolution       = "dissolution"        // the lifecycle stage
	ReasonLowScore          = "low_score"          // the at-risk band (score below 40)
	ReasonScoreFell         = "score_fell"         // N: points lost in 30 days
	ReasonSilent            = "silent"             // N: days without activity, longer than usual
	ReasonNegativeSentiment = "negative_sentiment" // their recent words read negative
	ReasonOverdueFollowUp   = "overdue_followup"   // a follow-up task past its due date
)

var riskWeights = map[string]int{
	ReasonDetractor: 35, ReasonDissolution: 25, ReasonLowScore: 20, ReasonScoreFell: 20,
	ReasonSilent: 20, ReasonNegativeSentiment: 15, ReasonOverdueFollowUp: 15,
}

// AtRiskFrom is the risk from which a customer is on the at-risk list.
const AtRiskFrom = 30

// RiskReason is one reason, with its figure where it has one (points lost, days silent).
type RiskReason struct {
	Key string `bson:"key" json:"key"`
	N   int    `bson:"n,omitempty" json:"n,omitempty"`
}

// Risk is how likely a customer is to leave, and why.
type Risk struct {
	Score   int          `bson:"score" json:"score"`
	Reasons []RiskReason `bson:"reasons,omitempty" json:"reasons,omitempty"`
	// Trend is how the satisfaction score moved over the last 30 days.
	Trend int `bson:"trend" json:"trend"`
	// Rank orders the at-risk list: risk × (1 + lifetime value in main units), so that of two
	// customers as likely to leave the one worth more comes first; 0 below AtRiskFrom.
	Rank float64 `bson:"rank" json:"-"`
}

// AtRisk reports whether the customer belongs on the at-risk list.
func (r Risk) AtRisk() bool { return r.Score >= AtRiskFrom }

// Level is low, medium or high, for a badge.
func (r Risk) Level() string {
	switch {
	case r.Score >= 60:
		return "high"
	case r.Score >= AtRiskFrom:
		return "medium"
	}
	return "low"
}

// ScorePoint is the satisfaction score after a signal, kept for the trend.
type ScorePoint struct {
	At    time.Time `bson:"at"`
	Score int       `bson:"score"`
	// The weighted sums as of At, so that a signal arriving late can be added to the
	// points after it (zero on points stored before they were kept).
	S float64 `bson:"s,omitempty"`
	W float64 `bson:"w,omitempty"`
}

// trailLength is how many score points a record keeps.
const trailLength = 30

// Mood is the decayed mean of the sentiment of a customer's own words, with a short
// half-life: a recent turn shows even when the satisfaction score has not moved yet.
type Mood struct {
	S  float64   `bson:"s"`
	W  float64   `bson:"w"`
	T0 time.Time `bson:"t0"`
	N  int       `bson:"n"`
}

const moodHalfLife = 30 * 24 * time.Hour

func (m Mood) add(v float64, t time.Time) Mood {
	s := Satisfaction{S: m.S, W: m.W, T0: m.T0}.add(v, 1, t, moodHalfLife)
	return Mood{S: s.S, W: s.W, T0: s.T0, N: m.N + 1}
}

// negative: at least two recent texts whose mean sentiment is below −0.2 (40 of 100).
func (m Mood) negative() bool { return m.N >= 2 && m.W > 0 && m.S/m.W < 40 }

// FollowUps are a customer's open follow-up tasks, as package followups keeps them.
type FollowUps struct {
	Open int        `bson:"open" json:"open"`
	Due  *time.Time `bson:"due,omitempty" json:"due,omitempty"` // the earliest due date of an open one
}

// assessRisk weighs a customer's reasons at time now, with the stage they are moving to;
// drop is how many points lost in 30 days make a reason.
func assessRisk(c *Customer, stage Stage, now time.Time, drop int) Risk {
	var r Risk
	add := func(key string, n int) { r.Reasons = append(r.Reasons, RiskReason{Key: key, N: n}) }
	sat := c.Satisfaction
	if sat.NPSCat == NPSDetractor {
		add(ReasonDetractor, sat.NPS)
	}
	if stage == StageDissolution {
		add(ReasonDissolution, 0)
	}
	if sat.HasScore() && sat.Band == BandAtRisk {
		add(ReasonLowScore, sat.Score)
	}
	r.Trend = trend(c.ScoreTrail, sat.Score, now)
	if sat.HasScore() && r.Trend <= -drop {
		add(ReasonScoreFell, -r.Trend)
	}
	if days, silent := silence(c, now); silent {
		add(ReasonSilent, days)
	}
	if c.Mood.negative() {
		add(ReasonNegativeSentiment, 0)
	}
	if f := c.FollowUps; f.Open > 0 && f.Due != nil && f.Due.Before(now) {
		add(ReasonOverdueFollowUp, f.Open)
	}
	for _, why := range r.Reasons {
		r.Score += riskWeights[why.Key]
	}
	r.Score = min(r.Score, 100)
	if r.AtRisk() {
		r.Rank = float64(r.Score) * (1 + math.Max(0, Major(c.Value.CLTV, c.Value.Currency)))
	}
	return r
}

// trend is the score now less the score 30 days ago: the last point at or before then, or
// the first point when every signal is younger.
func trend(trail []ScorePoint, now int, at time.Time) int {
	if len(trail) == 0 {
		return 0
	}
	base := trail[0]
	cut := at.AddDate(0, 0, -30)
	for _, p := range trail {
		if !p.At.After(cut) && !p.At.Before(base.At) {
			base = p
		}
	}
	return now - base.Score
}

// silence says how long a customer who took part more than once has been away, and whether
// that is longer than three of their usual gaps between activities (and at least 30 days).
func silence(c *Customer, now time.Time) (int, bool) {
	k := c.Counters
	n := k.Threads + k.Posts + k.Reviews + k.Ideas + k.Votes + k.Feedback + len(c.Purchases)
	if n < 2 || c.LastActiveAt.IsZero() {
		return 0, false
	}
	usual := c.LastActiveAt.Sub(c.CreatedAt) / time.Duration(n)
	away := now.Sub(c.LastActiveAt)
	return int(away.Hours() / 24), away > max(3*usual, 30*24*time.Hour)
}

// sameRisk reports whether two assessments read the same, so an unchanged one is not written.
func sameRisk(a, b Risk) bool {
	return a.Score == b.Score && a.Trend == b.Trend && a.Rank == b.Rank && slices.Equal(a.Reasons, b.Reasons)
}
