package apiv1

import (
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/importer"
	"github.com/guyub/guyub/loyalty"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
)

// The answers of the API, one type each: the OpenAPI description is made from them, so
// what is described is what is sent.

type flagJSON struct {
	Counted bool `json:"counted"` // false: this caller had flagged it already
	Hidden  bool `json:"hidden"`  // the flags hid it pending review
}

type queueJSON struct {
	Items []*moderation.Item `json:"items"`
	Next  string             `json:"next"` // the next page's URL, "" on the last
}

type decisionsJSON struct {
	Results []moderation.DecisionResult `json:"results"`
}

type productsJSON struct {
	Products []*reviews.Product `json:"products"`
	Next     string             `json:"next"` // ?after= for the next page, "" on the last
}

type productImportJSON struct {
	Results []reviews.ImportResult `json:"results"`
}

type importJSON struct {
	Results   []importer.Result `json:"results"`
	Created   int               `json:"created"`
	Unchanged int               `json:"unchanged"`
	Errors    int               `json:"errors"`
}

type reviewsJSON struct {
	Product *reviews.Product `json:"product"`
	Reviews []reviewJSON     `json:"reviews"`
	Next    string           `json:"next"` // the next page's URL, "" on the last
}

type purchaseJSON struct {
	Recorded bool `json:"recorded"` // false: this order was recorded before
}

type testimonialsJSON struct {
	Testimonials []testimonialJSON `json:"testimonials"`
	Next         string            `json:"next"`
}

type pendingTestimonialsJSON struct {
	Testimonials []*reviews.Testimonial `json:"testimonials"`
}

type categoriesJSON struct {
	Categories []*community.Category `json:"categories"`
}

// threadJSON is a thread, its opening post (on the first page) and a page of replies.
type threadJSON struct {
	Thread  *community.Thread `json:"thread"`
	Opening *community.Post   `json:"opening,omitempty"`
	Posts   []*community.Post `json:"posts"`
	Next    string            `json:"next"` // ?after= for the next page, "" on the last
}

type likeJSON struct {
	Likes int  `json:"likes"`
	Liked bool `json:"liked"`
}

type voteJSON struct {
	VoteCount int  `json:"vote_count"`
	Voted     bool `json:"voted"`
}

type notificationsJSON struct {
	Notifications []*community.Notification `json:"notifications"`
	Next          string                    `json:"next"` // ?before= for older ones
}

type customersJSON struct {
	Customers  []customerJSON `json:"customers"`
	NextBefore string         `json:"next_before"` // ?before= for the next page
}

type badgesJSON struct {
	MemberID bson.ObjectID `json:"member_id"`
	Level    int           `json:"level"`
	Points   int           `json:"points"`
	Badges   []badgeJSON   `json:"badges"`
}

type leaderboardJSON struct {
	Period string     `json:"period"` // month or all
	Ranks  []rankJSON `json:"ranks"`
}

// redemptionJSON is a redeemed reward, with its code when it has one (hidden: the code is
// shown once, and was).
type redemptionJSON struct {
	Redemption *loyalty.Redemption `json:"redemption"`
	Code       *string             `json:"code,omitempty"`
	CodeHidden *bool               `json:"code_hidden,omitempty"`
}

type surveysJSON struct {
	Surveys []surveyJSON `json:"surveys"`
}

type surveyResultsJSON struct {
	Survey  *feedback.Survey `json:"survey"`
	Days    int              `json:"days"`
	Answers int              `json:"answers"`
	Score   float64          `json:"score"`
}

type emailPrefsJSON struct {
	Email map[string]string `json:"email"` // kind → off, instant, daily or weekly
}

type timelinePageJSON struct {
	Timeline []timelineJSON `json:"timeline"`
	Next     string         `json:"next"` // ?before= for older entries
}
