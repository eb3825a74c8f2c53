package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/csvfile"
	"github.com/canopy-org/canopy/internal/takedown"
)

var takedownUsage = `usage:
  canopy takedown hosts import FILE   add and change hosts that take notices from a CSV file
  canopy takedown hosts export [FILE] write the list of hosts as CSV (to standard output without FILE)

Each command takes --data DIR (default ./canopy-data) and --name NAME like
serve. The columns are: ` + strings.Join(takedown.HostColumns, ", ") + `.
Lists in a cell are separated by spaces or semicolons. An export is a
template: edit it and import it back. An import is all or nothing, adds
and changes by id, and never deletes: set active to no to retire a host.
`

// runTakedown handles `canopy takedown hosts …`: the list of hosts from
// the shell, for operators loading the provider directory a hotline keeps
// in a spreadsheet, and for moving a list between nodes.
func runTakedown(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[0] != "hosts" || (args[1] != "import" && args[1] != "export") {
		fmt.Fprint(stderr, takedownUsage)
		return flag.ErrHelp
	}
	verb := args[1]
	files, flags := splitFileArgs(args[2:])
	if len(files) > 1 || (verb == "import" && len(files) == 0) {
		fmt.Fprint(stderr, takedownUsage)
		return flag.ErrHelp
	}
	m, _, err := openNode(ctx, "canopy takedown hosts "+verb, flags, stderr, nil)
	if err != nil {
		return err
	}
	defer m.Close()
	switch {
	case verb == "import":
		return importHosts(ctx, m, files[0], stdout, stderr)
	case len(files) == 0:
		return m.Takedown.ExportHosts(ctx, stdout)
	}
	if err := writeFileAtomically(files[0], func(w io.Writer) error { return m.Takedown.ExportHosts(ctx, w) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", files[0])
	return nil
}

// splitFileArgs tells the files of a command from its flags. The file
// may come before the flags, as an operator types it, after them or
// between them: every flag of these commands takes a value.
func splitFileArgs(args []string) (files, flags []string) {
	for rest := args; len(rest) > 0; rest = rest[1:] {
		a := rest[0]
		switch {
		case !strings.HasPrefix(a, "-") || a == "-":
			files = append(files, a)
		case strings.Contains(a, "=") || len(rest) == 1:
			flags = append(flags, a)
		default:
			flags = append(flags, a, rest[1])
			rest = rest[1:]
		}
	}
	return files, flags
}

func importHosts(ctx context.Context, m *Main, path string, stdout, stderr io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := m.Takedown.ImportHosts(ctx, audit.System, f)
	if res != nil && len(res.Errors) > 0 {
		printLineErrors(stderr, path, res.Errors, res.More)
		return fmt.Errorf("%s: nothing was imported: %d problems", path, len(res.Errors))
	}
	if err != nil {
		if canopy.ErrorCode(err) == canopy.ETOOLARGE {
			return fmt.Errorf("%s: larger than %d MiB; split it and import each part", path, takedown.MaxHostsBytes>>20)
		}
		return fmt.Errorf("%s: %w", path, describe(err))
	}
	fmt.Fprintf(stdout, "%s: hosts %d added, %d changed, %d unchanged\n", path, res.Added, res.Changed, res.Unchanged)
	return nil
}

// printLineErrors lists an import's problems as compilers do, one a line:
// FILE:LINE: column: key (arguments).
func printLineErrors(stderr io.Writer, path string, errs []csvfile.LineError, more bool) {
	for _, e := range errs {
		where := e.Field
		if where != "" {
			where += ": "
		}
		fmt.Fprintf(stderr, "%s:%d: %s%s%s\n", path, e.Line, where, e.Key, argList(e.Args))
	}
	if more {
		fmt.Fprintf(stderr, "%s: more problems after these; fix them and import again\n", path)
	}
}

// writeFileAtomically writes path through a temporary file beside it, so
// a failed export never leaves half a file where a good one was.
func writeFileAtomically(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
