package canopy

import "time"

// Investigations: what law-enforcement liaisons and analysts build from
// reports and the evidence they gather, for a prosecutor who may sit in
// another country. An investigation groups reports and evidence items,
// with notes, tasks and a timeline; every evidence item keeps a chain of
// custody. What could name a person (titles, notes, file names, reasons)
// is sealed with the investigation's own data key; the plain columns are
// codes, hashes and times.
//
// Every code below is stored: add new ones, never rename or reuse one.

// Investigation is an investigation as the node keeps it, without its
// sealed parts.
type Investigation struct {
	ID           string
	Jurisdiction string // ISO 3166-1, or "" on a node that serves one
	Status       string // one of InvestigationStatuses
	Opened       time.Time
	OpenedBy     string
	Closed       time.Time
	ClosedBy     string
	// Held is true while a legal hold stands: nothing of it is purged or
	// destroyed. HeldSince and HeldBy say since when and who placed it.
	Held      bool
	HeldSince time.Time
	HeldBy    string
	// Purged is when retention destroyed its evidence and its key, or
	// zero. Its codes, hashes, dates and custody actions stay; every
	// word in it (title, names, notes, reasons) is gone for good.
	Purged time.Time
}

// InvestigationEvent is one line of an investigation's timeline: who did
// what, when, to what (Ref: a report id, an evidence item id or a task
// number), and the words that go with it (Body, sealed; here once
// opened, "" when purged).
type InvestigationEvent struct {
	N     int // its place in the timeline, from 1
	At    time.Time
	Actor string // an account id, or "system"
	Kind  string // one of InvestigationEventKinds
	Ref   string
	Body  string
}

// Kinds of investigation event.
const (
	InvestigationOpened      = "opened"
	InvestigationNote        = "note"                 // Body: the note
	InvestigationTaskAdded   = "task_added"           // Ref: the task's number; Body: its title
	InvestigationTaskDone    = "task_done"            // Ref: the task's number
	InvestigationTaskReopen  = "task_reopened"        // Ref: the task's number
	InvestigationLinked      = "report_linked"        // Ref: the report
	InvestigationUnlinked    = "report_unlinked"      // Ref: the report
	InvestigationAcquired    = "evidence_acquired"    // Ref: the item
	InvestigationDestroyed   = "evidence_destroyed"   // Ref: the item; Body: why
	InvestigationTransferred = "evidence_transferred" // Ref: the items, space-separated; Body: to whom, and why
	InvestigationExported    = "exported"             // Ref: the items, space-separated
	InvestigationClosedEvent = "closed"               // Body: why
	InvestigationReopened    = "reopened"             // Body: why
	InvestigationHoldPlaced  = "hold_placed"          // Body: why (the order it follows)
	InvestigationHoldLifted  = "hold_lifted"          // Body: why
	InvestigationPurgedEvent = "purged"               // by retention; no body
)

// InvestigationEventKinds lists the kinds.
var InvestigationEventKinds = []string{InvestigationOpened, InvestigationNote, InvestigationTaskAdded, InvestigationTaskDone,
	InvestigationTaskReopen, InvestigationLinked, InvestigationUnlinked, InvestigationAcquired, InvestigationDestroyed,
	InvestigationTransferred, InvestigationExported, InvestigationClosedEvent, InvestigationReopened, InvestigationHoldPlaced,
	InvestigationHoldLifted, InvestigationPurgedEvent}

// InvestigationTask is a piece of work in an investigation: what (Title,
// sealed), for whom, by when, and whether it is done.
type InvestigationTask struct {
	N         int // its number in the investigation, from 1
	Title     string
	Assignee  string // an account id, or ""
	Due       time.Time
	Created   time.Time
	CreatedBy string
	Done      time.Time
	DoneBy    string
}

// InvestigationReport is a report linked to an investigation.
type InvestigationReport struct {
	ReportID string
	Linked   time.Time
	LinkedBy string
}

// Statuses of an investigation.
const (
	InvestigationOpen   = "open"
	InvestigationClosed = "closed"
)

// InvestigationStatuses lists the statuses.
var InvestigationStatuses = []string{InvestigationOpen, InvestigationClosed}

// EvidenceItem is a file staff added to an investigation. The file is
// stored encrypted in the blob store; its hashes, taken as it arrived,
// are checked again on every access.
type EvidenceItem struct {
	ID              string
	InvestigationID string
	MediaType       string // as sniffed at acquisition, such as image/jpeg
	Size            int64
	SHA256, MD5     string // lowercase hex
	PDQ             string // hex, for images; "" otherwise
	Acquired        time.Time
	AcquiredBy      string
	// Destroyed is when the file was destroyed (retention or an order),
	// or zero. Its hashes and custody stay; its bytes and name do not.
	Destroyed time.Time
}

// Custody actions: every step of an item's chain of custody.
const (
	CustodyAcquired    = "acquired"    // added to the investigation
	CustodyViewed      = "viewed"      // opened by staff (a preview, or the file)
	CustodyRevealed    = "revealed"    // an image shown unblurred, for a limited time
	CustodyExported    = "exported"    // written into an evidence bundle
	CustodyTransferred = "transferred" // handed to another organisation
	CustodyDestroyed   = "destroyed"   // its bytes destroyed
	CustodyVerified    = "verified"    // its hashes checked again, and what they gave
)

// CustodyActions lists the actions.
var CustodyActions = []string{CustodyAcquired, CustodyViewed, CustodyRevealed, CustodyExported, CustodyTransferred,
	CustodyDestroyed, CustodyVerified}

// CustodyEntry is one step of an item's chain of custody: who did what,
// when, why (sealed; Why here once opened), and the file's SHA-256 as it
// was then.
type CustodyEntry struct {
	ItemID string
	N      int // its place in the item's chain, from 1
	Action string
	At     time.Time
	Actor  string
	Why    string
	SHA256 string
}

// Kinds of record a retention policy governs.
const (
	RetentionReportNotIllegal = "report_not_illegal" // reports decided with no further action
	RetentionSupportCase      = "support_case"       // support cases, from their closing
	RetentionEvidence         = "evidence"           // evidence items, from their investigation's closing
	// The sealed payloads of messages delivered to peers, from their
	// delivery: the node cannot read them back, so they are only bulk.
	// The record of each message (kind, thread, times) stays.
	RetentionDeliveredMessage = "delivered_message"
)

// RetentionKinds lists the kinds.
var RetentionKinds = []string{RetentionReportNotIllegal, RetentionSupportCase, RetentionEvidence, RetentionDeliveredMessage}
