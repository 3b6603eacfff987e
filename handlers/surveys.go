package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/reviews"
)

func (s *Server) surveyRoutes(app *fiber.App) {
	app.Get("/surveys/:id", web.SignedIn, s.surveyPage)
	app.Post("/surveys/:id", web.SignedIn, s.surveySubmit)
	app.Get("/s/:token", s.linkPage)
	app.Post("/s/:token", s.linkSubmit)
	product := web.RequireRole(customers.RoleProduct)
	app.Get("/admin/surveys", product, s.surveysAdmin)
	app.Post("/admin/surveys", product, s.surveySave)
	app.Post("/admin/surveys/:id", product, s.surveySave)
	app.Post("/admin/surveys/:id/link", product, s.surveyLink)
	app.Post("/admin/surveys/:id/invite", product, s.surveyInvite)
}

type surveyData struct {
	Survey   *feedback.Survey
	Question string
	Action   string // where the form posts
	Form     *form
	Done     bool
}

func (s *Server) surveyByParam(c *fiber.Ctx) (*feedback.Survey, error) {
	id, err := bson.ObjectIDFromHex(c.Params("id"))
	if err != nil {
		return nil, feedback.ErrSurveyNotFound
	}
	return s.deps.Feedback.Survey(c.UserContext(), id)
}

func (s *Server) renderSurvey(c *fiber.Ctx, status int, sv *feedback.Survey, action string, f *form, done bool) error {
	d := surveyData{Survey: sv, Question: sv.QuestionIn(s.language(c)), Action: action, Form: f, Done: done}
	return s.render(c, status, "survey", "survey.title", d)
}

func (s *Server) surveyPage(c *fiber.Ctx) error {
	sv, err := s.surveyByParam(c)
	if err != nil {
		return err
	}
	return s.renderSurvey(c, fiber.StatusOK, sv, "/surveys/"+sv.ID.Hex(), nil, false)
}

// answer records an answer from a form and shows the form again with what was wrong.
func (s *Server) answer(c *fiber.Ctx, sv *feedback.Survey, who *customers.Customer, action, channel string) error {
	var in feedback.AnswerInput
	if err := parseForm(c, &in); err != nil {
		return err
	}
	in.Key, in.At = "", "" // for staff integrations (the API) only
	if _, _, err := s.deps.Feedback.Answer(c.UserContext(), who, sv.ID, in, channel); err != nil {
		f, ferr := s.formFailed(c, err, map[string]string{"comment": in.Comment})
		if ferr != nil {
			return ferr
		}
		return s.renderSurvey(c, web.Status(err), sv, action, f, false)
	}
	// Answered where it was asked (the home page): back there, with the thanks.
	if back := c.FormValue("back"); back != "" {
		s.flash(c, "flash.survey_thanks")
		return c.Redirect(localPath(back), fiber.StatusSeeOther)
	}
	return s.renderSurvey(c, fiber.StatusOK, sv, action, nil, true)
}

func (s *Server) surveySubmit(c *fiber.Ctx) error {
	sv, err := s.surveyByParam(c)
	if err != nil {
		return err
	}
	return s.answer(c, sv, web.User(c), "/surveys/"+sv.ID.Hex(), "portal")
}

// linkPage answers a personal link: no sign-in needed, the token says who and what.
func (s *Server) linkPage(c *fiber.Ctx) error {
	sv, _, err := s.deps.Feedback.OpenLink(c.UserContext(), c.Params("token"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return s.renderSurvey(c, fiber.StatusOK, sv, "/s/"+c.Params("token"), nil, false)
}

func (s *Server) linkSubmit(c *fiber.Ctx) error {
	sv, who, err := s.deps.Feedback.OpenLink(c.UserContext(), c.Params("token"))
	if err != nil {
		return err
	}
	return s.answer(c, sv, who, "/s/"+c.Params("token"), "link")
}

type surveysAdminData struct {
	Surveys     []*feedback.Survey
	Kinds       []feedback.Kind
	Touchpoints []string
	Form        *form
	Link        string
	Invites     map[bson.ObjectID]feedback.InviteStats
	Scores      map[bson.ObjectID]feedback.SurveyScore // the last 90 days
	Stages      []customers.Stage
	Products    []*reviews.Product // suggested for a segment of buyers (the first 100 by name)
}

func (s *Server) renderSurveysAdmin(c *fiber.Ctx, status int, f *form, link string) error {
	list, err := s.deps.Feedback.Surveys(c.UserContext())
	if err != nil {
		return err
	}
	d := surveysAdminData{Surveys: list, Kinds: feedback.Kinds, Touchpoints: feedback.Touchpoints, Form: f, Link: link,
		Invites: map[bson.ObjectID]feedback.InviteStats{}, Stages: stages}
	if d.Products, _, err = s.deps.Reviews.Products(c.UserContext(), "", 100); err != nil {
		return err
	}
	if d.Scores, err = s.deps.Feedback.SurveyScores(c.UserContext(), list, 90); err != nil {
		return err
	}
	for _, sv := range list { // a handful of surveys
		if d.Invites[sv.ID], err = s.deps.Feedback.InvitationStats(c.UserContext(), sv.ID); err != nil {
			return err
		}
	}
	return s.render(c, status, "admin/surveys", "survey.admin_title", d)
}

// surveyInvite queues invitations to a survey for a segment of customers.
func (s *Server) surveyInvite(c *fiber.Ctx) error {
	sv, err := s.surveyByParam(c)
	if err != nil {
		return err
	}
	var seg feedback.Segment
	if err := parseForm(c, &seg); err != nil {
		return err
	}
	if slug := strings.TrimSpace(c.FormValue("product")); slug != "" {
		p, perr := s.deps.Reviews.Product(c.UserContext(), slug)
		if perr != nil {
			err = errs.Field("product", "survey.no_product")
		} else {
			seg.Product = p.ID
		}
	}
	if err == nil {
		_, err = s.deps.Feedback.Invite(c.UserContext(), web.User(c), sv.ID, seg)
	}
	if err != nil {
		f, ferr := s.formFailed(c, err, nil)
		if ferr != nil {
			return ferr
		}
		return s.renderSurveysAdmin(c, web.Status(err), f, "")
	}
	s.flash(c, "flash.invitations_queued") // the page shows how many wait to be sent
	return c.Redirect("/admin/surveys", fiber.StatusSeeOther)
}

func (s *Server) surveysAdmin(c *fiber.Ctx) error {
	return s.renderSurveysAdmin(c, fiber.StatusOK, nil, "")
}

func (s *Server) surveySave(c *fiber.Ctx) error {
	var in feedback.SurveyInput
	if err := parseForm(c, &in); err != nil {
		return err
	}
	var id bson.ObjectID
	if raw := c.Params("id"); raw != "" {
		var err error
		if id, err = bson.ObjectIDFromHex(raw); err != nil {
			return feedback.ErrSurveyNotFound
		}
	}
	if _, err := s.deps.Feedback.SaveSurvey(c.UserContext(), web.User(c), id, in); err != nil {
		f, ferr := s.formFailed(c, err, map[string]string{"question_en": in.QuestionEN, "question_id": in.QuestionID})
		if ferr != nil {
			return ferr
		}
		return s.renderSurveysAdmin(c, web.Status(err), f, "")
	}
	s.flash(c, "flash.survey_saved")
	return c.Redirect("/admin/surveys", fiber.StatusSeeOther)
}

// surveyLink makes a personal link for one customer, shown once to send by email or WhatsApp.
func (s *Server) surveyLink(c *fiber.Ctx) error {
	sv, err := s.surveyByParam(c)
	if err != nil {
		return err
	}
	who, err := s.deps.Customers.FindByEmail(c.UserContext(), c.FormValue("email"))
	if err != nil {
		return s.renderSurveysAdmin(c, fiber.StatusUnprocessableEntity, &form{Message: s.catalog.T(s.language(c), "survey.no_customer")}, "")
	}
	token, err := s.deps.Feedback.CreateLink(c.UserContext(), web.User(c), sv.ID, who.ID)
	if err != nil {
		return err
	}
	return s.renderSurveysAdmin(c, fiber.StatusCreated, nil, s.cfg.BaseURL+"/s/"+token)
}
