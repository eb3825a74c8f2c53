package canopy

import (
	"slices"
	"time"
)

// Peer is another Canopy node this node exchanges referrals, status
// updates and hash-bank changes with. It is known by its two public keys;
// its URL is only where to reach it.
type Peer struct {
	ID            string // a short local name chosen by the administrator, such as "be"
	Name          string // the peer's own node name, as its signatures carry it
	URL           string // the base URL of its node, such as https://hotline.example
	SigningKey    []byte // Ed25519 public key (32 bytes)
	EncryptionKey []byte // X25519 public key (32 bytes)
	Jurisdictions []string
	// Share lists what of a report's content may be sent to this peer
	// (Shareable). The harmonised classification and the hashes are always
	// sent; nothing else is unless listed here.
	Share []string
	// Banks lists the names of this node's hash banks the peer may
	// subscribe to.
	Banks   []string
	State   string // PeerActive, PeerSuspended or PeerRemoved
	Added   time.Time
	AddedBy string
}

// Peer states. Stored: append-only.
const (
	PeerActive    = "active"    // messages flow both ways
	PeerSuspended = "suspended" // its messages are refused and ours to it wait
	PeerRemoved   = "removed"   // gone for good; its messages are refused, ours to it stay undelivered
)

// Fields of a report's content that a peer's data-sharing profile may
// allow. The reporter's contact details are not among them: the portal
// never asks a reporter's consent to send them abroad, so they never leave
// the node.
const (
	ShareDescription  = "description"   // the reporter's own words
	ShareURLs         = "urls"          // the web addresses reported
	SharePlatform     = "platform"      // the service named
	ShareAccounts     = "accounts"      // account names reported
	ShareChildCountry = "child_country" // where the child lives
	ShareReporter     = "reporter"      // the kind of reporter (child, parent, …), never who
	ShareLanguage     = "language"      // the language the reporter used
)

// Shareable lists what a data-sharing profile may allow, in display order.
var Shareable = []string{ShareURLs, SharePlatform, ShareAccounts, ShareDescription, ShareChildCountry, ShareReporter, ShareLanguage}

// IsShareable reports whether field may appear in a data-sharing profile.
func IsShareable(field string) bool { return slices.Contains(Shareable, field) }

// DefaultShare is the profile a peer gets when the administrator names
// none: what the receiving hotline needs to find and remove the content.
var DefaultShare = []string{ShareURLs, SharePlatform}

// Shares reports whether the peer's profile allows field.
func (p *Peer) Shares(field string) bool { return slices.Contains(p.Share, field) }

// Referral statuses a receiving node reports back, in lifecycle order.
// They travel between nodes: add new ones, never rename or reuse one.
const (
	ReferralReceived       = "received"        // the peer has it, durably
	ReferralAccepted       = "accepted"        // the peer takes responsibility
	ReferralActioned       = "actioned"        // the peer acted: a notice sent, police informed
	ReferralContentRemoved = "content_removed" // the content is gone
	ReferralRejected       = "rejected"        // not the peer's to handle, with a reason
)

// ReferralStatuses lists the statuses in lifecycle order.
var ReferralStatuses = []string{ReferralReceived, ReferralAccepted, ReferralActioned, ReferralContentRemoved, ReferralRejected}

// IsReferralStatus reports whether s is a referral status.
func IsReferralStatus(s string) bool { return slices.Contains(ReferralStatuses, s) }

// Routes: how a report's responsible jurisdiction was decided, and where
// it stands. Stored in TriageState.Route.
const (
	RouteLocal    = "local"    // one of this node's own jurisdictions, or none known
	RoutePeer     = "peer"     // a peer's: TriageState.RoutePeer says which
	RouteUnrouted = "unrouted" // abroad, and no routing rule names a peer: waits for staff
)

// Bases of a routing decision, strongest last: the analyst's choice
// always wins over the hosting country, which wins over the child's.
const (
	BasisChild   = "child"   // the child's country, from the report
	BasisHosting = "hosting" // where the reported addresses are hosted
	BasisAnalyst = "analyst" // a member of staff chose it
)
