package canopy

import "time"

// Event kinds on a report's timeline. They are stored and sent between
// nodes: add new kinds, never rename or reuse one.
const (
	EventReceived        = "received"
	EventReporterMessage = "reporter_message"
	EventStaffMessage    = "staff_message"
	EventFirstLook       = "first_look"
	EventAssessed        = "assessed"
	EventReferred        = "referred"
	EventActionTaken     = "action_taken"
	EventContentRemoved  = "content_removed"
	EventNoFurtherAction = "no_further_action"
	EventReopened        = "reopened"
	EventClaimed         = "claimed"
	EventReviewed        = "reviewed"    // a supervisor confirmed the decision
	EventMerged          = "merged"      // a duplicate of Data["into"]
	EventMergedFrom      = "merged_from" // Data["from"] was merged into this report
	EventMatched         = "matched"     // a hash matched a bank: Data bank, category, algorithm, distance
	// Cross-border events. Data always names the peer; "referral" is the
	// referral's id, the same on both nodes.
	EventRouted           = "routed"            // responsible jurisdiction decided: Data jurisdiction, basis, route, peer
	EventReferralReceived = "referral_received" // this report arrived from a peer: Data peer, referral
	EventReferralStatus   = "referral_status"   // a peer's status (Data direction "in") or ours to the origin ("out"): Data status, reason
	// EventSharingWithdrawn: the child's consent to share a referred
	// report abroad no longer stands. Data direction "out" at the
	// referring node (the peer was told), "in" at the receiving node (the
	// shared personal fields were removed); peer, referral, reason (one of
	// the Withdrawal… codes).
	EventSharingWithdrawn = "sharing_withdrawn"
)

// Event is one entry on a report's append-only timeline. The timeline is
// the single record the reporter's status, the indicators and the audit
// trail are derived from. Body is sealed content (a message's text) and is
// only present for kinds that carry one.
type Event struct {
	ID       int64
	ReportID string
	Kind     string
	At       time.Time
	Actor    string // a staff account, a peer, or "" for the reporter
	// Data holds the event's non-sensitive facts as codes (an assessment's
	// category and outcome, the report merged into…). Never free text.
	Data map[string]string
	Body string
}

// IsMessage reports whether the event is a message between the reporter and
// the hotline.
func (e Event) IsMessage() bool {
	return e.Kind == EventReporterMessage || e.Kind == EventStaffMessage
}

// StatusOf derives the status a reporter sees from the report's timeline.
// Events must be in timeline order. A status is never stored: it is always
// what the events say.
func StatusOf(events []Event) string {
	status := ""
	for _, e := range events {
		switch e.Kind {
		case EventReceived:
			if status == "" {
				status = StatusReceived
			}
		case EventFirstLook, EventAssessed, EventReopened:
			status = StatusInReview
		case EventReferred:
			status = StatusReferred
		case EventActionTaken:
			status = StatusActionTaken
		case EventContentRemoved:
			status = StatusContentRemoved
		case EventNoFurtherAction:
			status = StatusNoFurtherAction
		case EventReferralStatus:
			// What the receiving hotline did is what the reporter
			// cares about: removal above all.
			if e.Data["direction"] != "in" {
				break
			}
			switch e.Data["status"] {
			case ReferralActioned:
				if status != StatusContentRemoved {
					status = StatusActionTaken
				}
			case ReferralContentRemoved:
				status = StatusContentRemoved
			case ReferralRejected:
				status = StatusInReview
			}
		}
	}
	if status == "" {
		status = StatusReceived
	}
	return status
}

// Followup is what a reporter sees through a receipt: the status and the
// messages exchanged, never who is handling the report.
type Followup struct {
	ReportID string
	Received time.Time
	Status   string
	Language string
	Messages []Message
}

// Message is one message between the reporter and the hotline, as the
// reporter sees it.
type Message struct {
	At           time.Time
	FromReporter bool
	Body         string
}
