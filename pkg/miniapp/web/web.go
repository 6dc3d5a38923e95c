package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed index.html app.css app.js
var files embed.FS

// FS is the app: index.html, app.css and app.js at its root.
var FS fs.FS = files

// ContentSecurityPolicy is what Handler sends. It limits scripts to the app
// and Telegram's SDK, which turns any markup that slipped past the page's
// sanitizer into inert text; styles, images and frames stay open because
// Telegram's SDK and promotion images need them.
const ContentSecurityPolicy = "script-src 'self' https://telegram.org; object-src 'none'; base-uri 'none'"

// etags are strong validators of the embedded files, computed once: embed
// gives no modification times, so without them every load would be a full
// download.
var etags = func() map[string]string {
	m := map[string]string{}
	_ = fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(FS, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m["/"+p] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return nil
	})
	return m
}()

// Handler serves FS at its root with revalidation (ETag + no-cache), the
// security policy and nosniff. Mount it with http.StripPrefix:
//
//	mux.Handle("/app/", http.StripPrefix("/app", web.Handler()))
func Handler() http.Handler {
	files := http.FileServerFS(FS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		name := path.Clean("/" + r.URL.Path)
		if strings.HasSuffix(r.URL.Path, "/") {
			name = path.Join(name, "index.html")
		}
		if tag, ok := etags[name]; ok {
			h.Set("ETag", tag)
		}
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
