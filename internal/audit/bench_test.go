package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// BenchmarkAppend appends from many goroutines at once, as a busy node's
// handlers do; the log batches what arrives while a commit is in flight.
func BenchmarkAppend(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) {
			n := newNode(b, d)
			e := entry(1)
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if _, err := n.log.Append(ctx, e); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkVerify1M verifies a log of a million entries, built untimed.
// Run it alone: go test -run '^$' -bench Verify1M -benchtime 1x.
func BenchmarkVerify1M(b *testing.B) {
	const size = 1_000_000
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) {
			ctx := context.Background()
			n := newNode(b, d)
			start := time.Now()
			chunk := make([]audit.Entry, 0, 1<<14)
			for i := 0; i < size; i += cap(chunk) {
				chunk = chunk[:0]
				for j := i; j < min(i+cap(chunk), size); j++ {
					chunk = append(chunk, entry(j))
				}
				if err := audit.AppendBulk(ctx, n.log, chunk); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := n.log.Checkpoint(ctx); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: built %d entries in %v", d, size, time.Since(start).Round(time.Millisecond))
			b.ResetTimer()
			for range b.N {
				rep, err := audit.Verify(ctx, n.db, n.id.Verifier())
				if err != nil {
					b.Fatal(err)
				}
				if rep.Size != size || rep.Checkpoints != 1 {
					b.Fatalf("report %+v", rep)
				}
			}
			b.ReportMetric(float64(size)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
