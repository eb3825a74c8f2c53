// Package i18n holds the node's message catalogs and picks the language a
// person reads. Every string a user sees comes from a catalog; English is
// the reference, and every other catalog must have every key English has.
//
// Catalogs are flat JSON objects embedded in the binary: catalogs/<lang>.json
// holds the portal's core, and each folder under catalogs/ holds one part
// (catalogs/support/<lang>.json), so a feature's words live together. A
// key may appear in one file of a language only. Messages take positional
// arguments written {0}, {1}, ….
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"golang.org/x/text/language"

	"github.com/canopy-org/canopy"
)

//go:embed catalogs
var files embed.FS

// Catalog is the messages of one language.
type Catalog struct {
	Lang     string
	Dir      string // "rtl" or "ltr"
	messages map[string]string
	fallback *Catalog
}

var (
	catalogs = map[string]*Catalog{}
	matcher  language.Matcher
)

func init() {
	en, err := load("en", nil)
	if err != nil {
		panic(err)
	}
	catalogs["en"] = en
	var tags []language.Tag
	for _, lang := range canopy.Languages {
		tags = append(tags, language.Make(lang))
		if lang == "en" {
			continue
		}
		c, err := load(lang, en)
		if err != nil {
			panic(err)
		}
		catalogs[lang] = c
	}
	matcher = language.NewMatcher(tags)
}

func load(lang string, fallback *Catalog) (*Catalog, error) {
	c := &Catalog{Lang: lang, Dir: "ltr", fallback: fallback, messages: map[string]string{}}
	paths := []string{"catalogs/" + lang + ".json"}
	parts, err := fs.Glob(files, "catalogs/*/"+lang+".json")
	if err != nil {
		return nil, fmt.Errorf("i18n: catalog %s: %w", lang, err)
	}
	for _, p := range append(paths, parts...) {
		b, err := files.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("i18n: catalog %s: %w", lang, err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("i18n: catalog %s: %w", p, err)
		}
		for k, v := range m {
			if _, dup := c.messages[k]; dup {
				return nil, fmt.Errorf("i18n: catalog %s: key %q is also in another file", p, k)
			}
			c.messages[k] = v
		}
	}
	if lang == "ar" || lang == "he" || lang == "fa" || lang == "ur" {
		c.Dir = "rtl"
	}
	return c, nil
}

// Get returns the catalog of lang, or English when the node does not speak
// lang.
func Get(lang string) *Catalog {
	if c, ok := catalogs[lang]; ok {
		return c
	}
	return catalogs["en"]
}

// Match picks the best language the node speaks for an Accept-Language
// header, English when nothing fits.
func Match(acceptLanguage string) string {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return "en"
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return "en"
	}
	return canopy.Languages[i]
}

// T returns the message for key with args filled in. A key missing from
// this catalog falls back to English; a key missing everywhere returns the
// key itself, which tests catch.
func (c *Catalog) T(key string, args ...any) string {
	msg, ok := c.messages[key]
	if !ok && c.fallback != nil {
		msg, ok = c.fallback.messages[key]
	}
	if !ok {
		return key
	}
	if len(args) == 0 || !strings.Contains(msg, "{") {
		return msg
	}
	// One pass, so an argument that itself holds "{1}" (an address a
	// reporter typed) is written as it is, never filled in.
	var b strings.Builder
	for {
		open := strings.IndexByte(msg, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(msg[open:], '}')
		if end < 0 {
			break
		}
		n, err := strconv.Atoi(msg[open+1 : open+end])
		if err != nil || n < 0 || n >= len(args) || msg[open+1] == '+' {
			b.WriteString(msg[:open+1])
			msg = msg[open+1:]
			continue
		}
		b.WriteString(msg[:open])
		b.WriteString(fmt.Sprint(args[n]))
		msg = msg[open+end+1:]
	}
	b.WriteString(msg)
	return b.String()
}

// Has reports whether the catalog itself (not its fallback) has key.
func (c *Catalog) Has(key string) bool {
	_, ok := c.messages[key]
	return ok
}

// Keys returns every key of the catalog itself.
func (c *Catalog) Keys() []string {
	keys := make([]string, 0, len(c.messages))
	for k := range c.messages {
		keys = append(keys, k)
	}
	return keys
}
