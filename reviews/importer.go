package reviews

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/guyub/guyub/errs"
)

// ImportResult is what happened to one line of a product import.
type ImportResult struct {
	Line   int               `json:"line"`
	Slug   string            `json:"slug,omitempty"`
	Status string            `json:"status"` // created, updated or error
	Errors map[string]string `json:"errors,omitempty"`
}

// MaxImportLines bounds one import request.
const MaxImportLines = 10000

// ImportProducts reads one JSON product per line and creates it, or updates the product
// with the same slug: importing a file twice changes nothing the second time. describe
// words a line's problem for the caller's language.
func (s *Service) ImportProducts(ctx context.Context, r io.Reader, describe func(error) map[string]string) ([]ImportResult, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var results []ImportResult
	line := 0
	for sc.Scan() {
		line++
		if line > MaxImportLines {
			return results, errs.New(errs.ErrInvalid, "product.import_too_long", "Max", MaxImportLines)
		}
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		res := ImportResult{Line: line}
		var in ProductInput
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			res.Status, res.Errors = "error", map[string]string{"line": err.Error()}
			results = append(results, res)
			continue
		}
		if err := in.Validate(); err != nil {
			res.Status, res.Errors = "error", describe(err)
			results = append(results, res)
			continue
		}
		res.Slug = in.Slug
		_, err := s.UpdateProduct(ctx, in.Slug, in)
		switch {
		case err == nil:
			res.Status = "updated"
		case errors.Is(err, ErrProductNotFound):
			_, err := s.CreateProduct(ctx, in)
			switch {
			case err == nil:
				res.Status = "created"
			case statusLike(err):
				res.Status, res.Errors = "error", describe(err)
			default:
				return results, err // ours, not the line's: a 500, not a message
			}
		default:
			if statusLike(err) {
				res.Status, res.Errors = "error", describe(err)
			} else {
				return results, err
			}
		}
		results = append(results, res)
	}
	if err := sc.Err(); err != nil {
		return results, errs.New(errs.ErrInvalid, "product.import_unreadable")
	}
	return results, nil
}

// statusLike tells a user's mistake from a failure of ours.
func statusLike(err error) bool {
	var fields *errs.Fields
	var domain *errs.Error
	return errors.As(err, &fields) || errors.As(err, &domain)
}
