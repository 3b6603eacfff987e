package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/handlers/apiv1"
)

// developersPage is the API's readable reference, made from its OpenAPI description.
func (s *Server) developersPage(c *fiber.Ctx) error {
	sections, err := apiv1.Reference()
	if err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "developers", "developers.title", developersData{Sections: sections, BaseURL: s.cfg.BaseURL + "/api/v1"})
}

type developersData struct {
	Sections []apiv1.Section
	BaseURL  string
}
