package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/guyub/guyub/errs"
	"github.com/guyub/guyub/handlers/web"
)

// checkText refuses, before any handler runs, a request whose text could not be stored as
// written: invalid UTF-8 (encoding/json would quietly turn it into U+FFFD), NUL, and the
// other control characters no keyboard types. Query parameters, form fields and every
// string in a JSON (or JSON Lines) body are read; the answer names the field.
func checkText(c *fiber.Ctx) error {
	var bad string
	visit := func(key, value []byte) {
		if bad == "" && (!web.CleanText(key) || !web.CleanText(value)) {
			bad = fieldName(key)
		}
	}
	c.Context().QueryArgs().VisitAll(visit)
	if bad == "" && len(c.Body()) > 0 {
		ct := strings.ToLower(c.Get(fiber.HeaderContentType))
		switch {
		case strings.HasPrefix(ct, fiber.MIMEApplicationForm):
			c.Context().PostArgs().VisitAll(visit)
		case strings.HasPrefix(ct, fiber.MIMEMultipartForm):
			if form, err := c.MultipartForm(); err == nil {
				for key, values := range form.Value {
					for _, v := range values {
						visit([]byte(key), []byte(v))
					}
				}
			}
		default:
			bad = badJSONText(c.Body())
		}
	}
	if bad != "" {
		return errs.Field(bad, "field.bad_text")
	}
	return c.Next()
}

// fieldName is how a field is named in an error: itself if printable, else "body".
func fieldName(key []byte) string {
	if !web.CleanText(key) || len(key) == 0 || len(key) > 64 {
		return "body"
	}
	return string(key)
}

// badJSONText names the first field of a JSON body whose text is not clean ("body" when
// the text is not inside a named field), or "" if all is well. A body that is not JSON is
// left to its handler to refuse; only its bytes are checked.
func badJSONText(body []byte) string {
	if !web.CleanText(body) {
		return "body" // raw bytes: JSON allows no other control character outside strings either
	}
	if bytes.IndexByte(body, '\\') < 0 {
		return "" // no escapes: the bytes are the text, and they are clean
	}
	bad, ok := badJSONValues(body)
	if ok {
		return bad
	}
	// Not one JSON text: JSON Lines, whose importer reads each line on its own.
	for line := range bytes.SplitSeq(body, []byte("\n")) {
		if bad, _ := badJSONValues(line); bad != "" {
			return bad
		}
	}
	return ""
}

// badJSONValues walks the JSON values in b and names the field of the first string that is
// not clean text ("body" when it is not inside a named field). ok is false if b is not a
// sequence of JSON values; what was found before the error is still reported.
func badJSONValues(b []byte) (bad string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	// inObject[i] tells whether the i-th open container is an object; key is the last key
	// read, and wantKey whether the next string in an object is a key.
	var inObject []bool
	key, wantKey := "body", false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return "", true
		}
		if err != nil {
			return "", false
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				inObject, wantKey = append(inObject, true), true
			case '[':
				inObject, wantKey = append(inObject, false), false
			default:
				inObject = inObject[:len(inObject)-1]
				wantKey = len(inObject) > 0 && inObject[len(inObject)-1]
			}
		case string:
			if !web.CleanText([]byte(t)) {
				if wantKey {
					return "body", true
				}
				return key, true
			}
			if wantKey {
				key = fieldName([]byte(t))
			}
			wantKey = len(inObject) > 0 && inObject[len(inObject)-1] && !wantKey
		default:
			wantKey = len(inObject) > 0 && inObject[len(inObject)-1]
		}
	}
}
