// Package demo loads the demo content, in English and Bahasa Indonesia, so a newcomer sees
// a lived-in portal. Loading is idempotent: what exists already is left as it is. Each
// feature adds its own content here.
package demo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/guyub/guyub/community"
	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/feedback"
	"github.com/guyub/guyub/identity"
	"github.com/guyub/guyub/loyalty"
	"github.com/guyub/guyub/moderation"
	"github.com/guyub/guyub/reviews"
)

// Deps are the services the demo content is written through, so it obeys the same rules
// as content people write.
type Deps struct {
	Customers  *customers.Service
	Identity   *identity.Service
	Reviews    *reviews.Service
	Community  *community.Service
	Moderation *moderation.Service
	Feedback   *feedback.Service
	Loyalty    *loyalty.Service // nil: no loyalty programme in the demo
}

// The demo admin's sign-in. It is public: demo data is for trying the portal out.
const (
	AdminEmail    = "admin@guyub.example"
	AdminPassword = "guyub-demo-2026"
)

// person is a demo account.
type person struct {
	Email, Name, Locale string
	Roles               []customers.Role
	Days                int // a member for this long already
}

var people = []person{
	{AdminEmail, "Admin Guyub", "en", []customers.Role{customers.RoleAdmin}, 0},
	{"moderator@guyub.example", "Sari Wulandari", "id", []customers.Role{customers.RoleModerator}, 0},
	{"product@guyub.example", "Daniel Hughes", "en", []customers.Role{customers.RoleProduct}, 0},
	{"ayu@guyub.example", "Ayu Lestari", "id", nil, 400},
	{"budi@guyub.example", "Budi Santoso", "id", nil, 120},
	{"emma@guyub.example", "Emma Clarke", "en", nil, 30},
	{"rahul@guyub.example", "Rahul Mehta", "en", nil, 10},
}

// Load writes the demo content that is not there yet and says how to sign in.
func Load(ctx context.Context, d Deps) (string, error) {
	created := 0
	for _, p := range people {
		c, err := d.Customers.FindByEmail(ctx, p.Email)
		if errors.Is(err, customers.ErrNotFound) {
			// Every demo member shares the admin's password, so any of them can be tried.
			c, err = d.Identity.CreateAccount(ctx, identity.SignUp{Email: p.Email, DisplayName: p.Name, Password: AdminPassword, Locale: p.Locale}, true)
			created++
			if err == nil && p.Days > 0 { // members for a while, so their levels and votes count
				err = d.Customers.Backdate(ctx, c.ID, time.Now().AddDate(0, 0, -p.Days))
			}
		}
		if err != nil {
			return "", fmt.Errorf("demo account %s: %w", p.Email, err)
		}
		// Checked every time, so a run stopped half-way is completed by the next.
		if !slices.ContainsFunc(p.Roles, func(r customers.Role) bool { return !c.HasOwnRole(r) }) {
			continue
		}
		if err := d.Customers.SetRoles(ctx, c.ID, append(c.Roles, p.Roles...)); err != nil {
			return "", err
		}
	}
	madeProducts, madeReviews, err := loadReviews(ctx, d)
	if err != nil {
		return "", err
	}
	var threads, ideas int
	if d.Community != nil {
		if threads, ideas, err = loadCommunity(ctx, d); err != nil {
			return "", err
		}
	}
	if d.Feedback != nil {
		if err := loadSurveys(ctx, d); err != nil {
			return "", err
		}
		if err := loadInsights(ctx, d, time.Now().UTC()); err != nil {
			return "", err
		}
	}
	if d.Loyalty != nil {
		if err := loadLoyalty(ctx, d); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	if created+madeProducts+madeReviews+threads+ideas > 0 {
		fmt.Fprintf(&b, "Demo content loaded: %d accounts, %d products, %d reviews, %d threads, %d ideas.\n", created, madeProducts, madeReviews, threads, ideas)
	} else {
		b.WriteString("Demo content is already loaded.\n")
	}
	fmt.Fprintf(&b, "Sign in as the demo admin: %s / %s\n", AdminEmail, AdminPassword)
	fmt.Fprintf(&b, "Other demo members (same password): %s", strings.Join(otherEmails(), ", "))
	return b.String(), nil
}

func otherEmails() []string {
	var out []string
	for _, p := range people[1:] {
		out = append(out, p.Email)
	}
	return out
}
