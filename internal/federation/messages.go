package federation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/bank"
)

// Limits on what one message may carry.
const (
	maxSealed     = 4 << 20 // bytes of one sealed payload
	maxReason     = 2000    // characters of a status reason
	maxBankChange = 1000    // changes in one bank_changes message
	maxBankPage   = 1 << 20 // bytes of changes the publisher puts in one message
)

// ReferralPayload is what a referral carries: the harmonised
// classification and the hashes always; the content only as far as the
// receiving peer's data-sharing profile allows.
type ReferralPayload struct {
	Referral      string               `json:"referral"`          // the referral's id
	Received      string               `json:"received"`          // when the referring node received the report
	Category      string               `json:"category"`          // TAXONOMY.md category code
	Flags         []string             `json:"flags,omitempty"`   // flag codes
	Imagery       string               `json:"imagery,omitempty"` // assessment: imagery decision
	IndustryClass string               `json:"industry_class,omitempty"`
	AgeBand       string               `json:"age_band,omitempty"`
	Hashes        []canopy.ContentHash `json:"hashes,omitempty"`
	Jurisdiction  string               `json:"jurisdiction"` // the jurisdiction the report was routed to
	Basis         string               `json:"basis"`        // hosting, child or analyst
	// Content, each only when the profile shares it.
	Description  string   `json:"description,omitempty"`
	URLs         []string `json:"urls,omitempty"`
	Platform     string   `json:"platform,omitempty"`
	Accounts     []string `json:"accounts,omitempty"`
	ChildCountry string   `json:"child_country,omitempty"`
	Reporter     string   `json:"reporter,omitempty"`
	Language     string   `json:"language,omitempty"`
}

// PersonalFields are the data-sharing profile codes (canopy.Share…) of
// what a referral says of the child and the reporter rather than of the
// content to take down. A referral leaves them out, whatever the peer's
// profile, when the child has not agreed to share the report abroad, and
// a withdrawal removes them from a referral already taken: both read this
// one list. The addresses and the platform are not among them: without
// them the content cannot come down.
var PersonalFields = []string{canopy.ShareDescription, canopy.ShareAccounts, canopy.ShareChildCountry, canopy.ShareReporter,
	canopy.ShareLanguage}

// withhold clears the personal fields.
func (p *ReferralPayload) withhold() {
	for _, f := range PersonalFields {
		switch f {
		case canopy.ShareDescription:
			p.Description = ""
		case canopy.ShareAccounts:
			p.Accounts = nil
		case canopy.ShareChildCountry:
			p.ChildCountry = ""
		case canopy.ShareReporter:
			p.Reporter = ""
		case canopy.ShareLanguage:
			p.Language = ""
		}
	}
}

// StatusPayload is what became of a referral, from the node it was
// referred to.
type StatusPayload struct {
	Referral string `json:"referral"`
	Status   string `json:"status"`           // received, accepted, actioned, content_removed, rejected
	At       string `json:"at"`               // when, at the sending node
	Reason   string `json:"reason,omitempty"` // required with rejected: words for the referring hotline
}

// WithdrawalPayload tells the node a report was referred to that the
// child's consent to share it abroad no longer stands: the receiver
// removes the personal fields from what it keeps of the referral.
type WithdrawalPayload struct {
	Referral string   `json:"referral"`
	Reason   string   `json:"reason"`           // consent_withdrawn, case_deleted or no_consent
	At       string   `json:"at"`               // when, at the sending node
	Fields   []string `json:"fields,omitempty"` // the sender's personal fields; informational
}

// SubscribePayload asks for a bank's changes from the start.
type SubscribePayload struct {
	Bank string `json:"bank"`
}

// BankChangesPayload is a page of a bank's changes in order.
type BankChangesPayload struct {
	Bank    string       `json:"bank"`
	Changes []BankChange `json:"changes"`
}

// BankChange is one addition or removal in a bank, as sent.
type BankChange struct {
	Seq       int64    `json:"seq"`
	Op        string   `json:"op"` // add or remove
	Algorithm string   `json:"algorithm"`
	Value     string   `json:"value"`
	Quality   int      `json:"quality"`
	Category  string   `json:"category,omitempty"`
	Labels    []string `json:"labels,omitempty"`
}

// decode reads a payload strictly enough that nothing odd gets through
// (one JSON object, nothing after it) and loosely enough that a newer
// node's extra fields are ignored, which is how the protocol grows.
func decode(b []byte, v any) error {
	if !utf8.Valid(b) {
		return refuse(ReasonInvalid, "payload is not UTF-8")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(v); err != nil {
		return refuse(ReasonInvalid, "payload: %v", err)
	}
	if d.More() {
		return refuse(ReasonInvalid, "payload: data after the object")
	}
	return nil
}

func invalid(format string, args ...any) error { return refuse(ReasonInvalid, format, args...) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, err
	}
	return t, nil
}

// check validates a referral's classification; its content is validated
// as any report's is, by intake. Codes this node does not know (a newer
// node's category, flag, hash scheme or language) are mapped to what it
// does know or dropped, never refused: the taxonomy grows by adding codes,
// and one node's upgrade must not halt its links.
func (p *ReferralPayload) check(thread string) error {
	if p.Referral != thread || !idPattern.MatchString(p.Referral) {
		return invalid("referral id %q does not name the thread", p.Referral)
	}
	if _, err := parseTime(p.Received); err != nil {
		return invalid("received: %v", err)
	}
	if !canopy.IsCategory(p.Category) {
		p.Category = "other"
	}
	p.Flags = slices.DeleteFunc(p.Flags, func(f string) bool { return !canopy.IsFlag(f) })
	if !slices.Contains(canopy.ImageryDecisions, p.Imagery) {
		p.Imagery = ""
	}
	if !slices.Contains(canopy.IndustryClasses, p.IndustryClass) {
		p.IndustryClass = ""
	}
	if !slices.Contains(canopy.AgeBands, p.AgeBand) {
		p.AgeBand = ""
	}
	if !canopy.IsCountry(p.Jurisdiction) {
		p.Jurisdiction = ""
	}
	if p.Basis != canopy.BasisHosting && p.Basis != canopy.BasisChild && p.Basis != canopy.BasisAnalyst {
		p.Basis = ""
	}
	if !canopy.IsReporter(p.Reporter) {
		p.Reporter = canopy.ReporterPartner
	}
	if !canopy.IsLanguage(p.Language) {
		p.Language = "" // the reporter follows up at the referring node, not here
	}
	p.Hashes = slices.DeleteFunc(p.Hashes, func(h canopy.ContentHash) bool {
		_, known := canopy.HashAlgorithms[strings.ToLower(strings.TrimSpace(h.Algorithm))]
		return !known
	})
	return nil
}

func (p *StatusPayload) check(thread string) (time.Time, error) {
	if p.Referral != thread {
		return time.Time{}, invalid("referral id %q does not name the thread", p.Referral)
	}
	at, err := parseTime(p.At)
	if err != nil {
		return time.Time{}, invalid("at: %v", err)
	}
	if !canopy.IsReferralStatus(p.Status) {
		return time.Time{}, invalid("status %q", p.Status)
	}
	p.Reason = strings.TrimSpace(p.Reason)
	if !utf8.ValidString(p.Reason) || utf8.RuneCountInString(p.Reason) > maxReason {
		return time.Time{}, invalid("reason too long")
	}
	if p.Status == canopy.ReferralRejected && p.Reason == "" {
		return time.Time{}, invalid("a rejection needs a reason")
	}
	return at, nil
}

// withdrawalReasons are the reasons a withdrawal may give.
var withdrawalReasons = []string{canopy.WithdrawalConsent, canopy.WithdrawalDeleted, canopy.WithdrawalNoConsent}

// check validates a withdrawal. A reason this node does not know (a newer
// node's) becomes consent_withdrawn: whatever the reason, the fields must
// go, and refusing would leave them here and halt the link. The fields
// the sender lists are not checked: the receiver removes its own list,
// which is what it knows how to remove.
func (p *WithdrawalPayload) check(thread string) error {
	if p.Referral != thread || !idPattern.MatchString(p.Referral) {
		return invalid("referral id %q does not name the thread", p.Referral)
	}
	if _, err := parseTime(p.At); err != nil {
		return invalid("at: %v", err)
	}
	if !slices.Contains(withdrawalReasons, p.Reason) {
		p.Reason = canopy.WithdrawalConsent
	}
	return nil
}

// bankThread is the thread of a bank's subscription and changes.
func bankThread(name string) string { return "bank/" + name }

// check validates a page of bank changes. A change this node cannot take
// (a hash scheme or category it does not know, a value it finds
// malformed) is skipped and counted, not refused: refusing would halt the
// link for every change after it.
func (p *BankChangesPayload) check(thread string) (changes []canopy.BankChange, skipped int, err error) {
	if bankThread(p.Bank) != thread {
		return nil, 0, invalid("bank %q does not name the thread", p.Bank)
	}
	if len(p.Changes) == 0 || len(p.Changes) > maxBankChange {
		return nil, 0, invalid("%d changes in one message", len(p.Changes))
	}
	out := make([]canopy.BankChange, 0, len(p.Changes))
	for i, c := range p.Changes {
		if c.Op != canopy.BankAdd && c.Op != canopy.BankRemove {
			return nil, 0, invalid("change %d: op %q", i, c.Op)
		}
		e := canopy.BankEntry{Algorithm: c.Algorithm, Value: c.Value, Quality: c.Quality, Category: c.Category, Labels: c.Labels}
		if key := bank.NormaliseEntry(&e); key != "" {
			skipped++
			continue
		}
		out = append(out, canopy.BankChange{Seq: c.Seq, Op: c.Op, BankEntry: e})
	}
	return out, skipped, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("federation: encode %T: %v", v, err))
	}
	return b
}
