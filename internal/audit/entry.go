package audit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Action is what an entry records, as a stable code. Codes are stored in
// the log and read by auditors years later: add new ones at the end of the
// list below (and to actions), never rename, reuse or remove one.
type Action string

// Actions.
const (
	ActionLogin            Action = "login"              // a staff member signed in
	ActionLoginFailed      Action = "login.failed"       // a sign-in was refused
	ActionLogout           Action = "logout"             // a staff member signed out
	ActionPermissionDenied Action = "permission.denied"  // a caller was refused an action
	ActionReportCreate     Action = "report.create"      // a report was accepted
	ActionReportView       Action = "report.view"        // someone opened a report's content
	ActionReportMessage    Action = "report.message"     // a message was added to a report
	ActionReportAssess     Action = "report.assess"      // a report was assessed
	ActionReportRefer      Action = "report.refer"       // a report was referred to a peer
	ActionReportDestroy    Action = "report.destroy"     // a report's data key was destroyed
	ActionAccountCreate    Action = "account.create"     // a staff account was created
	ActionAccountUpdate    Action = "account.update"     // a staff account's role or state changed
	ActionAuditVerify      Action = "audit.verify"       // the audit log was verified
	ActionBankCreate       Action = "bank.create"        // a hash bank was created
	ActionBankChange       Action = "bank.change"        // hashes were added to or removed from a bank
	ActionPlatformCreate   Action = "platform.create"    // an online service was registered
	ActionAPIKeyCreate     Action = "apikey.create"      // an API key was issued
	ActionAPIKeyRevoke     Action = "apikey.revoke"      // an API key was revoked
	ActionPeerAdd          Action = "peer.add"           // a peer node was added
	ActionPeerUpdate       Action = "peer.update"        // a peer's profile or state changed (suspended, resumed, removed)
	ActionRouteSet         Action = "route.set"          // a routing rule was set or removed
	ActionReportRoute      Action = "report.route"       // the router opened a report to find its jurisdiction, or staff chose one
	ActionReferralReceive  Action = "referral.receive"   // a peer referred a report to this node
	ActionReferralStatus   Action = "referral.status"    // a referral's status was sent or received
	ActionMessageRefused   Action = "federation.refused" // a message from another node was refused
	ActionBankSubscribe    Action = "bank.subscribe"     // a peer subscribed to a bank, or we to a peer's
	ActionServiceChange    Action = "service.change"     // the directory of support services changed
	ActionCaseCreate       Action = "case.create"        // a support case was opened
	ActionCaseView         Action = "case.view"          // someone opened a support case's details
	ActionCaseUpdate       Action = "case.update"        // a support case changed: needs, referral, safety plan, check-in
	ActionCaseDestroy      Action = "case.destroy"       // a support case's data key was destroyed (deletion)
	ActionCaseRedact       Action = "case.redact"        // part of a support case was redacted
	ActionCaseHold         Action = "case.hold"          // a legal hold was placed on or lifted from a support case
	ActionConsentGive      Action = "consent.give"       // consent was recorded for a purpose
	ActionConsentWithdraw  Action = "consent.withdraw"   // consent was withdrawn for a purpose
)

// Actions, continued.
const (
	// ActionReferralWithdrawn: a child's consent to share a referred
	// report abroad no longer stands; a peer was told (direction out), or
	// told this node, which removed what it had of the child (in).
	ActionReferralWithdrawn Action = "referral.withdrawn"
)

// actions are the codes Append accepts.
var actions = map[Action]bool{
	ActionLogin: true, ActionLoginFailed: true, ActionLogout: true, ActionPermissionDenied: true,
	ActionReportCreate: true, ActionReportView: true, ActionReportMessage: true, ActionReportAssess: true,
	ActionReportRefer: true, ActionReportDestroy: true, ActionAccountCreate: true, ActionAccountUpdate: true,
	ActionAuditVerify: true, ActionBankCreate: true, ActionBankChange: true,
	ActionPlatformCreate: true, ActionAPIKeyCreate: true, ActionAPIKeyRevoke: true,
	ActionPeerAdd: true, ActionPeerUpdate: true, ActionRouteSet: true, ActionReportRoute: true,
	ActionReferralReceive: true, ActionReferralStatus: true, ActionMessageRefused: true, ActionBankSubscribe: true,
	ActionServiceChange: true, ActionCaseCreate: true, ActionCaseView: true, ActionCaseUpdate: true,
	ActionCaseDestroy: true, ActionCaseRedact: true, ActionCaseHold: true, ActionConsentGive: true, ActionConsentWithdraw: true,
	ActionReferralWithdrawn: true,
}

// Outcome says how the action ended. Stored: append-only.
type Outcome string

// Outcomes.
const (
	OK     Outcome = "ok"     // done
	Denied Outcome = "denied" // refused: not authenticated or not permitted
	Failed Outcome = "failed" // attempted and failed: bad input, bad password, an error
)

var outcomes = map[Outcome]bool{OK: true, Denied: true, Failed: true}

// Actor is who acted: a staff account, a federation peer, the public
// (a reporter or anyone on the portal, never identified), or the node
// itself. Make one with Staff or Peer, or use System or Public.
type Actor string

// Actors that are not accounts.
const (
	System Actor = "system" // the node on its own: schedules, retention, start-up
	Public Actor = "public" // someone on the public portal or API; never identified further
)

// Staff is the actor for a staff account, by its opaque account id (never
// a name or an e-mail address).
func Staff(accountID string) Actor { return Actor("staff:" + accountID) }

// Peer is the actor for a federation peer, by its peer id.
func Peer(peerID string) Actor { return Actor("peer:" + peerID) }

// Kind is the kind of record an entry concerns.
type Kind string

// Kinds of record. Stored: append-only.
const (
	KindReport   Kind = "report"
	KindAccount  Kind = "account"
	KindPeer     Kind = "peer"
	KindAudit    Kind = "audit"
	KindBank     Kind = "bank"
	KindPlatform Kind = "platform"
	KindService  Kind = "service" // a provider or service in the support directory
	KindCase     Kind = "case"    // a support case
)

// Entry is one line of the audit log: who did what to which record, when,
// and how it ended.
//
// The log is public to the oversight body and kept forever, so it never
// holds what a report, a message or a person says. There is no field for
// free text on purpose: actions, outcomes and kinds are codes, the record
// is named by its id, actors by opaque ids, and Details values are short
// tokens (codes, numbers, ids, hashes) in which spaces and '@' are refused,
// so a sentence or an e-mail address cannot slip in.
type Entry struct {
	// Index is the entry's position in the log and At its time. Append
	// sets both; values given to it are ignored.
	Index int64
	At    time.Time

	Actor   Actor
	Action  Action
	Kind    Kind   // the kind of record concerned, or "" when none
	ID      string // its id; set exactly when Kind is
	Outcome Outcome

	// Details are at most MaxDetails small, non-sensitive facts, such as
	// {"role": "analyst"} or {"peer": "nl-01", "status": "403"}.
	Details map[string]string
}

// Limits on an entry's fields.
const (
	MaxDetails  = 16
	maxKeyLen   = 32
	maxValueLen = 128
	maxIDLen    = 128
)

// Validate reports the first thing wrong with e, for Append. Errors name
// the field, never echo its value: a value that is refused may be the
// very thing that must not be logged.
func (e *Entry) Validate() error {
	if !validActor(e.Actor) {
		return errors.New("audit: invalid actor")
	}
	if !actions[e.Action] {
		return errors.New("audit: unknown action")
	}
	if !outcomes[e.Outcome] {
		return errors.New("audit: unknown outcome")
	}
	if (e.Kind == "") != (e.ID == "") {
		return errors.New("audit: kind and id go together")
	}
	if e.Kind != "" && !validCode(string(e.Kind), maxKeyLen) {
		return errors.New("audit: invalid kind")
	}
	if e.ID != "" && !validID(e.ID) {
		return errors.New("audit: invalid record id")
	}
	if len(e.Details) > MaxDetails {
		return fmt.Errorf("audit: more than %d details", MaxDetails)
	}
	for k, v := range e.Details {
		if !validCode(k, maxKeyLen) {
			return errors.New("audit: invalid detail key")
		}
		if !validValue(v) {
			return fmt.Errorf("audit: detail %s: not a short token", k)
		}
	}
	return nil
}

func validActor(a Actor) bool {
	switch {
	case a == System || a == Public:
		return true
	case strings.HasPrefix(string(a), "staff:"):
		return validID(string(a[len("staff:"):]))
	case strings.HasPrefix(string(a), "peer:"):
		return validID(string(a[len("peer:"):]))
	case strings.HasPrefix(string(a), "platform:"):
		return validID(string(a[len("platform:"):]))
	}
	return false
}

// validCode: a lowercase code such as "report" or "child_country".
func validCode(s string, max int) bool {
	if s == "" || len(s) > max || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// validID: an opaque machine id such as a report id.
func validID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && !strings.ContainsRune("._:-", rune(s[i])) {
			return false
		}
	}
	return true
}

// validValue: a short token: a code, a number, an id, a hash in hex or
// base64, a comma-separated list of codes.
func validValue(s string) bool {
	if len(s) > maxValueLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && !strings.ContainsRune("._:,/+=-", rune(s[i])) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Encode returns the canonical encoding of a valid entry, the bytes the
// log stores and hashes (see the package documentation).
func (e *Entry) Encode() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e.appendEncoding(make([]byte, 0, 128)), nil
}

func (e *Entry) appendEncoding(b []byte) []byte {
	b = append(b, encodingV1)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Index))
	b = binary.BigEndian.AppendUint64(b, uint64(e.At.UnixMicro()))
	for _, s := range []string{string(e.Actor), string(e.Action), string(e.Kind), e.ID, string(e.Outcome)} {
		b = appendString(b, s)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.Details)))
	for _, k := range slices.Sorted(maps.Keys(e.Details)) {
		b = appendString(b, k)
		b = appendString(b, e.Details[k])
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// encodingV1 is the first byte of every entry's encoding. A new encoding
// would take another value; this one never changes.
const encodingV1 = 1

// ErrEncoding is returned by Decode for bytes that are not an entry's
// canonical encoding.
var ErrEncoding = errors.New("audit: not a canonical entry encoding")

// Decode parses an entry's canonical encoding. It accepts exactly the
// bytes some entry encodes to, so that an entry has one encoding and one
// leaf hash; it does not judge the codes inside, which a newer node may
// have added.
func Decode(data []byte) (*Entry, error) {
	d := decoder{b: data}
	if d.byte() != encodingV1 {
		return nil, ErrEncoding
	}
	e := &Entry{Index: int64(d.uint64())}
	e.At = time.UnixMicro(int64(d.uint64())).UTC()
	e.Actor = Actor(d.string())
	e.Action = Action(d.string())
	e.Kind = Kind(d.string())
	e.ID = d.string()
	e.Outcome = Outcome(d.string())
	n := int(d.uint16())
	if n > 0 {
		e.Details = make(map[string]string, n)
	}
	last := ""
	for i := range n {
		k, v := d.string(), d.string()
		if i > 0 && k <= last {
			return nil, ErrEncoding // keys unsorted or repeated
		}
		e.Details[k], last = v, k
	}
	if d.bad || len(d.b) != 0 || e.Index < 0 {
		return nil, ErrEncoding
	}
	return e, nil
}

type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) take(n int) []byte {
	if d.bad || len(d.b) < n {
		d.bad = true
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) byte() byte {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) uint16() uint16 {
	if b := d.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) uint64() uint64 {
	if b := d.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) bytes() []byte {
	b := d.take(int(d.uint16()))
	if !utf8.Valid(b) {
		d.bad = true
	}
	return b
}

// scan checks that data is a canonical encoding, as Decode does, and
// returns the entry's index and time in Unix microseconds, without
// building the entry: verification reads every entry of the log.
func scan(data []byte) (index, at int64, ok bool) {
	d := decoder{b: data}
	if d.byte() != encodingV1 {
		return 0, 0, false
	}
	index, at = int64(d.uint64()), int64(d.uint64())
	for range 5 {
		d.bytes()
	}
	var last []byte
	for i := range int(d.uint16()) {
		k := d.bytes()
		d.bytes()
		if i > 0 && bytes.Compare(k, last) <= 0 {
			return 0, 0, false
		}
		last = k
	}
	return index, at, !d.bad && len(d.b) == 0 && index >= 0
}

// Notice and takedown.
const (
	ActionNoticePrepare       Action = "notice.prepare"       // draft notices were written for a report's addresses
	ActionNoticeSend          Action = "notice.send"          // an analyst sent a report's notices
	ActionNoticeDeliver       Action = "notice.deliver"       // the node delivered a notice or a reminder to a host, or failed to
	ActionTakedownUpdate      Action = "takedown.update"      // a host or an analyst said what became of an address
	ActionTakedownEscalate    Action = "takedown.escalate"    // addresses still up after the host's time went to law enforcement
	ActionHostChange          Action = "host.change"          // the list of hosts that take notices changed
	ActionIndicatorsShare     Action = "indicators.share"     // published indicators were sent to peers, or received from one
	ActionInvestigationCreate Action = "investigation.create" // an investigation was opened
	ActionInvestigationView   Action = "investigation.view"   // an investigation's evidence list was opened
	ActionInvestigationList   Action = "investigation.list"   // a list of investigations, with their titles, was opened: Details count
	ActionInvestigationChange Action = "investigation.change" // an investigation changed: Details step (note, task, link, close, hold…) and ids
	ActionEvidenceCustody     Action = "evidence.custody"     // a step of an evidence item's chain of custody: Details action, sha256
	ActionRetentionSet        Action = "retention.set"        // a retention policy was set: Details kind, days
	ActionRetentionPurge      Action = "retention.purge"      // a record was purged under its kind's policy
)

func init() {
	for _, a := range []Action{ActionNoticePrepare, ActionNoticeSend, ActionNoticeDeliver, ActionTakedownUpdate,
		ActionTakedownEscalate, ActionHostChange, ActionIndicatorsShare, ActionInvestigationCreate, ActionInvestigationView,
		ActionInvestigationList, ActionInvestigationChange, ActionEvidenceCustody, ActionRetentionSet, ActionRetentionPurge} {
		actions[a] = true
	}
}

// Kinds of the later features.
const (
	KindHost          Kind = "host"          // a host on the takedown list
	KindInvestigation Kind = "investigation" // an investigation
	KindEvidence      Kind = "evidence"      // an evidence item
)

// Platform is the actor for a platform calling the API with its key, by
// its platform id.
func Platform(platformID string) Actor { return Actor("platform:" + platformID) }

// Actions returns every action Append accepts, sorted, for filters.
func Actions() []Action {
	out := make([]Action, 0, len(actions))
	for a := range actions {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}
