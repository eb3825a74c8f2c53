package takedown

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/store"
)

// Score is one host's record over a period, counted over the addresses
// it was notified of in the period (docs/takedown.md defines each).
type Score struct {
	Host      string
	Name      string
	Notified  int // addresses notified in the period
	Removed   int // of those, removed by now
	Refused   int // of those, refused and not removed since
	Escalated int // of those, escalated to law enforcement
	// Median and P90 are the time from notice to removal of the removed
	// addresses (nearest rank); zero when none was removed.
	Median, P90 time.Duration
	// Within24 and Within72 are the shares, from 0 to 1, of the addresses
	// notified at least 24 (72) hours before now that were removed within
	// 24 (72) hours of their notice; Due24 and Due72 are how many such
	// addresses there are (the denominators). A share with no address
	// due is not known, and is -1.
	Within24, Within72 float64
	Due24, Due72       int
}

// percentile is the nearest-rank percentile p (0–100) of sorted values.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 × n)
	return sorted[max(rank, 1)-1]
}

// Scores scores the hosts of the rows, judged at now.
func Scores(rows []store.TakedownTimes, names map[string]string, now time.Time) []Score {
	by := map[string]*Score{}
	times := map[string][]time.Duration{}
	var order []string
	for _, r := range rows {
		sc := by[r.Host]
		if sc == nil {
			sc = &Score{Host: r.Host, Name: names[r.Host], Within24: -1, Within72: -1}
			if sc.Name == "" {
				sc.Name = r.Host
			}
			by[r.Host] = sc
			order = append(order, r.Host)
		}
		sc.Notified++
		took := time.Duration(-1)
		if !r.Removed.IsZero() {
			sc.Removed++
			took = r.Removed.Sub(r.Notified)
			times[r.Host] = append(times[r.Host], took)
		} else if r.Refused {
			sc.Refused++
		}
		if r.Escalated {
			sc.Escalated++
		}
		for _, w := range []struct {
			d      time.Duration
			due    *int
			within *float64
		}{{24 * time.Hour, &sc.Due24, &sc.Within24}, {72 * time.Hour, &sc.Due72, &sc.Within72}} {
			if now.Sub(r.Notified) < w.d {
				continue
			}
			if *w.within < 0 {
				*w.within = 0
			}
			*w.due++
			if took >= 0 && took <= w.d {
				*w.within++
			}
		}
	}
	out := make([]Score, 0, len(order))
	for _, h := range order {
		sc := by[h]
		ts := times[h]
		slices.Sort(ts)
		sc.Median, sc.P90 = percentile(ts, 50), percentile(ts, 90)
		if sc.Due24 > 0 {
			sc.Within24 /= float64(sc.Due24)
		}
		if sc.Due72 > 0 {
			sc.Within72 /= float64(sc.Due72)
		}
		out = append(out, *sc)
	}
	slices.SortFunc(out, func(a, b Score) int {
		if a.Notified != b.Notified {
			return b.Notified - a.Notified
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

// Scorecard scores every host on the addresses notified in [from, to).
// Staff who send notices or keep the list may read it. It holds counts
// and times per host, nothing of any report.
func (s *Service) Scorecard(ctx context.Context, who *canopy.Account, from, to time.Time) ([]Score, error) {
	if !access.Can(who.Role, access.HostManage) && !access.Can(who.Role, access.ReportTakedown) {
		return nil, s.allowHosts(ctx, who)
	}
	rows, err := s.DB.TakedownTimes(ctx, from, to)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	hosts, err := s.DB.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	for _, h := range hosts {
		names[h.ID] = h.Name
	}
	return Scores(rows, names, s.now()), nil
}
