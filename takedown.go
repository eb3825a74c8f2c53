package canopy

import (
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Notice and takedown. When an analyst finds content illegal and hosted
// in the node's jurisdiction, the node writes one notice per host (a
// hosting company or platform) listing the addresses, the classification
// and a reference, never the content. Every address is then tracked on
// its own until the host removes it, or until it is escalated to law
// enforcement because it is still up. The time of every step is kept, so
// report-to-notice and notice-to-removal are exact.
//
// Codes below are stored and written to CSV files: add, never rename.

// How a host takes notices.
const (
	NoticeByEmail   = "email"   // to its abuse address over SMTP
	NoticeByWebhook = "webhook" // a signed POST to its endpoint
)

// NoticeMethods lists the methods.
var NoticeMethods = []string{NoticeByEmail, NoticeByWebhook}

// Kinds of host.
const (
	HostHosting  = "hosting"  // a hosting company, a content delivery network, a file locker
	HostPlatform = "platform" // a service whose users post: a social network, a forum
)

// HostKinds lists the kinds.
var HostKinds = []string{HostHosting, HostPlatform}

// Host is a hosting company or platform that takes notices.
type Host struct {
	ID   string // stable and chosen by whoever keeps the list ("ovh"); a CSV import finds the host by it
	Name string
	Kind string // one of HostKinds
	// Jurisdictions are the ISO 3166-1 codes of the countries whose law
	// the host answers to.
	Jurisdictions []string
	// Domains are the host names it serves, matched on whole labels:
	// "example.com" covers "cdn.example.com" but not "badexample.com".
	Domains []string
	// Networks are the address prefixes it hosts, in CIDR notation.
	Networks []string
	Method   string // one of NoticeMethods
	Email    string // the abuse address, for NoticeByEmail
	Webhook  string // the https endpoint, for NoticeByWebhook
	Language string // the language notices are written in: "en", "fr"…
	// RemindAfter and EscalateAfter override the node's defaults (a
	// reminder every 24 hours, escalation after 72) when not zero.
	RemindAfter, EscalateAfter time.Duration
	// Platform is the platform account whose API keys may confirm this
	// host's removals, or "".
	Platform  string
	Active    bool
	Updated   time.Time
	UpdatedBy string
}

// Serves reports whether the host serves a host name, by its domains.
func (h *Host) Serves(name string) bool {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	for _, d := range h.Domains {
		if name == d || strings.HasSuffix(name, "."+d) {
			return true
		}
	}
	return false
}

// Holds reports whether one of the host's networks holds an address.
func (h *Host) Holds(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range h.Networks {
		if p, err := netip.ParsePrefix(n); err == nil && p.Contains(a) {
			return true
		}
	}
	return false
}

// Statuses of a notice.
const (
	NoticeDraft  = "draft"  // prepared; an analyst has not sent it yet
	NoticeQueued = "queued" // sent by an analyst; the node is delivering it
	NoticeSent   = "sent"   // the host's mail server or endpoint took it
	NoticeFailed = "failed" // the host refused it for good (an unknown mailbox, a 4xx); staff must act
)

// Notice is one notice to one host about one report's addresses.
type Notice struct {
	ID        string
	Host      string
	ReportID  string
	Reference string // what the host quotes back; made from the node's name and the notice id
	Status    string
	Created   time.Time
	Queued    time.Time // when an analyst sent it
	Sent      time.Time // when the host took it
	By        string    // the analyst who sent it
	Attempts  int       // deliveries tried, reminders included
	Next      time.Time // when the next delivery or reminder is due; zero for none
	Reminders int
	Error     string // the last delivery's failure, as a code and the server's status line; never content
}

// Statuses of one address of a notice.
const (
	TakedownPending      = "pending"      // in a notice not yet delivered
	TakedownNotified     = "notified"     // the host has the notice
	TakedownAcknowledged = "acknowledged" // the host said it is looking
	TakedownRemoved      = "removed"      // the content is gone
	TakedownRefused      = "refused"      // the host will not remove it, and said why
)

// TakedownStatuses lists the statuses in order.
var TakedownStatuses = []string{TakedownPending, TakedownNotified, TakedownAcknowledged, TakedownRemoved, TakedownRefused}

// Takedown is one address of a notice, tracked until it comes down.
type Takedown struct {
	ID       string // what the host names it by in POST /api/v1/platform/takedowns/{id}
	NoticeID string
	Host     string
	ReportID string
	URL      string // sealed at rest with the report's key
	Status   string
	// The time of each step; zero until it happens.
	Notified, Acknowledged, Removed, Refused time.Time
	// Escalated is when the address was escalated to law enforcement,
	// still up after the host's time; it stays tracked until removed.
	Escalated time.Time
	// RemovedBy says who confirmed the removal: "host:<id>" (through the
	// API) or "staff:<id>".
	RemovedBy string
	// Reason is why the host refused, in its words; sealed at rest with
	// the report's key, like the address.
	Reason string
}

// Open reports whether the address is still up as far as the node knows.
func (t *Takedown) Open() bool {
	return t.Status == TakedownPending || t.Status == TakedownNotified || t.Status == TakedownAcknowledged
}

// Advance moves the takedown to status at at. Steps go forward: an
// acknowledgement after the removal changes nothing, and a removal may
// follow a refusal (the host thought again). It reports whether anything
// changed.
func (t *Takedown) Advance(status string, at time.Time) bool {
	rank := slices.Index(TakedownStatuses, status)
	cur := slices.Index(TakedownStatuses, t.Status)
	switch {
	case rank < 0 || status == TakedownPending:
		return false
	case t.Status == TakedownRemoved:
		return false
	case status == TakedownRefused && t.Status == TakedownRefused:
		return false
	case status != TakedownRefused && status != TakedownRemoved && rank <= cur:
		return false
	}
	t.Status = status
	switch status {
	case TakedownNotified:
		t.Notified = at
	case TakedownAcknowledged:
		t.Acknowledged = at
	case TakedownRemoved:
		t.Removed = at
	case TakedownRefused:
		t.Refused = at
	}
	return true
}

// Timeline events of takedown, on the report's timeline. Data names the
// host and the notice; never an address.
const (
	EventNoticeSent       = "notice_sent"        // a host took a notice: Data host, notice, urls (a count), takedowns (their ids)
	EventTakedownEscalate = "takedown_escalated" // addresses still up after the host's time: Data host, notice, urls
	// EventTakedownStatus: what became of one address, as the host or an
	// analyst said; At is when it happened. Data takedown, notice, host,
	// status.
	EventTakedownStatus = "takedown_status"
)
