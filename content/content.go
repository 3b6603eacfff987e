// Package content is the vocabulary shared by the services that own user content (reviews,
// testimonials, forums, ideas) and the one that moderates it, so each can declare the small
// interface it needs of the other without importing it.
package content

import (
	"context"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Kind is a kind of user content.
type Kind string

const (
	KindReview      Kind = "review"
	KindTestimonial Kind = "testimonial"
	KindThread      Kind = "thread"
	KindPost        Kind = "post"
	KindIdea        Kind = "idea"
)

// Status of a piece of user content. Nothing is ever removed: hidden and deleted content
// stays in the database.
type Status string

const (
	StatusPending   Status = "pending"   // waiting for a moderator
	StatusPublished Status = "published" // public
	StatusHidden    Status = "hidden"    // taken out of public view by a moderator or by flags
	StatusDeleted   Status = "deleted"   // deleted by its author (softly)
)

// Ref names one piece of content.
type Ref struct {
	Kind Kind          `bson:"kind" json:"kind"`
	ID   bson.ObjectID `bson:"id" json:"id"`
}

// String is the form used in URLs and forms: "review:6745…".
func (r Ref) String() string { return string(r.Kind) + ":" + r.ID.Hex() }

// ParseRef reads "kind:hex".
func ParseRef(s string) (Ref, bool) {
	for i := range len(s) {
		if s[i] == ':' {
			id, err := bson.ObjectIDFromHex(s[i+1:])
			return Ref{Kind: Kind(s[:i]), ID: id}, err == nil && i > 0
		}
	}
	return Ref{}, false
}

// Submission is content offered for publication, new or edited, as moderation screens it.
type Submission struct {
	Ref       Ref
	Author    bson.ObjectID
	Text      string        // everything the author wrote, title and body
	Parts     []Part        // the same text field by field, for the moderation queue
	Photos    []string      // the pictures' small versions, for the moderation queue
	ProductID bson.ObjectID // optional, for the queue's filters
	Category  string        // optional
}

// Titled sets a submission's text from a title (may be empty) and a body, field by field.
func (s Submission) Titled(title, body string) Submission {
	s.Text = strings.TrimSpace(title + "\n" + body)
	s.Parts = nil
	if title != "" {
		s.Parts = append(s.Parts, Part{Label: "moderation.part.title", Text: title})
	}
	s.Parts = append(s.Parts, Part{Label: "moderation.part.body", Text: body})
	return s
}

// Part is one field of a submission: its label (a message ID, "review.pros") and text.
type Part struct {
	Label string `bson:"label" json:"label"`
	Text  string `bson:"text" json:"text"`
}

// Reason is why a rule held content back.
type Reason struct {
	Rule   string `bson:"rule" json:"rule"`     // watched_word, too_many_links, duplicate, new_account, flagged
	Detail string `bson:"detail" json:"detail"` // the word, the number of links…
}

// Verdict is the outcome of screening: published, or pending with the reasons.
type Verdict struct {
	Status  Status
	Reasons []Reason
}

// Causes of points: the contributions that help others (package loyalty prices them).
const (
	CauseReview      = "review"  // a review published
	CauseHelpful     = "helpful" // a helpful vote on one's review
	CauseAnswer      = "answer"  // one's reply accepted as the answer
	CauseLike        = "like"    // a like on one's reply
	CauseIdeaPlanned = "idea_planned"
	CauseIdeaShipped = "idea_shipped"
	CauseSurvey      = "survey"      // a survey answered
	CauseTestimonial = "testimonial" // a testimonial featured
	CausePurchase    = "purchase"    // a verified purchase
)

// Reward is a contribution that earns its member points, named so that it counts once:
// by Cause and Ref.
type Reward struct {
	Member  bson.ObjectID // who earns
	Cause   string
	Ref     string        // what earned it, unique within the cause
	Actor   bson.ObjectID // who gave it (a voter, a liker), when someone else did
	Product bson.ObjectID // its product community, if any
	Lang    string        // the language it was written in, if the member wrote it
	// ActorSince is when the actor's account was made, if the caller has their record: the
	// rewarder then need not read it to tell a young account.
	ActorSince time.Time
}

// Rewarder books rewards: on while the cause holds, off once it is undone (hidden,
// deleted, withdrawn). Calling it again with the same state changes nothing.
type Rewarder interface {
	Reward(ctx context.Context, r Reward, on bool)
}

// InLanguage is a text entered in English and, optionally, Bahasa Indonesia (textID) as a
// reader of lang sees it: the Indonesian for "id" when there is one.
func InLanguage(lang, text, textID string) string {
	if lang == "id" && textID != "" {
		return textID
	}
	return text
}
