package frontend

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/guyub/guyub/errs"
)

// DefaultLanguage is the language of the portal when nothing else decides.
const DefaultLanguage = "en"

// Catalog holds the messages of every language in locales/ and picks the best language for
// a request.
type Catalog struct {
	bundle     *i18n.Bundle
	languages  []string // "en" first, then the others in file order
	matcher    language.Matcher
	localizers map[string]*i18n.Localizer
	matches    sync.Map     // Accept-Language header → its match, see Match
	matched    atomic.Int32 // how many matches are kept
}

// maxMatches bounds the matches kept: browsers send few distinct headers, and odd ones must
// not grow memory.
const maxMatches = 1000

// Languages lists the languages there are message files for, without loading them.
func Languages() []string {
	names, _ := fs.Glob(files, "locales/*.json") // the pattern is valid
	langs := []string{DefaultLanguage}
	for _, name := range names {
		if lang := strings.TrimSuffix(path.Base(name), ".json"); lang != DefaultLanguage {
			langs = append(langs, lang)
		}
	}
	return langs
}

// LoadCatalog reads locales/*.json, one file per language (en.json, id.json).
func LoadCatalog() (*Catalog, error) {
	bundle := i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("json", json.Unmarshal)
	c := &Catalog{bundle: bundle, localizers: map[string]*i18n.Localizer{}}
	names, err := fs.Glob(files, "locales/*.json")
	if err != nil {
		return nil, err
	}
	var tags []language.Tag
	for _, name := range names {
		if _, err := bundle.LoadMessageFileFS(files, name); err != nil {
			return nil, fmt.Errorf("locale %s: %w", name, err)
		}
		lang := strings.TrimSuffix(path.Base(name), ".json")
		tag := language.Make(lang)
		if lang == DefaultLanguage {
			c.languages = append([]string{lang}, c.languages...)
			tags = append([]language.Tag{tag}, tags...)
		} else {
			c.languages = append(c.languages, lang)
			tags = append(tags, tag)
		}
		c.localizers[lang] = i18n.NewLocalizer(bundle, lang)
	}
	if _, ok := c.localizers[DefaultLanguage]; !ok {
		return nil, fmt.Errorf("locales: no %s.json", DefaultLanguage)
	}
	c.matcher = language.NewMatcher(tags)
	return c, nil
}

// Languages lists the supported language codes, the default first.
func (c *Catalog) Languages() []string { return c.languages }

// Supports reports whether lang is one of the catalog's languages.
func (c *Catalog) Supports(lang string) bool {
	_, ok := c.localizers[lang]
	return ok
}

// Match picks the supported language closest to an Accept-Language header, or fallback.
// A header's match is remembered: parsing it took a tenth of a cached page's time.
func (c *Catalog) Match(acceptLanguage, fallback string) string {
	if lang, ok := c.matches.Load(acceptLanguage); ok {
		return cmp.Or(lang.(string), fallback)
	}
	lang := c.match(acceptLanguage)
	if c.matched.Load() < maxMatches {
		if _, loaded := c.matches.LoadOrStore(strings.Clone(acceptLanguage), lang); !loaded {
			c.matched.Add(1)
		}
	}
	return cmp.Or(lang, fallback)
}

// match is the supported language closest to an Accept-Language header, or "" if none is.
func (c *Catalog) match(acceptLanguage string) string {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return ""
	}
	_, index, confidence := c.matcher.Match(tags...)
	if confidence == language.No {
		return ""
	}
	return c.languages[index]
}

// T translates a message. args are name/value pairs for the message's template
// ("Count", 3 also chooses the plural form). A missing message shows its ID, so a gap is
// visible on the page and caught by the catalog test rather than failing the request.
func (c *Catalog) T(lang, id string, args ...any) string {
	loc, ok := c.localizers[lang]
	if !ok {
		loc = c.localizers[DefaultLanguage]
	}
	cfg := &i18n.LocalizeConfig{MessageID: id}
	if len(args) > 0 {
		data := make(map[string]any, len(args)/2)
		for i := 0; i+1 < len(args); i += 2 {
			key := fmt.Sprint(args[i])
			data[key] = args[i+1]
			if key == "Count" {
				cfg.PluralCount = args[i+1]
			}
		}
		cfg.TemplateData = data
	}
	msg, err := loc.Localize(cfg)
	if err != nil {
		return id
	}
	return msg
}

// MessageIDs lists the message IDs defined for a language, for completeness tests.
func (c *Catalog) MessageIDs(lang string) ([]string, error) {
	b, err := files.ReadFile("locales/" + lang + ".json")
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	return ids, nil
}

// Describe puts an error a service returned into words: a domain error's message, or one
// message per invalid field. Anything else is described by its own text.
func (c *Catalog) Describe(lang string, err error) string {
	var fields *errs.Fields
	if errors.As(err, &fields) {
		parts := make([]string, 0, len(fields.Order))
		for _, name := range fields.Order {
			m := fields.ByName[name]
			parts = append(parts, name+": "+c.T(lang, m.ID, m.Args...))
		}
		return strings.Join(parts, "; ")
	}
	var domain *errs.Error
	if errors.As(err, &domain) {
		return c.T(lang, domain.Message.ID, domain.Message.Args...)
	}
	return err.Error()
}
