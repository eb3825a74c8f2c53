package web

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/intake"
)

var catalogPlaceholderRE = regexp.MustCompile(`\{\d+\}`)

// TestCatalogsMatchEnglish: every catalog has exactly English's keys, no
// message is empty or blank, and each message has the same placeholders as
// its English original.
func TestCatalogsMatchEnglish(t *testing.T) {
	en := i18n.Get("en")
	enKeys := en.Keys()
	if len(enKeys) == 0 {
		t.Fatal("the English catalog is empty")
	}
	for _, lang := range canopy.Languages {
		c := i18n.Get(lang)
		if c.Lang != lang {
			t.Errorf("no catalog for %s", lang)
			continue
		}
		for _, k := range enKeys {
			if !c.Has(k) {
				t.Errorf("%s lacks %s", lang, k)
				continue
			}
			msg := c.T(k)
			if strings.TrimSpace(msg) == "" {
				t.Errorf("%s %s is empty", lang, k)
			}
			want := catalogPlaceholderRE.FindAllString(en.T(k), -1)
			got := catalogPlaceholderRE.FindAllString(msg, -1)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s %s has placeholders %v, English has %v", lang, k, got, want)
			}
			if strings.ContainsFunc(msg, func(r rune) bool { return unicode.IsControl(r) || r == '\ufffd' }) {
				t.Errorf("%s %s has a control character", lang, k)
			}
			if strings.Count(msg, "«") != strings.Count(msg, "»") || strings.Count(msg, "“") != strings.Count(msg, "”") {
				t.Errorf("%s %s has unbalanced quotation marks: %q", lang, k, msg)
			}
		}
		for _, k := range c.Keys() {
			if !en.Has(k) {
				t.Errorf("%s has %s, which English does not", lang, k)
			}
		}
	}
}

// TestCatalogFilesHaveNoDuplicateKeys reads the files themselves: a key
// written twice in JSON silently keeps only its last message.
func TestCatalogFilesHaveNoDuplicateKeys(t *testing.T) {
	files, err := filepath.Glob("../i18n/catalogs/*.json")
	if err != nil || len(files) != len(canopy.Languages) {
		t.Fatalf("catalog files %v (%v), want one per language", files, err)
	}
	// The parts of the catalogs (catalogs/<part>/<lang>.json) too, each
	// with a file for every language.
	parts, err := filepath.Glob("../i18n/catalogs/*/*.json")
	if err != nil {
		t.Fatal(err)
	}
	byPart := map[string]int{}
	for _, p := range parts {
		byPart[filepath.Base(filepath.Dir(p))]++
	}
	for part, n := range byPart {
		if n != len(canopy.Languages) {
			t.Errorf("catalog part %s has %d files, want one per language", part, n)
		}
	}
	for _, f := range append(files, parts...) {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(r)
		seen := map[string]bool{}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("%s: not a JSON object", f)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			k := tok.(string)
			if seen[k] {
				t.Errorf("%s: %s appears twice", f, k)
			}
			seen[k] = true
			var v string
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%s: %s: %v", f, k, err)
			}
		}
		if _, err := dec.Token(); err != nil && err != io.EOF {
			t.Errorf("%s: %v", f, err)
		}
		r.Close()
	}
}

// TestCatalogsCoverIntakeKeys: every message key intake may return, and
// every name and description of the taxonomy, is in English (and so, by
// the test above, everywhere).
func TestCatalogsCoverIntakeKeys(t *testing.T) {
	en := i18n.Get("en")
	var keys []string
	keys = append(keys, intake.FieldKeys...)
	for _, c := range canopy.Categories {
		keys = append(keys, "category."+c.Code+".name", "category."+c.Code+".desc")
	}
	for _, f := range canopy.Flags {
		keys = append(keys, "flag."+f+".name")
	}
	for _, r := range canopy.Reporters {
		keys = append(keys, "reporter."+r+".name")
	}
	for _, s := range canopy.Statuses {
		keys = append(keys, "status."+s+".name", "status."+s+".desc")
	}
	// The node's error codes have a message each, for pages that show
	// one without a more precise key.
	for _, code := range []string{canopy.EINTERNAL, canopy.ETOOMANY, canopy.ETOOLARGE, canopy.ENOTFOUND, canopy.EUNAVAILABLE} {
		keys = append(keys, "error."+code)
	}
	// And so do the keys the portal builds from parts.
	for m := 1; m <= 12; m++ {
		keys = append(keys, "portal.month."+strconv.Itoa(m))
	}
	keys = append(keys, "portal.date", "portal.lang.self")
	for _, k := range keys {
		if !en.Has(k) {
			t.Errorf("en.json lacks %s", k)
		}
	}
	for _, l := range canopy.Languages {
		if got := i18n.Get(l).T("portal.lang.self"); got == "" || got == "portal.lang.self" || (l != "en" && got == en.T("portal.lang.self")) {
			t.Errorf("%s does not name itself: %q", l, got)
		}
	}
}
