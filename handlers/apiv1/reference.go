package apiv1

import (
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// Section is one part of the API's readable reference: the operations of one tag.
type Section struct {
	Tag        string
	Operations []Operation
}

// Operation is one route as the reference page shows it.
type Operation struct {
	Method, Path, Summary string
	Anchor                string // the operation's ID, for links
	Access                string // a message ID: who may call it
	Status                int
	Query, Headers        []Param
	Body, Returns         *Shape
	Format                string // a body or answer that is not JSON
}

// Shape is a body's type: its component's name and top-level fields.
type Shape struct {
	Name   string
	Fields []Field
}

// Field is one property of a shape.
type Field struct {
	Name, Type string
	Required   bool
}

// Reference is the API's reference for the docs page, in the table's order, with the
// shapes of the OpenAPI description.
var Reference = sync.OnceValues(func() ([]Section, error) {
	doc, err := Describe()
	if err != nil {
		return nil, err
	}
	var out []Section
	for _, op := range (&API{}).operations() {
		o := doc.Paths.Value(op.Path).GetOperation(op.Method)
		ref := Operation{Method: op.Method, Path: "/api/v1" + op.Path, Summary: op.Summary, Anchor: o.OperationID,
			Access: "api.access." + accessNames[op.Access], Status: op.Status, Query: op.Query, Headers: op.Headers, Format: op.Format}
		if ref.Status == 0 {
			ref.Status = http.StatusOK
		}
		if body := o.RequestBody; body != nil {
			if mt := body.Value.Content.Get("application/json"); mt != nil {
				ref.Body = shape(mt.Schema)
			}
		}
		if r := o.Responses.Status(ref.Status); r != nil {
			for _, mt := range r.Value.Content {
				if mt.Schema != nil && mt.Schema.Ref != "" {
					ref.Returns = shape(mt.Schema)
				}
			}
		}
		if n := len(out); n == 0 || out[n-1].Tag != op.Tag {
			out = append(out, Section{Tag: op.Tag})
		}
		out[len(out)-1].Operations = append(out[len(out)-1].Operations, ref)
	}
	return out, nil
})

var accessNames = map[access]string{anyone: "anyone", member: "member", publisher: "publisher", moderator: "moderator",
	product: "product", staff: "staff", admin: "admin"}

func shape(s *openapi3.SchemaRef) *Shape {
	out := &Shape{Name: refName(s.Ref)}
	for name, p := range s.Value.Properties {
		out.Fields = append(out.Fields, Field{Name: name, Type: typeText(p), Required: slices.Contains(s.Value.Required, name)})
	}
	slices.SortFunc(out.Fields, func(a, b Field) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func refName(ref string) string { return strings.TrimPrefix(ref, "#/components/schemas/") }

// typeText writes a property's type as a reader says it: "array of community.Post",
// "string or null".
func typeText(s *openapi3.SchemaRef) string {
	if s.Ref != "" {
		return refName(s.Ref)
	}
	v := s.Value
	if v.Type == nil || len(*v.Type) == 0 {
		return "any"
	}
	types := slices.Clone(*v.Type)
	for i, t := range types {
		switch {
		case t == "array" && v.Items != nil:
			types[i] = "array of " + typeText(v.Items)
		case t == "string" && v.Format != "":
			types[i] = v.Format
		case t == "string" && v.Pattern == "^[0-9a-f]{24}$":
			types[i] = "id"
		}
	}
	return strings.Join(types, " or ")
}
