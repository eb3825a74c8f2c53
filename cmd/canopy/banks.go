package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/bank"
	"github.com/canopy-org/canopy/internal/match"
	"github.com/canopy-org/canopy/internal/pdq"
)

const bankUsage = `usage:
  canopy bank create NAME [--source ORG] [--agreement TEXT] [--description TEXT]
  canopy bank import NAME --format csv|jsonl|te|vics FILE…
  canopy bank export NAME --format csv|jsonl|te
  canopy bank list`

// runBank handles `canopy bank …`: hash banks from the command line, for
// operators loading the sets their partners send.
func runBank(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, bankUsage)
		return flag.ErrHelp
	}
	verb := args[0]
	fs := flag.NewFlagSet("canopy bank "+verb, flag.ContinueOnError)
	m := NewMain(stderr)
	fs.StringVar(&m.DataDir, "data", m.DataDir, "data directory")
	source := fs.String("source", "", "the organisation that supplied the hashes")
	agreement := fs.String("agreement", "", "the agreement or licence they are held under")
	description := fs.String("description", "", "what the bank holds")
	format := fs.String("format", "csv", "file layout: "+strings.Join(bank.Formats, ", "))
	name := ""
	rest := args[1:]
	if verb != "list" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fmt.Fprintln(stderr, bankUsage)
			return flag.ErrHelp
		}
		name, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if err := m.open(ctx); err != nil {
		return err
	}
	defer m.Close()
	switch verb {
	case "create":
		b, err := m.Banks.Create(ctx, audit.System, canopy.Bank{Name: name, SourceOrg: *source, Agreement: *agreement, Description: *description})
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "created bank %s\n", b.Name)
	case "import":
		if fs.NArg() == 0 {
			return fmt.Errorf("name at least one file to import")
		}
		for _, path := range fs.Args() {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			res, err := m.Banks.Import(ctx, audit.System, name, *format, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", path, describe(err))
			}
			fmt.Fprintf(stdout, "%s: %d added, %d already there, %d lines refused\n", path, res.Added, res.Unchanged, len(res.Errors))
			for _, e := range res.Errors {
				fmt.Fprintf(stderr, "%s:%d: %s\n", path, e.Line, e.Key)
			}
		}
	case "export":
		return m.Banks.Export(ctx, name, *format, stdout)
	case "list":
		banks, err := m.DB.Banks(ctx)
		if err != nil {
			return err
		}
		for _, b := range banks {
			n, _ := m.DB.BankSize(ctx, b.ID)
			fmt.Fprintf(stdout, "%s\t%d hashes\t%s\t%s\n", b.Name, n, b.SourceOrg, b.Agreement)
		}
	default:
		fmt.Fprintln(stderr, bankUsage)
		return flag.ErrHelp
	}
	return nil
}

// runPlatform handles `canopy platform add|key|revoke`.
func runPlatform(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = `usage:
  canopy platform add NAME [--contact EMAIL]
  canopy platform key NAME --scopes submit,match,sync [--label TEXT]
  canopy platform revoke NAME KEY_ID`
	if len(args) < 2 {
		fmt.Fprintln(stderr, usage)
		return flag.ErrHelp
	}
	verb, name := args[0], args[1]
	fs := flag.NewFlagSet("canopy platform "+verb, flag.ContinueOnError)
	m := NewMain(stderr)
	fs.StringVar(&m.DataDir, "data", m.DataDir, "data directory")
	contact := fs.String("contact", "", "the platform's trust-and-safety contact")
	scopes := fs.String("scopes", "", "what the key may do: "+strings.Join(canopy.Scopes, ","))
	label := fs.String("label", "", "a name for the key, to tell keys apart")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if err := m.open(ctx); err != nil {
		return err
	}
	defer m.Close()
	switch verb {
	case "add":
		p, err := m.Platform.Register(ctx, audit.System, name, *contact)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "registered platform %s\n", p.Name)
	case "key":
		k, secret, err := m.Platform.NewKey(ctx, audit.System, name, *label, strings.Split(*scopes, ","))
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "key %s (%s). Give the platform this secret; it is not shown again:\n%s\n", k.ID, strings.Join(k.Scopes, ", "), secret)
	case "revoke":
		if fs.NArg() != 1 {
			return fmt.Errorf("name the key to revoke")
		}
		if err := m.Platform.Revoke(ctx, audit.System, name, fs.Arg(0)); err != nil {
			return describe(err)
		}
		fmt.Fprintln(stdout, "revoked")
	default:
		fmt.Fprintln(stderr, usage)
		return flag.ErrHelp
	}
	return nil
}

// benchMatch handles `canopy bench match`: the index on identical data to
// what other matchers are given, so the numbers compare.
func benchMatch(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("canopy bench match", flag.ContinueOnError)
	indexFile := fs.String("index", "", "file of PDQ hashes (hex, one a line) to index")
	queryFile := fs.String("queries", "", "file of PDQ hashes to look up")
	threshold := fs.Int("threshold", 31, "match within this many bits")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "goroutines running queries")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *indexFile == "" || *queryFile == "" {
		return fmt.Errorf("--index and --queries are required")
	}
	read := func(path string) ([]pdq.Hash, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		hs, err := match.ReadHexHashes(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return hs, nil
	}
	index, err := read(*indexFile)
	if err != nil {
		return err
	}
	queries, err := read(*queryFile)
	if err != nil {
		return err
	}
	r := match.Bench(index, queries, *threshold, *workers)
	fmt.Fprintf(stdout, "hashes: %d indexed, %d queries, threshold %d, %d workers\n", r.Hashes, r.Queries, *threshold, r.Workers)
	fmt.Fprintf(stdout, "build: %v\nmemory: %.1f bytes/hash\n", r.Build.Round(1e6), r.BytesPerHash)
	fmt.Fprintf(stdout, "queries: %.0f/s  p50 %v  p99 %v\nmatches: %d\n", r.QPS, r.P50, r.P99, r.Matches)
	return nil
}
