package handlers

import (
	"errors"
	"strconv"

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

func (s *Server) accountPurchase(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id", customers.ErrNotFound)
	if err != nil {
		return err
	}
	var in web.PurchaseInput
	if err := parseForm(c, &in); err != nil {
		return err
	}
	p, err := web.Purchase(c, s.deps.Customers, s.deps.Reviews, in)
	if err == nil {
		_, err = s.deps.Reviews.RecordPurchase(c.UserContext(), id, p)
	}
	if err != nil {
		return s.accountFailed(c, id, err)
	}
	return s.backToAccounts(c, "flash.purchase_saved")
}
