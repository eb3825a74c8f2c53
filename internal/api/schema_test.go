package api

import (
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// A small JSON Schema (2020-12) validator: the keywords the OpenAPI
// document uses, and no others. Unknown keywords are reported by
// checkKeywords rather than ignored, so the document cannot silently say
// more than the tests check.

// schemaKeywords are the keywords validate understands; annotations are
// accepted and ignored.
var (
	schemaKeywords = []string{"$ref", "type", "enum", "const", "properties", "required",
		"additionalProperties", "items", "maxItems", "minItems", "uniqueItems", "maxLength", "minLength",
		"pattern", "format", "minimum", "maximum", "oneOf", "anyOf", "allOf"}
	schemaAnnotations = []string{"description", "title"}
	schemaFormats     = []string{"date-time", "email", "uri"}
)

// schemas validates JSON values against the schemas of one document, whose
// $refs it resolves as JSON pointers into that document.
type schemas struct {
	root any

	mu       sync.Mutex
	patterns map[string]*regexp.Regexp
}

func newSchemas(root any) *schemas {
	return &schemas{root: root, patterns: map[string]*regexp.Regexp{}}
}

// resolve returns the value a local reference ("#/a/b") points to.
func (s *schemas) resolve(ref string) (any, error) {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("reference %q is not local", ref)
	}
	v := s.root
	if ptr == "" {
		return v, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("reference %q is not a JSON pointer", ref)
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[tok]; !ok {
				return nil, fmt.Errorf("reference %q: no %q", ref, tok)
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("reference %q: no index %q", ref, tok)
			}
			v = x[i]
		default:
			return nil, fmt.Errorf("reference %q: %q is inside a scalar", ref, tok)
		}
	}
	return v, nil
}

// validate returns every way inst fails schema, each prefixed with the
// JSON path of the value; none means inst is valid.
func (s *schemas) validate(schema, inst any) []string {
	var errs []string
	s.check(schema, inst, "$", &errs, 0)
	return errs
}

func (s *schemas) check(schema, inst any, path string, errs *[]string, depth int) {
	fail := func(format string, args ...any) {
		*errs = append(*errs, path+": "+fmt.Sprintf(format, args...))
	}
	if depth > 64 {
		fail("schema nests too deep (a $ref cycle?)")
		return
	}
	switch sc := schema.(type) {
	case bool:
		if !sc {
			fail("no value is allowed here")
		}
		return
	case map[string]any:
		schema = sc
	default:
		fail("schema is a %T", schema)
		return
	}
	sc := schema.(map[string]any)

	if ref, ok := sc["$ref"].(string); ok {
		target, err := s.resolve(ref)
		if err != nil {
			fail("%v", err)
			return
		}
		s.check(target, inst, path, errs, depth+1)
	}
	if t, ok := sc["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		if !slices.ContainsFunc(types, func(t string) bool { return hasType(inst, t) }) {
			fail("is %s, want %s", typeOf(inst), strings.Join(types, " or "))
			return // the other keywords would only repeat this
		}
	}
	if enum, ok := sc["enum"].([]any); ok {
		if !slices.ContainsFunc(enum, func(e any) bool { return jsonEqual(e, inst) }) {
			fail("%s is not one of %s", show(inst), show(enum))
		}
	}
	if c, ok := sc["const"]; ok && !jsonEqual(c, inst) {
		fail("%s is not %s", show(inst), show(c))
	}

	switch x := inst.(type) {
	case map[string]any:
		props, _ := sc["properties"].(map[string]any)
		if req, ok := sc["required"].([]any); ok {
			for _, name := range req {
				if _, ok := x[name.(string)]; !ok {
					fail("member %q is required", name)
				}
			}
		}
		names := make([]string, 0, len(x))
		for name := range x {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if p, ok := props[name]; ok {
				s.check(p, x[name], path+"."+name, errs, depth+1)
			} else if ap, ok := sc["additionalProperties"]; ok {
				if ap == false {
					fail("member %q is not allowed", name)
				} else {
					s.check(ap, x[name], path+"."+name, errs, depth+1)
				}
			}
		}
	case []any:
		if n, ok := number(sc["maxItems"]); ok && float64(len(x)) > n {
			fail("has %d items, want at most %v", len(x), n)
		}
		if n, ok := number(sc["minItems"]); ok && float64(len(x)) < n {
			fail("has %d items, want at least %v", len(x), n)
		}
		if sc["uniqueItems"] == true {
			for i := range x {
				for j := range i {
					if jsonEqual(x[i], x[j]) {
						fail("items %d and %d are equal", j, i)
					}
				}
			}
		}
		if items, ok := sc["items"]; ok {
			for i, item := range x {
				s.check(items, item, path+"["+strconv.Itoa(i)+"]", errs, depth+1)
			}
		}
	case string:
		n := float64(utf8.RuneCountInString(x))
		if max, ok := number(sc["maxLength"]); ok && n > max {
			fail("has %v characters, want at most %v", n, max)
		}
		if min, ok := number(sc["minLength"]); ok && n < min {
			fail("has %v characters, want at least %v", n, min)
		}
		if p, ok := sc["pattern"].(string); ok {
			re, err := s.pattern(p)
			if err != nil {
				fail("pattern %q: %v", p, err)
			} else if !re.MatchString(x) {
				fail("%s does not match %s", show(x), p)
			}
		}
		if f, ok := sc["format"].(string); ok {
			if err := checkFormat(f, x); err != nil {
				fail("%s is not a %s: %v", show(x), f, err)
			}
		}
	case float64:
		if min, ok := number(sc["minimum"]); ok && x < min {
			fail("%v is under the minimum %v", x, min)
		}
		if max, ok := number(sc["maximum"]); ok && x > max {
			fail("%v is over the maximum %v", x, max)
		}
	}

	if all, ok := sc["allOf"].([]any); ok {
		for _, sub := range all {
			s.check(sub, inst, path, errs, depth+1)
		}
	}
	if anyOf, ok := sc["anyOf"].([]any); ok {
		var why []string
		for _, sub := range anyOf {
			e := s.validate1(sub, inst, path, depth)
			if len(e) == 0 {
				why = nil
				break
			}
			why = append(why, e...)
		}
		if why != nil {
			fail("matches none of anyOf: %s", strings.Join(why, "; "))
		}
	}
	if oneOf, ok := sc["oneOf"].([]any); ok {
		n := 0
		for _, sub := range oneOf {
			if len(s.validate1(sub, inst, path, depth)) == 0 {
				n++
			}
		}
		if n != 1 {
			fail("matches %d of oneOf, want exactly 1", n)
		}
	}
}

func (s *schemas) validate1(schema, inst any, path string, depth int) []string {
	var errs []string
	s.check(schema, inst, path, &errs, depth+1)
	return errs
}

// pattern compiles an ECMA-262 pattern of the plain kind the document uses
// (character classes, groups, quantifiers), which RE2 reads the same way.
// Patterns are not anchored unless they say so.
func (s *schemas) pattern(p string) (*regexp.Regexp, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if re, ok := s.patterns[p]; ok {
		return re, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	s.patterns[p] = re
	return re, nil
}

func checkFormat(format, s string) error {
	switch format {
	case "date-time":
		_, err := time.Parse(time.RFC3339, s)
		return err
	case "email": // loosely: one address, no display name
		a, err := mail.ParseAddress(s)
		if err != nil {
			return err
		}
		if a.Name != "" || a.Address != s {
			return fmt.Errorf("not a bare address")
		}
	case "uri":
		u, err := url.Parse(s)
		if err != nil {
			return err
		}
		if u.Scheme == "" {
			return fmt.Errorf("no scheme")
		}
	default:
		return fmt.Errorf("unknown format %q", format)
	}
	return nil
}

func hasType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

func typeOf(v any) string {
	for _, t := range []string{"null", "boolean", "integer", "number", "string", "array", "object"} {
		if hasType(v, t) {
			return t
		}
	}
	return fmt.Sprintf("%T", v)
}

func number(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}

// jsonEqual compares two decoded JSON values; JSON has one number type.
func jsonEqual(a, b any) bool { return reflect.DeepEqual(a, b) }

func show(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

// checkKeywords reports every keyword of schema (and the schemas inside
// it) that validate does not understand, and every format it cannot
// check.
func checkKeywords(schema any, path string) []string {
	var errs []string
	switch sc := schema.(type) {
	case bool:
		return nil
	case map[string]any:
		for k, v := range sc {
			p := path + "/" + k
			switch {
			case slices.Contains(schemaAnnotations, k):
			case !slices.Contains(schemaKeywords, k):
				errs = append(errs, p+": unsupported keyword")
			case k == "properties":
				for name, sub := range v.(map[string]any) {
					errs = append(errs, checkKeywords(sub, p+"/"+name)...)
				}
			case k == "items" || k == "additionalProperties":
				errs = append(errs, checkKeywords(v, p)...)
			case k == "oneOf" || k == "anyOf" || k == "allOf":
				for i, sub := range v.([]any) {
					errs = append(errs, checkKeywords(sub, p+"/"+strconv.Itoa(i))...)
				}
			case k == "format" && !slices.Contains(schemaFormats, v.(string)):
				errs = append(errs, p+": unsupported format")
			case k == "pattern":
				if _, err := regexp.Compile(v.(string)); err != nil {
					errs = append(errs, p+": "+err.Error())
				}
			}
		}
	default:
		errs = append(errs, path+": not a schema")
	}
	return errs
}

// TestSchemaValidator checks the validator itself on the keywords the
// document relies on, so a conformance pass means something.
func TestSchemaValidator(t *testing.T) {
	root := map[string]any{}
	if err := json.Unmarshal([]byte(`{"components":{"schemas":{
		"S": {"type": "string", "maxLength": 3},
		"O": {"type": "object", "required": ["a"], "additionalProperties": false,
			"properties": {"a": {"$ref": "#/components/schemas/S"}, "b": {"type": ["integer", "null"], "minimum": 1}}},
		"A": {"type": "array", "maxItems": 2, "uniqueItems": true, "items": {"enum": ["x", "y", null]}},
		"One": {"oneOf": [{"const": 1}, {"type": "integer", "maximum": 5}]},
		"Any": {"anyOf": [{"type": "string", "pattern": "^[a-f]+$"}, {"type": "boolean"}]},
		"All": {"allOf": [{"$ref": "#/components/schemas/O"}, {"properties": {"a": {"const": "ok"}}}]},
		"F": {"type": "string", "format": "date-time"},
		"E": {"type": "string", "format": "email"},
		"N": false
	}}}`), &root); err != nil {
		t.Fatal(err)
	}
	s := newSchemas(root)
	for _, tc := range []struct {
		schema, inst string
		valid        bool
	}{
		{"S", `"abc"`, true},
		{"S", `"abcd"`, false},
		{"S", `"ééé"`, true}, // characters, not bytes
		{"S", `3`, false},
		{"O", `{"a": "x"}`, true},
		{"O", `{"a": "x", "b": null}`, true},
		{"O", `{"a": "x", "b": 2}`, true},
		{"O", `{"a": "x", "b": 1.5}`, false},
		{"O", `{"a": "x", "b": 0}`, false},
		{"O", `{"b": 2}`, false},
		{"O", `{"a": "x", "c": 1}`, false},
		{"O", `{"a": "long"}`, false},
		{"A", `["x", null]`, true},
		{"A", `["x", "x"]`, false},
		{"A", `["x", "y", null]`, false},
		{"A", `["z"]`, false},
		{"One", `3`, true},
		{"One", `1`, false}, // both match
		{"One", `9`, false},
		{"Any", `"cafe"`, true},
		{"Any", `true`, true},
		{"Any", `"tea"`, false},
		{"All", `{"a": "ok"}`, true},
		{"All", `{"a": "no"}`, false},
		{"F", `"2026-11-27T10:00:00Z"`, true},
		{"F", `"27/11/2026"`, false},
		{"E", `"ana@example.org"`, true},
		{"E", `"Ana <ana@example.org>"`, false},
		{"N", `{}`, false},
	} {
		var inst any
		if err := json.Unmarshal([]byte(tc.inst), &inst); err != nil {
			t.Fatal(err)
		}
		errs := s.validate(map[string]any{"$ref": "#/components/schemas/" + tc.schema}, inst)
		if (len(errs) == 0) != tc.valid {
			t.Errorf("%s against %s: errors %q, want valid=%v", tc.inst, tc.schema, errs, tc.valid)
		}
	}
	if errs := checkKeywords(map[string]any{"type": "string", "multipleOf": 2.0}, "#"); len(errs) != 1 {
		t.Errorf("checkKeywords missed an unsupported keyword: %q", errs)
	}
	if _, err := s.resolve("#/components/schemas/Missing"); err == nil {
		t.Error("a dangling reference resolved")
	}
}
