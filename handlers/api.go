package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/customers"
)

func (s *Server) apiRoutes(api fiber.Router) {
	api.Get("/me", s.signedIn, s.apiMe)
}

// meJSON is the caller's own record; email is theirs to see.
type meJSON struct {
	ID          string           `json:"id"`
	DisplayName string           `json:"display_name"`
	Email       string           `json:"email,omitempty"`
	Roles       []customers.Role `json:"roles"`
	Locale      string           `json:"locale,omitempty"`
	Status      customers.Status `json:"status"`
	AvatarURL   string           `json:"avatar_url,omitempty"`
}

func (s *Server) apiMe(c *fiber.Ctx) error {
	u := currentUser(c)
	return c.JSON(meJSON{
		ID: u.ID.Hex(), DisplayName: u.DisplayName, Email: u.Email, Roles: u.Roles,
		Locale: u.Locale, Status: u.Status, AvatarURL: u.AvatarURL,
	})
}
