package match

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestExpProbe(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("EXPN"))
	if n == 0 {
		t.Skip()
	}
	r := rand.New(rand.NewPCG(1, 1))
	hs := clusteredHashes(r, n, 64)
	qs := queriesFor(r, hs, 500, 30)
	x := New(Options{})
	bt := time.Now()
	x.AddPDQBatch(entriesOf(hs))
	t.Logf("build %v, %+v", time.Since(bt), x.Stats())
	runtime.LockOSThread()
	var all []time.Duration
	for range 7 {
		st := threadCPU()
		var dst []Match
		for _, q := range qs {
			dst = x.MatchPDQ(q, 31, dst[:0])
		}
		all = append(all, (threadCPU()-st)/time.Duration(len(qs)))
	}
	t.Logf("tables %d: per query %v", tables, all)
}
