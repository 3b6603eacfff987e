package handlers

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
func (s *Server) moreAPIRoutes(api fiber.Router) {
	product := web.RequireRole(customers.RoleProduct)
	moderator := web.RequireRole(customers.RoleModerator)
	api.Get("/surveys", product, s.apiSurveys)
	api.Post("/surveys", product, s.apiSurveySave)
	api.Patch("/surveys/:id", product, s.apiSurveySave)
	api.Get("/surveys/:id/results", product, s.apiSurveyResults)
	api.Post("/testimonials", web.RequireActive, s.apiTestimonialSubmit)
	api.Get("/testimonials/pending", moderator, s.apiTestimonialsPending)
	api.Post("/testimonials/:id/decision", moderator, s.apiTestimonialDecide)
	api.Patch("/products/:slug", product, s.apiProductUpdate)
	api.Post("/ideas/:id/comments", web.RequireActive, s.apiIdeaComment)
	api.Patch("/posts/:id", web.RequireActive, s.apiPostEdit)
	api.Delete("/posts/:id", web.SignedIn, s.apiPostDelete)
	api.Get("/me/notification-preferences", web.SignedIn, s.apiEmailPrefs)
	api.Patch("/me/notification-preferences", web.SignedIn, s.apiEmailPrefsSave)
	api.Get("/customers/:id/timeline", web.RequireRole(customers.RoleModerator, customers.RoleProduct), s.apiTimeline)
}

// surveyJSON is a survey with how it is answered over the last 30 days.
type surveyJSON struct {
	*feedback.Survey
	Answers30 int     `json:"answers_30d"`
	Score30   float64 `json:"score_30d"`
}

func (s *Server) apiSurveys(c *fiber.Ctx) error {
	list, err := s.deps.Feedback.Surveys(c.UserContext())
	if err != nil {
		return err
	}
	scores, err := s.deps.Feedback.SurveyScores(c.UserContext(), list, 30)
	if err != nil {
		return err
	}
	out := make([]surveyJSON, len(list))
	for i, sv := range list {
		out[i] = surveyJSON{Survey: sv, Answers30: scores[sv.ID].Answers, Score30: scores[sv.ID].Score}
	}
	return c.JSON(fiber.Map{"surveys": out})
}

// apiSurveySave creates a survey (POST) or changes one (PATCH: the whole survey again).
func (s *Server) apiSurveySave(c *fiber.Ctx) error {
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
	sv, err := s.deps.Feedback.SaveSurvey(c.UserContext(), web.User(c), id, in)
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
func (s *Server) apiSurveyResults(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return feedback.ErrSurveyNotFound
	}
	days := c.QueryInt("days", 30)
	if days < 1 || days > 365 {
		return errs.Field("days", "field.range", "Min", 1, "Max", 365)
	}
	sv, err := s.deps.Feedback.Survey(c.UserContext(), id)
	if err != nil {
		return err
	}
	scores, err := s.deps.Feedback.SurveyScores(c.UserContext(), []*feedback.Survey{sv}, days)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"survey": sv, "days": days, "answers": scores[id].Answers, "score": scores[id].Score})
}

func (s *Server) apiTestimonialSubmit(c *fiber.Ctx) error {
	var in reviews.TestimonialInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	t, err := s.deps.Reviews.SubmitTestimonial(c.UserContext(), web.User(c), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(t)
}

func (s *Server) apiTestimonialsPending(c *fiber.Ctx) error {
	list, err := s.deps.Reviews.Pending(c.UserContext(), min(max(c.QueryInt("limit", 50), 1), 200))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"testimonials": list})
}

func (s *Server) apiTestimonialDecide(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return reviews.ErrTestimonialNotFound
	}
	var in struct {
		Decision string `json:"decision"` // approve, feature, unfeature, reject
		Reason   string `json:"reason"`
	}
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	if err := s.deps.Reviews.Decide(c.UserContext(), web.User(c), id, reviews.Decision(in.Decision), in.Reason); err != nil {
		return err
	}
	t, err := s.deps.Reviews.Testimonial(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(t)
}

func (s *Server) apiProductUpdate(c *fiber.Ctx) error {
	var in reviews.ProductInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	p, err := s.deps.Reviews.UpdateProduct(c.UserContext(), c.Params("slug"), in)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (s *Server) apiIdeaComment(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return community.ErrIdeaNotFound
	}
	var in community.PostInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	p, err := s.deps.Community.Reply(c.UserContext(), web.User(c), content.Ref{Kind: content.KindIdea, ID: id}, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(p)
}

// apiPostEdit edits a reply, a comment or a thread's opening post (then its title and tags
// too): its author, or a moderator.
func (s *Server) apiPostEdit(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return community.ErrPostNotFound
	}
	var in community.EditInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	p, err := s.deps.Community.EditPost(c.UserContext(), web.User(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

// apiPostDelete deletes a post (a thread's opening post deletes the thread): its author, or
// a moderator.
func (s *Server) apiPostDelete(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return community.ErrPostNotFound
	}
	if _, err := s.deps.Community.DeletePost(c.UserContext(), web.User(c), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// apiEmailPrefs is how each kind of notification is emailed to the caller.
func (s *Server) apiEmailPrefs(c *fiber.Ctx) error {
	u := web.User(c)
	out := map[string]string{}
	for _, k := range community.EmailKinds {
		out[k.Kind] = community.EmailPref(u, k.Kind)
	}
	return c.JSON(fiber.Map{"email": out})
}

// apiEmailPrefsSave sets some kinds: {"email": {"reply": "daily", …}} (off, instant, daily,
// weekly).
func (s *Server) apiEmailPrefsSave(c *fiber.Ctx) error {
	var in struct {
		Email map[string]string `json:"email"`
	}
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	u := web.User(c)
	var f errs.Fields
	for kind, pref := range in.Email {
		if err := s.deps.Customers.SetEmailPref(c.UserContext(), u.ID, kind, pref); err != nil {
			f.Add("email."+kind, "field.choose_one")
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	fresh, err := s.deps.Customers.Get(c.UserContext(), u.ID)
	if err != nil {
		return err
	}
	web.SetUser(c, fresh)
	return s.apiEmailPrefs(c)
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
func (s *Server) apiTimeline(c *fiber.Ctx) error {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return customers.ErrNotFound
	}
	m, err := s.deps.Customers.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	var before time.Time
	if ns, err := strconv.ParseInt(c.Query("before"), 10, 64); err == nil {
		before = time.Unix(0, ns).UTC()
	}
	entries, _, err := s.timeline(c, m, before, web.User(c).HasRole(customers.RoleProduct))
	if err != nil {
		return err
	}
	out := []timelineJSON{}
	next := ""
	for i, e := range entries {
		if i == timelinePage {
			next = strconv.FormatInt(entries[timelinePage-1].sortKey, 10)
			break
		}
		out = append(out, timelineJSON{At: time.Unix(0, e.sortKey).UTC().Format(time.RFC3339), Kind: strings.TrimPrefix(e.Kind, "record."),
			Text: e.Text, URL: e.URL, Status: e.Status})
	}
	return c.JSON(fiber.Map{"timeline": out, "next": next})
}
