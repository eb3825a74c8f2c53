package indicators

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"unicode/utf8"
)

// A publication is the node's indicators as the public and peers see
// them: counts by month, protected by disclosure control, and the
// durations of the cells whose counts are shown. The transparency page,
// the yearly report's CSV and JSON, and the figures shared with peers are
// all the same publication.

// Definitions names the version of docs/indicators.md a publication
// follows: figures under other definitions are not comparable.
const Definitions = "canopy-indicators/1"

// Value is a published count: a number, or a mark where disclosure
// control withholds it. In JSON it is a number or a string.
type Value struct {
	N    int64
	Mark string // "" when N is shown
}

// Shown reports whether the number is published.
func (v Value) Shown() bool { return v.Mark == "" }

func (v Value) String() string {
	if v.Mark != "" {
		return v.Mark
	}
	return strconv.FormatInt(v.N, 10)
}

// MarshalJSON writes a number, or the mark as a string.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.Mark != "" {
		// Written as the page shows it: "<10", not "\u003c10".
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		if err := e.Encode(v.Mark); err != nil {
			return nil, err
		}
		return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
	}
	return []byte(strconv.FormatInt(v.N, 10)), nil
}

// UnmarshalJSON reads a non-negative integer or a mark.
func (v *Value) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" || utf8.RuneCountInString(s) > 16 {
			return errors.New("indicators: a mark is 1 to 16 characters")
		}
		*v = Value{Mark: s}
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("indicators: %s is not a count", b)
	}
	*v = Value{N: n}
	return nil
}

// Row is one indicator in one month of a publication. Durations are in
// seconds, present only where disclosure control allows them.
type Row struct {
	Indicator string `json:"indicator"`
	Month     string `json:"month"`
	Members   Value  `json:"members"`
	Reached   Value  `json:"reached"`
	// MedianSeconds and P90Seconds are the durations from start to stop
	// (docs/indicators.md); MeanChange is the well-being indicator's
	// mean change in points.
	MedianSeconds *int64   `json:"median_seconds,omitempty"`
	P90Seconds    *int64   `json:"p90_seconds,omitempty"`
	Within24      *Value   `json:"within_24h,omitempty"`
	Within72      *Value   `json:"within_72h,omitempty"`
	MeanChange    *float64 `json:"mean_change,omitempty"`
}

// Publication is a node's published indicators over a period.
type Publication struct {
	Definitions   string   `json:"definitions"`
	Node          string   `json:"node"`
	Jurisdictions []string `json:"jurisdictions"`
	Generated     string   `json:"generated"` // RFC 3339
	From          string   `json:"from"`      // YYYY-MM
	To            string   `json:"to"`        // YYYY-MM
	Rows          []Row    `json:"rows"`
}

// Known lists every indicator id, rolled and support.
var Known = append(slices.Clone(Rolled), CaseResolution, FirstSupport, ServiceCompletion, WellBeing)

var monthPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// maxRows bounds a publication: every indicator, every month of ten
// years.
const maxRows = 10 * 12 * 16

// Check validates a publication received from elsewhere. Rows of
// indicators this node does not know (a newer node's) are dropped, not
// refused: the set of indicators grows by adding.
func (p *Publication) Check() error {
	switch {
	case p.Definitions == "":
		return errors.New("indicators: publication without definitions")
	case !monthPattern.MatchString(p.From) || !monthPattern.MatchString(p.To) || p.From > p.To:
		return fmt.Errorf("indicators: period %q to %q", p.From, p.To)
	case len(p.Rows) > maxRows:
		return fmt.Errorf("indicators: %d rows", len(p.Rows))
	case utf8.RuneCountInString(p.Node) > 128 || len(p.Jurisdictions) > 32:
		return errors.New("indicators: node too long")
	}
	p.Rows = slices.DeleteFunc(p.Rows, func(r Row) bool { return !slices.Contains(Known, r.Indicator) })
	for _, r := range p.Rows {
		if !monthPattern.MatchString(r.Month) || r.Month < p.From || r.Month > p.To {
			return fmt.Errorf("indicators: row month %q", r.Month)
		}
		for _, d := range []*int64{r.MedianSeconds, r.P90Seconds} {
			if d != nil && *d < 0 {
				return errors.New("indicators: a negative duration")
			}
		}
	}
	return nil
}
