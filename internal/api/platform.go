package api

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/bank"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/platform"
)

// The platform routes serve online services that hold an API key: bulk
// incident reports (scope submit), hash matching against the node's banks
// (match), bank syncing (sync) and takedown confirmations (takedown, in
// takedown.go). They differ from the public routes in three ways, each on
// purpose:
//
//   - The caller is known, so the limit is per API key, not per source: a
//     platform's traffic comes from a few addresses and would exhaust any
//     per-address limit fit for the public. A request without a valid key
//     is anonymous, and its 401 counts against the per-source limit.
//
//   - Bodies are batches, so they may be up to maxPlatformBody; a
//     takedown confirmation is no batch, and has a bound of its own.
//
//   - A bulk submission is stored incident by incident: valid ones are
//     kept, invalid ones are answered with their problems, and the answer
//     is kept under the Idempotency-Key, so that a retry after a lost
//     answer gets the same answer and stores nothing twice.

// maxPlatformBody bounds the body of a platform batch: a thousand
// incidents of a few kilobytes each, or a thousand hashes.
const maxPlatformBody = 8 << 20

// Bounds of a match request.
const (
	maxMatchHashes = 1000
	maxThreshold   = 64
)

// Bounds of a page of bank changes.
const (
	defaultChangesLimit = 1000
	maxChangesLimit     = 10000
)

// maxIdempotencyKey is the longest Idempotency-Key platform.Submit keeps.
const maxIdempotencyKey = 200

// platformReportsRequest is the body of POST /api/v1/platform/reports.
type platformReportsRequest struct {
	Incidents []incidentRequest `json:"incidents"`
}

// incidentRequest is a platform.Incident as it is sent: the time is a
// string here, so a malformed one is named with its path like any other
// problem with the shape of the request.
type incidentRequest struct {
	IncidentType    string            `json:"incident_type"`
	IncidentTime    string            `json:"incident_time"`
	Flags           []string          `json:"flags"`
	Description     string            `json:"description"`
	Service         string            `json:"service"`
	ReportedAccount *platform.Account `json:"reported_account"`
	URLs            []string          `json:"urls"`
	Files           []platform.File   `json:"files"`
	ChildCountry    string            `json:"child_country"`
	Language        string            `json:"language"`
	ReporterContact *contactRequest   `json:"reporter_contact"`
}

// incidents converts the request to what platform.Submit takes. A count
// out of bounds or a time that is not RFC 3339 refuses the whole request:
// these are mistakes in how the client builds it, not in what a platform
// found.
func (req *platformReportsRequest) incidents() ([]platform.Incident, error) {
	switch n := len(req.Incidents); {
	case n == 0:
		return nil, badParams([]canopy.FieldError{{Field: "incidents", Key: intake.KeyRequired}})
	case n > platform.MaxIncidents:
		return nil, badParams([]canopy.FieldError{{Field: "incidents", Key: intake.KeyTooMany, Args: []any{platform.MaxIncidents}}})
	}
	out := make([]platform.Incident, len(req.Incidents))
	var fields []canopy.FieldError
	for i, in := range req.Incidents {
		out[i] = platform.Incident{
			IncidentType:    in.IncidentType,
			Flags:           in.Flags,
			Description:     in.Description,
			Service:         in.Service,
			ReportedAccount: in.ReportedAccount,
			URLs:            in.URLs,
			Files:           in.Files,
			ChildCountry:    in.ChildCountry,
			Language:        in.Language,
		}
		if c := in.ReporterContact; c != nil {
			out[i].ReporterContact = &canopy.Contact{Name: c.Name, Email: c.Email, Phone: c.Phone}
		}
		if ts := strings.TrimSpace(in.IncidentTime); ts != "" {
			t, err := time.Parse(time.RFC3339, ts)
			if err != nil {
				fields = append(fields, canopy.FieldError{Field: "incidents[" + strconv.Itoa(i) + "].incident_time",
					Key: keyJSONType, Args: []any{"string in RFC 3339 date-time format"}})
				continue
			}
			out[i].IncidentTime = &t
		}
	}
	if len(fields) > 0 {
		return nil, badParams(fields)
	}
	return out, nil
}

// platformReportsAnswer is the answer to a bulk submission: one result per
// incident, in the order sent.
type platformReportsAnswer struct {
	Results  []itemAnswer `json:"results"`
	Replayed bool         `json:"replayed"`
}

type itemAnswer struct {
	Index    int            `json:"index"`
	Status   string         `json:"status"` // created, duplicate or invalid
	ReportID string         `json:"report_id,omitempty"`
	Errors   []fieldProblem `json:"errors,omitempty"`
}

// platformReports answers POST /api/v1/platform/reports. The answer is 201
// when every incident was stored by this request, and 200 when it is a
// replay or when some incident was a duplicate or invalid: the client
// reads "results" either way, and the status only spares it the look when
// everything went in.
func (h *handler) platformReports(w http.ResponseWriter, r *http.Request) {
	k, ok := h.platformCall(w, r, canopy.ScopeSubmit, true)
	if !ok {
		return
	}
	idem, err := idempotencyKey(r.Header)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var req platformReportsRequest
	if err := readJSONUpTo(w, r, &req, maxPlatformBody); err != nil {
		h.fail(w, r, err)
		return
	}
	incidents, err := req.incidents()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// A batch runs to its end even if the client hangs up, so that its
	// answer is kept and the retry is a replay rather than a mix of
	// duplicates and fresh reports.
	res, err := h.platform.Submit(context.WithoutCancel(r.Context()), k, idem, incidents)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	l, _ := lang(r)
	c := i18n.Get(l)
	answer := platformReportsAnswer{Results: make([]itemAnswer, len(res.Items)), Replayed: res.Replayed}
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
	}
	for i, it := range res.Items {
		a := itemAnswer{Index: it.Index, Status: it.Status, ReportID: it.ReportID}
		for _, f := range it.Errors[:min(len(it.Errors), maxFieldErrors)] {
			a.Errors = append(a.Errors, fieldProblem{Field: f.Field, Code: f.Key, Detail: c.T(f.Key, f.Args...)})
		}
		if it.Status == "invalid" && len(a.Errors) == 0 {
			// Refused as a whole: still say so, on the incident.
			a.Errors = []fieldProblem{{Field: "incidents[" + strconv.Itoa(it.Index) + "]", Code: intake.KeyInvalid, Detail: c.T(intake.KeyInvalid)}}
		}
		if it.Status != "created" {
			status = http.StatusOK
		}
		answer.Results[i] = a
	}
	w.Header().Set("Content-Language", l)
	h.writeJSON(w, r, status, answer)
}

// idempotencyKey reads the Idempotency-Key header: one value of visible
// ASCII, as the IETF draft's examples (UUIDs) are.
func idempotencyKey(hd http.Header) (string, error) {
	v := hd.Values("Idempotency-Key")
	bad := func(key string, args ...any) (string, error) {
		return "", badParams([]canopy.FieldError{{Field: "Idempotency-Key", Key: key, Args: args}})
	}
	if len(v) > 1 {
		return bad(intake.KeyDuplicate)
	}
	var key string
	if len(v) == 1 {
		key = strings.TrimSpace(v[0])
	}
	switch {
	case key == "":
		return bad(intake.KeyRequired)
	case len(key) > maxIdempotencyKey:
		return bad(intake.KeyTooLong, maxIdempotencyKey)
	case strings.IndexFunc(key, func(c rune) bool { return c <= ' ' || c > '~' }) >= 0:
		return bad(intake.KeyInvalid)
	}
	return key, nil
}

// matchRequest is the body of POST /api/v1/match. Threshold is the PDQ
// distance at most which a hash matches; nil means bank.DefaultThreshold.
type matchRequest struct {
	Hashes    []canopy.ContentHash `json:"hashes"`
	Threshold *int                 `json:"threshold"`
}

type matchAnswer struct {
	Results []matchResult `json:"results"`
}

// matchResult is what one hash of the request matched, nearest first:
// never null, empty when nothing matched.
type matchResult struct {
	Index   int          `json:"index"`
	Matches []canopy.Hit `json:"matches"`
}

// match answers POST /api/v1/match. Nothing about the request is kept: a
// platform's hashes are its users' files.
func (h *handler) match(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.platformCall(w, r, canopy.ScopeMatch, h.matcher != nil); !ok {
		return
	}
	var req matchRequest
	if err := readJSONUpTo(w, r, &req, maxPlatformBody); err != nil {
		h.fail(w, r, err)
		return
	}
	threshold := bank.DefaultThreshold
	var fields []canopy.FieldError
	switch n := len(req.Hashes); {
	case n == 0:
		fields = append(fields, canopy.FieldError{Field: "hashes", Key: intake.KeyRequired})
	case n > maxMatchHashes:
		fields = append(fields, canopy.FieldError{Field: "hashes", Key: intake.KeyTooMany, Args: []any{maxMatchHashes}})
	default:
		for i := range req.Hashes {
			if f, bad := checkHash(&req.Hashes[i], "hashes["+strconv.Itoa(i)+"]"); bad {
				fields = append(fields, f)
			}
		}
	}
	if t := req.Threshold; t != nil {
		switch {
		case *t < 0:
			fields = append(fields, canopy.FieldError{Field: "threshold", Key: intake.KeyInvalid})
		case *t > maxThreshold:
			fields = append(fields, canopy.FieldError{Field: "threshold", Key: intake.KeyTooMany, Args: []any{maxThreshold}})
		default:
			threshold = *t
		}
	}
	if len(fields) > 0 {
		h.fail(w, r, badParams(fields))
		return
	}
	answer := matchAnswer{Results: make([]matchResult, len(req.Hashes))}
	for i, hash := range req.Hashes {
		// Match reads a threshold of 0 as "the default", so ask for at
		// least 1 and keep what is within the threshold asked for.
		hits := h.matcher.Match(hash, max(threshold, 1))
		hits = slices.DeleteFunc(hits, func(hit canopy.Hit) bool { return hit.Distance > threshold })
		if hits == nil {
			hits = []canopy.Hit{}
		}
		answer.Results[i] = matchResult{Index: i, Matches: hits}
	}
	h.writeJSON(w, r, http.StatusOK, answer)
}

// checkHash checks and normalises a hash as intake does for a report's:
// a known algorithm; hex of the algorithm's length, in lowercase; or, for
// an opaque scheme, printable ASCII of at most 4096 characters.
func checkHash(hash *canopy.ContentHash, field string) (canopy.FieldError, bool) {
	hash.Algorithm = strings.ToLower(strings.TrimSpace(hash.Algorithm))
	hash.Value = strings.TrimSpace(hash.Value)
	n, ok := canopy.HashAlgorithms[hash.Algorithm]
	switch {
	case !ok:
		return canopy.FieldError{Field: field + ".algorithm", Key: intake.KeyHashAlgorithm}, true
	case n == 0:
		if hash.Value == "" || len(hash.Value) > 4096 || strings.IndexFunc(hash.Value, func(c rune) bool { return c <= ' ' || c > '~' }) >= 0 {
			return canopy.FieldError{Field: field + ".value", Key: intake.KeyHashValue, Args: []any{4096}}, true
		}
	default:
		hash.Value = strings.ToLower(hash.Value)
		if len(hash.Value) != n || strings.Trim(hash.Value, "0123456789abcdef") != "" {
			return canopy.FieldError{Field: field + ".value", Key: intake.KeyHashValue, Args: []any{n}}, true
		}
	}
	return canopy.FieldError{}, false
}

// bankChangesAnswer is a page of a bank's changes. More is true when the
// page is full, so there may be more after Next.
type bankChangesAnswer struct {
	Bank    string             `json:"bank"`
	Changes []bankChangeAnswer `json:"changes"`
	Next    string             `json:"next"`
	More    bool               `json:"more"`
}

// bankChangeAnswer is one change, with the members of the bank's JSON
// lines export except who made it: staff ids stay in the node.
type bankChangeAnswer struct {
	Seq       int64    `json:"seq"`
	Op        string   `json:"op"`
	Algorithm string   `json:"algorithm"`
	Value     string   `json:"value"`
	Quality   *int     `json:"quality,omitempty"`
	Category  string   `json:"category,omitempty"`
	Labels    []string `json:"labels,omitempty"`
	AddedAt   string   `json:"added_at"`
}

// bankChanges answers GET /api/v1/banks/{bank}/changes?since=&limit=.
func (h *handler) bankChanges(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.platformCall(w, r, canopy.ScopeSync, h.banks != nil); !ok {
		return
	}
	q := r.URL.Query()
	var fields []canopy.FieldError
	var since string
	if v := q["since"]; len(v) > 1 {
		fields = append(fields, canopy.FieldError{Field: "since", Key: intake.KeyDuplicate})
	} else if len(v) == 1 {
		since = v[0]
	}
	limit := defaultChangesLimit
	if v, ok := q["limit"]; ok {
		n, isCount := parseCount(v[0])
		switch {
		case len(v) > 1:
			fields = append(fields, canopy.FieldError{Field: "limit", Key: intake.KeyDuplicate})
		case !isCount || n < 1:
			fields = append(fields, canopy.FieldError{Field: "limit", Key: intake.KeyInvalid})
		case n > maxChangesLimit:
			fields = append(fields, canopy.FieldError{Field: "limit", Key: intake.KeyTooMany, Args: []any{maxChangesLimit}})
		default:
			limit = int(n)
		}
	}
	if len(fields) > 0 {
		h.fail(w, r, badParams(fields))
		return
	}
	name := r.PathValue("bank")
	changes, next, err := h.banks.Changes(r.Context(), name, since, limit)
	if canopy.ErrorCode(err) == canopy.EINVALID {
		// The only value Changes judges is the cursor; say so with a
		// key the API's catalogs have.
		err = badParams([]canopy.FieldError{{Field: "since", Key: intake.KeyInvalid}})
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	answer := bankChangesAnswer{Bank: name, Changes: make([]bankChangeAnswer, len(changes)), Next: next, More: len(changes) == limit}
	for i, c := range changes {
		a := bankChangeAnswer{Seq: c.Seq, Op: c.Op, Algorithm: c.Algorithm, Value: c.Value,
			Category: c.Category, Labels: c.Labels, AddedAt: timestamp(c.Added)}
		if c.Quality >= 0 {
			a.Quality = &c.Quality
		}
		answer.Changes[i] = a
	}
	h.writeJSON(w, r, http.StatusOK, answer)
}

// platformCall checks what every platform route needs before it reads the
// request: the services (503), ?lang= (400), an API key with scope (401,
// 403) and the key's rate limit (429). ready is whether the route's own
// service is there besides the platform service. It returns the key.
func (h *handler) platformCall(w http.ResponseWriter, r *http.Request, scope string, ready bool) (*canopy.APIKey, bool) {
	if h.platform == nil || !ready {
		h.fail(w, r, &canopy.Error{Code: canopy.EUNAVAILABLE})
		return nil, false
	}
	if _, err := lang(r); err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	var k *canopy.APIKey
	err := error(&canopy.Error{Code: canopy.EUNAUTHORIZED})
	if secret, ok := bearer(r.Header); ok {
		k, err = h.platform.Authenticate(r.Context(), secret, scope)
	}
	switch canopy.ErrorCode(err) {
	case "":
	case canopy.EUNAUTHORIZED:
		// No valid key: the caller is anonymous, and limited as such.
		if !h.allow(w, r) {
			return nil, false
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="canopy"`)
		h.fail(w, r, &canopy.Error{Code: canopy.EUNAUTHORIZED})
		return nil, false
	case canopy.EFORBIDDEN:
		// RFC 6750 §3.1: say which scope the route needs.
		w.Header().Set("WWW-Authenticate", `Bearer realm="canopy", error="insufficient_scope", scope="`+scope+`"`)
		h.fail(w, r, &canopy.Error{Code: canopy.EFORBIDDEN})
		return nil, false
	default:
		h.fail(w, r, err)
		return nil, false
	}
	if ok, wait := h.keyLimiter.Allow(k.ID); !ok {
		h.tooMany(w, r, wait)
		return nil, false
	}
	return k, true
}
