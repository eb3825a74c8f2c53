package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/canopy-org/canopy/internal/audit"
)

const retentionUsage = `usage:
  canopy retention set KIND DAYS [--data DIR]   keep KIND this many days once done with
  canopy retention purge [--data DIR]           purge now what is past its days

KIND is report_not_illegal (reports decided with no further action, from
their decision) or support_case (support cases, from their closing).
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
	case args[0] == "purge" && len(files) == 0:
		m, _, err := openNode(ctx, "canopy retention purge", flags, stderr, nil)
		if err != nil {
			return err
		}
		defer m.Close()
		n, err := m.Retention.Purge(ctx)
		for kind, count := range n {
			fmt.Fprintf(stdout, "%s: %d purged\n", kind, count)
		}
		return err
	}
	fmt.Fprint(stderr, retentionUsage)
	return flag.ErrHelp
}
