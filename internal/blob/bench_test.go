package blob

// The benchmarks here stream whole evidence-sized files through Acquire
// and Verify into a Dir under the test's temporary directory, generating
// the plaintext on the fly so that the file never sits in memory, and
// report throughput (MB/s) and the peak heap sampled while they run
// (peak-heap-MiB: the live heap at its highest; heap-growth-MiB: that peak
// less the heap before the run). Memory must not grow with the file.
//
//	go test ./internal/blob -run XXX -bench 'BenchmarkAcquire1G|BenchmarkVerify1G' -benchtime 1x
//
// The 4 GB load test writes 4 GiB to the temporary directory and is skipped
// unless asked for:
//
//	CANOPY_BIG_BLOBS=1 go test ./internal/blob -run XXX -bench BenchmarkAcquire4G -benchtime 1x -timeout 30m
//
// Use TMPDIR to put the temporary directory on the disk you mean to test.

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// genReader yields n bytes of incompressible data by repeating a 1 MiB
// random block, so that gigabytes cost one megabyte of memory.
type genReader struct {
	block []byte
	off   int
	left  int64
}

func newGenReader(n int64) *genReader { return &genReader{block: genBlock(), left: n} }

// genBlock is made once, before any heap sampling starts.
var genBlock = sync.OnceValue(func() []byte { return plaintext(1 << 20) })

func (g *genReader) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n := copy(p, g.block[g.off:])
	g.off = (g.off + n) % len(g.block)
	g.left -= int64(n)
	return n, nil
}

// heapSampler records the highest HeapAlloc seen until stop is called.
type heapSampler struct {
	base, peak atomic.Uint64
	done       chan struct{}
	wg         sync.WaitGroup
}

func sampleHeap() *heapSampler {
	genBlock()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s := &heapSampler{done: make(chan struct{})}
	s.base.Store(m.HeapAlloc)
	s.peak.Store(m.HeapAlloc)
	s.wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > s.peak.Load() {
					s.peak.Store(m.HeapAlloc)
				}
			}
		}
	})
	return s
}

// stop ends sampling and reports the peak as benchmark metrics.
func (s *heapSampler) stop(b *testing.B) {
	close(s.done)
	s.wg.Wait()
	const mib = 1 << 20
	b.ReportMetric(float64(s.peak.Load())/mib, "peak-heap-MiB")
	b.ReportMetric(float64(s.peak.Load()-s.base.Load())/mib, "heap-growth-MiB")
}

func benchmarkAcquire(b *testing.B, size int64) {
	ctx := context.Background()
	d, _ := openTestDir(b)
	b.SetBytes(size)
	b.ReportAllocs()
	heap := sampleHeap()
	i := 0
	for b.Loop() {
		key := fmt.Sprintf("bench/%d", i)
		i++
		dg, err := Acquire(ctx, d, key, testKey, []byte(key), newGenReader(size))
		if err != nil {
			b.Fatal(err)
		}
		if dg.Size != size {
			b.Fatalf("acquired %d bytes, want %d", dg.Size, size)
		}
		b.StopTimer()
		if err := d.Delete(ctx, key); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	heap.stop(b)
}

// BenchmarkAcquire1G seals 1 GiB into a Dir.
func BenchmarkAcquire1G(b *testing.B) { benchmarkAcquire(b, 1<<30) }

// BenchmarkAcquire4G is the 4 GB load test; see the comment at the top.
func BenchmarkAcquire4G(b *testing.B) {
	if os.Getenv("CANOPY_BIG_BLOBS") != "1" {
		b.Skip("writes 4 GiB; set CANOPY_BIG_BLOBS=1 to run")
	}
	benchmarkAcquire(b, 4<<30)
}

// BenchmarkVerify1G authenticates and re-hashes 1 GiB from a Dir.
func BenchmarkVerify1G(b *testing.B) {
	const size = 1 << 30
	ctx := context.Background()
	d, _ := openTestDir(b)
	want, err := Acquire(ctx, d, "bench", testKey, nil, newGenReader(size))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	heap := sampleHeap()
	for b.Loop() {
		if err := Verify(ctx, d, "bench", testKey, nil, want, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	heap.stop(b)
}

// BenchmarkSealOpen is the cost of the encryption alone, in memory.
func BenchmarkSealOpen(b *testing.B) {
	const size = 64 << 20
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		pr, pw := io.Pipe()
		go func() {
			w := Seal(pw, testKey, nil)
			io.Copy(w, newGenReader(size))
			pw.CloseWithError(w.Close())
		}()
		if n, err := io.Copy(io.Discard, Open(pr, testKey, nil)); err != nil || n != size {
			b.Fatalf("%d bytes, %v", n, err)
		}
	}
}
