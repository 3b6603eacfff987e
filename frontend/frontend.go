// Package frontend owns what the browser sees: the page templates, the stylesheet and the
// message files for every language, embedded in the binary.
package frontend

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/gofiber/template/html/v2"
)

//go:embed templates static locales
var files embed.FS

// Templates returns a Fiber view engine over the embedded templates. funcs are added
// before parsing; pages use the "layouts/base" layout.
func Templates(funcs map[string]any) *html.Engine {
	sub, _ := fs.Sub(files, "templates") // the directory is embedded, so this cannot fail
	engine := html.NewFileSystem(http.FS(sub), ".html")
	for name, fn := range funcs {
		engine.AddFunc(name, fn)
	}
	return engine
}
