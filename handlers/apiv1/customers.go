package apiv1

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
)

func (a *API) apiKPIs(c *fiber.Ctx) error {
	q, err := web.KPIQuery(c)
	if err != nil {
		return err
	}
	k, err := a.Feedback.KPIs(c.UserContext(), q)
	if err != nil {
		return err
	}
	return c.JSON(k)
}

// customerJSON is the record as the API shows it; email and purchases only for product
// and admin.
type customerJSON struct {
	ID           string                  `json:"id"`
	DisplayName  string                  `json:"display_name"`
	Email        string                  `json:"email,omitempty"`
	Purchases    []customers.Purchase    `json:"purchases,omitempty"`
	Value        *customers.Value        `json:"value,omitempty"`
	Satisfaction customers.Satisfaction  `json:"satisfaction"`
	Risk         customers.Risk          `json:"risk"`
	FollowUps    customers.FollowUps     `json:"followups"`
	Stage        customers.Stage         `json:"stage"`
	StageHistory []customers.StageChange `json:"stage_history"`
	Counters     customers.Counters      `json:"counters"`
	CreatedAt    time.Time               `json:"created_at"`
	LastActiveAt time.Time               `json:"last_active_at"`
}

func recordJSON(m *customers.Customer, full bool) customerJSON {
	out := customerJSON{ID: m.ID.Hex(), DisplayName: m.DisplayName, Satisfaction: m.Satisfaction, Risk: m.Risk, FollowUps: m.FollowUps, Stage: m.Stage,
		StageHistory: orEmpty(m.StageHistory), Counters: m.Counters, CreatedAt: m.CreatedAt, LastActiveAt: m.LastActiveAt}
	if full {
		out.Email, out.Purchases, out.Value = m.Email, m.Purchases, &m.Value
	}
	return out
}

func (a *API) apiCustomer(c *fiber.Ctx) error {
	m, err := a.customerFromPath(c)
	if err != nil {
		return err
	}
	return c.JSON(recordJSON(m, web.User(c).HasRole(customers.RoleProduct)))
}

func (a *API) apiCustomers(c *fiber.Ctx) error {
	full := web.User(c).HasRole(customers.RoleProduct)
	// ?email= finds one customer by address (the shop's or CRM's key): for those who may see
	// addresses; a moderator's look-up would tell them who has an account.
	if email := c.Query("email"); email != "" {
		if !full {
			return errs.New(errs.ErrForbidden, "api.email_lookup")
		}
		m, err := a.Customers.FindByEmail(c.UserContext(), email)
		if errors.Is(err, customers.ErrNotFound) {
			return c.JSON(customersJSON{Customers: []customerJSON{}})
		}
		if err != nil {
			return err
		}
		return c.JSON(customersJSON{Customers: []customerJSON{recordJSON(m, true)}})
	}
	q := customers.Query{Stage: customers.Stage(c.Query("stage")), Band: c.Query("band"), NPS: c.Query("nps"), Limit: 100}
	if id, err := bson.ObjectIDFromHex(c.Query("before")); err == nil {
		q.Before = id
	}
	list, err := a.Customers.Search(c.UserContext(), q)
	if err != nil {
		return err
	}
	out := make([]customerJSON, len(list))
	for i, m := range list {
		out[i] = recordJSON(m, full)
	}
	next := ""
	if len(list) == q.Limit {
		next = list[len(list)-1].ID.Hex()
	}
	return c.JSON(customersJSON{Customers: out, NextBefore: next})
}

// customerFromPath is the customer the path's {id} names.
func (a *API) customerFromPath(c *fiber.Ctx) (*customers.Customer, error) {
	id, err := web.PathID(c, "id", customers.ErrNotFound)
	if err != nil {
		return nil, err
	}
	return a.Customers.Get(c.UserContext(), id)
}
