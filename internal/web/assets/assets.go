// Package assets serves a page set's embedded static files (styles,
// scripts, icons) under names that carry a hash of their content, so that
// browsers may cache them for good and a new release is never mixed with
// an old file. The portal and the workspace each have a set.
package assets

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// Set is one directory of static files.
type Set struct {
	url   map[string]string // "style.css" -> "/static/style.0123456789.css"
	files map[string]file   // "style.0123456789.css" -> content
}

type file struct {
	body  []byte
	ctype string
}

// Load reads every file under dir in fsys and names it for serving under
// prefix (such as "/static/").
func Load(fsys fs.FS, dir, prefix string) (*Set, error) {
	s := &Set{url: map[string]string{}, files: map[string]file{}}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := path.Base(p)
		ext := path.Ext(name)
		sum := sha256.Sum256(body)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		ctype := mime.TypeByExtension(ext)
		if ext == ".svg" {
			ctype = "image/svg+xml"
		}
		s.url[name] = prefix + hashed
		s.files[hashed] = file{body: body, ctype: ctype}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("assets: %s: %w", dir, err)
	}
	return s, nil
}

// URL is where the file called name is served, "" if there is none.
func (s *Set) URL(name string) string { return s.url[name] }

// Body returns the content served at url (as URL gives it), and whether
// there is such a file.
func (s *Set) Body(url string) ([]byte, bool) {
	f, ok := s.files[path.Base(url)]
	return f.body, ok
}

// Serve answers a request whose "file" path value names a hashed file.
func (s *Set) Serve(w http.ResponseWriter, r *http.Request) {
	f, ok := s.files[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Length", fmt.Sprint(len(f.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(f.body)
	}
}
