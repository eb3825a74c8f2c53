package indicators

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// fill writes the rollups ten million reports over two years would leave:
// every month, category, channel and jurisdiction, each report looked
// at, assessed, a tenth referred and a fifth noticed with two addresses,
// with durations spread over several orders of magnitude. The rollups'
// size depends on the cells, not the reports, which is the point; the
// reports' count is what the members add up to.
func fill(tb testing.TB, db *store.DB, reports int) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	jurisdictions := []string{"FR", "BE", "LU", "NL", "DE", "unknown"}
	channels := []string{canopy.ChannelPortal, canopy.ChannelAPI, canopy.ChannelPlatform, canopy.ChannelPeer}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const months, samples = 24, 40
	combos := months * len(canopy.Categories) * len(channels) * len(jurisdictions)
	per := int64(reports / (combos * samples))
	deltas := map[store.CellKey]int64{}
	var total int64
	for m := range months {
		for _, c := range canopy.Categories {
			for _, ch := range channels {
				for _, j := range jurisdictions {
					for range samples {
						received := start.AddDate(0, m, rng.IntN(28)).Add(time.Duration(rng.IntN(86400)) * time.Second)
						d := func(scale time.Duration) time.Duration {
							return time.Duration(rng.ExpFloat64() * float64(scale))
						}
						f := &store.Facts{Received: received, Category: c.Code, Channel: ch, Jurisdiction: j,
							FirstLook: received.Add(d(2 * time.Hour)), Assessed: received.Add(d(20 * time.Hour))}
						var items []*store.ItemFacts
						if rng.IntN(10) == 0 {
							f.Referred = f.Assessed
							f.Accepted = f.Assessed.Add(d(30 * time.Hour))
						}
						if rng.IntN(5) == 0 {
							f.Notice = f.Assessed.Add(d(time.Hour))
							for range 2 {
								items = append(items, &store.ItemFacts{Notified: f.Notice, Answered: f.Notice.Add(d(4 * time.Hour)),
									Removed: f.Notice.Add(d(30 * time.Hour))})
							}
						}
						contribute(deltas, f, items, per)
						total += per
					}
				}
			}
		}
	}
	if err := db.AddCells(context.Background(), deltas); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("rollups of %d reports: %d cells", total, len(deltas))
}

// BenchmarkDashboard reads two years of every indicator from the rollups
// of ten million reports: the whole node, and one category.
func BenchmarkDashboard(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			if dialect == "postgres" && storetest.PostgresURL() == "" {
				b.Skip("no PostgreSQL")
			}
			db := storetest.Open(b, dialect)
			fill(b, db, 10_000_000)
			ctx := context.Background()
			for _, q := range [][2]string{{DimAll, DimAll}, {DimCategory, "csam"}, {DimJurisdiction, "FR"}} {
				b.Run(fmt.Sprintf("%s=%s", q[0], q[1]), func(b *testing.B) {
					var members int64
					for b.Loop() {
						s, err := Dashboard(ctx, db, q[0], q[1], "2025-01", "2026-12")
						if err != nil {
							b.Fatal(err)
						}
						members = s[0].Total.Members
					}
					b.ReportMetric(float64(members), "reports")
				})
			}
		})
	}
}

// BenchmarkRoller takes the events of two thousand reports, each
// received, looked at and assessed, into empty rollups: events/s is the
// rate the roller keeps up with.
func BenchmarkRoller(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			if dialect == "postgres" && storetest.PostgresURL() == "" {
				b.Skip("no PostgreSQL")
			}
			db := storetest.Open(b, dialect)
			e := newEnv(b, db)
			ctx := context.Background()
			const reports = 2000
			for i := range reports {
				rc, err := e.intake.Submit(ctx, intake.Submission{Channel: canopy.ChannelPortal, Reporter: canopy.ReporterCaregiver,
					Category: canopy.Categories[i%len(canopy.Categories)].Code, Description: "words"})
				if err != nil {
					b.Fatal(err)
				}
				e.clock.Add(time.Minute)
				if _, err := e.triage.Open(ctx, analyst, rc.ReportID); err != nil {
					b.Fatal(err)
				}
			}
			total, err := db.EventsAfter(ctx, 0, 1<<30)
			if err != nil {
				b.Fatal(err)
			}
			r := &Roller{DB: db, GapWait: -1}
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				if err := db.ResetIndicators(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if n, err := r.CatchUp(ctx); err != nil || n != len(total) {
					b.Fatalf("took %d of %d: %v", n, len(total), err)
				}
			}
			b.ReportMetric(float64(len(total))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
