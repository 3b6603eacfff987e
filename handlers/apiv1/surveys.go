package apiv1

import (
	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/handlers/web"
)

// apiSurveyResponse takes an answer collected elsewhere (CRM, call centre); the same key
// twice records it once.
func (a *API) apiSurveyResponse(c *fiber.Ctx) error {
	var in answerInput
	if err := web.ParseJSON(c, &in); err != nil {
		return err
	}
	id, err := web.PathID(c, "id", feedback.ErrSurveyNotFound)
	if err != nil {
		return err
	}
	cid, err := bson.ObjectIDFromHex(in.CustomerID)
	if err != nil {
		return customers.ErrNotFound
	}
	who, err := a.Customers.Get(c.UserContext(), cid)
	if err != nil {
		return err
	}
	r, created, err := a.Feedback.Answer(c.UserContext(), who, id, in.AnswerInput, "api")
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(r)
}
