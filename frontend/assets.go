package frontend

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"strings"
)

// Asset is one static file, served under a URL that carries a hash of its content so it
// can be cached for a year and still change the moment the file does.
type Asset struct {
	Name        string // e.g. "style.css"
	URL         string // e.g. "/static/style.3f2a91c0d4.css"
	ContentType string
	Body        []byte
}

// Assets maps the static files to their content-hashed URLs.
type Assets struct {
	byName map[string]*Asset
	byURL  map[string]*Asset
}

// LoadAssets hashes every embedded static file once, at start.
func LoadAssets() (*Assets, error) {
	a := &Assets{byName: map[string]*Asset{}, byURL: map[string]*Asset{}}
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		asset := &Asset{
			Name:        name,
			URL:         "/static/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext,
			ContentType: mime.TypeByExtension(ext),
			Body:        body,
		}
		if asset.ContentType == "" {
			asset.ContentType = "application/octet-stream"
		}
		a.byName[name], a.byURL[asset.URL] = asset, asset
		return nil
	})
	return a, err
}

// URL returns the hashed URL of a static file, for templates. An unknown name yields a URL
// that answers 404, which a browser test notices, rather than a broken page at render time.
func (a *Assets) URL(name string) string {
	if asset, ok := a.byName[name]; ok {
		return asset.URL
	}
	return "/static/missing/" + name
}

// ByURL finds the asset a hashed URL names.
func (a *Assets) ByURL(url string) (*Asset, bool) {
	asset, ok := a.byURL[url]
	return asset, ok
}
