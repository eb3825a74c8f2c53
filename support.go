package canopy

import (
	"slices"
	"time"
)

// Support cases. A caseworker opens one for a child or young person who
// needs help after abuse: pseudonymous by default (an alias, an age band,
// languages, a region), with identifying details optional and sealed
// under the case's own data key. The plain fields are the minimum needed
// to work the case and to count, later, how support went.
//
// Every code below is stored: add new ones, never rename or reuse one.

// Case is a support case as the node keeps it, without its sealed parts.
type Case struct {
	ID        string
	Alias     string // what staff call the child; never their name
	AgeBand   string // one of CaseAgeBands
	Languages []string
	Region    string // a region or area code, never an address
	Needs     []string
	Opened    time.Time
	OpenedBy  string // a staff account id
	Updated   time.Time
	// Deleted is when the case's data key was destroyed, or zero. A
	// deleted case keeps its codes, dates and scores for the indicators
	// and nothing that could identify the child.
	Deleted time.Time
	// Held is true while a legal hold stands, which stops deletion.
	Held bool
	// Jurisdiction is the ISO 3166-1 code of the country whose staff
	// work the case, or "" on a node that serves one.
	Jurisdiction string
	// AssignedTo is the caseworker who holds the case, or "".
	AssignedTo string
	// Closed is when the case was closed, or zero while it is open;
	// CloseReason is one of CaseCloseReasons.
	Closed      time.Time
	ClosedBy    string
	CloseReason string
}

// IsClosed reports whether the case was closed.
func (c *Case) IsClosed() bool { return !c.Closed.IsZero() }

// Why a case is closed. A closed case keeps its record; it can be opened
// again. Support completed and the child's own choice count as resolved
// in the indicators; the others do not.
const (
	CaseClosedSupported   = "support_completed" // the child's needs are met
	CaseClosedDeclined    = "declined"          // the child or guardian no longer wants support
	CaseClosedTransferred = "transferred"       // another organisation or country holds the case now
	CaseClosedNoContact   = "no_contact"        // the child could not be reached
	CaseClosedOther       = "other"
)

// CaseCloseReasons lists the reasons in display order.
var CaseCloseReasons = []string{CaseClosedSupported, CaseClosedDeclined, CaseClosedTransferred, CaseClosedNoContact, CaseClosedOther}

// IsDeleted reports whether the case's data key was destroyed.
func (c *Case) IsDeleted() bool { return !c.Deleted.IsZero() }

// CaseAgeBands are the age bands of the child or young person a case is
// about. They extend AgeBands (whose codes they share) to the young adults
// and adult survivors a hotline also supports.
var CaseAgeBands = []string{"0-2", "3-6", "7-10", "11-13", "14-17", "18-24", "25+", "unknown"}

// CheckInScaleFor is the well-being scale suited to an age band: the
// pictorial faces for children up to 13, WHO-5 for older teenagers and
// adults.
func CheckInScaleFor(ageBand string) string {
	switch ageBand {
	case "14-17", "18-24", "25+":
		return ScaleWHO5
	}
	return ScaleFaces
}

// CaseDetails are what could identify the child. All are optional; they
// are sealed with the case's data key and shown only on an audited
// opening.
type CaseDetails struct {
	Name      string `json:"name,omitempty"`
	BirthDate string `json:"birth_date,omitempty"` // YYYY-MM-DD
	Contact   string `json:"contact,omitempty"`    // how to reach the child safely
	Guardian  string `json:"guardian,omitempty"`   // a parent or guardian and how to reach them
	Notes     string `json:"notes,omitempty"`
}

// DetailFields are the fields of CaseDetails, by the codes a redaction
// names them with.
var DetailFields = []string{"name", "birth_date", "contact", "guardian", "notes"}

// Field returns the value of a detail by its code.
func (d *CaseDetails) Field(code string) string {
	switch code {
	case "name":
		return d.Name
	case "birth_date":
		return d.BirthDate
	case "contact":
		return d.Contact
	case "guardian":
		return d.Guardian
	case "notes":
		return d.Notes
	}
	return ""
}

// Clear empties a detail by its code.
func (d *CaseDetails) Clear(code string) {
	switch code {
	case "name":
		d.Name = ""
	case "birth_date":
		d.BirthDate = ""
	case "contact":
		d.Contact = ""
	case "guardian":
		d.Guardian = ""
	case "notes":
		d.Notes = ""
	}
}

// Empty reports whether no detail is given.
func (d *CaseDetails) Empty() bool {
	return d == nil || *d == CaseDetails{}
}

// Needs a case records: the caseworker's vocabulary, wider than the
// kinds of service of the directory (ServiceNeeds); ServicesFor says which
// kinds of service meet each.
const (
	NeedSafety         = "safety"          // being and feeling safe now: the safety plan
	NeedEmotional      = "emotional"       // someone to talk to, counselling, therapy
	NeedMedical        = "medical"         // health care, sexual health
	NeedContentRemoval = "content_removal" // getting images or videos taken down
	NeedLegal          = "legal"           // legal advice, going to the police or to court
	NeedEducation      = "education"       // school, training
	NeedFamily         = "family"          // support for the family
	NeedHousing        = "housing"         // a safe place to live
	NeedOther          = "other"
)

// CaseNeeds lists the needs a case may record, in display order.
var CaseNeeds = []string{NeedSafety, NeedEmotional, NeedMedical, NeedContentRemoval, NeedLegal, NeedEducation,
	NeedFamily, NeedHousing, NeedOther}

// ServicesFor returns the kinds of service of the directory that meet a
// case's need; none for the needs the hotline meets itself (content
// removal) or that no kind names.
func ServicesFor(need string) []string {
	switch need {
	case NeedSafety:
		return []string{ServiceShelter, ServiceHelpline}
	case NeedEmotional:
		return []string{ServiceCounselling, ServiceHelpline}
	case NeedMedical:
		return []string{ServiceMedical}
	case NeedLegal:
		return []string{ServiceLegal}
	case NeedEducation:
		return []string{ServiceEducation}
	case NeedFamily:
		return []string{ServiceCounselling}
	case NeedHousing:
		return []string{ServiceShelter}
	}
	return nil
}

// Statuses of a referral to a support service, in the order they happen;
// a service may decline instead of accepting or at any point before the
// work is completed.
const (
	ServiceReferralSent         = "sent"
	ServiceReferralAccepted     = "accepted"
	ServiceReferralFirstContact = "first_contact" // the service first met or spoke with the child
	ServiceReferralCompleted    = "completed"
	ServiceReferralDeclined     = "declined"
)

// ServiceReferralStatuses lists the statuses in order.
var ServiceReferralStatuses = []string{ServiceReferralSent, ServiceReferralAccepted, ServiceReferralFirstContact,
	ServiceReferralCompleted, ServiceReferralDeclined}

// ServiceReferral is a case's referral to a service of the directory, with
// the date of each step, so that the time from a report to the first
// support is known.
type ServiceReferral struct {
	ID           string
	CaseID       string
	ServiceID    string // the directory's id; the service may since have left the directory
	Need         string // the need it answers, or ""
	Status       string
	Sent         time.Time
	Accepted     time.Time
	FirstContact time.Time
	Completed    time.Time
	Declined     time.Time
	By           string // who made the referral
}

// Closed reports whether the referral can move no further.
func (r *ServiceReferral) Closed() bool {
	return r.Status == ServiceReferralCompleted || r.Status == ServiceReferralDeclined
}

// Advance moves the referral to status, which happened at at. Steps go
// forward only: a later step may skip one that was never recorded, and
// nothing follows completion or a refusal. A date before the step it
// follows is refused.
func (r *ServiceReferral) Advance(status string, at time.Time) error {
	rank := slices.Index(ServiceReferralStatuses[:4], status)
	cur := slices.Index(ServiceReferralStatuses[:4], r.Status)
	switch {
	case !slices.Contains(ServiceReferralStatuses, status) || status == ServiceReferralSent:
		return &Error{Code: EINVALID, Key: "error.invalid", Fields: []FieldError{{Field: "status", Key: "error.unknown_code"}}}
	case r.Closed():
		return &Error{Code: ECONFLICT, Key: "error.case.referral_closed"}
	case status != ServiceReferralDeclined && rank <= cur:
		return &Error{Code: ECONFLICT, Key: "error.case.referral_backwards"}
	case at.Before(r.latest()):
		return &Error{Code: EINVALID, Key: "error.invalid", Fields: []FieldError{{Field: "on", Key: "error.case.date_order"}}}
	}
	r.Status = status
	switch status {
	case ServiceReferralAccepted:
		r.Accepted = at
	case ServiceReferralFirstContact:
		r.FirstContact = at
	case ServiceReferralCompleted:
		r.Completed = at
	case ServiceReferralDeclined:
		r.Declined = at
	}
	return nil
}

// latest is the time of the referral's latest step.
func (r *ServiceReferral) latest() time.Time {
	t := r.Sent
	for _, s := range []time.Time{r.Accepted, r.FirstContact, r.Completed, r.Declined} {
		if s.After(t) {
			t = s
		}
	}
	return t
}

// FirstSupport returns the earliest first contact of any referral, or
// zero when no service has met the child yet.
func FirstSupport(refs []ServiceReferral) time.Time {
	var first time.Time
	for _, r := range refs {
		if !r.FirstContact.IsZero() && (first.IsZero() || r.FirstContact.Before(first)) {
			first = r.FirstContact
		}
	}
	return first
}

// SafetyPlan is what a child and a caseworker write together so the child
// knows what to do when they feel unsafe. Each section is a list of short
// lines in the child's own words. It is sealed with the case's data key;
// its language is plain, so it prints in the child's language.
type SafetyPlan struct {
	Language      string    `json:"-"`
	WarningSigns  []string  `json:"warning_signs,omitempty"`  // what tells me I am not safe or not OK
	TrustedAdults []string  `json:"trusted_adults,omitempty"` // people I can talk to, and how to reach them
	SafePlaces    []string  `json:"safe_places,omitempty"`    // places where I feel safe
	Online        []string  `json:"online,omitempty"`         // what I do when something bad happens online
	Emergency     []string  `json:"emergency,omitempty"`      // who to call in an emergency
	Updated       time.Time `json:"-"`
	UpdatedBy     string    `json:"-"`
	// Redacted is when the plan's words were removed, or zero.
	Redacted time.Time `json:"-"`
}

// PlanSections are the codes of a safety plan's sections, in the order
// they print.
var PlanSections = []string{"warning_signs", "trusted_adults", "safe_places", "online", "emergency"}

// Section returns a section's lines by its code.
func (p *SafetyPlan) Section(code string) []string {
	switch code {
	case "warning_signs":
		return p.WarningSigns
	case "trusted_adults":
		return p.TrustedAdults
	case "safe_places":
		return p.SafePlaces
	case "online":
		return p.Online
	case "emergency":
		return p.Emergency
	}
	return nil
}

// SetSection replaces a section's lines by its code.
func (p *SafetyPlan) SetSection(code string, lines []string) {
	switch code {
	case "warning_signs":
		p.WarningSigns = lines
	case "trusted_adults":
		p.TrustedAdults = lines
	case "safe_places":
		p.SafePlaces = lines
	case "online":
		p.Online = lines
	case "emergency":
		p.Emergency = lines
	}
}

// Empty reports whether the plan has no line at all.
func (p *SafetyPlan) Empty() bool {
	for _, s := range PlanSections {
		if len(p.Section(s)) > 0 {
			return false
		}
	}
	return true
}

// Well-being scales.
const (
	// ScaleWHO5 is the WHO-5 Well-Being Index (WHO 1998; Topp et al.
	// 2015): five statements about the last two weeks, each scored from
	// 0 (at no time) to 5 (all of the time). The raw score is their sum,
	// 0–25; times four it is a percentage, and 50 or less suggests low
	// well-being worth following up.
	ScaleWHO5 = "who5"
	// ScaleFaces is a pictorial scale of five faces for younger
	// children, from 1 (very sad) to 5 (very happy).
	ScaleFaces = "faces"
)

// Scales lists the scales.
var Scales = []string{ScaleWHO5, ScaleFaces}

// WHO5LowWellBeing is the percentage at or below which a WHO-5 score
// suggests low well-being.
const WHO5LowWellBeing = 50

// CheckIn is one well-being check-in of a case.
type CheckIn struct {
	CaseID string
	N      int // its number within the case, from 1
	At     time.Time
	Scale  string
	Items  []int // the answers: five for WHO-5, one for the faces
	Score  int   // the raw score: 0–25 for WHO-5, 1–5 for the faces
	// Note is what the caseworker wrote, sealed; NoteRedacted is when it
	// was removed, or zero.
	Note         string
	NoteRedacted time.Time
	By           string
}

// ScoreCheckIn checks a check-in's answers against its scale and returns
// the raw score.
func ScoreCheckIn(scale string, items []int) (int, error) {
	bad := func(field, key string) error {
		return &Error{Code: EINVALID, Key: "error.invalid", Fields: []FieldError{{Field: field, Key: key}}}
	}
	n, lo, hi := 0, 0, 0
	switch scale {
	case ScaleWHO5:
		n, lo, hi = 5, 0, 5
	case ScaleFaces:
		n, lo, hi = 1, 1, 5
	default:
		return 0, bad("scale", "error.unknown_code")
	}
	if len(items) != n {
		return 0, bad("items", "error.required")
	}
	sum := 0
	for _, v := range items {
		if v < lo || v > hi {
			return 0, bad("items", "error.unknown_code")
		}
		sum += v
	}
	return sum, nil
}

// Percent puts the score on one scale of 0 to 100, so check-ins can be
// shown as one trend: WHO-5's raw score times four, and the faces from 0
// (very sad) to 100 (very happy).
func (c *CheckIn) Percent() int {
	if c.Scale == ScaleFaces {
		return (c.Score - 1) * 25
	}
	return c.Score * 4
}

// Low reports whether the check-in suggests low well-being: a WHO-5
// percentage of 50 or less, or one of the two sad faces.
func (c *CheckIn) Low() bool {
	if c.Scale == ScaleFaces {
		return c.Score <= 2
	}
	return c.Percent() <= WHO5LowWellBeing
}

// Purposes a child or guardian consents to. Consent is recorded per
// purpose and withdrawal stops the flow to that purpose at once.
const (
	PurposeSupport       = "support"       // working the case and referring to services
	PurposeInvestigation = "investigation" // linking the case to reports that analysts and police liaisons see
	PurposeCrossBorder   = "cross_border"  // sharing with a hotline or service in another country
	PurposeStatistics    = "statistics"    // counting the case, anonymised, in statistics
)

// Why a peer is told to remove what it received of a report: the reasons
// a withdrawal message carries. Each is stored and sent: add, never rename.
const (
	WithdrawalConsent   = "consent_withdrawn" // the child or guardian withdrew consent to cross-border sharing
	WithdrawalDeleted   = "case_deleted"      // the child's support case was deleted
	WithdrawalNoConsent = "no_consent"        // the report was linked to a case without consent to cross-border sharing
)

// Purposes lists the purposes in display order.
var Purposes = []string{PurposeSupport, PurposeInvestigation, PurposeCrossBorder, PurposeStatistics}

// Who gave consent.
const (
	ConsentByChild    = "child"
	ConsentByGuardian = "guardian"
)

// ConsentGivers lists who may give consent.
var ConsentGivers = []string{ConsentByChild, ConsentByGuardian}

// How consent was given.
const (
	ConsentVerbal  = "verbal"
	ConsentWritten = "written"
	ConsentOnline  = "online"
)

// ConsentMethods lists how consent may be given.
var ConsentMethods = []string{ConsentVerbal, ConsentWritten, ConsentOnline}

// Consent is one consent to one purpose.
type Consent struct {
	ID          string
	CaseID      string
	Purpose     string
	GivenBy     string
	Method      string
	Given       time.Time
	Expires     time.Time // zero: until withdrawn
	Withdrawn   time.Time // zero: not withdrawn
	RecordedBy  string
	WithdrawnBy string
}

// Active reports whether the consent stands at at: given by then, not yet
// withdrawn and not yet expired.
func (c *Consent) Active(at time.Time) bool {
	return !c.Given.After(at) &&
		(c.Withdrawn.IsZero() || at.Before(c.Withdrawn)) &&
		(c.Expires.IsZero() || at.Before(c.Expires))
}

// Consents are a case's consents.
type Consents []Consent

// Allows reports whether some consent to purpose stands at at.
func (cs Consents) Allows(purpose string, at time.Time) bool {
	for i := range cs {
		if cs[i].Purpose == purpose && cs[i].Active(at) {
			return true
		}
	}
	return false
}

// Who may ask for a redaction or a deletion: the child, a guardian, or
// the caseworker on their own initiative (data found to be wrong).
const (
	AskedByChild      = "child"
	AskedByGuardian   = "guardian"
	AskedByCaseworker = "caseworker"
)

// Askers lists who may ask.
var Askers = []string{AskedByChild, AskedByGuardian, AskedByCaseworker}

// Kinds of erasure request.
const (
	ErasureRedact = "redact" // remove one sealed part: a detail, the safety plan, a check-in's note
	ErasureDelete = "delete" // destroy the case's data key
)

// Decisions on an erasure request.
const (
	ErasureDone    = "done"    // carried out
	ErasureRefused = "refused" // not carried out, for the reason given
	ErasureHeld    = "held"    // a deletion a legal hold stopped
)

// Reasons for a decision on an erasure request: codes, so that the
// record outlives the case and fits the audit log.
const (
	ReasonChildWishes      = "child_wishes"      // the child or guardian asked, and nothing weighs against it
	ReasonNoLongerNeeded   = "no_longer_needed"  // support has ended
	ReasonInaccurate       = "inaccurate"        // the data is wrong
	ReasonConsentWithdrawn = "consent_withdrawn" // the consent it rested on was withdrawn
	ReasonSafeguarding     = "safeguarding"      // keeping it protects the child now
	ReasonLegalObligation  = "legal_obligation"  // the law requires keeping it
)

// ErasureReasons lists the reasons in display order.
var ErasureReasons = []string{ReasonChildWishes, ReasonNoLongerNeeded, ReasonInaccurate, ReasonConsentWithdrawn,
	ReasonSafeguarding, ReasonLegalObligation}

// Erasure is a request to redact part of a case or to delete it, and the
// caseworker's decision.
type Erasure struct {
	ID       string
	CaseID   string
	Kind     string // ErasureRedact or ErasureDelete
	Target   string // for a redaction: a DetailFields code, "plan", or "checkin:N"
	AskedBy  string
	Decision string
	Reason   string // an ErasureReasons code
	Note     string // sealed; lost with the case's key
	At       time.Time
	By       string
}

// LegalHold stops a case's deletion while it stands. An administrator
// places and lifts it, with a reason that is sealed with the case.
type LegalHold struct {
	CaseID     string
	N          int
	Placed     time.Time
	PlacedBy   string
	Reason     string
	Lifted     time.Time
	LiftedBy   string
	LiftReason string
}

// Active reports whether the hold still stands.
func (h *LegalHold) Active() bool { return h.Lifted.IsZero() }
