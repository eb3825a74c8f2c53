package indicators

import (
	"context"
	"slices"
	"time"

	"github.com/canopy-org/canopy/internal/store"
)

// Figure is one indicator over a set of months: its population, how many
// reached the stop event, and the durations' median and 90th percentile
// (the upper bound of the bucket holding the nearest-rank value).
type Figure struct {
	Members, Reached int64
	Median, P90      time.Duration
	// Within24 and Within72 count the members that reached the stop
	// within 24 and 72 hours (by histogram bucket: exact to 5%).
	Within24, Within72 int64
	hist               map[int]int64
}

// Share is Reached over Members, or -1 when there are no members.
func (f *Figure) Share() float64 {
	if f.Members == 0 {
		return -1
	}
	return float64(f.Reached) / float64(f.Members)
}

func (f *Figure) add(c store.Cell) {
	switch c.Bucket {
	case bucketMembers:
		f.Members += c.N
	case bucketReached:
		f.Reached += c.N
	default:
		if f.hist == nil {
			f.hist = map[int]int64{}
		}
		f.hist[c.Bucket] += c.N
	}
}

// finish computes the percentiles from the histogram.
func (f *Figure) finish() {
	buckets := make([]int, 0, len(f.hist))
	var n int64
	for b, c := range f.hist {
		if c > 0 {
			buckets = append(buckets, b)
			n += c
		}
	}
	slices.Sort(buckets)
	rank := func(p int64) time.Duration {
		if n == 0 {
			return 0
		}
		want := max((p*n+99)/100, 1)
		var seen int64
		for _, b := range buckets {
			seen += f.hist[b]
			if seen >= want {
				return Upper(b)
			}
		}
		return Upper(buckets[len(buckets)-1])
	}
	f.Median, f.P90 = rank(50), rank(90)
	for _, b := range buckets {
		if Upper(b) <= 24*time.Hour {
			f.Within24 += f.hist[b]
		}
		if Upper(b) <= 72*time.Hour {
			f.Within72 += f.hist[b]
		}
	}
}

// Series is one indicator: its figure over the whole period, and by month.
type Series struct {
	Indicator string
	Total     Figure
	Months    []MonthFigure
}

// MonthFigure is one month of a series.
type MonthFigure struct {
	Month string
	Figure
}

// Dashboard returns every rolled indicator over months [from, to]
// (YYYY-MM), for one breakdown value (DimAll, DimAll for the whole node).
// It reads the rollups only.
func Dashboard(ctx context.Context, db *store.DB, dim, value, from, to string) ([]Series, error) {
	cells, err := db.Cells(ctx, dim, value, from, to)
	if err != nil {
		return nil, err
	}
	byIndicator := map[string]*Series{}
	months := map[string]map[string]*Figure{}
	for _, c := range cells {
		s := byIndicator[c.Indicator]
		if s == nil {
			s = &Series{Indicator: c.Indicator}
			byIndicator[c.Indicator] = s
			months[c.Indicator] = map[string]*Figure{}
		}
		s.Total.add(c)
		m := months[c.Indicator][c.Month]
		if m == nil {
			m = &Figure{}
			months[c.Indicator][c.Month] = m
		}
		m.add(c)
	}
	var out []Series
	for _, id := range Rolled {
		s := byIndicator[id]
		if s == nil {
			s = &Series{Indicator: id}
		}
		s.Total.finish()
		keys := make([]string, 0, len(months[id]))
		for k := range months[id] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			f := months[id][k]
			f.finish()
			s.Months = append(s.Months, MonthFigure{Month: k, Figure: *f})
		}
		out = append(out, *s)
	}
	return out, nil
}
