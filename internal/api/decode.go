package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/intake"
)

// Message keys of the problems with how a request is sent. Intake's keys
// cover what its values mean.
const (
	keyJSONSyntax       = "error.json.syntax"   // {0} = byte offset
	keyJSONTrailing     = "error.json.trailing" // {0} = byte offset
	keyJSONType         = "error.json.type"     // {0} = string, array or object
	keyJSONUnknownField = "error.json.unknown_field"
	keyJSONDuplicate    = "error.json.duplicate_field"
)

// jsonKeys are the codes of the problems with the shape of a request.
var jsonKeys = []string{keyJSONSyntax, keyJSONTrailing, keyJSONType, keyJSONUnknownField, keyJSONDuplicate}

// Keys lists every message key the API itself may put in a problem, and
// those of package takedown it answers with, so the catalogs can be checked
// for them. The rest are intake.FieldKeys and "error." + a code of
// statusOf.
var Keys = slices.Concat(jsonKeys, []string{"error." + codeMethodNotAllowed, "error." + codeUnsupportedMediaType}, takedownKeys)

// maxFieldErrors bounds the problems one answer lists, so a body of 64 KiB
// of unknown members cannot make a large answer.
const maxFieldErrors = 20

// readJSON reads the request body into v, a pointer to a struct whose
// fields are strings, ints, slices, pointers to such structs, or structs. It
// checks, in this order, and answers with the first that fails: the media
// type (415), the size (413), UTF-8 (400), then the JSON itself (400),
// listing every unknown or repeated member and every member of the wrong
// type with its JSON path.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return readJSONUpTo(w, r, v, maxBody)
}

// readJSONUpTo is readJSON with a size limit of its own, for the routes
// that take batches.
func readJSONUpTo(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if err := checkMediaType(r.Header); err != nil {
		return err
	}
	if r.ContentLength > limit {
		return &canopy.Error{Code: canopy.ETOOLARGE}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return &canopy.Error{Code: canopy.ETOOLARGE}
		}
		// The client stopped sending; there is likely no one to answer.
		return &canopy.Error{Code: canopy.EINVALID, Key: intake.KeyInvalid, Err: err}
	}
	return decode(body, v)
}

func checkMediaType(h http.Header) error {
	unsupported := &canopy.Error{Code: codeUnsupportedMediaType}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return unsupported
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return unsupported
		}
	}
	if ce := h.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return unsupported
	}
	return nil
}

// decode checks body against the shape of v and only then unmarshals it.
// encoding/json alone would accept members in any letter case, take the
// last of two same-named members, replace invalid UTF-8 silently, and name
// a wrong member without its path; the walk below refuses all of these.
func decode(body []byte, v any) error {
	invalid := func(fields ...canopy.FieldError) error {
		return &canopy.Error{Code: canopy.EINVALID, Key: intake.KeyInvalid, Fields: fields}
	}
	if !utf8.Valid(body) {
		return invalid(canopy.FieldError{Key: intake.KeyInvalidUTF8})
	}
	w := &walker{dec: json.NewDecoder(bytes.NewReader(body))}
	w.dec.UseNumber() // a number is only skipped: never convert it
	err := w.value(shapeOf(reflect.TypeOf(v)), "", false)
	if se, ok := syntaxError(err, len(body)); ok {
		return invalid(se)
	}
	if len(w.errs) > 0 {
		return invalid(w.errs...)
	}
	off := w.dec.InputOffset()
	if rest := bytes.TrimLeft(body[off:], " \t\r\n"); len(rest) > 0 {
		return invalid(canopy.FieldError{Key: keyJSONTrailing, Args: []any{len(body) - len(rest)}})
	}

	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// The walk has seen everything this could say; say it anyway
		// rather than store a half-read request.
		if se, ok := syntaxError(err, len(body)); ok {
			return invalid(se)
		}
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return invalid(canopy.FieldError{Field: te.Field, Key: keyJSONType, Args: []any{"value"}})
		}
		return invalid(canopy.FieldError{Key: keyJSONUnknownField})
	}
	return nil
}

// syntaxError turns an error of the JSON decoder into the field error that
// says where the JSON breaks. It reports false for nil and errStop.
func syntaxError(err error, n int) (canopy.FieldError, bool) {
	if err == nil || err == errStop {
		return canopy.FieldError{}, false
	}
	off := int64(n) // an unexpected end, or a read error, is at the end
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		off = se.Offset
	}
	return canopy.FieldError{Key: keyJSONSyntax, Args: []any{off}}, true
}

// A shape is what JSON a Go type accepts: an object with exactly these
// members, an array of one shape, a string, or an integer.
type shape struct {
	kind   string // "object", "array", "string" or "integer", as said to the client
	fields map[string]*shape
	elem   *shape
}

var shapes sync.Map // reflect.Type → *shape

// shapeOf derives the shape of a request type from its json tags, so the
// struct stays the one description of a request body.
func shapeOf(t reflect.Type) *shape {
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	s := &shape{}
	switch t.Kind() {
	case reflect.Pointer:
		s = shapeOf(t.Elem())
	case reflect.String:
		s.kind = "string"
	case reflect.Int:
		s.kind = "integer"
	case reflect.Slice:
		s.kind, s.elem = "array", shapeOf(t.Elem())
	case reflect.Struct:
		s.kind, s.fields = "object", map[string]*shape{}
		for f := range t.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				panic("api: request field " + t.Name() + "." + f.Name + " has no json name")
			}
			s.fields[name] = shapeOf(f.Type)
		}
	default:
		panic("api: request field of unsupported type " + t.String())
	}
	shapes.Store(t, s)
	return s
}

// errStop ends a walk that has found as many problems as one answer lists.
var errStop = errors.New("api: enough problems")

// walker checks a JSON value against a shape token by token. It never
// recurses deeper than the shape, so no nesting in the input can exhaust
// the stack.
type walker struct {
	dec  *json.Decoder
	errs []canopy.FieldError
}

func (w *walker) add(field, key string, args ...any) error {
	w.errs = append(w.errs, canopy.FieldError{Field: field, Key: key, Args: args})
	if len(w.errs) >= maxFieldErrors {
		return errStop
	}
	return nil
}

// value reads one value at path. null stands for an absent member where a
// member may be absent (nullable), as many JSON libraries write it; it is
// never a list element or the whole body.
func (w *walker) value(s *shape, path string, nullable bool) error {
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	switch {
	case tok == nil && nullable:
		return nil
	case s.kind == "string":
		if _, ok := tok.(string); ok {
			return nil
		}
	case s.kind == "integer":
		// Digits only, and small enough for an int: 31.0, 3e1 and
		// 1e999 would each be a surprise to someone.
		if n, ok := tok.(json.Number); ok {
			if _, err := strconv.ParseInt(string(n), 10, strconv.IntSize); err == nil {
				return nil
			}
		}
	case s.kind == "array" && tok == json.Delim('['):
		for i := 0; w.dec.More(); i++ {
			if err := w.value(s.elem, path+"["+strconv.Itoa(i)+"]", false); err != nil {
				return err
			}
		}
		_, err := w.dec.Token()
		return err
	case s.kind == "object" && tok == json.Delim('{'):
		seen := map[string]bool{}
		for w.dec.More() {
			tok, err := w.dec.Token()
			if err != nil {
				return err
			}
			name, _ := tok.(string) // the decoder only gives strings as names
			field := memberPath(path, name)
			child, known := s.fields[name]
			switch {
			case !known:
				err = w.refuse(field, keyJSONUnknownField)
			case seen[name]:
				err = w.refuse(field, keyJSONDuplicate)
			default:
				seen[name] = true
				err = w.value(child, field, true)
			}
			if err != nil {
				return err
			}
		}
		_, err := w.dec.Token()
		return err
	}
	if err := w.add(path, keyJSONType, s.kind); err != nil {
		return err
	}
	return w.skipRest(tok)
}

// refuse records a problem with the member at field and skips its value.
func (w *walker) refuse(field, key string) error {
	if err := w.add(field, key); err != nil {
		return err
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	return w.skipRest(tok)
}

// skipRest ignores the rest of a value whose first token was tok.
func (w *walker) skipRest(tok json.Token) error {
	depth := 0
	for {
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
		var err error
		if tok, err = w.dec.Token(); err != nil {
			return err
		}
	}
}

// memberPath names a member for the client: "contact.email". A name too
// long to be useful is cut, on a character boundary; an empty name is
// written "" so it is not taken for the body as a whole.
func memberPath(path, name string) string {
	const maxName = 64
	if name == "" {
		name = `""`
	}
	if len(name) > maxName {
		cut := maxName
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + "…"
	}
	if path == "" {
		return name
	}
	return path + "." + name
}
