package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/intake"
)

// The audit routes serve the oversight body what it needs to check the
// audit log without trusting the node (docs/audit.md): the verifier key,
// signed checkpoints, consistency proofs between them, and entries with
// their inclusion proofs. Only the entries need an auditor's session: the
// key, the checkpoints and the proofs are hashes and signatures, which say
// nothing about anyone.

// auditKeyAnswer is the answer to GET /api/v1/audit/key.
type auditKeyAnswer struct {
	Origin      string `json:"origin"`
	VerifierKey string `json:"verifier_key"`
}

// consistencyAnswer is the answer to GET /api/v1/audit/consistency.
type consistencyAnswer struct {
	Old   int64    `json:"old"`
	New   int64    `json:"new"`
	Proof []string `json:"proof"`
}

// auditEntryAnswer is the answer to GET /api/v1/audit/entries/{index}.
// Data is what the auditor checks; Entry is the same entry decoded, for
// reading, and is to be trusted only once Data has been checked.
type auditEntryAnswer struct {
	Index    int64            `json:"index"`
	TreeSize int64            `json:"tree_size"`
	Data     []byte           `json:"data"` // standard base64, as encoding/json writes []byte
	Entry    auditEntryFields `json:"entry"`
	Proof    []string         `json:"proof"`
}

type auditEntryFields struct {
	At      string            `json:"at"`
	Actor   string            `json:"actor"`
	Action  string            `json:"action"`
	Kind    string            `json:"kind"`
	ID      string            `json:"id"`
	Outcome string            `json:"outcome"`
	Details map[string]string `json:"details"`
}

// maxBearer bounds the session token read from Authorization; staff
// tokens are 43 characters.
const maxBearer = 256

// auditReady reports whether an audit route may go on. It answers 503
// when the node runs without an audit log (or without staff, when the
// route needs them too), and 400 for a ?lang= the node does not speak.
func (h *handler) auditReady(w http.ResponseWriter, r *http.Request, needStaff bool) bool {
	if h.audit == nil || needStaff && h.staff == nil {
		h.fail(w, r, &canopy.Error{Code: canopy.EUNAVAILABLE})
		return false
	}
	if _, err := lang(r); err != nil {
		h.fail(w, r, err)
		return false
	}
	return true
}

// serveAuditKey answers GET /api/v1/audit/key. An auditor should have the
// key from the hotline out of band and use this only to notice a change:
// a key served by the node proves nothing about the node.
func (h *handler) serveAuditKey(w http.ResponseWriter, r *http.Request) {
	if !h.auditReady(w, r, false) {
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	h.writeJSON(w, r, http.StatusOK, auditKeyAnswer{Origin: h.audit.Origin(), VerifierKey: h.audit.VerifierKey()})
}

// serveCheckpoint answers GET /api/v1/audit/checkpoint with the latest
// signed checkpoint, byte for byte as signed, signing a new one first when
// the log has grown past it. It is never cached: the next one may differ.
func (h *handler) serveCheckpoint(w http.ResponseWriter, r *http.Request) {
	if !h.auditReady(w, r, false) {
		return
	}
	ctx := r.Context()
	c, err := h.latestCheckpoint(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if c == nil || c.Size < h.audit.Size() {
		if c, err = h.audit.Checkpoint(ctx); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(c.Note)
}

// latestCheckpoint returns the latest signed checkpoint, or nil before the
// first.
func (h *handler) latestCheckpoint(ctx context.Context) (*audit.Checkpoint, error) {
	c, err := h.audit.LatestCheckpoint(ctx)
	if canopy.ErrorCode(err) == canopy.ENOTFOUND {
		return nil, nil
	}
	return c, err
}

// signedSize is the size of the latest checkpoint, 0 before the first:
// proofs are given only within trees the node has signed, since an
// auditor can check nothing against a tree they hold no checkpoint of.
func (h *handler) signedSize(ctx context.Context) (int64, error) {
	c, err := h.latestCheckpoint(ctx)
	if err != nil || c == nil {
		return 0, err
	}
	return c.Size, nil
}

// serveConsistency answers GET /api/v1/audit/consistency?old=N&new=M with
// the proof that the tree of M entries extends the tree of N. The answer
// for a pair of sizes never changes, so it may be cached.
func (h *handler) serveConsistency(w http.ResponseWriter, r *http.Request) {
	if !h.auditReady(w, r, false) {
		return
	}
	ctx := r.Context()
	signed, err := h.signedSize(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	var fields []canopy.FieldError
	oldSize, okOld := treeSize(q, "old", &fields)
	newSize, okNew := treeSize(q, "new", &fields)
	if okNew && newSize > signed {
		fields = append(fields, canopy.FieldError{Field: "new", Key: intake.KeyTooMany, Args: []any{signed}})
	} else if okOld && okNew && oldSize > newSize {
		fields = append(fields, canopy.FieldError{Field: "old", Key: intake.KeyTooMany, Args: []any{newSize}})
	}
	if len(fields) > 0 {
		h.fail(w, r, badParams(fields))
		return
	}
	proof, err := h.audit.ConsistencyProof(ctx, oldSize, newSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The proof between two given sizes never changes.
	w.Header().Set("Cache-Control", "public, max-age=3600")
	h.writeJSON(w, r, http.StatusOK, consistencyAnswer{Old: oldSize, New: newSize, Proof: hashStrings(proof)})
}

// serveAuditEntry answers GET /api/v1/audit/entries/{index}?size=N with
// the entry's canonical encoding and its inclusion proof in the tree of N
// entries (by default, the latest checkpoint's). Only an oversight auditor
// may read entries; a refusal is itself audited.
func (h *handler) serveAuditEntry(w http.ResponseWriter, r *http.Request) {
	if !h.auditReady(w, r, true) {
		return
	}
	if !h.auditor(w, r) {
		return
	}
	ctx := r.Context()
	signed, err := h.signedSize(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var fields []canopy.FieldError
	index, okIndex := parseCount(r.PathValue("index"))
	if !okIndex {
		fields = append(fields, canopy.FieldError{Field: "index", Key: intake.KeyInvalid})
	}
	size := signed
	if q := r.URL.Query(); q.Has("size") {
		var ok bool
		if size, ok = treeSize(q, "size", &fields); ok && size > signed {
			fields = append(fields, canopy.FieldError{Field: "size", Key: intake.KeyTooMany, Args: []any{signed}})
		}
	}
	if len(fields) > 0 {
		h.fail(w, r, badParams(fields))
		return
	}
	if index >= h.audit.Size() {
		h.fail(w, r, &canopy.Error{Code: canopy.ENOTFOUND})
		return
	}
	if index >= size {
		f := canopy.FieldError{Field: "index", Key: intake.KeyInvalid}
		if size > 0 {
			f = canopy.FieldError{Field: "index", Key: intake.KeyTooMany, Args: []any{size - 1}}
		}
		h.fail(w, r, badParams([]canopy.FieldError{f}))
		return
	}

	e, err := h.audit.Entry(ctx, index)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Decode accepts only canonical encodings, so encoding the entry
	// again gives back the stored bytes, which the proof is of.
	data, err := e.Encode()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	proof, err := h.audit.InclusionProof(ctx, index, size)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	details := e.Details
	if details == nil {
		details = map[string]string{}
	}
	h.writeJSON(w, r, http.StatusOK, auditEntryAnswer{
		Index:    index,
		TreeSize: size,
		Data:     data,
		Entry: auditEntryFields{
			At:      e.At.UTC().Format(time.RFC3339Nano),
			Actor:   string(e.Actor),
			Action:  string(e.Action),
			Kind:    string(e.Kind),
			ID:      e.ID,
			Outcome: string(e.Outcome),
			Details: details,
		},
		Proof: hashStrings(proof),
	})
}

// auditor checks that the request carries the session token of a staff
// member who may read the audit log. It answers 401 as staffMember does,
// and 403, audited, when they may not read the log.
func (h *handler) auditor(w http.ResponseWriter, r *http.Request) bool {
	a, ok := h.staffMember(w, r)
	if !ok {
		return false
	}
	if access.Can(a.Role, access.AuditRead) {
		return true
	}
	// The refusal is recorded even if the caller hangs up meanwhile.
	if _, err := h.audit.Append(context.WithoutCancel(r.Context()), audit.Entry{
		Actor:   audit.Staff(a.ID),
		Action:  audit.ActionPermissionDenied,
		Outcome: audit.Denied,
		Details: map[string]string{"permission": string(access.AuditRead)},
	}); err != nil {
		h.fail(w, r, err)
		return false
	}
	h.fail(w, r, &canopy.Error{Code: canopy.EFORBIDDEN})
	return false
}

// staffMember returns the staff member whose session token the request
// carries. It answers 401 when who is calling is not established (no
// token, or one that is unknown, expired, revoked or not past the second
// factor, all alike); what they may do is for the caller to check.
func (h *handler) staffMember(w http.ResponseWriter, r *http.Request) (*canopy.Account, bool) {
	unauthorized := func() (*canopy.Account, bool) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="canopy"`)
		h.fail(w, r, &canopy.Error{Code: canopy.EUNAUTHORIZED})
		return nil, false
	}
	token, ok := bearer(r.Header)
	if !ok {
		return unauthorized()
	}
	a, _, err := h.staff.Authenticate(r.Context(), token)
	switch canopy.ErrorCode(err) {
	case "":
		return a, true
	case canopy.EUNAUTHORIZED, canopy.ENOTFOUND:
		return unauthorized()
	}
	h.fail(w, r, err)
	return nil, false
}

// bearer returns the token of an "Authorization: Bearer <token>" header
// (RFC 6750 §2.1), the only way the API takes a session token: never in
// the URL, where logs and proxies would keep it.
func bearer(h http.Header) (string, bool) {
	v := h.Values("Authorization")
	if len(v) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(v[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || len(token) > maxBearer {
		return "", false
	}
	for i := 0; i < len(token); i++ { // token68
		c := token[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/=", c) >= 0) {
			return "", false
		}
	}
	return token, true
}

// treeSize reads the query parameter name as the size of a tree, at least
// 1, adding a field error when it is absent, repeated or not such a number.
func treeSize(q url.Values, name string, fields *[]canopy.FieldError) (int64, bool) {
	v, ok := q[name]
	var key string
	switch {
	case !ok:
		key = intake.KeyRequired
	case len(v) > 1:
		key = intake.KeyDuplicate
	default:
		if n, ok := parseCount(v[0]); ok && n >= 1 {
			return n, true
		}
		key = intake.KeyInvalid
	}
	*fields = append(*fields, canopy.FieldError{Field: name, Key: key})
	return 0, false
}

// parseCount reads a non-negative decimal integer, digits only.
func parseCount(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func badParams(fields []canopy.FieldError) error {
	return &canopy.Error{Code: canopy.EINVALID, Key: intake.KeyInvalid, Fields: fields}
}

// hashStrings writes a proof's hashes in standard base64, never null.
func hashStrings[P ~[]tlog.Hash](proof P) []string {
	out := make([]string, len(proof))
	for i, h := range proof {
		out[i] = h.String()
	}
	return out
}
