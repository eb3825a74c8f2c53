package indicators

import (
	"context"
	"slices"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
)

// SupportFigure is a support indicator in one month: its population, how
// many reached the stop, the durations' histogram (for first support and
// resolution), and for well-being the sum of the changes in points and
// how many improved.
type SupportFigure struct {
	Figure
	ChangeSum int64 // well-being: the sum of the changes, in points of 0–100
	Improved  int64 // well-being: cases whose latest score is above the first
}

// MeanChange is the mean well-being change in points, or 0 with no
// members.
func (f *SupportFigure) MeanChange() float64 {
	if f.Members == 0 {
		return 0
	}
	return float64(f.ChangeSum) / float64(f.Members)
}

// SupportSeries is one support indicator over months.
type SupportSeries struct {
	Indicator string
	Total     SupportFigure
	Months    []SupportMonth
}

// SupportMonth is one month of a support series.
type SupportMonth struct {
	Month string
	SupportFigure
}

// resolved reports whether a closing reason counts as resolution.
func resolved(reason string) bool {
	return reason == canopy.CaseClosedSupported || reason == canopy.CaseClosedDeclined
}

// Support computes the support indicators over months [from, to]
// (YYYY-MM), for one jurisdiction or all (""), from the cases whose
// child's consent to anonymised statistics stands at now. Deleted cases
// are left out. It reads the cases when asked: a withdrawal acts on the
// next reading, past months included.
func Support(ctx context.Context, db *store.DB, jurisdiction, from, to string, now time.Time) ([]SupportSeries, error) {
	consents, err := db.ConsentsTo(ctx, canopy.PurposeStatistics)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(consents))
	for id, cs := range consents {
		if cs.Allows(canopy.PurposeStatistics, now) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	series := map[string]map[string]*SupportFigure{}
	for _, id := range []string{CaseResolution, FirstSupport, ServiceCompletion, WellBeing} {
		series[id] = map[string]*SupportFigure{}
	}
	at := func(indicator string, t time.Time) *SupportFigure {
		m := Month(t)
		if m < from || m > to {
			return nil
		}
		f := series[indicator][m]
		if f == nil {
			f = &SupportFigure{}
			series[indicator][m] = f
		}
		return f
	}
	reach := func(f *SupportFigure, d time.Duration) {
		f.Reached++
		if f.hist == nil {
			f.hist = map[int]int64{}
		}
		f.hist[Bucket(d)]++
	}
	for _, id := range ids {
		c, err := db.Case(ctx, id)
		if err != nil {
			return nil, err
		}
		if c.IsDeleted() || (jurisdiction != "" && c.Jurisdiction != jurisdiction) {
			continue
		}
		if f := at(CaseResolution, c.Opened); f != nil {
			f.Members++
			if c.IsClosed() && resolved(c.CloseReason) {
				reach(f, c.Closed.Sub(c.Opened))
			}
		}
		refs, err := db.ServiceReferrals(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			if f := at(ServiceCompletion, r.Sent); f != nil {
				f.Members++
				if !r.Completed.IsZero() {
					reach(f, r.Completed.Sub(r.Sent))
				}
			}
		}
		if first := canopy.FirstSupport(refs); !first.IsZero() {
			start := c.Opened
			links, err := db.CaseLinks(ctx, id)
			if err != nil {
				return nil, err
			}
			for _, l := range links {
				if l.Received.Before(start) {
					start = l.Received
				}
			}
			if f := at(FirstSupport, start); f != nil {
				f.Members++
				reach(f, first.Sub(start))
			}
		}
		checkIns, err := db.CaseCheckIns(ctx, id)
		if err != nil {
			return nil, err
		}
		if len(checkIns) >= 2 {
			first, last := checkIns[0], checkIns[len(checkIns)-1]
			if f := at(WellBeing, first.At); f != nil {
				change := last.Percent() - first.Percent()
				f.Members++
				f.Reached++
				f.ChangeSum += int64(change)
				if change > 0 {
					f.Improved++
				}
			}
		}
	}
	var out []SupportSeries
	for _, id := range []string{CaseResolution, FirstSupport, ServiceCompletion, WellBeing} {
		s := SupportSeries{Indicator: id}
		months := make([]string, 0, len(series[id]))
		for m := range series[id] {
			months = append(months, m)
		}
		slices.Sort(months)
		for _, m := range months {
			f := series[id][m]
			f.finish()
			s.Total.Members += f.Members
			s.Total.Reached += f.Reached
			s.Total.ChangeSum += f.ChangeSum
			s.Total.Improved += f.Improved
			for b, n := range f.hist {
				if s.Total.hist == nil {
					s.Total.hist = map[int]int64{}
				}
				s.Total.hist[b] += n
			}
			s.Months = append(s.Months, SupportMonth{Month: m, SupportFigure: *f})
		}
		s.Total.finish()
		out = append(out, s)
	}
	return out, nil
}
