package canopy

import (
	"slices"
	"strings"
	"time"
)

// Triage stages of a report. Stored: append-only.
const (
	StageNew      = "new"      // nobody has looked yet
	StageClaimed  = "claimed"  // an analyst is on it
	StageReopened = "reopened" // a supervisor sent a decision back
	StageDecided  = "decided"  // assessed, with an outcome
	StageMerged   = "merged"   // a duplicate, folded into another report
)

// IsOpen reports whether a report in stage still waits in the queue.
func IsOpen(stage string) bool {
	return stage == StageNew || stage == StageClaimed || stage == StageReopened
}

// TriageState is where a report stands in triage. It is a pure function
// of the report and its timeline (Apply, event by event); the store keeps
// it as a projection so the queue need not replay timelines.
type TriageState struct {
	ReportID     string
	Received     time.Time
	Urgent       bool
	Matched      bool
	Jurisdiction string
	Category     string
	Stage        string
	ClaimedBy    string
	FirstLook    time.Time
	Decided      time.Time
	Outcome      string
	Reviewed     bool
	MergedInto   string
	// Route is where routing sent the report (RouteLocal, RoutePeer,
	// RouteUnrouted), or "" before routing. Responsible is the
	// jurisdiction routing decided, Basis how (BasisHosting…), and
	// RoutePeer the peer a routing rule names for it.
	Route       string
	Responsible string
	Basis       string
	RoutePeer   string
}

// NewTriageState is the state of a report just received.
func NewTriageState(r *Report) TriageState {
	return TriageState{
		ReportID:     r.ID,
		Received:     r.Received,
		Urgent:       r.HasFlag(FlagUrgent),
		Jurisdiction: r.ChildCountry,
		Category:     r.Category,
		Stage:        StageNew,
	}
}

// Apply folds one timeline event into the state.
func (s *TriageState) Apply(e Event) {
	look := func() {
		if s.FirstLook.IsZero() {
			s.FirstLook = e.At
		}
	}
	switch e.Kind {
	case EventFirstLook:
		look()
	case EventClaimed:
		look()
		s.ClaimedBy = e.Actor
		if IsOpen(s.Stage) {
			s.Stage = StageClaimed
		}
	case EventAssessed:
		look()
		if c := e.Data["category"]; c != "" {
			s.Category = c
		}
		if f, ok := e.Data["flags"]; ok {
			s.Urgent = slices.Contains(strings.Fields(f), FlagUrgent)
		}
	case EventReferred, EventActionTaken, EventNoFurtherAction:
		if p := e.Data["peer"]; e.Kind == EventReferred && p != "" {
			// Referred to a peer: whatever routing said, that is
			// where it went.
			s.Route, s.RoutePeer = RoutePeer, p
		}
		s.Stage = StageDecided
		s.Decided = e.At
		s.Outcome = e.Data["outcome"]
		s.Reviewed = false
	case EventReviewed:
		s.Reviewed = true
	case EventReopened:
		s.Stage = StageReopened
		s.Outcome = ""
		s.Decided = time.Time{}
		s.Reviewed = false
		s.ClaimedBy = ""
	case EventMatched:
		s.Matched = true
	case EventMerged:
		s.Stage = StageMerged
		s.MergedInto = e.Data["into"]
	case EventRouted:
		s.Route, s.Responsible, s.Basis, s.RoutePeer = e.Data["route"], e.Data["jurisdiction"], e.Data["basis"], e.Data["peer"]
		if s.Route == RouteLocal && s.Responsible != "" {
			// Staff of a node serving several jurisdictions are scoped
			// by them: a local route places the report in its own.
			s.Jurisdiction = s.Responsible
		}
	case EventReferralStatus:
		switch {
		case e.Data["direction"] == "in" && e.Data["status"] == ReferralRejected:
			// The peer sent it back: it is ours again to route.
			s.Stage = StageReopened
			s.Outcome = ""
			s.Decided = time.Time{}
			s.Reviewed = false
			s.ClaimedBy = ""
		case e.Data["direction"] == "out" && (e.Data["status"] == ReferralContentRemoved || e.Data["status"] == ReferralRejected):
			if IsOpen(s.Stage) {
				s.Stage = StageDecided
				s.Decided = e.At
				s.Outcome = OutcomeNoFurtherAction
				if e.Data["status"] == ReferralContentRemoved {
					s.Outcome = OutcomeTakedown
				}
			}
		}
	case EventSharingWithdrawn:
		// The referring node told this one to remove the child's
		// country, among other things: unless routing placed the
		// report, its jurisdiction was that country, and goes too. The
		// stage stays: the content must still come down.
		if e.Data["direction"] == "in" && !(s.Route == RouteLocal && s.Responsible != "") {
			s.Jurisdiction = ""
		}
	}
}
