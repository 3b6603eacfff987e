package apiv1

import (
	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/feedback"
)

// The bodies the API takes that no service type describes.

type helpfulInput struct {
	Helpful *bool `json:"helpful"`
}

// acceptInput names the reply that answers a question; none (or "") takes the answer back.
type acceptInput struct {
	Post string `json:"post_id"`
}

type ideaInput struct {
	community.IdeaInput
	Product string `json:"product"` // the product's slug, if the idea is about one
}

type mergeInput struct {
	Target string `json:"target"` // the idea the duplicate joins
}

type testimonialDecision struct {
	Decision string `json:"decision"` // approve, feature, unfeature or reject
	Reason   string `json:"reason"`
}

// answerInput is an answer collected elsewhere (a CRM, a call centre), for a customer.
type answerInput struct {
	feedback.AnswerInput
	CustomerID string `json:"customer_id"`
}

// likeInput likes or takes a like back; no body likes.
type likeInput struct {
	Like *bool `json:"like"`
}

// voteInput votes or takes a vote back; no body votes.
type voteInput struct {
	Vote *bool `json:"vote"`
}
