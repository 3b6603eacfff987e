package customers

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

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
	Weight     float64       `bson:"weight"`
	At         time.Time     `bson:"at"`
}

// ReviewSignal is a review's rating r (1–5) as a signal: 25(r−1).
func ReviewSignal(customer bson.ObjectID, reviewID string, rating int, at time.Time) Signal {
	return Signal{
		ID: string(SignalReview) + ":" + reviewID, CustomerID: customer, Kind: SignalReview,
		Value: 25 * float64(rating-1), Weight: baseWeights[SignalReview], At: at.UTC(),
	}
}

var signalIndexes = store.Indexes{Collection: "signals", Models: []mongo.IndexModel{
	{Keys: bson.D{{Key: "customer_id", Value: 1}, {Key: "at", Value: 1}}},
}}

// RecordSignal stores a signal, replacing an earlier one from the same source.
// (The score and lifecycle stage are computed from the signals with the feedback issue.)
func (s *Service) RecordSignal(ctx context.Context, sig Signal) error {
	_, err := s.signals.ReplaceOne(ctx, bson.M{"_id": sig.ID}, sig, options.Replace().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("record signal: %w", err)
	}
	return nil
}

// WithdrawSignal removes a signal whose source is gone (a hidden or deleted review).
func (s *Service) WithdrawSignal(ctx context.Context, id string) error {
	if _, err := s.signals.DeleteOne(ctx, bson.M{"_id": id}); err != nil {
		return fmt.Errorf("withdraw signal: %w", err)
	}
	return nil
}

// Signals lists a customer's signals, oldest first.
func (s *Service) Signals(ctx context.Context, customer bson.ObjectID) ([]Signal, error) {
	cur, err := s.signals.Find(ctx, bson.M{"customer_id": customer}, options.Find().SetSort(bson.D{{Key: "at", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("signals: %w", err)
	}
	var out []Signal
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("signals: %w", err)
	}
	return out, nil
}
