// Package markdown turns what people write into safe HTML: CommonMark (with GitHub's tables,
// strikethrough and autolinks) rendered by goldmark, then sanitised by bluemonday, so no
// script, event handler or javascript: link survives whatever the input.
package markdown

import (
	"bytes"
	"html"
	"html/template"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Renderer renders Markdown; build one and share it, it is safe for concurrent use.
type Renderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// New returns a renderer for user content.
func New() *Renderer {
	policy := bluemonday.UGCPolicy()
	// Links people post are theirs, not ours: rel="nofollow ugc" (search engines give no
	// credit), and they open safely. goldmark sets "ugc"; bluemonday adds the rest.
	policy.AllowAttrs("rel").Matching(regexp.MustCompile(`^(ugc|nofollow|noopener|noreferrer)( (ugc|nofollow|noopener|noreferrer))*$`)).OnElements("a")
	policy.RequireNoFollowOnLinks(true)
	policy.AddTargetBlankToFullyQualifiedLinks(true)
	policy.RequireNoReferrerOnFullyQualifiedLinks(true)
	policy.AllowURLSchemes("http", "https", "mailto")
	return &Renderer{
		// goldmark escapes raw HTML by default (no WithUnsafe); bluemonday is the second wall.
		md: goldmark.New(goldmark.WithExtensions(extension.GFM),
			goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(userLinks{}, 100)))),
		policy: policy,
	}
}

// HTML renders src to sanitised HTML.
func (r *Renderer) HTML(src string) template.HTML {
	var buf bytes.Buffer
	if err := r.md.Convert([]byte(src), &buf); err != nil {
		// goldmark does not fail on any input; if it ever did, show the text escaped.
		return template.HTML(template.HTMLEscapeString(src))
	}
	// The policy's output is safe to put in a page as it is.
	return template.HTML(r.policy.SanitizeBytes(buf.Bytes())) //nolint:gosec
}

// textOnly keeps the text of HTML and drops every tag.
var textOnly = bluemonday.StrictPolicy()

// PlainText is the text a reader sees in h, rendered HTML from this package, with the
// whitespace collapsed: what search indexes and structured data describe. Derived from the
// rendered page rather than the source, so text the page leaves out (a raw HTML block,
// which is never rendered) is never indexed either.
func PlainText(h template.HTML) string {
	text := html.UnescapeString(textOnly.Sanitize(string(h)))
	return strings.Join(strings.Fields(text), " ")
}

// userLinks marks every link in user content as user-generated (rel="ugc"), and shows as
// pictures only those uploaded here (/media/…): any other image becomes a link to it, so a
// post cannot make every reader's browser fetch from elsewhere (a tracking pixel).
type userLinks struct{}

func (userLinks) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	var foreign []*ast.Image
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering && (n.Kind() == ast.KindLink || n.Kind() == ast.KindAutoLink) {
			n.SetAttributeString("rel", []byte("ugc"))
		}
		if img, ok := n.(*ast.Image); ok && entering && !bytes.HasPrefix(img.Destination, []byte("/media/")) {
			foreign = append(foreign, img)
		}
		return ast.WalkContinue, nil
	})
	for _, img := range foreign { // changed after the walk, not under it
		link := ast.NewLink()
		link.Destination, link.Title = img.Destination, img.Title
		link.SetAttributeString("rel", []byte("ugc"))
		for c := img.FirstChild(); c != nil; {
			next := c.NextSibling()
			link.AppendChild(link, c)
			c = next
		}
		if !link.HasChildren() {
			link.AppendChild(link, ast.NewString(img.Destination))
		}
		img.Parent().ReplaceChild(img.Parent(), img, link)
	}
}
