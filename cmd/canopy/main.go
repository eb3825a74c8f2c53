// Command canopy runs a Canopy node: the reporting portal, the intake API
// and, as they land, the staff workspace and the links to other nodes.
//
//	canopy serve     start the node (SQLite under ./canopy-data by default)
//	canopy migrate   apply database migrations and exit
//	canopy hash      print PDQ and exact hashes of image files
//	canopy bank      create, import and export hash banks
//	canopy platform  register online services and issue their API keys
//	canopy user      invite and list staff
//	canopy audit     verify the audit log
//	canopy node      print the node's public identity for its peers
//	canopy peer      add, change, suspend and remove peer nodes
//	canopy route     send a jurisdiction's reports to a peer
//	canopy services  import and export the directory of support services
//	canopy takedown  import and export the list of hosts that take notices
//	canopy bench     measure the node under load
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "canopy:", err)
		}
		os.Exit(2)
	}
}

const usage = `Canopy runs a node of the network against child online sexual exploitation.

Usage:
  canopy serve   [--addr 127.0.0.1:8080] [--data ./canopy-data] [--jurisdictions FR]
                 [--geoip FILE.mmdb] [--public-url URL]   (canopy serve -h lists all)
  canopy migrate [--data ./canopy-data]
  canopy hash [--json] FILE…
  canopy user add --email EMAIL --role ROLE [--jurisdictions FR,BE]
  canopy user list
  canopy audit verify [--data ./canopy-data]
  canopy bank create|import|export|list …
  canopy platform add|key|revoke …
  canopy node info [--json]
  canopy peer add|list|set|suspend|resume|remove|subscribe …
  canopy route set|remove|list …
  canopy services import FILE | export [FILE]
  canopy takedown hosts import FILE | export [FILE]
  canopy evidence export INVESTIGATION DIR | verify DIR --key ed25519:KEY
  canopy retention set KIND DAYS | purge
  canopy bench intake [--url URL] [--n 20000] [--concurrency 64]
  canopy bench match --index FILE --queries FILE [--threshold 31]
  canopy bench federation [--n 5000] [--rate 500] [--postgres URL]
  canopy version

With CANOPY_DATABASE_URL=postgres://… the node keeps its records in
PostgreSQL instead of the SQLite file under --data. The master key always
stays in the data directory (master.key, mode 0600).
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		m := NewMain(stderr)
		if err := m.ParseFlags(args[1:]); err != nil {
			return err
		}
		if err := m.Run(ctx); err != nil {
			m.Close()
			return err
		}
		<-ctx.Done()
		return m.Close()
	case "migrate":
		m := NewMain(stderr)
		if err := m.ParseFlags(args[1:]); err != nil {
			return err
		}
		return m.Migrate(ctx, stdout)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "hash":
		return runHash(args[1:], stdout, stderr)
	case "bank":
		return runBank(ctx, args[1:], stdout, stderr)
	case "platform":
		return runPlatform(ctx, args[1:], stdout, stderr)
	case "user":
		return runUser(ctx, args[1:], stdout, stderr)
	case "audit":
		return runAudit(ctx, args[1:], stdout, stderr)
	case "node":
		return runNode(ctx, args[1:], stdout, stderr)
	case "peer":
		return runPeer(ctx, args[1:], stdout, stderr)
	case "route":
		return runRoute(ctx, args[1:], stdout, stderr)
	case "services":
		return runServices(ctx, args[1:], stdout, stderr)
	case "takedown":
		return runTakedown(ctx, args[1:], stdout, stderr)
	case "evidence":
		return runEvidence(ctx, args[1:], stdout, stderr)
	case "retention":
		return runRetention(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "canopy", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "canopy: unknown command %q\n\n%s", args[0], usage)
	return flag.ErrHelp
}
