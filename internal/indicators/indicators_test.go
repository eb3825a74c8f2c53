package indicators

import (
	"context"
	"crypto/rand"
	"maps"
	"math"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit/audittest"
	"github.com/canopy-org/canopy/internal/clocktest"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/triage"
)

var (
	analyst    = &canopy.Account{ID: "an1", Role: canopy.RoleAnalyst}
	supervisor = &canopy.Account{ID: "su1", Role: canopy.RoleSupervisor}
)

type env struct {
	t      testing.TB
	db     *store.DB
	clock  *clocktest.Clock
	intake *intake.Service
	triage *triage.Service
	roller *Roller
}

func newEnv(t testing.TB, db *store.DB) *env {
	master := make([]byte, seal.KeySize)
	rand.Read(master)
	keys, err := seal.New(master)
	if err != nil {
		t.Fatal(err)
	}
	c := clocktest.New(time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC))
	log := audittest.Open(t, db)
	log.Now = c.Now
	return &env{t: t, db: db, clock: c,
		intake: &intake.Service{DB: db, Keys: keys, Audit: log, Now: c.Now},
		triage: &triage.Service{DB: db, Keys: keys, Audit: log, Now: c.Now},
		roller: &Roller{DB: db, GapWait: -1, Batch: 7}}
}

func (e *env) report(channel, category string) string {
	e.t.Helper()
	sub := intake.Submission{Channel: channel, Reporter: canopy.ReporterCaregiver, Category: category, Description: "words"}
	if channel == canopy.ChannelPlatform {
		sub.Reporter = canopy.ReporterPlatform
	}
	rc, err := e.intake.Submit(context.Background(), sub)
	if err != nil {
		e.t.Fatal(err)
	}
	return rc.ReportID
}

func (e *env) look(id string) {
	e.t.Helper()
	if _, err := e.triage.Open(context.Background(), analyst, id); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) assess(who *canopy.Account, id, category, outcome string) {
	e.t.Helper()
	ctx := context.Background()
	if who == analyst {
		if err := e.triage.Claim(ctx, who, id); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := e.triage.Assess(ctx, who, id, canopy.Assessment{Category: category, Outcome: outcome, Reasons: "seen"}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) event(id, kind string, data map[string]string) {
	e.t.Helper()
	if _, err := e.db.ApplyEvents(context.Background(), id, nil, &store.SealedEvent{Event: canopy.Event{ReportID: id, Kind: kind,
		At: e.clock.Now(), Actor: "system", Data: data}}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) roll() {
	e.t.Helper()
	if _, err := e.roller.CatchUp(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) dashboard(dim, value string) map[string]Series {
	e.t.Helper()
	s, err := Dashboard(context.Background(), e.db, dim, value, "2026-01", "2026-12")
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]Series{}
	for _, x := range s {
		out[x.Indicator] = x
	}
	return out
}

// within checks a percentile is the upper bound of the bucket of want.
func within(got, want time.Duration) bool {
	return got == Upper(Bucket(want)) && float64(got) >= float64(want) && float64(got) <= float64(want)*growth+float64(time.Second)
}

// TestRollups follows reports through their lives and checks the
// rollups after each step against what docs/indicators.md says, and
// against the same facts computed from scratch.
func TestRollups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		a := e.report(canopy.ChannelPortal, "csam")       // January, 23:00
		e.clock.Add(30 * time.Minute)                     // 23:30
		b := e.report(canopy.ChannelPlatform, "grooming") // January too
		e.clock.Add(40 * time.Minute)                     // 00:10, 1 February
		c := e.report(canopy.ChannelPortal, "csam")       // February; merged later
		e.look(a)                                         // a: 70 min
		e.clock.Add(20 * time.Minute)
		e.look(b) // b: 60 min
		e.roll()

		d := e.dashboard(DimAll, DimAll)
		fl := d[FirstLook]
		if fl.Total.Members != 3 || fl.Total.Reached != 2 || !within(fl.Total.Median, 60*time.Minute) || !within(fl.Total.P90, 70*time.Minute) {
			t.Fatalf("first look: %+v", fl.Total)
		}
		if len(fl.Months) != 2 || fl.Months[0].Month != "2026-01" || fl.Months[0].Members != 2 || fl.Months[1].Members != 1 {
			t.Fatalf("first look by month (a report counts in the month it arrived): %+v", fl.Months)
		}
		if s := fl.Total.Share(); math.Abs(s-2.0/3) > 1e-9 {
			t.Errorf("share %v", s)
		}

		// b is assessed as csam: it moves from grooming to csam; c is
		// merged into a and leaves every population.
		e.clock.Add(time.Hour)
		e.assess(supervisor, b, "csam", canopy.OutcomeNoFurtherAction)
		if err := e.triage.Merge(context.Background(), supervisor, a, c); err != nil {
			t.Fatal(err)
		}
		e.roll()
		if g := e.dashboard(DimCategory, "grooming")[FirstLook].Total; g.Members != 0 {
			t.Errorf("grooming still counts %+v after reclassification", g)
		}
		cs := e.dashboard(DimCategory, "csam")
		if f := cs[FirstLook].Total; f.Members != 2 || f.Reached != 2 {
			t.Errorf("csam first look: %+v", f)
		}
		if f := cs[Assessment].Total; f.Members != 2 || f.Reached != 1 || !within(f.Median, 2*time.Hour) {
			t.Errorf("csam assessment: %+v", f)
		}
		if f := e.dashboard(DimChannel, canopy.ChannelPlatform)[FirstLook].Total; f.Members != 1 {
			t.Errorf("platform channel: %+v", f)
		}
		if f := e.dashboard(DimJurisdiction, "unknown")[FirstLook].Total; f.Members != 2 {
			t.Errorf("jurisdiction unknown: %+v", f)
		}

		// a is routed, referred, accepted by the peer, noticed, and one
		// of its two addresses comes down within a day.
		e.event(a, canopy.EventRouted, map[string]string{"jurisdiction": "BE", "route": canopy.RoutePeer, "peer": "be"})
		e.event(a, canopy.EventReferred, map[string]string{"peer": "be", "referral": "r1"})
		e.clock.Add(3 * time.Hour)
		e.event(a, canopy.EventReferralStatus, map[string]string{"direction": "in", "peer": "be", "referral": "r1", "status": canopy.ReferralAccepted})
		e.event(a, canopy.EventNoticeSent, map[string]string{"host": "h", "notice": "n1", "urls": "2", "takedowns": "t1 t2"})
		e.clock.Add(5 * time.Hour)
		e.event(a, canopy.EventTakedownStatus, map[string]string{"takedown": "t1", "status": canopy.TakedownAcknowledged})
		e.clock.Add(5 * time.Hour)
		e.event(a, canopy.EventTakedownStatus, map[string]string{"takedown": "t1", "status": canopy.TakedownRemoved})
		e.roll()
		d = e.dashboard(DimAll, DimAll)
		if f := d[ReferralAcceptance].Total; f.Members != 1 || f.Reached != 1 || !within(f.Median, 3*time.Hour) {
			t.Errorf("referral acceptance: %+v", f)
		}
		if f := d[Takedown].Total; f.Members != 2 || f.Reached != 1 || !within(f.Median, 10*time.Hour) || f.Within24 != 1 {
			t.Errorf("takedown: %+v", f)
		}
		if f := d[HostResponse].Total; f.Members != 2 || f.Reached != 1 || !within(f.Median, 5*time.Hour) {
			t.Errorf("host response: %+v", f)
		}
		if f := d[ReportToNotice].Total; f.Members != 1 {
			t.Errorf("report to notice: %+v", f)
		}
		if f := e.dashboard(DimJurisdiction, "BE")[FirstLook].Total; f.Members != 1 {
			t.Errorf("a routed report moved to its jurisdiction: %+v", f)
		}

		// Nothing is left to take, and the rollups equal the facts
		// computed from scratch.
		if n, err := e.roller.Step(context.Background()); err != nil || n != 0 {
			t.Fatalf("a step after catching up took %d: %v", n, err)
		}
		checkScratch(t, db)
	})
}

// checkScratch recomputes every report's contributions from all its
// events at once and compares them with the rollups, which the roller
// built in small batches with moves between cells.
func checkScratch(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	events, err := db.EventsAfter(ctx, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	facts := map[string]*store.Facts{}
	items := map[string]map[string]*store.ItemFacts{}
	var basics map[string][2]string
	var ids []string
	for _, e := range events {
		if facts[e.ReportID] == nil {
			ids = append(ids, e.ReportID)
			facts[e.ReportID] = &store.Facts{ReportID: e.ReportID}
			items[e.ReportID] = map[string]*store.ItemFacts{}
		}
	}
	if err := db.Update(ctx, func(tx *store.Tx) error {
		basics, err = tx.ReportBasics(ids)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		facts[id].Channel, facts[id].Category = basics[id][0], basics[id][1]
	}
	for _, e := range events {
		apply(facts[e.ReportID], items[e.ReportID], e)
	}
	want := map[store.CellKey]int64{}
	for _, id := range ids {
		contribute(want, facts[id], slicesOf(items[id]), +1)
	}
	maps.DeleteFunc(want, func(_ store.CellKey, n int64) bool { return n == 0 })
	got := map[store.CellKey]int64{}
	for _, dim := range Dims {
		values, err := db.CellValues(ctx, dim, "0000-00", "9999-99")
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range values {
			cells, err := db.Cells(ctx, dim, v, "0000-00", "9999-99")
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cells {
				got[store.CellKey{Indicator: c.Indicator, Dim: dim, Value: v, Month: c.Month, Bucket: c.Bucket}] = c.N
			}
		}
	}
	if !maps.Equal(got, want) {
		for k, n := range want {
			if got[k] != n {
				t.Errorf("cell %+v: %d, from scratch %d", k, got[k], n)
			}
		}
		for k, n := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("cell %+v: %d, from scratch none", k, n)
			}
		}
	}
}

func slicesOf(m map[string]*store.ItemFacts) []*store.ItemFacts {
	out := make([]*store.ItemFacts, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestBucket: each duration falls in a bucket whose upper bound is at
// most 5% above it.
func TestBucket(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Hour, 999 * time.Millisecond, time.Second, 61 * time.Second, time.Hour, 72 * time.Hour, 400 * 24 * time.Hour} {
		u := Upper(Bucket(d))
		if u < d || (d >= time.Second && float64(u) > float64(d)*growth*1.0000001) {
			t.Errorf("%s: bucket %d, upper %s", d, Bucket(d), u)
		}
	}
}

// TestGaps: a hole in the event ids stops the roller until it is older
// than GapWait.
func TestGaps(t *testing.T) {
	r := &Roller{GapWait: time.Hour}
	evs := []store.EventRow{{ID: 1}, {ID: 2}, {ID: 4}, {ID: 5}}
	if n := r.contiguous(0, evs); n != 2 {
		t.Fatalf("took %d before the hole, want 2", n)
	}
	r.GapWait = -1
	if n := r.contiguous(0, evs); n != 4 {
		t.Fatalf("took %d with no wait, want 4", n)
	}
}
