package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/feedback"
)

var demoSurveys = []feedback.SurveyInput{
	{Kind: "nps", Touchpoint: "community", QuestionEN: "How likely are you to recommend us to a friend?",
		QuestionID: "Seberapa mungkin Anda merekomendasikan kami kepada teman?", FollowUp: true, Active: true},
	{Kind: "csat", Touchpoint: "purchase", QuestionEN: "How satisfied are you with your last purchase?",
		QuestionID: "Seberapa puas Anda dengan pembelian terakhir Anda?", FollowUp: true, Active: true},
	{Kind: "ces", Touchpoint: "support", QuestionEN: "How easy was it to get your problem solved?",
		QuestionID: "Seberapa mudah masalah Anda terselesaikan?", Active: true},
}

// loadSurveys adds the surveys and a year of answers, collected "elsewhere" (the API
// channel, keyed, so a second run adds nothing). The answers leave Budi unhappy and
// Daniel's team's favourites happy, so scores and stages differ.
func loadSurveys(ctx context.Context, d Deps) error {
	staff, err := d.Customers.FindByEmail(ctx, "product@guyub.example")
	if err != nil {
		return err
	}
	existing, err := d.Feedback.Surveys(ctx)
	if err != nil {
		return err
	}
	surveys := existing
	if len(existing) == 0 {
		for _, in := range demoSurveys {
			sv, err := d.Feedback.SaveSurvey(ctx, staff, bson.ObjectID{}, in)
			if err != nil {
				return err
			}
			surveys = append(surveys, sv)
		}
	}
	mood := map[string]int{"ayu@guyub.example": 2, "emma@guyub.example": 2, "rahul@guyub.example": 0, "budi@guyub.example": -2}
	r := rand.New(rand.NewPCG(2026, 11))
	start := time.Date(2025, 12, 1, 9, 0, 0, 0, time.UTC)
	for email, bias := range mood {
		c, err := d.Customers.FindByEmail(ctx, email)
		if err != nil {
			return err
		}
		for i := range 60 {
			sv := surveys[i%len(surveys)]
			lo, hi := sv.Kind.Scale()
			mid := (lo + hi) / 2
			if sv.Kind == feedback.KindCES {
				bias = -bias // low is good
			}
			score := min(max(mid+bias*(hi-lo)/5+r.IntN(3)-1, lo), hi)
			at := start.Add(time.Duration(i*6)*24*time.Hour + time.Duration(r.IntN(12))*time.Hour)
			in := feedback.AnswerInput{Score: &score, Key: fmt.Sprintf("demo-%s-%d", email, i), At: at.Format(time.RFC3339)}
			if _, _, err := d.Feedback.Answer(ctx, c, sv.ID, in, "api"); err != nil {
				return fmt.Errorf("demo answer: %w", err)
			}
			if sv.Kind == feedback.KindCES {
				bias = -bias
			}
		}
	}
	return nil
}
