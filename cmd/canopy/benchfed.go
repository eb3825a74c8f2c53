package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/store"
)

// benchFederation measures referrals between two nodes in this process,
// each with its own data directory and database, talking HTTP over
// loopback: how many a second reach the peer, sustained, and how long
// each takes from the analyst's click to the peer's queue.
func benchFederation(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench federation", flag.ContinueOnError)
	n := fs.Int("n", 5000, "referrals to make")
	conc := fs.Int("concurrency", 16, "referrals made at once")
	rate := fs.Float64("rate", 0, "referrals a second to offer, on a schedule (open loop; latency counts from the scheduled time); 0: as fast as the node takes them")
	pg := fs.String("postgres", "", "a PostgreSQL URL for the referring node (the receiving node stays on SQLite); empty: both on SQLite")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	start := func(name, juris, dsn string) (*Main, error) {
		dir, err := os.MkdirTemp("", "canopy-bench-")
		if err != nil {
			return nil, err
		}
		m := NewMain(io.Discard)
		m.Logger, m.Addr, m.DataDir, m.Name, m.DatabaseURL = logger, "127.0.0.1:0", dir, name, dsn
		m.SubmitRate, m.Jurisdictions = 0, []string{juris}
		m.MinBackoff, m.MaxBackoff = 50*time.Millisecond, time.Second
		if err := m.Run(ctx); err != nil {
			m.Close()
			os.RemoveAll(dir)
			return nil, err
		}
		return m, nil
	}
	a, err := start("bench-fr", "FR", *pg)
	if err != nil {
		return err
	}
	defer func() { dir := a.DataDir; a.Close(); os.RemoveAll(dir) }()
	b, err := start("bench-be", "BE", "")
	if err != nil {
		return err
	}
	defer func() { dir := b.DataDir; b.Close(); os.RemoveAll(dir) }()
	if _, err := a.Network.AddPeer(ctx, audit.System, canopy.Peer{ID: "be", Name: b.Name, URL: b.URL(),
		SigningKey: b.Identity.PublicKey(), EncryptionKey: b.Exchange.Public(), Jurisdictions: []string{"BE"},
		Share: []string{canopy.ShareURLs, canopy.ShareDescription}}); err != nil {
		return err
	}
	if _, err := b.Network.AddPeer(ctx, audit.System, canopy.Peer{ID: "fr", Name: a.Name, URL: a.URL(),
		SigningKey: a.Identity.PublicKey(), EncryptionKey: a.Exchange.Public(), Jurisdictions: []string{"FR"}}); err != nil {
		return err
	}
	if err := a.Network.SetRoute(ctx, audit.System, store.Route{Jurisdiction: "BE", PeerID: "be"}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "nodes: two in this process over loopback HTTP; referring node on %s, receiving node on %s; GOMAXPROCS=%d\n",
		a.DB.Dialect(), b.DB.Dialect(), gomaxprocs())

	// The reports, made and routed before the clock starts.
	ids := make([]string, *n)
	if err := parallel(*n, *conc, func(i int) error {
		rc, err := a.Intake.Submit(ctx, intake.Submission{Reporter: "professional", Category: "csam", ChildCountry: "BE",
			Description: "A page of abuse images, found while moderating.", URLs: []string{fmt.Sprintf("https://host.example/gallery/%d", i)},
			Hashes: []canopy.ContentHash{{Algorithm: "sha256", Value: fmt.Sprintf("%064x", i+1)}}})
		ids[i] = rc.ReportID
		return err
	}); err != nil {
		return err
	}
	for {
		backlog, err := a.DB.RoutingBacklog(ctx, 1)
		if err != nil {
			return err
		}
		if len(backlog) == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	who := &canopy.Account{ID: "bench-analyst", Role: canopy.RoleAnalyst}
	refs := make([]string, *n)
	made := make([]time.Time, *n)
	clicks := make([]time.Duration, *n)
	t0 := time.Now()
	if err := parallel(*n, *conc, func(i int) error {
		made[i] = time.Now()
		if *rate > 0 {
			// The referral's time is its slot in the schedule, so a
			// node that falls behind is charged for the wait.
			made[i] = t0.Add(time.Duration(float64(i) / *rate * float64(time.Second)))
			time.Sleep(time.Until(made[i]))
		}
		r, err := a.Network.Refer(ctx, who, ids[i], "be")
		if err != nil {
			return err
		}
		clicks[i] = time.Since(made[i])
		refs[i] = r.ID
		return nil
	}); err != nil {
		return err
	}
	referred := time.Since(t0)
	for {
		got, err := b.DB.CountReferrals(ctx, false)
		if err != nil {
			return err
		}
		if got == *n {
			break
		}
		if time.Since(t0) > 10*time.Minute {
			return fmt.Errorf("only %d of %d referrals arrived in 10 minutes", got, *n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var last time.Time
	lat := make([]time.Duration, *n)
	for i, id := range refs {
		r, err := b.DB.Referral(ctx, "fr", id, false)
		if err != nil {
			return fmt.Errorf("referral %s: %w", id, err)
		}
		lat[i] = r.Created.Sub(made[i])
		if r.Created.After(last) {
			last = r.Created
		}
	}
	total := last.Sub(t0)
	slices.Sort(lat)
	slices.Sort(clicks)
	pct := func(d []time.Duration, p float64) time.Duration {
		return d[min(len(d)-1, int(p*float64(len(d))))].Round(time.Millisecond)
	}
	offered := "as fast as taken"
	if *rate > 0 {
		offered = fmt.Sprintf("offered at %.0f/s", *rate)
	}
	fmt.Fprintf(stdout, "referrals: %d, %s, concurrency %d; all referred in %v, all in the peer's queue after %v\n", *n, offered, *conc,
		referred.Round(time.Millisecond), total.Round(time.Millisecond))
	fmt.Fprintf(stdout, "throughput: %.0f referrals/s reached the peer\n", float64(*n)/total.Seconds())
	fmt.Fprintf(stdout, "click to peer's queue: p50 %v  p90 %v  p99 %v  max %v\n", pct(lat, .5), pct(lat, .9), pct(lat, .99), lat[len(lat)-1].Round(time.Millisecond))
	fmt.Fprintf(stdout, "click to durable (referring node): p50 %v  p99 %v\n", pct(clicks, .5), pct(clicks, .99))
	return nil
}

// parallel runs fn for 0..n-1 with at most conc at once and returns the
// first error.
func parallel(n, conc int, fn func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
