package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/i18n"
)

// Codes the HTTP layer adds to the node's own: they describe how a request
// was sent, which no other layer sees.
const (
	codeMethodNotAllowed     = "method_not_allowed"
	codeUnsupportedMediaType = "unsupported_media_type"
)

// problemBase is the prefix of every problem type URI; the code follows.
// .invalid is reserved (RFC 2606), so the identifier can never resolve to
// someone else's site, and it stays the same on every node.
const problemBase = "https://canopy.invalid/problems/"

// statusOf is the one table from error code to HTTP status. Every invalid
// input is 400, whether the JSON or the values are wrong: clients tell the
// two apart by the codes in "errors" (error.json.* for the shape of the
// request, the intake keys for what a person typed), and one status keeps
// them simple. The title is the problem type's fixed English summary.
var statusOf = map[string]struct {
	status int
	title  string
}{
	canopy.EINVALID:          {http.StatusBadRequest, "Invalid request"},
	canopy.EUNAUTHORIZED:     {http.StatusUnauthorized, "Unauthorized"},
	canopy.EFORBIDDEN:        {http.StatusForbidden, "Forbidden"},
	canopy.ENOTFOUND:         {http.StatusNotFound, "Not found"},
	codeMethodNotAllowed:     {http.StatusMethodNotAllowed, "Method not allowed"},
	canopy.ECONFLICT:         {http.StatusConflict, "Conflict"},
	canopy.ETOOLARGE:         {http.StatusRequestEntityTooLarge, "Request too large"},
	codeUnsupportedMediaType: {http.StatusUnsupportedMediaType, "Unsupported media type"},
	canopy.ETOOMANY:          {http.StatusTooManyRequests, "Too many requests"},
	canopy.EINTERNAL:         {http.StatusInternalServerError, "Internal error"},
	canopy.EUNAVAILABLE:      {http.StatusServiceUnavailable, "Service unavailable"},
}

// problem is an RFC 9457 problem details object with Canopy's extension
// members "code" and "errors".
type problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Detail string         `json:"detail"`
	Code   string         `json:"code"`
	Errors []fieldProblem `json:"errors,omitempty"`
}

// fieldProblem is one entry of a problem's "errors": Field is the JSON
// path of the member ("urls[2]", "contact.email"), absent when the problem
// is with the request as a whole; Code is the catalog key.
type fieldProblem struct {
	Field  string `json:"field,omitempty"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// fail answers with the problem err describes. Internal errors are logged
// with their cause and answered with a fixed message: the cause is for
// operators only.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := canopy.AsError(err)
	s, ok := statusOf[e.Code]
	if !ok {
		h.log.Error("api: unknown error code", "route", r.Pattern, "code", e.Code)
		e = &canopy.Error{Code: canopy.EINTERNAL, Err: err}
		s = statusOf[canopy.EINTERNAL]
	}
	if s.status >= 500 {
		// The route and the cause only: never the body, the address or
		// the user agent.
		h.log.Error("api: request failed", "route", r.Pattern, "code", e.Code, "err", err)
		e = &canopy.Error{Code: e.Code} // the cause and any key stay here
	}
	l, _ := lang(r)
	c := i18n.Get(l)
	p := problem{
		Type:   problemBase + e.Code,
		Title:  s.title,
		Status: s.status,
		Code:   e.Code,
		Detail: s.title,
	}
	// A key from a layer whose messages the API does not carry gives way
	// to the code's own message.
	key := e.Key
	if key == "" || !i18n.Get("en").Has(key) {
		key = "error." + e.Code
	}
	if i18n.Get("en").Has(key) {
		p.Detail = c.T(key)
	}
	for _, f := range e.Fields[:min(len(e.Fields), maxFieldErrors)] {
		p.Errors = append(p.Errors, fieldProblem{Field: f.Field, Code: f.Key, Detail: c.T(f.Key, f.Args...)})
	}
	body, err := encode(p)
	if err != nil { // cannot happen: strings and ints only
		body = []byte(`{"type":"` + problemBase + `internal","title":"Internal error","status":500,"detail":"","code":"internal"}`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Content-Language", l)
	w.WriteHeader(s.status)
	w.Write(body)
}

// writeJSON answers with v as JSON. It encodes before writing anything, so
// an encoding failure is still a clean 500.
func (h *handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := encode(v)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// encode is JSON as the API writes it: one line, and no HTML escaping,
// since no answer is ever read as HTML (nosniff, CSP default-src 'none').
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
