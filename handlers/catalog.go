package handlers

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/reviews"
)

// catalogRoutes are the product team's pages: the product catalogue and purchases.
func (s *Server) catalogRoutes(admin fiber.Router) {
	product := web.RequireRole(customers.RoleProduct)
	admin.Get("/products", product, s.adminProducts)
	admin.Post("/products", product, s.adminProductCreate)
	admin.Post("/products/import", product, s.adminProductImport)
	admin.Get("/products/:slug", product, s.adminProductPage)
	admin.Post("/products/:slug", product, s.adminProductUpdate)
	admin.Post("/accounts/:id/purchases", web.RequireRole(customers.RoleAdmin), s.accountPurchase)
}

type adminProductsData struct {
	Products []*reviews.Product
	Next     string
	Form     *form
	Imported []reviews.ImportResult // the lines of a file just imported
	Import   string                 // what was wrong with the file itself
}

func (s *Server) adminProducts(c *fiber.Ctx) error {
	return s.renderAdminProducts(c, fiber.StatusOK, adminProductsData{})
}

// adminProductImport imports a JSON Lines file of products, chosen in the page's form: the
// same import as POST /api/v1/products/import, line by line with what each line did.
func (s *Server) adminProductImport(c *fiber.Ctx) error {
	lang := s.language(c)
	fh, err := c.FormFile("file")
	if err != nil {
		return s.renderAdminProducts(c, fiber.StatusUnprocessableEntity, adminProductsData{Import: s.catalog.T(lang, "admin.products.import_choose")})
	}
	f, err := fh.Open()
	if err != nil {
		return s.renderAdminProducts(c, fiber.StatusUnprocessableEntity, adminProductsData{Import: s.catalog.T(lang, "admin.products.import_choose")})
	}
	defer f.Close()
	results, err := s.deps.Reviews.ImportProducts(c.UserContext(), f, func(err error) map[string]string {
		return map[string]string{"error": s.catalog.Describe(lang, err)}
	})
	if err != nil {
		var fe *errs.Fields
		var de *errs.Error
		if errors.As(err, &fe) || errors.As(err, &de) {
			return s.renderAdminProducts(c, web.Status(err), adminProductsData{Import: s.catalog.Describe(lang, err)})
		}
		return err
	}
	return s.renderAdminProducts(c, fiber.StatusOK, adminProductsData{Imported: results})
}

func (s *Server) renderAdminProducts(c *fiber.Ctx, status int, d adminProductsData) error {
	list, next, err := s.deps.Reviews.Products(c.UserContext(), c.Query("after"), 50)
	if err != nil {
		return err
	}
	d.Products = list
	if next != "" {
		d.Next = "/admin/products?after=" + next
	}
	return s.render(c, status, "admin/products", "admin.products.title", d)
}

func productValues(in reviews.ProductInput) map[string]string {
	return map[string]string{"slug": in.Slug, "name": in.Name, "description": in.Description,
		"image_url": in.ImageURL, "category": in.Category, "name_id": in.NameID, "description_id": in.DescriptionID,
		"archived": strconv.FormatBool(in.Archived)}
}

func (s *Server) adminProductCreate(c *fiber.Ctx) error {
	var in reviews.ProductInput
	if err := parseForm(c, &in); err != nil {
		return err
	}
	p, err := s.deps.Reviews.CreateProduct(c.UserContext(), in)
	if err != nil {
		f, err := s.formFailed(c, err, productValues(in))
		if err != nil {
			return err
		}
		return s.renderAdminProducts(c, fiber.StatusUnprocessableEntity, adminProductsData{Form: f})
	}
	s.flash(c, "flash.product_saved")
	return c.Redirect("/products/"+p.Slug, fiber.StatusSeeOther)
}

type adminProductData struct {
	Product *reviews.Product
	Form    *form
	// Review requests emailed for the product, and the reviews that followed them.
	Asked, Reviewed int
}

func (s *Server) adminProductPage(c *fiber.Ctx) error {
	p, err := s.deps.Reviews.Product(c.UserContext(), c.Params("slug"))
	if err != nil {
		return err
	}
	in := reviews.ProductInput{Slug: p.Slug, Name: p.Name, Description: p.Description, ImageURL: p.ImageURL, Category: p.Category,
		NameID: p.NameID, DescriptionID: p.DescriptionID, Archived: p.Archived}
	d := adminProductData{Product: p, Form: &form{Values: productValues(in)}}
	if d.Asked, d.Reviewed, err = s.deps.Reviews.RequestStats(c.UserContext(), p.ID); err != nil {
		return err
	}
	return s.render(c, fiber.StatusOK, "admin/product", "admin.products.edit", d)
}

func (s *Server) adminProductUpdate(c *fiber.Ctx) error {
	var in reviews.ProductInput
	if err := parseForm(c, &in); err != nil {
		return err
	}
	p, err := s.deps.Reviews.UpdateProduct(c.UserContext(), c.Params("slug"), in)
	if err != nil {
		f, err := s.formFailed(c, err, productValues(in))
		if err != nil {
			return err
		}
		current, err := s.deps.Reviews.Product(c.UserContext(), c.Params("slug"))
		if err != nil {
			return err
		}
		return s.render(c, fiber.StatusUnprocessableEntity, "admin/product", "admin.products.edit", adminProductData{Product: current, Form: f})
	}
	s.flash(c, "flash.product_saved")
	return c.Redirect("/products/"+p.Slug, fiber.StatusSeeOther)
}

// purchaseInput is the purchase form and the CRM's API call.
type purchaseInput struct {
	Product string `form:"product" json:"product"` // slug
	OrderID string `form:"order_id" json:"order_id"`
	Date    string `form:"date" json:"-"`
	At      string `form:"-" json:"at"` // RFC 3339
	// The form takes the amount in the currency's main unit ("12.50"); the API in minor
	// units (1250) with the currency, as payment APIs do.
	Amount      string `form:"amount" json:"-"`
	AmountMinor int64  `form:"-" json:"amount"`
	Currency    string `form:"-" json:"currency"`
}

// purchase turns the input into a purchase of a known product.
func (s *Server) purchase(c *fiber.Ctx, in purchaseInput) (customers.Purchase, error) {
	p := customers.Purchase{OrderID: in.OrderID, Amount: in.AmountMinor, Currency: in.Currency}
	var f errs.Fields
	if in.Amount != "" {
		major, err := strconv.ParseFloat(strings.TrimSpace(in.Amount), 64)
		if err != nil || math.IsNaN(major) || math.IsInf(major, 0) || major > 1e15 {
			f.Add("amount", "field.amount")
		}
		p.Amount = customers.Minor(major, s.deps.Customers.Currency())
	}
	if product, err := s.deps.Reviews.Product(c.UserContext(), in.Product); err != nil {
		f.Add("product", "product.not_found")
	} else {
		p.ProductID = product.ID
	}
	switch {
	case in.Date != "":
		t, err := time.Parse("2006-01-02", in.Date)
		if err != nil {
			f.Add("date", "field.date")
		}
		p.At = t
	case in.At != "":
		t, err := time.Parse(time.RFC3339, in.At)
		if err != nil {
			f.Add("at", "field.datetime")
		}
		p.At = t
	}
	return p, f.Err()
}

func (s *Server) accountPurchase(c *fiber.Ctx) error {
	id, err := s.accountID(c)
	if err != nil {
		return err
	}
	var in purchaseInput
	if err := parseForm(c, &in); err != nil {
		return err
	}
	p, err := s.purchase(c, in)
	if err == nil {
		_, err = s.deps.Reviews.RecordPurchase(c.UserContext(), id, p)
	}
	if err != nil {
		return s.accountFailed(c, id, err)
	}
	return s.backToAccounts(c, "flash.purchase_saved")
}
