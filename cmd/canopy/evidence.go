package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/canopy-org/canopy/internal/bundle"
	"github.com/canopy-org/canopy/internal/federation"
)

const evidenceUsage = `usage:
  canopy evidence export INVESTIGATION DIR [--data DIR] [--name NAME]
  canopy evidence verify DIR --key ed25519:KEY

export writes an investigation's evidence into a new directory: the files,
their hashes in SHA256SUMS signed with the node's key, the manifest and the
chain of custody (docs/evidence.md). verify checks such a bundle offline
against the node key you were given (canopy node info prints it), and
needs no database.
`

// runEvidence handles "canopy evidence …".
func runEvidence(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, evidenceUsage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "export":
		files, flags := splitFileArgs(args[1:])
		if len(files) != 2 {
			fmt.Fprint(stderr, evidenceUsage)
			return flag.ErrHelp
		}
		m, _, err := openNode(ctx, "canopy evidence export", flags, stderr, nil)
		if err != nil {
			return err
		}
		defer m.Close()
		if err := m.Evidence.ExportAsNode(ctx, files[0], files[1], m.Name, m.Identity); err != nil {
			return fmt.Errorf("export %s: %w", files[0], describe(err))
		}
		fmt.Fprintf(stdout, "wrote %s\nverify it with: canopy evidence verify %s --key ed25519:%s\n", files[1], files[1],
			m.Network.Info().SigningKey)
		// What the receiver compares node.pub with, by another channel
		// (docs/evidence.md).
		fmt.Fprintf(stdout, "node.pub's fingerprint (tell the receiver): %s\n", bundle.Fingerprint(m.Identity.PublicKey()))
		return nil
	case "verify":
		files, flags := splitFileArgs(args[1:])
		fs := flag.NewFlagSet("canopy evidence verify", flag.ContinueOnError)
		fs.SetOutput(stderr)
		key := fs.String("key", "", "the node's signing key, ed25519:…")
		if err := fs.Parse(flags); err != nil {
			return err
		}
		if len(files) != 1 || *key == "" {
			fmt.Fprint(stderr, evidenceUsage)
			return flag.ErrHelp
		}
		pub, err := federation.DecodeKey(*key, "ed25519")
		if err != nil {
			return err
		}
		rep, err := bundle.Verify(files[0], ed25519.PublicKey(pub))
		if rep != nil {
			for _, c := range rep.Checks {
				mark := "ok  "
				if c.Err != nil {
					mark = "FAIL"
				}
				fmt.Fprintf(stdout, "%s %s %s\n", mark, c.Name, c.Detail)
			}
		}
		if err != nil || rep == nil || !rep.OK() {
			return errors.Join(errors.New("the bundle does not verify"), err)
		}
		fmt.Fprintf(stdout, "%s verifies: investigation %s from %s, %d files, %d custody steps\n", files[0], rep.Case, rep.Node, rep.Files, rep.Custody)
		return nil
	}
	fmt.Fprint(stderr, evidenceUsage)
	return flag.ErrHelp
}
