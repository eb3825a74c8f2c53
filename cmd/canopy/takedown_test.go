package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTakedownHostsCommands loads a list of hosts from a file, exports it
// to standard output and to a file, imports the export back (which
// changes nothing), and refuses a bad file line by line without
// importing any of it.
func TestTakedownHostsCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cmd := func(args ...string) (string, string, error) {
		t.Helper()
		var out, errs bytes.Buffer
		err := run(ctx, append(args, "--data", dir), &out, &errs)
		return out.String(), errs.String(), err
	}
	const header = "id,name,kind,jurisdictions,domains,networks,method,email,webhook,language,remind_after_hours,escalate_after_hours,platform,active\n"
	good := filepath.Join(dir, "hosts.csv")
	os.WriteFile(good, []byte(header+
		"frhost,Hébergeur FR,hosting,FR,fr-host.example;cdn.example,203.0.113.0/28,email,abuse@fr-host.example,,fr,12,48,,\n"+
		"social,=Social,platform,FR BE,social.example,,webhook,,https://social.example/notices,,,,,yes\n"), 0o644)

	out, errs, err := cmd("takedown", "hosts", "import", good)
	if err != nil || !strings.Contains(out, "hosts 2 added, 0 changed, 0 unchanged") {
		t.Fatalf("import: %v %q %q", err, out, errs)
	}
	csv, _, err := cmd("takedown", "hosts", "export")
	if err != nil || !strings.HasPrefix(csv, header) || !strings.Contains(csv, "fr-host.example cdn.example") ||
		!strings.Contains(csv, "\nsocial,'=Social,") || strings.Count(csv, "\n") != 3 {
		t.Fatalf("export: %v\n%s", err, csv)
	}
	exported := filepath.Join(dir, "export.csv")
	out, _, err = cmd("takedown", "hosts", "export", exported)
	if b, _ := os.ReadFile(exported); err != nil || string(b) != csv || !strings.Contains(out, "wrote "+exported) {
		t.Fatalf("export to a file: %v %q\n%s", err, out, b)
	}
	// Flags may come first.
	var o, e bytes.Buffer
	if err := run(ctx, []string{"takedown", "hosts", "import", "--data", dir, exported}, &o, &e); err != nil ||
		!strings.Contains(o.String(), "hosts 0 added, 0 changed, 2 unchanged") {
		t.Fatalf("import of the export: %v %q %q", err, o.String(), e.String())
	}

	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte(header+
		"new,New,hosting,FR,new.example,,email,abuse@new.example,,,,,,\n"+
		"other,Other,hosting,XX,other.example,,email,abuse@other.example,,,,,,\n"+
		"third,Third,hosting,FR,third.example,,email,abuse@third.example,,,ten,,,maybe\n"), 0o644)
	out, errs, err = cmd("takedown", "hosts", "import", bad)
	if err == nil || !strings.Contains(err.Error(), "nothing was imported: 3 problems") || out != "" {
		t.Fatalf("bad import: %v %q", err, out)
	}
	for _, want := range []string{bad + ":3: jurisdictions: error.takedown.country\n", bad + ":4: remind_after_hours: error.csv.number\n",
		bad + ":4: active: error.csv.yes_no\n"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if csv2, _, _ := cmd("takedown", "hosts", "export"); csv2 != csv {
		t.Errorf("a bad file changed the list:\n%s", csv2)
	}
	// A problem of the whole file, with its argument.
	os.WriteFile(bad, []byte(strings.Replace(header, ",webhook", "", 1)), 0o644)
	if _, errs, err = cmd("takedown", "hosts", "import", bad); err == nil || !strings.Contains(errs, bad+":1: error.csv.columns (webhook)\n") {
		t.Errorf("a file without a column: %v %q", err, errs)
	}

	for _, args := range [][]string{{"takedown"}, {"takedown", "hosts"}, {"takedown", "notices", "export"}, {"takedown", "hosts", "delete"},
		{"takedown", "hosts", "import"}, {"takedown", "hosts", "export", "a", "b"}, {"takedown", "hosts", "import", "a", "--name", "x", "b"}} {
		if _, _, err := cmd(args...); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("canopy %s: %v, want usage", strings.Join(args, " "), err)
		}
	}
	// A file between flags, and flags written with =.
	if err := run(ctx, []string{"takedown", "hosts", "export", "--name", "canopy", filepath.Join(dir, "again.csv"), "--data=" + dir}, &o, &e); err != nil {
		t.Fatalf("export with the file between flags: %v %s", err, e.String())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "again.csv")); string(b) != csv {
		t.Errorf("export between flags wrote %q", b)
	}
	if _, err := os.Stat("canopy-data"); err == nil {
		t.Error("a command opened the default data directory instead of --data")
	}
	if _, _, err := cmd("takedown", "hosts", "import", filepath.Join(dir, "missing.csv")); err == nil {
		t.Error("a missing file imported")
	}
}
