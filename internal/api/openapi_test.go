package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/platform"
)

// apiDoc is the embedded OpenAPI document, decoded once, with a validator
// for its schemas.
type apiDoc struct {
	root    map[string]any
	schemas *schemas
}

var loadDoc = sync.OnceValues(func() (*apiDoc, error) {
	var root map[string]any
	if err := json.Unmarshal(openapiJSON, &root); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	return &apiDoc{root: root, schemas: newSchemas(root)}, nil
})

func mustDoc(tb testing.TB) *apiDoc {
	tb.Helper()
	d, err := loadDoc()
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// deref follows a $ref, if v is one.
func (d *apiDoc) deref(v any) map[string]any {
	m, _ := v.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		t, err := d.schemas.resolve(ref)
		if err != nil {
			panic(err)
		}
		return d.deref(t)
	}
	return m
}

// get returns the member at a path of names, following $refs on the way.
func (d *apiDoc) get(names ...string) map[string]any {
	m := d.root
	for _, n := range names {
		m = d.deref(m[n])
	}
	return m
}

// operations lists the documented operations as "METHOD /path".
func (d *apiDoc) operations() []string {
	var ops []string
	for path, item := range d.get("paths") {
		for method := range item.(map[string]any) {
			ops = append(ops, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(ops)
	return ops
}

// operation returns the documented operation serving method and path; HEAD
// is served by GET.
func (d *apiDoc) operation(method, path string) map[string]any {
	op, _ := d.operationParams(method, path)
	return op
}

// operationParams is operation, with the values of the path's template
// parameters ("/api/v1/audit/entries/{index}").
func (d *apiDoc) operationParams(method, path string) (map[string]any, map[string]string) {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	template, params := d.matchPath(path)
	if template == "" {
		return nil, nil
	}
	op := d.deref(d.get("paths")[template].(map[string]any)[strings.ToLower(method)])
	if op == nil {
		return nil, nil
	}
	return op, params
}

// matchPath returns the documented path that path is an instance of, and
// the values of its parameters. A literal path wins over a template; a
// parameter stands for one whole, non-empty segment, as in http.ServeMux.
func (d *apiDoc) matchPath(path string) (string, map[string]string) {
	paths := d.get("paths")
	if paths[path] != nil {
		return path, nil
	}
	segs := strings.Split(path, "/")
	for _, template := range slices.Sorted(maps.Keys(paths)) {
		tsegs := strings.Split(template, "/")
		if len(tsegs) != len(segs) || !strings.Contains(template, "{") {
			continue
		}
		params := map[string]string{}
		for i, ts := range tsegs {
			if name, ok := strings.CutPrefix(ts, "{"); ok && strings.HasSuffix(name, "}") && segs[i] != "" {
				params[strings.TrimSuffix(name, "}")] = segs[i]
			} else if ts != segs[i] {
				params = nil
				break
			}
		}
		if params != nil {
			return template, params
		}
	}
	return "", nil
}

// checkParams reports how a request's query and path parameters fail the
// operation's documented parameters: a required one missing, one that is
// not documented, one given twice, or a value its schema refuses (an
// integer parameter must be written as one). None means they conform.
func (d *apiDoc) checkParams(method string, u *url.URL) []string {
	op, pathParams := d.operationParams(method, u.Path)
	if op == nil {
		return []string{"no operation " + method + " " + u.Path}
	}
	var errs []string
	query := u.Query()
	seen := map[string]bool{}
	ps, _ := op["parameters"].([]any)
	for _, pv := range ps {
		p := d.deref(pv)
		name, in := p["name"].(string), p["in"].(string)
		var values []string
		switch in {
		case "query":
			values = query[name]
		case "path":
			if v, ok := pathParams[name]; ok {
				values = []string{v}
			}
		default:
			continue // headers are the client's own business
		}
		seen[in+" "+name] = true
		if len(values) == 0 {
			if p["required"] == true {
				errs = append(errs, fmt.Sprintf("%s parameter %s is required", in, name))
			}
			continue
		}
		if len(values) > 1 {
			errs = append(errs, fmt.Sprintf("%s parameter %s is given %d times", in, name, len(values)))
		}
		schema := d.deref(p["schema"])
		var inst any = values[0]
		if schema["type"] == "integer" {
			n, err := strconv.ParseInt(values[0], 10, 64)
			if err != nil || strconv.FormatInt(n, 10) != values[0] {
				errs = append(errs, fmt.Sprintf("%s parameter %s = %q is not an integer", in, name, values[0]))
				continue
			}
			inst = float64(n)
		}
		for _, e := range d.schemas.validate(schema, inst) {
			errs = append(errs, fmt.Sprintf("%s parameter %s: %s", in, name, e))
		}
	}
	for name := range query {
		if !seen["query "+name] {
			errs = append(errs, "query parameter "+name+" is not documented")
		}
	}
	for name := range pathParams {
		if !seen["path "+name] {
			errs = append(errs, "path parameter "+name+" is not documented")
		}
	}
	sort.Strings(errs)
	return errs
}

// takesBody reports whether the operation serving method and path has a
// request body.
func (d *apiDoc) takesBody(method, path string) bool {
	op := d.operation(method, path)
	return op != nil && op["requestBody"] != nil
}

func (d *apiDoc) validate(schema any, body []byte) []string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	return d.schemas.validate(schema, v)
}

// checkRequest reports how a request body fails the operation's
// requestBody schema; none means it conforms.
func (d *apiDoc) checkRequest(method, path, contentType string, body []byte) []string {
	op := d.operation(method, path)
	if op == nil {
		return []string{"no operation " + method + " " + path}
	}
	rb := d.deref(op["requestBody"])
	if rb == nil {
		return []string{"operation takes no body"}
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	media := d.deref(d.deref(rb["content"])[mt])
	if media == nil {
		return []string{"media type " + contentType + " is not documented"}
	}
	return d.validate(media["schema"], body)
}

// checkResponse reports how an answer differs from every answer the
// documentation allows for the request; none means it conforms.
func (d *apiDoc) checkResponse(method, path string, status int, h http.Header, body []byte) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	// Security headers on every answer; caching only where documented.
	for k, want := range map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
	} {
		if got := h.Get(k); got != want {
			fail("%s = %q, want %q", k, got, want)
		}
	}
	if cc := h.Get("Cache-Control"); cc != "no-store" && !(status == 200 && method != "POST" && cc == "public, max-age=3600") {
		fail("Cache-Control = %q", cc)
	}

	op := d.operation(method, path)
	if op == nil {
		// No route: a 404 or 405 problem, which no operation documents.
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			fail("undocumented %s %s answered %d", method, path, status)
		}
		if ct := h.Get("Content-Type"); ct != "application/problem+json" {
			fail("Content-Type = %q", ct)
		}
		errs = append(errs, d.validate(d.get("components", "schemas", "Problem"), body)...)
		return errs
	}
	responses := d.deref(op["responses"])
	resp := d.deref(responses[strconv.Itoa(status)])
	if resp == nil {
		resp = d.deref(responses["default"])
	}
	if resp == nil {
		fail("status %d is not documented for %s %s", status, method, path)
		return errs
	}
	for name, hv := range d.deref(resp["headers"]) {
		hd := d.deref(hv)
		v, ok := h[http.CanonicalHeaderKey(name)]
		if !ok {
			if hd["required"] == true {
				fail("header %s is missing", name)
			}
			continue
		}
		var inst any = v[0]
		if hd := d.deref(hd["schema"]); hd["type"] == "integer" {
			n, err := strconv.Atoi(v[0])
			if err != nil {
				fail("header %s = %q is not an integer", name, v[0])
				continue
			}
			inst = float64(n)
		}
		for _, e := range d.schemas.validate(hd["schema"], inst) {
			fail("header %s: %s", name, e)
		}
	}
	content := d.deref(resp["content"])
	if content == nil {
		if len(body) > 0 || h.Get("Content-Type") != "" {
			fail("status %d has no documented body, got %q (%q)", status, h.Get("Content-Type"), body)
		}
		return errs
	}
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		fail("Content-Type %q: %v", h.Get("Content-Type"), err)
		return errs
	}
	media := d.deref(content[mt])
	if media == nil {
		fail("status %d: media type %s is not documented", status, mt)
		return errs
	}
	if method == http.MethodHead {
		return errs
	}
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		// A text body is held to its schema as a JSON string would be.
		if !utf8.Valid(body) {
			fail("status %d body is not UTF-8", status)
		}
		for _, e := range d.schemas.validate(media["schema"], string(body)) {
			fail("status %d body: %s", status, e)
		}
		return errs
	}
	for _, e := range d.validate(media["schema"], body) {
		fail("status %d body: %s", status, e)
	}
	return errs
}

// conform wraps an API handler so every answer it gives in a test is
// checked against the document.
func conform(t testing.TB, h http.Handler) http.Handler {
	d := mustDoc(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for _, e := range d.checkResponse(r.Method, r.URL.Path, rec.Code, rec.Header(), rec.Body.Bytes()) {
			t.Errorf("%s %s: answer does not conform to openapi.json: %s", r.Method, r.URL.Path, e)
		}
		// An operation that documents a security requirement never
		// succeeds without the credentials it names.
		if op := d.operation(r.Method, r.URL.Path); op != nil && op["security"] != nil && rec.Code < 300 {
			if _, ok := bearer(r.Header); !ok {
				t.Errorf("%s %s: answered %d without a bearer token", r.Method, r.URL.Path, rec.Code)
			}
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

func TestOpenAPIDocument(t *testing.T) {
	d := mustDoc(t)
	if v, _ := d.root["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	for _, k := range []string{"info", "paths", "components"} {
		if d.root[k] == nil {
			t.Errorf("no %s", k)
		}
	}
	if info := d.get("info"); info["title"] == nil || info["version"] == nil {
		t.Error("info needs a title and a version")
	}

	// Every $ref anywhere resolves.
	var refs func(v any, at string)
	refs = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				if _, err := d.schemas.resolve(ref); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, sub := range x {
				refs(sub, at+"/"+k)
			}
		case []any:
			for i, sub := range x {
				refs(sub, at+"/"+strconv.Itoa(i))
			}
		}
	}
	refs(d.root, "#")

	// Every schema uses only keywords the validator checks.
	for name, s := range d.get("components", "schemas") {
		for _, e := range checkKeywords(s, "#/components/schemas/"+name) {
			t.Error(e)
		}
	}
	var inline func(v any, at string)
	inline = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			for k, sub := range x {
				if k == "schema" {
					for _, e := range checkKeywords(sub, at+"/schema") {
						t.Error(e)
					}
					continue
				}
				if k != "schemas" && k != "example" && k != "examples" {
					inline(sub, at+"/"+k)
				}
			}
		case []any:
			for i, sub := range x {
				inline(sub, at+"/"+strconv.Itoa(i))
			}
		}
	}
	inline(d.root, "#")

	// Every operation has a unique id, documents 500, and describes every
	// response; every example is valid against its schema.
	ids := map[string]bool{}
	for _, op := range d.operations() {
		method, path, _ := strings.Cut(op, " ")
		o := d.operation(method, path)
		id, _ := o["operationId"].(string)
		if id == "" || ids[id] {
			t.Errorf("%s: operationId %q is missing or repeated", op, id)
		}
		ids[id] = true
		responses := d.deref(o["responses"])
		if responses["500"] == nil {
			t.Errorf("%s does not document 500", op)
		}
		for status, r := range responses {
			resp := d.deref(r)
			if resp["description"] == nil {
				t.Errorf("%s %s has no description", op, status)
			}
			for mt, m := range d.deref(resp["content"]) {
				checkExamples(t, d, op+" "+status+" "+mt, d.deref(m))
			}
		}
		if rb := d.deref(o["requestBody"]); rb != nil {
			for mt, m := range d.deref(rb["content"]) {
				checkExamples(t, d, op+" request "+mt, d.deref(m))
			}
		}

		// Path parameters are exactly the path's template names, and
		// required; every parameter says where it goes and what it takes.
		inPath := map[string]bool{}
		for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
			inPath[m[1]] = true
		}
		ps, _ := o["parameters"].([]any)
		for _, pv := range ps {
			p := d.deref(pv)
			name, _ := p["name"].(string)
			in, _ := p["in"].(string)
			if name == "" || !slices.Contains([]string{"query", "path", "header"}, in) || p["schema"] == nil {
				t.Errorf("%s: parameter %v lacks a name, a place or a schema", op, p)
			}
			if in == "path" {
				if !inPath[name] || p["required"] != true {
					t.Errorf("%s: path parameter %s is not a required part of the path", op, name)
				}
				delete(inPath, name)
			}
		}
		for name := range inPath {
			t.Errorf("%s: path parameter %s is not documented", op, name)
		}

		// A secured operation names a defined scheme and documents the
		// answers to a caller without credentials (401, saying how to
		// authenticate) and without the right (403).
		if sec, ok := o["security"].([]any); ok && len(sec) > 0 {
			for _, req := range sec {
				for scheme := range req.(map[string]any) {
					if d.get("components", "securitySchemes")[scheme] == nil {
						t.Errorf("%s: security scheme %s is not defined", op, scheme)
					}
				}
			}
			if responses["401"] == nil || responses["403"] == nil {
				t.Errorf("%s is secured but does not document 401 and 403", op)
			} else if h := d.deref(d.deref(d.deref(responses["401"])["headers"])["WWW-Authenticate"]); h["required"] != true {
				t.Errorf("%s: 401 does not require WWW-Authenticate", op)
			}
		}
	}
}

func checkExamples(t *testing.T, d *apiDoc, where string, media map[string]any) {
	t.Helper()
	if ex, ok := media["example"]; ok {
		for _, e := range d.schemas.validate(media["schema"], ex) {
			t.Errorf("%s: example: %s", where, e)
		}
	}
	for name, ex := range d.deref(media["examples"]) {
		for _, e := range d.schemas.validate(media["schema"], d.deref(ex)["value"]) {
			t.Errorf("%s: example %s: %s", where, name, e)
		}
	}
}

// TestOpenAPIMatchesCode keeps the document's constraints in step with
// intake's limits, the taxonomy and the status table.
func TestOpenAPIMatchesCode(t *testing.T) {
	d := mustDoc(t)
	schema := func(names ...string) map[string]any {
		return d.get(append([]string{"components", "schemas"}, names...)...)
	}
	report := func(names ...string) map[string]any {
		return schema(append([]string{"ReportRequest", "properties"}, names...)...)
	}
	strs := func(v any) []string {
		var out []string
		for _, x := range v.([]any) {
			if s, ok := x.(string); ok { // null in an enum means absent
				out = append(out, s)
			}
		}
		return out
	}
	sameSet := func(what string, got, want []string) {
		t.Helper()
		got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: document has %q, code has %q", what, got, want)
		}
	}
	num := func(what string, s map[string]any, key string, want int) {
		t.Helper()
		if got, _ := s[key].(float64); int(got) != want {
			t.Errorf("%s %s = %v, code says %d", what, key, s[key], want)
		}
	}

	var categories []string
	for _, c := range canopy.Categories {
		categories = append(categories, c.Code)
	}
	sameSet("categories", strs(report("category")["enum"]), categories)
	sameSet("reporters a report may carry", strs(report("reporter")["enum"]), canopy.PublicReporters)
	sameSet("flags", strs(report("flags", "items")["enum"]), canopy.Flags)
	sameSet("report languages", strs(report("language")["enum"]), canopy.Languages)
	sameSet("languages", strs(schema("LanguageCode")["enum"]), canopy.Languages)
	sameSet("statuses", strs(schema("StatusCode")["enum"]), canopy.Statuses)
	sameSet("taxonomy reporters", strs(schema("Taxonomy", "properties", "reporters", "items", "properties", "code")["enum"]), canopy.Reporters)
	sameSet("hash algorithms", strs(schema("Hash", "properties", "algorithm")["enum"]), slices.Collect(maps.Keys(canopy.HashAlgorithms)))
	for _, branch := range schema("Hash")["oneOf"].([]any) {
		p := d.deref(branch)["properties"].(map[string]any)
		alg := d.deref(p["algorithm"])["const"].(string)
		num("hash "+alg, d.deref(p["value"]), "minLength", canopy.HashAlgorithms[alg])
		num("hash "+alg, d.deref(p["value"]), "maxLength", canopy.HashAlgorithms[alg])
	}

	num("flags", report("flags"), "maxItems", len(canopy.Flags))
	num("description", report("description"), "maxLength", intake.MaxDescription)
	num("urls", report("urls"), "maxItems", intake.MaxURLs)
	num("urls[]", report("urls", "items"), "maxLength", intake.MaxURL)
	num("platform", report("platform"), "maxLength", intake.MaxShort)
	num("accounts", report("accounts"), "maxItems", intake.MaxAccounts)
	num("accounts[]", report("accounts", "items"), "maxLength", intake.MaxShort)
	num("hashes", report("hashes"), "maxItems", intake.MaxHashes)
	num("contact.name", schema("Contact", "properties", "name"), "maxLength", intake.MaxShort)
	num("contact.email", schema("Contact", "properties", "email"), "maxLength", intake.MaxEmail)
	num("contact.phone", schema("Contact", "properties", "phone"), "maxLength", intake.MaxPhone)
	num("message body", schema("MessageRequest", "properties", "body"), "maxLength", intake.MaxMessage)
	num("errors", schema("Problem", "properties", "errors"), "maxItems", maxFieldErrors)

	// The request schemas name exactly the members the decoder accepts.
	for name, v := range map[string]any{"ReportRequest": reportRequest{}, "Contact": contactRequest{},
		"Hash": canopy.ContentHash{}, "FollowupRequest": followupRequest{}, "MessageRequest": messageRequest{},
		"PlatformReportsRequest": platformReportsRequest{}, "Incident": incidentRequest{},
		"IncidentAccount": platform.Account{}, "IncidentFile": platform.File{}, "MatchRequest": matchRequest{},
		"TakedownRequest": takedownRequest{}} {
		s := shapeOf(reflect.TypeOf(v))
		sameSet(name+" members", slices.Collect(maps.Keys(schema(name, "properties"))), slices.Collect(maps.Keys(s.fields)))
	}

	// The answer schemas name exactly the members the code writes, and
	// require those it always writes.
	for name, v := range map[string]any{"AuditKey": auditKeyAnswer{}, "AuditConsistency": consistencyAnswer{},
		"AuditEntry": auditEntryAnswer{}, "AuditEntryFields": auditEntryFields{},
		"PlatformReportsAnswer": platformReportsAnswer{}, "ItemResult": itemAnswer{}, "MatchAnswer": matchAnswer{},
		"MatchResult": matchResult{}, "Hit": canopy.Hit{}, "BankChanges": bankChangesAnswer{}, "BankChange": bankChangeAnswer{},
		"CaseList": caseList{}, "CaseSummary": caseSummary{}, "CaseFile": caseFileAnswer{}, "CaseConsent": consentAnswer{},
		"CaseReferral": referralAnswer{}, "CaseCheckIn": checkInAnswer{}, "CaseHold": holdAnswer{}, "CaseErasure": erasureAnswer{},
		"CaseStatistics": caseStatisticsAnswer{}, "CaseStatisticsRow": statisticsRow{}, "ReportCases": reportCasesAnswer{},
		"LinkedCase": linkedCase{}, "TakedownState": takedownAnswer{}} {
		sameSet(name+" members", slices.Collect(maps.Keys(schema(name, "properties"))), jsonNames(reflect.TypeOf(v)))
		sameSet(name+" required members", strs(schema(name)["required"]), jsonAlways(reflect.TypeOf(v)))
	}

	// The platform routes' limits and codes.
	var algorithms []string
	for a := range canopy.HashAlgorithms {
		algorithms = append(algorithms, a)
	}
	num("incidents", schema("PlatformReportsRequest", "properties", "incidents"), "maxItems", platform.MaxIncidents)
	num("results", schema("PlatformReportsAnswer", "properties", "results"), "maxItems", platform.MaxIncidents)
	num("item errors", schema("ItemResult", "properties", "errors"), "maxItems", maxFieldErrors)
	num("hashes to match", schema("MatchRequest", "properties", "hashes"), "maxItems", maxMatchHashes)
	num("threshold", schema("MatchRequest", "properties", "threshold"), "maximum", maxThreshold)
	num("distance", schema("Hit", "properties", "distance"), "maximum", maxThreshold)
	num("Idempotency-Key", d.get("components", "parameters", "idempotencyKey", "schema"), "maxLength", maxIdempotencyKey)
	num("limit", d.get("components", "parameters", "changesLimit", "schema"), "maximum", maxChangesLimit)
	num("changes", schema("BankChanges", "properties", "changes"), "maxItems", maxChangesLimit)
	sameSet("incident flags", strs(schema("Incident", "properties", "flags", "items")["enum"]), canopy.Flags)
	sameSet("incident languages", strs(schema("Incident", "properties", "language")["enum"]), canopy.Languages)
	sameSet("hit categories", strs(schema("Hit", "properties", "category")["enum"]), categories)
	sameSet("bank change categories", strs(schema("BankChange", "properties", "category")["enum"]), categories)
	sameSet("hit algorithms", strs(schema("Hit", "properties", "algorithm")["enum"]), algorithms)
	sameSet("bank change algorithms", strs(schema("BankChange", "properties", "algorithm")["enum"]), algorithms)
	sameSet("bank change ops", strs(schema("BankChange", "properties", "op")["enum"]), []string{canopy.BankAdd, canopy.BankRemove})
	if s := d.get("components", "securitySchemes", "apiKey"); s["type"] != "http" || s["scheme"] != "bearer" {
		t.Errorf("apiKey scheme %v, want http bearer", s)
	}
	for _, op := range []string{"POST /api/v1/platform/reports", "POST /api/v1/match", "GET /api/v1/banks/{bank}/changes",
		"POST /api/v1/platform/takedowns/{id}"} {
		method, path, _ := strings.Cut(op, " ")
		if o := d.operation(method, path); !reflect.DeepEqual(o["security"], []any{map[string]any{"apiKey": []any{}}}) {
			t.Errorf("%s: security %v", op, o["security"])
		}
	}
	// A takedown confirmation's statuses and bounds.
	sameSet("takedown request statuses", strs(schema("TakedownRequest", "properties", "status")["enum"]), takedownStatuses)
	sameSet("takedown state statuses", strs(schema("TakedownState", "properties", "status")["enum"]), takedownStatuses)
	num("reason", schema("TakedownRequest", "properties", "reason"), "maxLength", maxTakedownReason)
	scopePattern := d.get("components", "headers", "WWWAuthenticateScope", "schema")["pattern"].(string)
	for _, sc := range canopy.Scopes {
		if !regexp.MustCompile(scopePattern).MatchString(`Bearer realm="canopy", error="insufficient_scope", scope="` + sc + `"`) {
			t.Errorf("WWW-Authenticate for scope %s does not match %s", sc, scopePattern)
		}
	}
	// Entries are read with a staff session token as a bearer token.
	if s := d.get("components", "securitySchemes", "staffSession"); s["type"] != "http" || s["scheme"] != "bearer" {
		t.Errorf("staffSession scheme %v, want http bearer", s)
	}
	if op := d.operation("GET", "/api/v1/audit/entries/{index}"); !reflect.DeepEqual(op["security"], []any{map[string]any{"staffSession": []any{}}}) {
		t.Errorf("audit entries: security %v", op["security"])
	}

	// The case routes' codes and limits.
	sameSet("case age bands", strs(schema("CaseAgeBand")["enum"]), canopy.CaseAgeBands)
	sameSet("case needs", strs(schema("CaseNeed")["enum"]), canopy.CaseNeeds)
	sameSet("consent purposes", strs(schema("CaseConsent", "properties", "purpose")["enum"]), canopy.Purposes)
	sameSet("consent givers", strs(schema("CaseConsent", "properties", "given_by")["enum"]), canopy.ConsentGivers)
	sameSet("consent methods", strs(schema("CaseConsent", "properties", "method")["enum"]), canopy.ConsentMethods)
	sameSet("referral statuses", strs(schema("CaseReferral", "properties", "status")["enum"]), canopy.ServiceReferralStatuses)
	sameSet("check-in scales", strs(schema("CaseCheckIn", "properties", "scale")["enum"]), canopy.Scales)
	sameSet("erasure kinds", strs(schema("CaseErasure", "properties", "kind")["enum"]), []string{canopy.ErasureRedact, canopy.ErasureDelete})
	sameSet("erasure decisions", strs(schema("CaseErasure", "properties", "decision")["enum"]),
		[]string{canopy.ErasureDone, canopy.ErasureRefused, canopy.ErasureHeld})
	num("case languages", schema("CaseLanguages"), "maxItems", 8)
	num("case needs", schema("CaseNeeds"), "maxItems", len(canopy.CaseNeeds))
	num("cases limit", d.get("components", "parameters", "casesLimit", "schema"), "maximum", maxCasesLimit)
	num("cases offset", d.get("components", "parameters", "casesOffset", "schema"), "maximum", maxCasesOffset)
	num("cases", schema("CaseList", "properties", "cases"), "maxItems", maxCasesLimit)
	num("case list limit", schema("CaseList", "properties", "limit"), "maximum", maxCasesLimit)
	for _, target := range slices.Concat(canopy.DetailFields, []string{"plan", "checkin:1", "checkin:12"}) {
		if !regexp.MustCompile(schema("CaseErasure", "properties", "target")["pattern"].(string)).MatchString(target) {
			t.Errorf("erasure target %s does not match the document's pattern", target)
		}
	}
	for _, op := range []string{"GET /api/v1/cases", "GET /api/v1/cases/statistics", "GET /api/v1/cases/{id}", "GET /api/v1/reports/{id}/cases"} {
		method, path, _ := strings.Cut(op, " ")
		if o := d.operation(method, path); !reflect.DeepEqual(o["security"], []any{map[string]any{"staffSession": []any{}}}) {
			t.Errorf("%s: security %v", op, o["security"])
		}
	}

	// The status table, the problem codes and the problem responses agree.
	sameSet("problem codes", strs(schema("Problem", "properties", "code")["enum"]), slices.Collect(maps.Keys(statusOf)))
	sameSet("field problem codes", strs(schema("FieldProblem", "properties", "code")["enum"]), slices.Concat(intake.FieldKeys, jsonKeys, takedownFieldKeys))
	for name, r := range d.get("components", "responses") {
		s := d.deref(d.deref(d.deref(d.deref(r)["content"])["application/problem+json"])["schema"])
		all, _ := s["allOf"].([]any)
		if len(all) != 2 {
			t.Errorf("response %s: want allOf [Problem, constants]", name)
			continue
		}
		p := d.deref(all[1])["properties"].(map[string]any)
		code := d.deref(p["code"])["const"].(string)
		status := int(d.deref(p["status"])["const"].(float64))
		if statusOf[code].status != status {
			t.Errorf("response %s: code %s has status %d in the document, %d in statusOf", name, code, status, statusOf[code].status)
		}
		if typ := d.deref(p["type"])["const"]; typ != problemBase+code {
			t.Errorf("response %s: type %v, want %s", name, typ, problemBase+code)
		}
	}
}

// jsonNames lists the JSON member names of a struct's fields, and of the
// fields of the structs it embeds, as encoding/json writes them.
func jsonNames(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			out = append(out, jsonNames(f.Type)...)
		case f.IsExported() && name != "-":
			out = append(out, name)
		}
	}
	return out
}

// jsonAlways lists the JSON member names of a struct's fields (and its
// embedded structs' fields) that are written whatever their value: those
// without omitempty.
func jsonAlways(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			out = append(out, jsonAlways(f.Type)...)
		case f.IsExported() && name != "-" && !slices.Contains(strings.Split(opts, ","), "omitempty"):
			out = append(out, name)
		}
	}
	return out
}

// TestRoutesDocumented checks that the API serves exactly the documented
// operations: each one reaches its handler, every other method of a
// documented path is a 405 naming the allowed ones, and any other path is
// a 404.
func TestRoutesDocumented(t *testing.T) {
	d := mustDoc(t)
	h := New(Config{}).(*handler)
	var served []string
	for _, rt := range h.routes() {
		served = append(served, rt.method+" "+rt.path)
	}
	sort.Strings(served)
	if ops := d.operations(); !slices.Equal(served, ops) {
		t.Fatalf("served %q, documented %q", served, ops)
	}

	srv := conform(t, h)
	send := func(method, path string) *httptest.ResponseRecorder {
		var body io.Reader
		r := httptest.NewRequest(method, path, body)
		if method == http.MethodPost {
			r = httptest.NewRequest(method, path, strings.NewReader(`{"extra": 1}`))
			r.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		return rec
	}
	notFound := send("GET", "/api/v1/nowhere")
	if notFound.Code != 404 || problemCode(t, notFound) != canopy.ENOTFOUND {
		t.Fatalf("unknown path: %d %s", notFound.Code, notFound.Body)
	}
	for _, p := range []string{"/", "/api/", "/api/v1/reports/", "/api/v2/reports", "/healthz", "/api/v1/REPORTS",
		"/api/v1/audit", "/api/v1/audit/", "/api/v1/audit/entries", "/api/v1/audit/entries/", "/api/v1/audit/entries/1/proof"} {
		if rec := send("GET", p); rec.Code != 404 || rec.Body.String() != notFound.Body.String() {
			t.Errorf("GET %s: %d %s, want the 404 problem", p, rec.Code, rec.Body)
		}
	}

	allowed := map[string][]string{}
	for _, op := range served {
		method, path, _ := strings.Cut(op, " ")
		allowed[path] = append(allowed[path], method)
		if method == "GET" {
			allowed[path] = append(allowed[path], "HEAD")
		}
		// A body with an unknown member reaches the handler, which says
		// so; a route that did not would answer 404 or 405.
		rec := send(method, path)
		if rec.Code == 404 && rec.Body.String() == notFound.Body.String() || rec.Code == 405 {
			t.Errorf("%s: not served (%d)", op, rec.Code)
		}
	}
	for path, methods := range allowed {
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			if slices.Contains(methods, m) {
				continue
			}
			rec := send(m, path)
			if rec.Code != 405 {
				t.Errorf("%s %s: %d, want 405", m, path, rec.Code)
				continue
			}
			if got, want := rec.Header().Get("Allow"), strings.Join(methods, ", "); got != want {
				t.Errorf("%s %s: Allow %q, want %q", m, path, got, want)
			}
			if m != "HEAD" && problemCode(t, rec) != codeMethodNotAllowed {
				t.Errorf("%s %s: %s", m, path, rec.Body)
			}
		}
	}
}

func TestServeOpenAPI(t *testing.T) {
	h := conform(t, New(Config{}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/openapi.json", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" ||
		rec.Header().Get("Cache-Control") != "public, max-age=3600" || !bytes.Equal(rec.Body.Bytes(), openapiJSON) {
		t.Fatalf("GET /api/openapi.json: %d %v", rec.Code, rec.Header())
	}
}

// problemCode returns the code of a problem answer, failing the test if
// the answer is not one.
func problemCode(t testing.TB, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
		return ""
	}
	var p problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Errorf("problem: %v", err)
	}
	return p.Code
}
