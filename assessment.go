package canopy

import "time"

// Assessment is an analyst's decision on a report, in the harmonised
// taxonomy. It is recorded as an event on the report's timeline; the
// reasons, which may describe the content, are sealed like the report.
type Assessment struct {
	Category      string    `json:"category"`
	Flags         []string  `json:"flags,omitempty"`
	Imagery       string    `json:"imagery,omitempty"`        // an ICCAM decision, when there is imagery
	IndustryClass string    `json:"industry_class,omitempty"` // A1, A2, B1, B2
	AgeBand       string    `json:"age_band,omitempty"`
	Outcome       string    `json:"outcome"`
	Reasons       string    `json:"-"` // sealed
	By            string    `json:"-"` // the assessing account
	At            time.Time `json:"-"`
}

// EventOfOutcome is the timeline event an outcome adds, which is what the
// reporter's status follows.
func EventOfOutcome(outcome string) string {
	switch outcome {
	case OutcomeRefer:
		return EventReferred
	case OutcomeTakedown, OutcomeSupport:
		return EventActionTaken
	case OutcomeNoFurtherAction:
		return EventNoFurtherAction
	}
	return ""
}
