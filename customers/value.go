package customers

import (
	"math"
	"time"

	"golang.org/x/text/currency"
)

// DefaultCurrency is the portal's currency when none is configured.
const DefaultCurrency = "IDR"

// lifespanYears is how long a relationship is expected to last, for the CLTV estimate.
const lifespanYears = 3

// Value is what a customer has bought, in the portal's currency. Amounts are integers in
// the currency's minor units (CLDR's standard digits: IDR and JPY 0, USD and EUR 2).
type Value struct {
	Currency string     `bson:"currency,omitempty" json:"currency,omitempty"`
	Total    int64      `bson:"total" json:"total"`
	Orders   int        `bson:"orders" json:"orders"`
	FirstAt  *time.Time `bson:"first_at,omitempty" json:"first_at,omitempty"`
	LastAt   *time.Time `bson:"last_at,omitempty" json:"last_at,omitempty"`
	// CLTV estimates the customer's lifetime value (see valueOf): what the at-risk list and
	// the ideas' voters are weighed by.
	CLTV int64 `bson:"cltv" json:"cltv"`
}

// AverageOrder is the total over the orders, in minor units.
func (v Value) AverageOrder() int64 {
	if v.Orders == 0 {
		return 0
	}
	return v.Total / int64(v.Orders)
}

// valueOf sums the purchases in the portal's currency. The lifetime value is the simple textbook estimate:
// average order value × orders a year × an expected relationship of three years, where
// orders a year are counted over the time between the first and the last order, at least
// a year (so one order yesterday is one order a year, not hundreds). It moves only with
// purchases, never with the clock.
func valueOf(purchases []Purchase, cur string) Value {
	v := Value{Currency: cur}
	orders := map[string]bool{}
	for _, p := range purchases {
		if p.Currency != cur {
			continue // recorded before the portal changed currency: not added to the others
		}
		v.Total += p.Amount
		orders[p.OrderID] = true
		at := p.At
		if v.FirstAt == nil || at.Before(*v.FirstAt) {
			v.FirstAt = &at
		}
		if v.LastAt == nil || at.After(*v.LastAt) {
			v.LastAt = &at
		}
	}
	v.Orders = len(orders)
	if v.Orders == 0 {
		return v
	}
	years := math.Max(1, v.LastAt.Sub(*v.FirstAt).Hours()/(24*365.25))
	perYear := float64(v.Orders) / years
	v.CLTV = int64(math.Round(float64(v.AverageOrder()) * perYear * lifespanYears))
	return v
}

// MinorDigits is how many digits a currency's minor unit has (2 for USD: cents).
func MinorDigits(code string) (int, bool) {
	u, err := currency.ParseISO(code)
	if err != nil {
		return 0, false
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale, true
}

// Major turns an amount in minor units into the currency's main unit (12345 cents: 123.45).
func Major(amount int64, code string) float64 {
	digits, _ := MinorDigits(code)
	return float64(amount) / math.Pow10(digits)
}

// Minor turns an amount in the main unit into minor units, rounded.
func Minor(amount float64, code string) int64 {
	digits, _ := MinorDigits(code)
	return int64(math.Round(amount * math.Pow10(digits)))
}
