package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "match" {
		return benchMatch(args[1:], stdout)
	}
	if len(args) > 0 && args[0] == "federation" {
		return benchFederation(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "intake" {
		fmt.Fprintln(stderr, "usage: canopy bench intake [--url URL] [--n 20000] [--concurrency 32] [--warmup 1000] [--heavy]\n       canopy bench match --index FILE --queries FILE [--threshold 31]\n       canopy bench federation [--n 5000] [--concurrency 16] [--postgres URL]")
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("bench intake", flag.ContinueOnError)
	target := fs.String("url", "", "base URL of a running node; empty starts a node in this process on a fresh data directory")
	n := fs.Int("n", 20000, "reports to submit")
	warmup := fs.Int("warmup", 1000, "reports submitted before measuring")
	conc := fs.Int("concurrency", 32, "submissions in flight at once")
	heavy := fs.Bool("heavy", false, "send full reports (two addresses, an account, a hash) instead of typical ones")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (node and clients) to this file")
	if err := fs.Parse(args[1:]); err != nil {
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
	base := *target
	if base == "" {
		dir, err := os.MkdirTemp("", "canopy-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		m := NewMain(io.Discard)
		m.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		m.Addr = "127.0.0.1:0"
		m.DataDir = dir
		m.SubmitRate = 0 // a benchmark is one source sending thousands a second
		if err := m.Run(ctx); err != nil {
			m.Close()
			return err
		}
		defer m.Close()
		base = m.URL()
		fmt.Fprintf(stdout, "node: in process, %s database, GOMAXPROCS=%d\n", m.DB.Dialect(), gomaxprocs())
	}
	body := benchBody
	if *heavy {
		body = heavyBody
	}
	r, err := benchIntake(ctx, base, body, *warmup, *n, *conc)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "reports: %d ok, %d failed, concurrency %d\n", r.ok, r.failed, *conc)
	fmt.Fprintf(stdout, "throughput: %.0f reports/s\n", r.rate)
	fmt.Fprintf(stdout, "latency: p50 %v  p90 %v  p99 %v  max %v\n", r.p50, r.p90, r.p99, r.max)
	if r.failed > 0 {
		return fmt.Errorf("%d submissions failed; first: %v", r.failed, r.firstErr)
	}
	return nil
}

type benchResult struct {
	ok, failed         int
	rate               float64
	p50, p90, p99, max time.Duration
	firstErr           error
}

// benchBody is a typical report from the portal: a few sentences, one web
// address, the child's country. heavyBody is a full one, with two
// addresses, an account and a hash, which links it six ways to other
// reports.
var benchBody = []byte(`{"reporter":"child","category":"sextortion","flags":["urgent"],` +
	`"description":"Someone I met in a game says he will send my photos to my friends unless I pay him. He gave me two days.",` +
	`"urls":["https://chat.example/u/someone"],"child_country":"FR","language":"en"}`)

var heavyBody = []byte(`{"reporter":"caregiver","category":"grooming","flags":["urgent","minor_to_minor"],` +
	`"description":"An older user keeps messaging my daughter in a game chat, asks her to keep it secret and to move to another app. He sent gifts and now asks for photos.",` +
	`"urls":["https://games.example/profile/someone","https://chat.example/u/someone"],"platform":"Example Games",` +
	`"accounts":["someone_123"],"child_country":"FR","language":"en",` +
	`"hashes":[{"algorithm":"md5","value":"0123456789abcdef0123456789abcdef"}]}`)

func benchIntake(ctx context.Context, base string, body []byte, warmup, n, conc int) (benchResult, error) {
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conc,
			MaxIdleConnsPerHost: conc,
			DisableCompression:  true,
		},
	}
	post := func() (time.Duration, error) {
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/reports", bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var out struct{ ID, Receipt string }
		if resp.StatusCode != http.StatusCreated {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return 0, fmt.Errorf("status %d: %s", resp.StatusCode, b)
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Receipt == "" {
			return 0, fmt.Errorf("no receipt in the answer: %v", err)
		}
		return time.Since(start), nil
	}
	run := func(total int, lat []time.Duration) (int, error) {
		var next atomic.Int64
		var failed atomic.Int64
		var mu sync.Mutex
		var first error
		var wg sync.WaitGroup
		for range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= total || ctx.Err() != nil {
						return
					}
					d, err := post()
					if err != nil {
						failed.Add(1)
						mu.Lock()
						if first == nil {
							first = err
						}
						mu.Unlock()
						d = -1
					}
					if lat != nil {
						lat[i] = d
					}
				}
			}()
		}
		wg.Wait()
		return int(failed.Load()), first
	}
	if _, err := run(warmup, nil); err != nil {
		return benchResult{}, fmt.Errorf("warm-up: %w", err)
	}
	lat := make([]time.Duration, n)
	start := time.Now()
	failed, first := run(n, lat)
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return benchResult{}, err
	}
	ok := slices.DeleteFunc(lat, func(d time.Duration) bool { return d < 0 })
	if len(ok) == 0 {
		return benchResult{}, errors.Join(errors.New("no submission succeeded"), first)
	}
	slices.Sort(ok)
	pct := func(p float64) time.Duration {
		return ok[min(len(ok)-1, int(p*float64(len(ok))))].Round(10 * time.Microsecond)
	}
	return benchResult{
		ok: len(ok), failed: failed, firstErr: first,
		rate: float64(len(ok)) / elapsed.Seconds(),
		p50:  pct(0.50), p90: pct(0.90), p99: pct(0.99), max: ok[len(ok)-1].Round(10 * time.Microsecond),
	}, nil
}
