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

// TestServicesCommands loads a directory from a file, exports it to
// standard output and to a file, imports the export back (which changes
// nothing), and refuses a bad file line by line without importing any of
// it.
func TestServicesCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cmd := func(args ...string) (string, string, error) {
		t.Helper()
		var out, errs bytes.Buffer
		err := run(ctx, append(args, "--data", dir), &out, &errs)
		return out.String(), errs.String(), err
	}
	const header = "provider_id,provider_name,provider_website,provider_phone,provider_email,provider_active,service_id,service_name," +
		"needs,description,country,regions,languages,min_age,max_age,accessibility,hours,always_open,phone,website,email,free,confidential,capacity,active\n"
	good := filepath.Join(dir, "directory.csv")
	os.WriteFile(good, []byte(header+
		"ngo-lyon,Enfance Lyon,enfance-lyon.example,,,yes,lyon-talk,Écoute,counselling,,FR,Lyon,fr ar,11,21,remote,,no,,,,yes,yes,open,yes\n"+
		"allo,Allô Enfance,,119,,yes,fr-119,,helpline,,FR,,fr,0,21,text_chat,,yes,,,,yes,yes,,yes\n"), 0o644)

	out, errs, err := cmd("services", "import", good)
	if err != nil || !strings.Contains(out, "providers 2 added, 0 changed, 0 unchanged; services 2 added, 0 changed, 0 unchanged") {
		t.Fatalf("import: %v %q %q", err, out, errs)
	}
	csv, _, err := cmd("services", "export")
	if err != nil || !strings.HasPrefix(csv, header) || !strings.Contains(csv, "https://enfance-lyon.example") || strings.Count(csv, "\n") != 3 {
		t.Fatalf("export: %v\n%s", err, csv)
	}
	exported := filepath.Join(dir, "export.csv")
	out, _, err = cmd("services", "export", exported)
	if b, _ := os.ReadFile(exported); err != nil || string(b) != csv || !strings.Contains(out, "wrote "+exported) {
		t.Fatalf("export to a file: %v %q\n%s", err, out, b)
	}
	// Flags may come first.
	var o, e bytes.Buffer
	if err := run(ctx, []string{"services", "import", "--data", dir, exported}, &o, &e); err != nil ||
		!strings.Contains(o.String(), "providers 0 added, 0 changed, 2 unchanged; services 0 added, 0 changed, 2 unchanged") {
		t.Fatalf("import of the export: %v %q %q", err, o.String(), e.String())
	}

	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte(header+
		"new,New NGO,,,,yes,new-1,,legal,,FR,,fr,0,17,,,,,,,,,,\n"+
		"new,New NGO,,,,yes,new-2,,legal,,XX,,fr,0,17,,,,,,,,,,\n"+
		"new,New NGO,,,,yes,new-3,,legal,,FR,,fr,0,17,,"+strings.Repeat("x", 201)+",,,,,,,,\n"), 0o644)
	out, errs, err = cmd("services", "import", bad)
	if err == nil || !strings.Contains(err.Error(), "nothing was imported: 2 problems") || out != "" {
		t.Fatalf("bad import: %v %q", err, out)
	}
	for _, want := range []string{bad + ":3: country: error.country.unknown\n", bad + ":4: hours: error.too_long (200)\n"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if csv2, _, _ := cmd("services", "export"); csv2 != csv {
		t.Errorf("a bad file changed the directory:\n%s", csv2)
	}

	for _, args := range [][]string{{"services"}, {"services", "delete"}, {"services", "import"}, {"services", "export", "a", "b"},
		{"services", "import", "a", "--name", "x", "b"}} {
		if _, _, err := cmd(args...); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("canopy %s: %v, want usage", strings.Join(args, " "), err)
		}
	}
	// A file between flags, and flags written with =.
	if err := run(ctx, []string{"services", "export", "--name", "canopy", filepath.Join(dir, "again.csv"), "--data=" + dir}, &o, &e); err != nil {
		t.Fatalf("export with the file between flags: %v %s", err, e.String())
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "again.csv")); string(b) != csv {
		t.Errorf("export between flags wrote %q", b)
	}
	if _, err := os.Stat("canopy-data"); err == nil {
		t.Error("a command opened the default data directory instead of --data")
	}
	if _, _, err := cmd("services", "import", filepath.Join(dir, "missing.csv")); err == nil {
		t.Error("a missing file imported")
	}
}
