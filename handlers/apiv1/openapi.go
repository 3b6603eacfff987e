package apiv1

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
	"github.com/gofiber/fiber/v2"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/guyub/guyub/handlers/web"
	"github.com/guyub/guyub/media"
)

// Describe is the OpenAPI 3.1 description of the whole API, made from the same table the
// routes are mounted from, with the schemas of the very types the handlers answer with.
func Describe() (*openapi3.T, error) {
	doc := &openapi3.T{
		OpenAPI: "3.1.0",
		Info: &openapi3.Info{Title: "Guyub API", Version: "1",
			Description: "The community portal's JSON API: reviews, forums, ideas, testimonials, surveys, customer records, " +
				"moderation and insights. Send a token as `Authorization: Bearer …` (scopes read, write, act_as; a staff " +
				"token with act_as may act for a customer with `X-Act-As: <customer id>`), or call it from a signed-in " +
				"browser with its `X-CSRF-Token`. Lists are read a page at a time by key. A write sent again with the same " +
				"`Idempotency-Key` is answered as the first time, without being done twice."},
		Servers: openapi3.Servers{{URL: "/api/v1"}},
		Paths:   openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: openapi3.Schemas{},
			SecuritySchemes: openapi3.SecuritySchemes{
				"token":   {Value: openapi3.NewSecurityScheme().WithType("http").WithScheme("bearer")},
				"session": {Value: openapi3.NewSecurityScheme().WithType("apiKey").WithIn("cookie").WithName("guyub_session")},
			},
			Responses: openapi3.ResponseBodies{},
		},
	}
	// Answers say which properties are always there and that there are no others; bodies
	// name what is accepted (the service says, per field, what it needs), under names of
	// their own when a type is both.
	schema := func(v any, input bool) (*openapi3.SchemaRef, error) {
		names, custom := schemaName, customize
		if input {
			names = func(t reflect.Type) string {
				n := schemaName(t)
				if n != "" && !strings.HasSuffix(n, "Input") {
					n += "Input"
				}
				return n
			}
			custom = func(name string, t reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
				err := customize(name, t, tag, s)
				s.Required = nil
				if s.AdditionalProperties.Has != nil { // the answers' "no others", not a map's values
					s.AdditionalProperties.Has = nil
				}
				return err
			}
		}
		gen := openapi3gen.NewGenerator( // one a type: a generator registers only the components it made itself
			openapi3gen.UseAllExportedFields(), // as encoding/json: exported fields without a tag are sent too
			openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{ExportComponentSchemas: true, ExportTopLevelSchema: true}),
			openapi3gen.CreateTypeNameGenerator(names),
			openapi3gen.SchemaCustomizer(custom),
		)
		ref, err := gen.NewSchemaRefForValue(v, doc.Components.Schemas)
		if err != nil {
			return nil, fmt.Errorf("schema of %T: %w", v, err)
		}
		return ref, nil
	}
	errRef, err := schema(web.ErrorBody{}, false)
	if err != nil {
		return nil, err
	}
	errorResponse := &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("An error: its message, and one per field for a 422").
		WithJSONSchemaRef(errRef)}

	for _, op := range (&API{}).operations() {
		o := &openapi3.Operation{OperationID: operationID(op), Summary: op.Summary, Tags: []string{op.Tag},
			Responses: openapi3.NewResponses(), Description: accessText[op.Access]}
		if op.Access != anyone {
			o.Security = &openapi3.SecurityRequirements{{"token": {}}, {"session": {}}}
		}
		for _, m := range pathParam.FindAllStringSubmatch(op.Path, -1) {
			o.Parameters = append(o.Parameters, &openapi3.ParameterRef{Value: openapi3.NewPathParameter(m[1]).
				WithSchema(openapi3.NewStringSchema())})
		}
		for _, h := range op.Headers {
			o.Parameters = append(o.Parameters, &openapi3.ParameterRef{Value: openapi3.NewHeaderParameter(h.Name).
				WithDescription(h.Description).WithRequired(true).WithSchema(openapi3.NewStringSchema())})
		}
		for _, p := range op.Query {
			s := openapi3.NewStringSchema()
			if p.Type == "integer" {
				s = openapi3.NewIntegerSchema()
			}
			o.Parameters = append(o.Parameters, &openapi3.ParameterRef{Value: openapi3.NewQueryParameter(p.Name).
				WithDescription(p.Description).WithSchema(s)})
		}
		switch {
		case op.Body != nil:
			ref, err := schema(op.Body, true)
			if err != nil {
				return nil, err
			}
			if op.OrList {
				ref = openapi3.NewSchemaRef("", &openapi3.Schema{OneOf: openapi3.SchemaRefs{ref, openapi3.NewSchemaRef("",
					openapi3.NewArraySchema().WithItems(ref.Value).WithMaxItems(maxDecisionBatch))}})
				ref.Value.OneOf[1].Value.Items = ref.Value.OneOf[0]
			}
			o.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(!op.BodyOptional).WithJSONSchemaRef(ref)}
		case op.Format != "" && op.Method == http.MethodPost:
			o.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).
				WithContent(openapi3.NewContentWithSchema(openapi3.NewStringSchema(), []string{op.Format}))}
		}
		status := op.Status
		if status == 0 {
			status = http.StatusOK
		}
		ok := openapi3.NewResponse().WithDescription(http.StatusText(status))
		if op.Returns != nil {
			ref, err := schema(op.Returns, false)
			if err != nil {
				return nil, err
			}
			if op.Format != "" && op.Method == http.MethodGet { // an export: rows of the type, as CSV or JSON Lines
				ok.WithContent(openapi3.Content{op.Format: openapi3.NewMediaType().WithSchema(openapi3.NewStringSchema()),
					"application/x-ndjson": openapi3.NewMediaType().WithSchemaRef(ref)})
			} else {
				ok.WithJSONSchemaRef(ref)
			}
		}
		o.Responses.Set(fmt.Sprint(status), &openapi3.ResponseRef{Value: ok})
		if op.Also200 {
			o.Responses.Set("200", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("Done before: nothing changed").
				WithContent(ok.Content)})
		}
		o.Responses.Set("default", errorResponse)
		doc.AddOperation(op.Path, op.Method, o)
	}
	doc.AddOperation("/openapi.json", http.MethodGet, &openapi3.Operation{OperationID: "getOpenAPI", Tags: []string{"meta"},
		Summary: "This description", Responses: openapi3.NewResponses(openapi3.WithStatus(200, &openapi3.ResponseRef{
			Value: openapi3.NewResponse().WithDescription("OpenAPI 3.1").WithJSONSchema(openapi3.NewObjectSchema())}))})
	// Loaded again from its JSON, so that every reference is resolved, then checked.
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	if doc, err = openapi3.NewLoader().LoadFromData(body); err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI description is not valid: %w", err)
	}
	return doc, nil
}

var accessText = map[access]string{
	anyone:    "Anyone may call it.",
	member:    "For a signed-in member.",
	publisher: "For a signed-in member who is not suspended.",
	moderator: "For moderators.",
	product:   "For product staff.",
	staff:     "For moderators and product staff.",
	admin:     "For admins.",
}

// operationID names an operation for generated clients: getProductsSlugReviews.
func operationID(op operation) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(op.Method))
	for _, part := range strings.FieldsFunc(op.Path, func(r rune) bool { return r == '/' || r == '-' || r == '{' || r == '}' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// schemaName names a component: the API's own answers by their name ("threadJSON" is
// "Thread" … "JSON" gone), a service's types with their package ("community.Post").
func schemaName(t reflect.Type) string {
	name := t.Name()
	if name == "" {
		return "" // an anonymous struct: written where it is used
	}
	if strings.HasSuffix(t.PkgPath(), "/apiv1") {
		name = strings.TrimSuffix(name, "JSON")
		return strings.ToUpper(name[:1]) + name[1:]
	}
	return t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:] + "." + name
}

var (
	objectIDType = reflect.TypeFor[bson.ObjectID]()
	photoType    = reflect.TypeFor[media.Photo]()
	durationType = reflect.TypeFor[time.Duration]()
	timeType     = reflect.TypeFor[time.Time]()
)

// customize writes what the generator cannot know: an ObjectID is sent as its hex string,
// a photo as its addresses, null where a pointer may be nil, and which properties are
// always there. Lists are never null: the API answers [] (the tests check every answer).
func customize(_ string, t reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
	switch t {
	case objectIDType:
		*s = openapi3.Schema{Type: &openapi3.Types{"string"}, Pattern: "^[0-9a-f]{24}$", Nullable: s.Nullable}
	case photoType:
		*s = *openapi3.NewObjectSchema().WithProperties(map[string]*openapi3.Schema{
			"key": openapi3.NewStringSchema(), "url": openapi3.NewStringSchema(), "thumb_url": openapi3.NewStringSchema(),
			"width": openapi3.NewIntegerSchema(), "height": openapi3.NewIntegerSchema()})
		s.Required = []string{"key", "url", "thumb_url", "width", "height"}
	case durationType:
		s.Description = "nanoseconds"
	}
	// 3.1 writes null as a type. Not on a struct: its schema is a component shared by every
	// use, and most uses are never null (an answer that is, fails the tests' check).
	if s.Nullable && s.Type != nil && (t.Kind() != reflect.Struct || t == timeType) {
		s.Type = &openapi3.Types{(*s.Type)[0], "null"}
	}
	s.Nullable = false
	if t.Kind() == reflect.Struct && t != photoType && len(s.Properties) > 0 {
		s.Required = alwaysSent(t)
		s.AdditionalProperties = openapi3.AdditionalProperties{Has: new(false)}
	}
	return nil
}

// alwaysSent are the JSON names of a struct's fields encoding/json always writes: neither
// omitempty nor omitzero, embedded structs' fields included.
func alwaysSent(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && opts == "" || !f.IsExported() && !f.Anonymous {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			out = append(out, alwaysSent(ft)...)
			continue
		}
		if strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") || f.Type.Kind() == reflect.Func || f.Type.Kind() == reflect.Chan {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// describedJSON is the description as JSON, made once.
var describedJSON = sync.OnceValues(func() ([]byte, error) {
	doc, err := Describe()
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(doc, "", "  ")
})

// openAPI serves the description.
func (a *API) openAPI(c *fiber.Ctx) error {
	body, err := describedJSON()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*") // API tools in a browser may read it
	return c.Send(body)
}
