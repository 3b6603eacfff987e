// Package customers owns the customer record: profile, roles, sign-in identities,
// suspension, and (as they land) purchases, satisfaction score and lifecycle stage.
// Nothing outside this package touches the customers or identities collections.
package customers

import (
	"slices"
	"strings"
	"time"
	"unicode"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Role is what a customer may do beyond contributing.
type Role string

const (
	RoleCustomer  Role = "customer"
	RoleModerator Role = "moderator"
	RoleProduct   Role = "product"
	RoleAdmin     Role = "admin"
)

// Roles lists every role, least powerful first.
var Roles = []Role{RoleCustomer, RoleModerator, RoleProduct, RoleAdmin}

// ParseRole accepts a role's name.
func ParseRole(s string) (Role, bool) {
	r := Role(strings.TrimSpace(strings.ToLower(s)))
	return r, slices.Contains(Roles, r)
}

// Status of an account.
type Status string

const (
	StatusActive    Status = "active"
	StatusSuspended Status = "suspended"
	// StatusErased is the record that stands for an erased member: their kept contributions
	// are under it, with no name, address or history.
	StatusErased Status = "erased"
)

// ErasedName is the name an erased member's kept contributions are shown under (stored,
// and what the API says); NameIn gives it in the reader's language.
const ErasedName = "Deleted member"

// erasedNames is ErasedName in each language the portal speaks.
var erasedNames = map[string]string{"en": ErasedName, "id": "Anggota terhapus"}

// Identity is a sign-in with a social or OpenID Connect provider.
type Identity struct {
	Provider string    `bson:"provider" json:"provider"`
	Subject  string    `bson:"subject" json:"-"`
	LinkedAt time.Time `bson:"linked_at" json:"linked_at"`
}

// Suspension says why and until when an account may not post.
type Suspension struct {
	Reason string        `bson:"reason"`
	By     bson.ObjectID `bson:"by"`
	At     time.Time     `bson:"at"`
	Until  *time.Time    `bson:"until,omitempty"` // nil: until reinstated
}

// Customer is the record of one person: every contribution lands here.
type Customer struct {
	ID            bson.ObjectID `bson:"_id"`
	Email         string        `bson:"email,omitempty"` // lower-cased; absent for a social login without email
	EmailVerified bool          `bson:"email_verified"`
	DisplayName   string        `bson:"display_name"`
	AvatarURL     string        `bson:"avatar_url,omitempty"`
	Locale        string        `bson:"locale,omitempty"`
	Roles         []Role        `bson:"roles"`
	// Staff is set whenever the roles are: lists leave staff out by this field's index (a
	// condition on the roles array is a scan on the embedded database).
	Staff        bool        `bson:"staff"`
	Identities   []Identity  `bson:"identities"` // a copy for display; the identities collection is the unique guard
	PasswordHash string      `bson:"password_hash,omitempty"`
	Status       Status      `bson:"status"`
	Suspension   *Suspension `bson:"suspension,omitempty"`
	Purchases    []Purchase  `bson:"purchases,omitempty"` // a copy of the purchases collection's
	Value        Value       `bson:"value"`
	Counters     Counters    `bson:"counters"`
	// EmailPrefs says, per kind of notification, whether and when it is emailed
	// (EmailOff, EmailInstant, EmailDaily, EmailWeekly); a kind not here has its default.
	EmailPrefs map[string]string `bson:"email_prefs,omitempty"`
	// ReviewedProducts are the products the customer reviewed (for the stage rules).
	ReviewedProducts   []bson.ObjectID `bson:"reviewed_products,omitempty"`
	Satisfaction       Satisfaction    `bson:"satisfaction"`
	ScoreTrail         []ScorePoint    `bson:"score_trail,omitempty"` // the score after each recent signal
	Mood               Mood            `bson:"mood"`
	Risk               Risk            `bson:"risk"`
	FollowUps          FollowUps       `bson:"followups"`
	Stage              Stage           `bson:"stage"`
	StageHistory       []StageChange   `bson:"stage_history,omitempty"`
	ReachedExpansionAt *time.Time      `bson:"reached_expansion_at,omitempty"`
	CreatedAt          time.Time       `bson:"created_at"`
	UpdatedAt          time.Time       `bson:"updated_at"`
	LastActiveAt       time.Time       `bson:"last_active_at"`
	// Loyalty is the member's place in the loyalty programme, kept by package loyalty.
	Loyalty Loyalty `bson:"loyalty"`
	Version int     `bson:"version"`
	// SignalsBatch marks the record with the last batch of signals (RecordSignals) counted
	// on it: the batch's writes go in one command, which tells how many landed but not which.
	SignalsBatch bson.ObjectID `bson:"signals_batch,omitempty"`
}

// Loyalty is a member's points balance, trust level and standing.
type Loyalty struct {
	Points int `bson:"points" json:"points"` // to spend
	// Earned is every point ever earned less those taken back, spending aside: what the
	// trust level reads, so that redeeming a reward never lowers it.
	Earned int `bson:"earned" json:"earned"`
	Level  int `bson:"level" json:"level"`
	// StrikeAt is when a moderator last rejected or hid something of theirs: it holds the
	// level down for a while (loyalty.Standing).
	StrikeAt *time.Time `bson:"strike_at,omitempty" json:"-"`
}

// Counters count a customer's contributions.
type Counters struct {
	Threads  int `bson:"threads" json:"threads"`
	Posts    int `bson:"posts" json:"posts"`
	Reviews  int `bson:"reviews" json:"reviews"`
	Ideas    int `bson:"ideas" json:"ideas"`
	Votes    int `bson:"votes" json:"votes"`
	Feedback int `bson:"feedback" json:"feedback"`
	Accepted int `bson:"accepted" json:"accepted"` // answers of theirs accepted in the forums
}

// Facts are what the stage rules see of the customer at time now.
func (c *Customer) Facts(now time.Time) Facts {
	products := map[bson.ObjectID]bool{}
	for _, p := range c.Purchases {
		products[p.ProductID] = true
	}
	for _, p := range c.ReviewedProducts {
		products[p] = true
	}
	k := c.Counters
	return Facts{
		Contributions: k.Threads + k.Posts + k.Ideas + k.Votes + k.Feedback + k.Reviews + k.Accepted,
		Purchases:     len(c.Purchases), Reviews: k.Reviews, Products: len(products),
		Satisfaction: c.Satisfaction, LastActive: c.LastActiveAt, ReachedExpansionAt: c.ReachedExpansionAt, Now: now,
	}
}

// HasRole reports whether the customer holds role. Admins hold every role.
func (c *Customer) HasRole(role Role) bool {
	if role != RoleCustomer && c.IsSuspended() {
		return false // a suspension takes every staff power, through pages and tokens alike
	}
	return slices.Contains(c.Roles, role) || slices.Contains(c.Roles, RoleAdmin)
}

// Rank orders what an account may do to another: customers 0, moderators and product staff
// 1, admins 2. Nobody acts on a higher rank, and only admins act on staff.
func (c *Customer) Rank() int {
	switch {
	case slices.Contains(c.Roles, RoleAdmin):
		return 2
	case slices.Contains(c.Roles, RoleModerator), slices.Contains(c.Roles, RoleProduct):
		return 1
	}
	return 0
}

// MayActOn says whether c may suspend, reinstate or otherwise act on target: an admin on
// anyone, other staff on customers only.
func (c *Customer) MayActOn(target *Customer) bool {
	if !c.IsStaff() {
		return false
	}
	if target.Rank() == 0 {
		return true
	}
	return c.HasRole(RoleAdmin) // staff and admins are acted on by admins only
}

// HasAnyRole reports whether the customer holds one of roles.
func (c *Customer) HasAnyRole(roles ...Role) bool {
	return slices.ContainsFunc(roles, c.HasRole)
}

// IsStaff is true for moderators, product team members and admins.
func (c *Customer) IsStaff() bool {
	return c.HasAnyRole(StaffRoles...)
}

// StaffRoles are the roles of the company's people.
var StaffRoles = []Role{RoleModerator, RoleProduct, RoleAdmin}

func staffRoles(roles []Role) bool {
	return slices.ContainsFunc(roles, func(r Role) bool { return slices.Contains(StaffRoles, r) })
}

// SuspendedAt reports whether the account may not post at time now.
func (c *Customer) SuspendedAt(now time.Time) bool {
	if c.Status != StatusSuspended || c.Suspension == nil {
		return false
	}
	return c.Suspension.Until == nil || now.Before(*c.Suspension.Until)
}

// IsSuspended reports whether the account may not post now.
func (c *Customer) IsSuspended() bool { return c.SuspendedAt(time.Now()) }

// HasIdentity reports whether the customer signs in with provider.
func (c *Customer) HasIdentity(provider string) bool {
	return slices.ContainsFunc(c.Identities, func(i Identity) bool { return i.Provider == provider })
}

// NameIn is the name a reader of lang sees: the member's own, or for an erased member's
// pseudonym the words for it in that language.
func (c *Customer) NameIn(lang string) string {
	if name, ok := erasedNames[lang]; ok && c.Status == StatusErased {
		return name
	}
	return c.DisplayName
}

// Initials are shown when there is no avatar: up to two letters of the display name.
func (c *Customer) Initials() string {
	var out []rune
	for _, word := range strings.Fields(c.DisplayName) {
		r := []rune(word)[0]
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			out = append(out, unicode.ToUpper(r))
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// ValidEmail reports whether a normalised address looks like one: a name, an @, a domain
// with a dot, no spaces or brackets.
func ValidEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(s, " \t\r\n<>") &&
		!strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".") && len(s) <= 254
}

// NormalizeEmail lower-cases and trims an address so that one person has one record.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// HasOwnRole reports whether role is among the customer's roles, without the admin's
// implicit ones (for showing what is assigned).
func (c *Customer) HasOwnRole(role Role) bool { return slices.Contains(c.Roles, role) }
