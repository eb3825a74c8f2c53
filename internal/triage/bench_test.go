package triage_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// BenchmarkQueue100k measures one queue page (the first 50 of 100,000 open
// reports, with the total) as the queue page asks for it. Target: under
// 200 ms.
func BenchmarkQueue100k(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			db := storetest.Open(b, dialect)
			e := newEnv(b, db)
			const n = 100_000
			var wg sync.WaitGroup
			errs := make(chan error, 1)
			for w := range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < n; i += 32 {
						flags := []string(nil)
						if i%50 == 0 {
							flags = []string{"urgent"}
						}
						_, err := e.intake.Submit(context.Background(), intake.Submission{Reporter: "child", Category: "grooming",
							Flags: flags, ChildCountry: []string{"FR", "DE", ""}[i%3], Description: fmt.Sprint("report ", i)})
						if err != nil {
							select {
							case errs <- err:
							default:
							}
							return
						}
					}
				}()
			}
			wg.Wait()
			select {
			case err := <-errs:
				b.Fatal(err)
			default:
			}
			b.ResetTimer()
			for b.Loop() {
				items, total, err := e.triage.Queue(context.Background(), frAnalyst, 50, 0)
				if err != nil || total == 0 || len(items) != 50 {
					b.Fatalf("queue: %d items of %d, %v", len(items), total, err)
				}
			}
		})
	}
}
