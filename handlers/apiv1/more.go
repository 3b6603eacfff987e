package apiv1

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/content"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/reviews"
)

// What the pages do that the API did not: surveys, testimonials, product edits, idea
// comments, edits and deletions of posts, a member's notification choices, a customer's
// timeline and look-up by address.
// surveyJSON is a survey with how it is answered over the last 30 days.
type surveyJSON struct {
	*feedback.Survey
	Answers30 int     `json:"answers_30d"`
	Score30   float64 `json:"score_30d"`
}

func (a *API) apiSurveys(c *fiber.Ctx) error {
	list, err := a.Feedback.Surveys(c.UserContext())
	if err != nil {
		return err
	}
	scores, err := a.Feedback.SurveyScores(c.UserContext(), list, 30)
	if err != nil {
		return err
	}
	out := make([]surveyJSON, len(list))
	for i, sv := range list {
		out[i] = surveyJSON{Survey: sv, Answers30: scores[sv.ID].Answers, Score30: scores[sv.ID].Score}
	}
	return c.JSON(surveysJSON{Surveys: out})
}

// apiSurveySave creates a survey (POST) or changes one (PATCH: the whole survey again).
func (a *API) apiSurveySave(c *fiber.Ctx) error {
	var id bson.ObjectID
	if c.Method() == fiber.MethodPatch {
		var err error
		if id, err = bson.ObjectIDFromHex(c.Params("id")); err != nil {
			return feedback.ErrSurveyNotFound
		}
	}
	var in feedback.SurveyInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	sv, err := a.Feedback.SaveSurvey(c.UserContext(), web.User(c), id, in)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if id.IsZero() {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(sv)
}

// apiSurveyResults is a survey's score over the last days (30 by default, up to 365).
func (a *API) apiSurveyResults(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", feedback.ErrSurveyNotFound)
	if err != nil {
		return err
	}
	days := c.QueryInt("days", 30)
	if days < 1 || days > 365 {
		return errs.Field("days", "field.range", "Min", 1, "Max", 365)
	}
	sv, err := a.Feedback.Survey(c.UserContext(), id)
	if err != nil {
		return err
	}
	scores, err := a.Feedback.SurveyScores(c.UserContext(), []*feedback.Survey{sv}, days)
	if err != nil {
		return err
	}
	return c.JSON(surveyResultsJSON{Survey: sv, Days: days, Answers: scores[id].Answers, Score: scores[id].Score})
}

func (a *API) apiTestimonialSubmit(c *fiber.Ctx) error {
	var in reviews.TestimonialInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	t, err := a.Reviews.SubmitTestimonial(c.UserContext(), web.User(c), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(t)
}

func (a *API) apiTestimonialsPending(c *fiber.Ctx) error {
	list, err := a.Reviews.Pending(c.UserContext(), min(max(c.QueryInt("limit", 50), 1), 200))
	if err != nil {
		return err
	}
	return c.JSON(pendingTestimonialsJSON{Testimonials: list})
}

func (a *API) apiTestimonialDecide(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", reviews.ErrTestimonialNotFound)
	if err != nil {
		return err
	}
	var in testimonialDecision
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	if err := a.Reviews.Decide(c.UserContext(), web.User(c), id, reviews.Decision(in.Decision), in.Reason); err != nil {
		return err
	}
	t, err := a.Reviews.Testimonial(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (a *API) apiProductUpdate(c *fiber.Ctx) error {
	var in reviews.ProductInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	p, err := a.Reviews.UpdateProduct(c.UserContext(), c.Params("slug"), in)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (a *API) apiIdeaComment(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", community.ErrIdeaNotFound)
	if err != nil {
		return err
	}
	var in community.PostInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	p, err := a.Community.Reply(c.UserContext(), web.User(c), content.Ref{Kind: content.KindIdea, ID: id}, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

// apiPostEdit edits a reply, a comment or a thread's opening post (then its title and tags
// too): its author, or a moderator.
func (a *API) apiPostEdit(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", community.ErrPostNotFound)
	if err != nil {
		return err
	}
	var in community.EditInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	p, err := a.Community.EditPost(c.UserContext(), web.User(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

// apiPostDelete deletes a post (a thread's opening post deletes the thread): its author, or
// a moderator.
func (a *API) apiPostDelete(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", community.ErrPostNotFound)
	if err != nil {
		return err
	}
	if _, err := a.Community.DeletePost(c.UserContext(), web.User(c), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// apiEmailPrefs is how each kind of notification is emailed to the caller.
func (a *API) apiEmailPrefs(c *fiber.Ctx) error {
	u := web.User(c)
	out := map[string]string{}
	for _, k := range community.EmailKinds {
		out[k.Kind] = community.EmailPref(u, k.Kind)
	}
	return c.JSON(emailPrefsJSON{Email: out})
}

// apiEmailPrefsSave sets some kinds: {"email": {"reply": "daily", …}} (off, instant, daily,
// weekly).
func (a *API) apiEmailPrefsSave(c *fiber.Ctx) error {
	var in emailPrefsJSON
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	u := web.User(c)
	var f errs.Fields
	for kind, pref := range in.Email {
		if err := a.Customers.SetEmailPref(c.UserContext(), u.ID, kind, pref); err != nil {
			f.Add("email."+kind, "field.choose_one")
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	fresh, err := a.Customers.Get(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	web.SetUser(c, fresh)
	return a.apiEmailPrefs(c)
}

// timelineJSON is one entry of a customer's timeline.
type timelineJSON struct {
	At     string `json:"at"`
	Kind   string `json:"kind"`
	Text   string `json:"text"`
	URL    string `json:"url,omitempty"`
	Status string `json:"status,omitempty"`
}

// apiTimeline is a customer's timeline, newest first, a page at a time (?before= the
// previous page's "next").
func (a *API) apiTimeline(c *fiber.Ctx) error {
	m, err := a.customerFromPath(c)
	if err != nil {
		return err
	}
	var before time.Time
	if ns, err := strconv.ParseInt(c.Query("before"), 10, 64); err == nil {
		before = time.Unix(0, ns).UTC()
	}
	entries, _, err := a.Timeline(c, m, before, web.User(c).HasRole(customers.RoleProduct))
	if err != nil {
		return err
	}
	out := []timelineJSON{}
	next := ""
	for i, e := range entries {
		if i == web.TimelinePage {
			next = strconv.FormatInt(entries[web.TimelinePage-1].SortKey, 10)
			break
		}
		out = append(out, timelineJSON{At: time.Unix(0, e.SortKey).UTC().Format(time.RFC3339), Kind: strings.TrimPrefix(e.Kind, "record."),
			Text: e.Text, URL: e.URL, Status: e.Status})
	}
	return c.JSON(timelinePageJSON{Timeline: out, Next: next})
}
