package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
)

const retentionUsage = `usage:
  canopy retention show [--data DIR]            the policy of each kind of record
  canopy retention set KIND DAYS [--data DIR]   keep KIND this many days once done with
  canopy retention purge [--data DIR]           purge now what is past its days

KIND is one of:
  report_not_illegal  reports decided with no further action, from their decision
                      (kept while an investigation it is in is kept, or a held case)
  support_case        support cases, from their closing, unless a legal hold stands
  evidence            the files and words of closed investigations, from their
                      closing, unless a legal hold stands
  delivered_message   the sealed payloads of messages delivered to peers, from
                      their delivery (the record of each message stays)
A kind with no policy is kept until one is set. The node purges every hour.
`

// runRetention handles "canopy retention …".
func runRetention(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, retentionUsage)
		return flag.ErrHelp
	}
	files, flags := splitFileArgs(args[1:])
	switch {
	case args[0] == "set" && len(files) == 2:
		days, err := strconv.Atoi(files[1])
		if err != nil {
			return fmt.Errorf("DAYS: %q is not a number of days", files[1])
		}
		m, _, err := openNode(ctx, "canopy retention set", flags, stderr, nil)
		if err != nil {
			return err
		}
		defer m.Close()
		if err := m.Retention.SetPolicy(ctx, audit.System, files[0], days); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "%s: kept %d days once done with\n", files[0], days)
		return nil
	case args[0] == "show" && len(files) == 0:
		m, _, err := openNode(ctx, "canopy retention show", flags, stderr, nil)
		if err != nil {
			return err
		}
		defer m.Close()
		policies, err := m.DB.Policies(ctx)
		if err != nil {
			return err
		}
		for _, kind := range canopy.RetentionKinds {
			if p, ok := policies[kind]; ok {
				fmt.Fprintf(stdout, "%-20s %d days (set %s by %s)\n", kind, p.KeepDays, p.Updated.Format("2006-01-02"), p.UpdatedBy)
			} else {
				fmt.Fprintf(stdout, "%-20s kept until a policy is set\n", kind)
			}
		}
		return nil
	case args[0] == "purge" && len(files) == 0:
		m, _, err := openNode(ctx, "canopy retention purge", flags, stderr, nil)
		if err != nil {
			return err
		}
		defer m.Close()
		n, err := m.Retention.Purge(ctx)
		for _, kind := range canopy.RetentionKinds {
			if count, ok := n[kind]; ok {
				fmt.Fprintf(stdout, "%s: %d purged\n", kind, count)
			}
		}
		return err
	}
	fmt.Fprint(stderr, retentionUsage)
	return flag.ErrHelp
}
