// Package indicators computes the node's indicators (docs/indicators.md)
// from its timelines: how fast reports are looked at and assessed, how
// fast peers accept referrals, how fast content comes down, and how
// support goes. A roller follows the events table and keeps rollups up to
// date, so the dashboard reads a few thousand rows whatever the number of
// reports; support indicators, over a few thousand cases and bound by the
// child's consent at the time of reading, are computed when asked.
package indicators

import (
	"math"
	"time"
)

// Indicator ids, as docs/indicators.md defines them. They are stored in
// the rollups and shared with peers: add, never rename.
const (
	FirstLook          = "first_look"
	Assessment         = "assessment"
	ReferralAcceptance = "referral_acceptance"
	ReportToNotice     = "report_to_notice"
	Takedown           = "takedown"
	HostResponse       = "host_response"
	CaseResolution     = "case_resolution"
	FirstSupport       = "first_support"
	ServiceCompletion  = "service_completion"
	WellBeing          = "wellbeing"
)

// Rolled lists the indicators kept in rollups, in display order.
var Rolled = []string{FirstLook, Assessment, ReferralAcceptance, ReportToNotice, Takedown, HostResponse}

// Breakdowns of the rolled indicators. "all" is the whole node.
const (
	DimAll          = "all"
	DimCategory     = "category"
	DimChannel      = "channel"
	DimJurisdiction = "jurisdiction"
)

// Dims lists the breakdowns.
var Dims = []string{DimAll, DimCategory, DimChannel, DimJurisdiction}

// Buckets of a rollup cell other than the histogram's.
const (
	bucketMembers = -1 // members of the population
	bucketReached = -2 // members that reached the stop event
)

// growth is the width of a histogram bucket: 5%.
const growth = 1.05

var logGrowth = math.Log(growth)

// Bucket is the histogram bucket of a duration: 0 under a second, then b
// for [1.05^b, 1.05^(b+1)) seconds. A negative duration (a clock that
// went back between two nodes) counts as zero.
func Bucket(d time.Duration) int {
	s := d.Seconds()
	if s < 1 {
		return 0
	}
	return int(math.Log(s)/logGrowth) + 1
}

// Upper is the upper bound of a bucket, the value a percentile in it is
// reported as.
func Upper(b int) time.Duration {
	if b <= 0 {
		return time.Second
	}
	return time.Duration(math.Pow(growth, float64(b)) * float64(time.Second))
}

// Month is the cohort month of a time, YYYY-MM in UTC.
func Month(t time.Time) string { return t.UTC().Format("2006-01") }
