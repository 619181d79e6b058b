package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
)

//go:embed static
var staticFS embed.FS

// static holds the embedded assets, read once.
type static struct {
	files map[string]staticFile
}

type staticFile struct {
	body    []byte
	ctype   string
	version string // a prefix of the content's SHA-256
}

func loadStatic() (*static, error) {
	s := &static{files: map[string]staticFile{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		s.files[path.Base(p)] = staticFile{body: b, ctype: ct, version: hex.EncodeToString(sum[:6])}
		return nil
	})
	return s, err
}

// version answers the value of the ?v= that pages append to the asset's
// URL, so that a new build's stylesheet is never hidden by a cached one.
func (s *static) version(name string) string { return s.files[name].version }

func (h *handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := h.static.files[r.PathValue("file")]
	if !ok {
		h.fail(w, r, http.StatusNotFound, "Page not found", "There is no file at this address.")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	etag := `"` + f.version + `"`
	hd.Set("ETag", etag)
	if r.URL.Query().Get("v") == f.version {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "public, max-age=300")
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(f.body)
	}
}
