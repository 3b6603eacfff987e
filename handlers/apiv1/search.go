package apiv1

import (
	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
)

func (a *API) apiSearch(c *fiber.Ctx) error {
	res, err := a.Search.Search(c.UserContext(), web.SearchQuery(c))
	if err != nil {
		a.Log.Warn("search failed", "err", err)
		return errs.New(errs.ErrUnavailable, "search.unavailable") // a 503 that says so, not a 500
	}
	return c.JSON(res)
}
