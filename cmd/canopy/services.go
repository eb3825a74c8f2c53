package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/support"
)

var servicesUsage = `usage:
  canopy services import FILE   add and change providers and services from a CSV file
  canopy services export [FILE] write the whole directory as CSV (to standard output without FILE)

Each command takes --data DIR (default ./canopy-data) and --name NAME like
serve. The columns are: ` + strings.Join(support.DirectoryColumns, ", ") + `.
An export is a template: edit it and import it back. An import is all or
nothing, adds and changes by id, and never deletes: set active to no to
retire a service.
`

// runServices handles `canopy services …`: the service directory from the
// shell, for operators loading the list a partner network keeps in a
// spreadsheet, and for moving a directory between nodes.
func runServices(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "import" && args[0] != "export") {
		fmt.Fprint(stderr, servicesUsage)
		return flag.ErrHelp
	}
	verb := args[0]
	files, flags := splitFileArgs(args[1:])
	if len(files) > 1 || (verb == "import" && len(files) == 0) {
		fmt.Fprint(stderr, servicesUsage)
		return flag.ErrHelp
	}
	m, _, err := openNode(ctx, "canopy services "+verb, flags, stderr, nil)
	if err != nil {
		return err
	}
	defer m.Close()
	switch {
	case verb == "import" && len(files) == 1:
		return importServices(ctx, m, files[0], stdout, stderr)
	case verb == "export" && len(files) == 0:
		return m.Support.ExportDirectory(ctx, stdout)
	case verb == "export" && len(files) == 1:
		return exportServices(ctx, m, files[0], stdout)
	}
	fmt.Fprint(stderr, servicesUsage)
	return flag.ErrHelp
}

func importServices(ctx context.Context, m *Main, path string, stdout, stderr io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := m.Support.ImportDirectory(ctx, audit.System, f)
	if res != nil && len(res.Errors) > 0 {
		printLineErrors(stderr, path, res.Errors, res.More)
		return fmt.Errorf("%s: nothing was imported: %d problems", path, len(res.Errors))
	}
	if err != nil {
		if canopy.ErrorCode(err) == canopy.ETOOLARGE {
			return fmt.Errorf("%s: larger than %d MiB; split it and import each part", path, support.MaxImportBytes>>20)
		}
		return fmt.Errorf("%s: %w", path, describe(err))
	}
	fmt.Fprintf(stdout, "%s: providers %d added, %d changed, %d unchanged; services %d added, %d changed, %d unchanged\n", path,
		res.ProvidersAdded, res.ProvidersChanged, res.ProvidersUnchanged, res.ServicesAdded, res.ServicesChanged, res.ServicesUnchanged)
	return nil
}

func argList(args []any) string {
	if len(args) == 0 {
		return ""
	}
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = fmt.Sprint(a)
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// exportServices writes the directory to path through a temporary file,
// so a failed export never leaves half a file where a good one was.
func exportServices(ctx context.Context, m *Main, path string, stdout io.Writer) error {
	if err := writeFileAtomically(path, func(w io.Writer) error { return m.Support.ExportDirectory(ctx, w) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", path)
	return nil
}
