// Package api is the JSON API through which helplines, school apps and
// other partner software send reports to a Canopy node and follow them up,
// through which online platforms report in bulk, match hashes against the
// node's banks, sync those banks (platform.go) and say what became of the
// addresses the node's takedown notices named (takedown.go), and through
// which an independent oversight body checks the node's audit log.
// The browser portal lives in package web; the two share the intake
// service and the catalogs, never routes, middleware or error pages.
//
// The API is small and strict, because what it accepts is evidence and
// what it answers may be shown to a child:
//
//   - A 2xx answer means the thing is durably stored. POST /api/v1/reports
//     answers 201 with the receipt only after intake.Submit has returned,
//     and intake returns only once the report's transaction is committed.
//     A client that gets no answer (a timeout, a dropped connection) may
//     retry; a client that gets a 2xx never needs to. Nothing is answered
//     early and written later, and nothing is ever half-stored: a request
//     is either committed whole or refused whole.
//
//   - Every failure is an RFC 9457 problem details object
//     (application/problem+json). Its "code" is the node's error code
//     (canopy.EINVALID and friends, plus two the HTTP layer adds), and one
//     table, statusOf, maps each code to one HTTP status; "type" is
//     https://canopy.invalid/problems/<code>, an identifier that cannot
//     resolve to anyone's site. "detail" and each entry of "errors" carry
//     a message translated from the catalogs, in the language of ?lang=,
//     else Accept-Language, else English, so an app may show it as is.
//     Clients branch on "code" and on each error's "code" (a catalog key
//     such as "error.url.invalid"), never on text.
//
//   - Input is read in one bounded pass before anything is done with it:
//     the media type, the size (64 KiB; 8 MiB for a platform's batches;
//     32 KiB for a takedown confirmation), UTF-8, JSON syntax, exact
//     member names (no case-folding, no duplicates, no unknown members)
//     and JSON types are checked here, with the JSON path of each
//     problem; what the values mean is checked by intake, which the
//     portal shares (by takedown, for a takedown confirmation).
//
//   - The API keeps nothing about who calls it. Requests are rate-limited
//     per source by package limit, in memory under a keyed hash; no
//     address, user agent or body is stored or logged. Only failures that
//     are the node's fault are logged, with their cause, which the client
//     never sees.
//
//   - Platforms call with an API key ("Authorization: Bearer cnp_…"),
//     scoped to submit, match, sync or takedown and checked by package
//     platform, and are rate-limited per key rather than per source. A
//     bulk submission is the one request that may be stored in part: each
//     incident stands alone, and an idempotency key makes a retry safe
//     (platform.go). A takedown confirmation is idempotent of itself: the
//     same confirmation again changes nothing (takedown.go).
//
//   - The oversight body reads the audit log here (audit.go): the node's
//     verifier key, signed checkpoints and consistency proofs are public,
//     since they are hashes and signatures; entries and their inclusion
//     proofs need the session token of a staff member whose role may read
//     the log (access.AuditRead), sent as "Authorization: Bearer". A
//     refusal is itself written to the log.
//
//   - Caseworkers read support cases here (cases.go), and staff who see a
//     report read which support cases are linked to it, with the same
//     staff session token. Every read goes through package support, which
//     checks the role and the child's consent and audits the reading; the
//     answers carry pseudonymous fields, codes and dates only, never what
//     identifies a child or the words of a safety plan, a note or a
//     reason.
//
// openapi.json, served at GET /api/openapi.json, documents every route,
// body and answer; the tests check every request and answer they make
// against it.
package api

import (
	_ "embed"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/bank"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/limit"
	"github.com/canopy-org/canopy/internal/platform"
	"github.com/canopy-org/canopy/internal/staff"
	"github.com/canopy-org/canopy/internal/support"
	"github.com/canopy-org/canopy/internal/takedown"
	"github.com/canopy-org/canopy/internal/triage"
)

// Config is what the API needs from the node.
type Config struct {
	Intake *intake.Service
	Logger *slog.Logger

	// RateLimit limits the public POST endpoints, and calls to the
	// platform routes without a valid API key, per source (IPv4 address
	// or IPv6 /64). Nil means DefaultRateLimit: generous for any helpline
	// or app, tight for a script. A load test such as `canopy bench`,
	// which sends thousands of requests a second from one address, passes
	// a limiter generous enough never to refuse it, e.g.
	// limit.New(1e9, 1e9).
	RateLimit *limit.Limiter

	// Audit is the log the /api/v1/audit routes serve, and Staff
	// authenticates the auditors who read its entries. Without them
	// those routes answer 503.
	Audit *audit.Log
	Staff *staff.Service

	// Platform authenticates API keys and takes bulk reports; Banks serves
	// bank changes and Matcher matches hashes. Without Platform the
	// platform routes answer 503, and so do the changes without Banks and
	// the match without Matcher.
	Platform *platform.Service
	Banks    *bank.Service
	Matcher  *bank.Matcher

	// PlatformRateLimit limits the platform routes per API key. Nil means
	// DefaultPlatformRateLimit.
	PlatformRateLimit *limit.Limiter

	// Support serves the /api/v1/cases routes and the support cases
	// linked to a report, to staff that Staff authenticates; Triage
	// decides which reports a member of staff may see. Without Support
	// or Staff those routes answer 503, and so does
	// /api/v1/reports/{id}/cases without Triage.
	Support *support.Service
	Triage  *triage.Service

	// Takedown takes what hosts say became of the addresses of the
	// notices they were sent, through POST /api/v1/platform/takedowns/{id}
	// with a key that Platform authenticates. Without it that route
	// answers 503.
	Takedown *takedown.Service
}

// DefaultRateLimit returns the limiter New uses when Config.RateLimit is
// nil: 120 requests a minute per source, with bursts of 60.
func DefaultRateLimit() *limit.Limiter { return limit.New(120, 60) }

// DefaultPlatformRateLimit returns the limiter New uses when
// Config.PlatformRateLimit is nil: 600 requests a minute per API key, with
// bursts of 300. A request carries up to a thousand incidents or hashes,
// so this is far more than any platform's report volume, and still stops
// a runaway client from monopolising the node.
func DefaultPlatformRateLimit() *limit.Limiter { return limit.New(600, 300) }

// maxBody bounds every request body. A report at every intake limit is
// well under it.
const maxBody = 64 << 10

//go:embed openapi.json
var openapiJSON []byte

type handler struct {
	intake  *intake.Service
	log     *slog.Logger
	limiter *limit.Limiter
	audit   *audit.Log
	staff   *staff.Service
	mux     *http.ServeMux

	platform   *platform.Service
	banks      *bank.Service
	matcher    *bank.Matcher
	keyLimiter *limit.Limiter // per API key

	support *support.Service
	triage  *triage.Service

	takedown *takedown.Service

	taxonomy map[string][]byte // the taxonomy answer, encoded once per language
}

// route is one operation the API serves. The OpenAPI document lists the
// same set; a test keeps them equal.
type route struct {
	method, path string
	serve        http.HandlerFunc
}

func (h *handler) routes() []route {
	return []route{
		{"POST", "/api/v1/reports", h.submit},
		{"POST", "/api/v1/followup", h.followup},
		{"POST", "/api/v1/followup/messages", h.addMessage},
		{"GET", "/api/v1/taxonomy", h.serveTaxonomy},
		{"GET", "/api/v1/audit/key", h.serveAuditKey},
		{"GET", "/api/v1/audit/checkpoint", h.serveCheckpoint},
		{"GET", "/api/v1/audit/consistency", h.serveConsistency},
		{"GET", "/api/v1/audit/entries/{index}", h.serveAuditEntry},
		{"POST", "/api/v1/platform/reports", h.platformReports},
		{"POST", "/api/v1/match", h.match},
		{"GET", "/api/v1/banks/{bank}/changes", h.bankChanges},
		{"POST", "/api/v1/platform/takedowns/{id}", h.confirmTakedown},
		{"GET", "/api/v1/cases", h.cases},
		{"GET", "/api/v1/cases/statistics", h.caseStatistics},
		{"GET", "/api/v1/cases/{id}", h.caseFile},
		{"GET", "/api/v1/reports/{id}/cases", h.reportCases},
		{"GET", "/api/openapi.json", h.serveOpenAPI},
	}
}

// New returns the API's handler. It serves paths under /api/ and answers
// everything else with a 404 problem.
func New(cfg Config) http.Handler {
	h := &handler{intake: cfg.Intake, log: cfg.Logger, limiter: cfg.RateLimit, audit: cfg.Audit, staff: cfg.Staff,
		mux: http.NewServeMux(), platform: cfg.Platform, banks: cfg.Banks, matcher: cfg.Matcher, keyLimiter: cfg.PlatformRateLimit,
		support: cfg.Support, triage: cfg.Triage, takedown: cfg.Takedown}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.limiter == nil {
		h.limiter = DefaultRateLimit()
	}
	if h.keyLimiter == nil {
		h.keyLimiter = DefaultPlatformRateLimit()
	}
	h.taxonomy = encodeTaxonomies()

	allowed := map[string][]string{}
	var paths []string
	for _, rt := range h.routes() {
		h.mux.HandleFunc(rt.method+" "+rt.path, rt.serve)
		if allowed[rt.path] == nil {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
		if rt.method == "GET" {
			allowed[rt.path] = append(allowed[rt.path], "HEAD")
		}
	}
	// A pattern without a method catches the other methods of a known
	// path, so they get a 405 problem rather than the catch-all 404. A
	// literal path that a template also covers (/api/v1/cases/statistics
	// and /api/v1/cases/{id}) gets none of its own, which ServeMux would
	// refuse as a conflict: the template's catch-all answers for it, with
	// the literal path's methods.
	for _, p := range paths {
		if slices.ContainsFunc(paths, func(t string) bool { return covers(t, p) }) {
			continue
		}
		h.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			methods, ok := allowed[r.URL.Path]
			if !ok {
				methods = allowed[p]
			}
			w.Header().Set("Allow", strings.Join(methods, ", "))
			h.fail(w, r, &canopy.Error{Code: codeMethodNotAllowed})
		})
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, &canopy.Error{Code: canopy.ENOTFOUND})
	})
	return h
}

// covers reports whether template, a route path with {name} segments,
// matches the literal path p of another route.
func covers(template, p string) bool {
	ts, ps := strings.Split(template, "/"), strings.Split(p, "/")
	if template == p || len(ts) != len(ps) {
		return false
	}
	for i, t := range ts {
		if t != ps[i] && !(strings.HasPrefix(t, "{") && ps[i] != "" && !strings.HasPrefix(ps[i], "{")) {
			return false
		}
	}
	return true
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			// The stack says where, not what was sent; the value is
			// a runtime message, not request data.
			h.log.Error("api: panic", "route", r.Pattern, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			h.fail(w, r, fmt.Errorf("api: panic in %s", r.Pattern))
		}
	}()
	h.mux.ServeHTTP(w, r)
}

// allow applies the rate limit to a request, answering 429 when the source
// must wait. It reports whether the request may go on.
func (h *handler) allow(w http.ResponseWriter, r *http.Request) bool {
	ok, wait := h.limiter.Allow(limit.Source(r.RemoteAddr))
	if ok {
		return true
	}
	h.tooMany(w, r, wait)
	return false
}

// tooMany answers 429, saying how long to wait in whole seconds.
func (h *handler) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second) // round up
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	h.fail(w, r, &canopy.Error{Code: canopy.ETOOMANY})
}

// lang returns the language of the texts in the answer: ?lang= when the
// node speaks it, else the best match for Accept-Language, else English.
// The error is a 400 problem when ?lang= names a language the node does
// not speak; lang is then still the one to write that problem in.
func lang(r *http.Request) (string, error) {
	q := r.URL.Query().Get("lang")
	if q == "" {
		return i18n.Match(r.Header.Get("Accept-Language")), nil
	}
	if canopy.IsLanguage(q) {
		return q, nil
	}
	return i18n.Match(r.Header.Get("Accept-Language")), &canopy.Error{
		Code: canopy.EINVALID, Key: intake.KeyInvalid,
		Fields: []canopy.FieldError{{Field: "lang", Key: intake.KeyLanguage}},
	}
}
