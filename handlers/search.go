package handlers

import (
	"net/url"
	"sort"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/customers"
	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/search"
)

func (s *Server) searchRoutes(app *fiber.App) {
	app.Get("/search", s.cached(s.searchPage))
	app.Get("/search/suggest", s.cached(s.searchSuggest))
}

// runSearch asks the index; an index that is down is a 503 with a message, not a 500.
func (s *Server) runSearch(c *fiber.Ctx, q search.Query) (*search.Results, error) {
	s.readsFrom(c, SearchIndex)
	res, err := s.deps.Search.Search(c.UserContext(), q)
	if err != nil {
		s.log.Warn("search failed", "err", err)
		return nil, errs.New(errs.ErrUnavailable, "search.unavailable")
	}
	return res, nil
}

type facetLink struct {
	Value, Label, URL string
	Count             int
	Active            bool
}

type searchData struct {
	Query        search.Query
	ProductNames map[string]string // by slug
	Results      *search.Results
	Facets       map[string][]facetLink
	Names        []string
	Prev         string
	Next         string
	Sorts        []string
	Staff        bool
	Status       string
}

// link is the current search with some parameters changed.
func link(c *fiber.Ctx, set map[string]string) string {
	v := url.Values{}
	for _, k := range []string{"q", "kind", "product", "category", "rating", "lang_filter", "sort", "status"} {
		if x := c.Query(k); x != "" {
			v.Set(k, x)
		}
	}
	for k, x := range set {
		if x == "" {
			v.Del(k)
		} else {
			v.Set(k, x)
		}
	}
	return "/search?" + v.Encode()
}

func (s *Server) searchPage(c *fiber.Ctx) error {
	q := web.SearchQuery(c)
	d := searchData{Query: q, Sorts: []string{search.SortRelevance, search.SortNewest, search.SortRating}, Names: search.Facets, Status: c.Query("status")}
	if u := web.User(c); u != nil {
		d.Staff = u.HasAnyRole(customers.RoleModerator, customers.RoleProduct)
	}
	res, err := s.runSearch(c, q)
	if err != nil {
		return err
	}
	d.Results = res
	d.Facets = map[string][]facetLink{}
	param := map[string]string{"kind": "kind", "product": "product", "category": "category", "forum": "forum", "rating": "rating", "lang": "lang_filter"}
	current := map[string]string{"kind": q.Kind, "product": q.Product, "category": q.Category, "forum": q.Forum, "rating": strconv.Itoa(q.Rating), "lang": q.Lang}
	// Forums are shown by their name in the reader's language.
	forums := map[string]string{}
	if len(res.Facets["forum"]) > 0 {
		cats, err := s.deps.Community.Categories(c.UserContext())
		if err != nil {
			return err
		}
		for _, cat := range cats {
			forums[cat.Slug] = cat.NameIn(s.language(c))
		}
	}
	// Products are shown by name: in the product facet and on the hits about them.
	var slugs []string
	for slug := range res.Facets["product"] {
		slugs = append(slugs, slug)
	}
	for _, h := range res.Hits {
		if h.Product != "" {
			slugs = append(slugs, h.Product)
		}
	}
	products, err := s.deps.Reviews.ProductsBySlug(c.UserContext(), slugs)
	if err != nil {
		return err
	}
	d.ProductNames = map[string]string{}
	for slug, p := range products {
		d.ProductNames[slug] = p.NameIn(s.language(c))
	}
	for _, name := range search.Facets {
		var links []facetLink
		for value, n := range res.Facets[name] {
			active := current[name] == value
			target := value
			if active {
				target = "" // a second click removes the filter
			}
			label := value
			switch name {
			case "product":
				if n, ok := d.ProductNames[value]; ok {
					label = n
				}
			case "lang":
				if n, ok := languageNames[value]; ok {
					label = n
				}
			case "forum":
				if n, ok := forums[value]; ok {
					label = n
				}
			}
			links = append(links, facetLink{Value: value, Label: label, Count: n, Active: active,
				URL: link(c, map[string]string{param[name]: target, "page": ""})})
		}
		sort.Slice(links, func(i, j int) bool {
			if name == "rating" {
				return links[i].Value > links[j].Value // 5 stars first, as a reader counts them
			}
			return links[i].Count > links[j].Count || (links[i].Count == links[j].Count && links[i].Label < links[j].Label)
		})
		d.Facets[name] = links
	}
	if q.Page > 1 {
		d.Prev = link(c, map[string]string{"page": strconv.Itoa(q.Page - 1)})
	}
	if q.Page < res.Pages && q.Page < 1000 { // Normalize stops at page 1000
		d.Next = link(c, map[string]string{"page": strconv.Itoa(q.Page + 1)})
	}
	return s.render(c, fiber.StatusOK, "search", "search.title", d)
}

// searchSuggest answers search-as-you-type and "similar questions" with a few titles.
func (s *Server) searchSuggest(c *fiber.Ctx) error {
	q := web.SearchQuery(c)
	q.PerPage, q.Page, q.Sort, q.NoFacets = 5, 1, search.SortRelevance, true
	if len([]rune(q.Text)) < 2 {
		return c.JSON(fiber.Map{"suggestions": []any{}})
	}
	res, err := s.runSearch(c, q)
	if err != nil {
		return err
	}
	type suggestion struct {
		Title string `json:"title"`
		URL   string `json:"url"`
		Kind  string `json:"kind"`
	}
	out := []suggestion{}
	for _, h := range res.Hits {
		out = append(out, suggestion{Title: h.Title, URL: h.URL, Kind: h.Kind})
	}
	c.Set(fiber.HeaderCacheControl, "private, max-age=30")
	return c.JSON(fiber.Map{"suggestions": out})
}
