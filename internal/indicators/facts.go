package indicators

import (
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
)

// apply folds one event into a report's facts and its takedown
// addresses' facts. Each fact is the first time of its event; the
// category is the latest assessment's; the jurisdiction the latest
// routing decision's.
func apply(f *store.Facts, items map[string]*store.ItemFacts, e store.EventRow) {
	first := func(t *time.Time) {
		if t.IsZero() || e.At.Before(*t) {
			*t = e.At
		}
	}
	switch e.Kind {
	case canopy.EventReceived:
		first(&f.Received)
	case canopy.EventFirstLook:
		first(&f.FirstLook)
	case canopy.EventAssessed:
		first(&f.Assessed)
		if c := e.Data["category"]; c != "" {
			f.Category = c
		}
	case canopy.EventRouted:
		if j := e.Data["jurisdiction"]; j != "" {
			f.Jurisdiction = j
		}
	case canopy.EventReferred:
		if e.Data["peer"] != "" {
			first(&f.Referred)
		}
	case canopy.EventReferralStatus:
		if e.Data["direction"] == "in" {
			switch e.Data["status"] {
			case canopy.ReferralAccepted, canopy.ReferralActioned, canopy.ReferralContentRemoved:
				first(&f.Accepted)
			}
		}
	case canopy.EventMerged:
		f.Merged = true
	case canopy.EventNoticeSent:
		first(&f.Notice)
		for _, id := range strings.Fields(e.Data["takedowns"]) {
			it := item(items, f.ReportID, id)
			if it.Notified.IsZero() || e.At.Before(it.Notified) {
				it.Notified = e.At
			}
		}
	case canopy.EventTakedownStatus:
		it := item(items, f.ReportID, e.Data["takedown"])
		switch e.Data["status"] {
		case canopy.TakedownRemoved:
			if it.Removed.IsZero() || e.At.Before(it.Removed) {
				it.Removed = e.At
			}
			fallthrough
		case canopy.TakedownAcknowledged, canopy.TakedownRefused:
			if it.Answered.IsZero() || e.At.Before(it.Answered) {
				it.Answered = e.At
			}
		}
	}
}

func item(items map[string]*store.ItemFacts, reportID, id string) *store.ItemFacts {
	it := items[id]
	if it == nil {
		it = &store.ItemFacts{TakedownID: id, ReportID: reportID}
		items[id] = it
	}
	return it
}

// contribute adds to deltas, with sign, what a report with facts f and
// takedown addresses items contributes to the rollups: each member to
// its population, and each that reached its stop event to the reached
// count and its duration's bucket, in every breakdown.
func contribute(deltas map[store.CellKey]int64, f *store.Facts, items []*store.ItemFacts, sign int64) {
	if f.Received.IsZero() || f.Merged {
		return // not yet received, or counted as the report it was merged into
	}
	category, channel, jurisdiction := f.Category, f.Channel, f.Jurisdiction
	if jurisdiction == "" {
		jurisdiction = "unknown"
	}
	add := func(indicator string, start, stop time.Time) {
		if start.IsZero() {
			return
		}
		month := Month(start)
		for _, dv := range [4][2]string{{DimAll, DimAll}, {DimCategory, category}, {DimChannel, channel}, {DimJurisdiction, jurisdiction}} {
			k := store.CellKey{Indicator: indicator, Dim: dv[0], Value: dv[1], Month: month, Bucket: bucketMembers}
			deltas[k] += sign
			if stop.IsZero() {
				continue
			}
			k.Bucket = bucketReached
			deltas[k] += sign
			k.Bucket = Bucket(stop.Sub(start))
			deltas[k] += sign
		}
	}
	add(FirstLook, f.Received, f.FirstLook)
	add(Assessment, f.Received, f.Assessed)
	add(ReferralAcceptance, f.Referred, f.Accepted)
	if !f.Notice.IsZero() {
		add(ReportToNotice, f.Received, f.Notice)
	}
	for _, it := range items {
		add(Takedown, it.Notified, it.Removed)
		add(HostResponse, it.Notified, it.Answered)
	}
}
