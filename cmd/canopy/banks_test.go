package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBankAndPlatformCommands(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	run1 := func(args ...string) (string, string, error) {
		var out, errs bytes.Buffer
		err := run(ctx, append(args, "--data", dir), &out, &errs)
		return out.String(), errs.String(), err
	}
	if _, _, err := run1("bank", "create", "hotline-fr", "--source", "Hotline FR"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "te.txt")
	os.WriteFile(file, []byte("d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22,100\nnonsense,1\n"), 0o644)
	var o, e bytes.Buffer
	if err := run(ctx, []string{"bank", "import", "hotline-fr", "--data", dir, "--format", "te", file}, &o, &e); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(o.String(), "1 added, 0 already there, 1 lines refused") || !strings.Contains(e.String(), "te.txt:2: error.hash.value") {
		t.Fatalf("import said %q / %q", o.String(), e.String())
	}
	out, _, err := run1("bank", "list")
	if err != nil || !strings.Contains(out, "hotline-fr\t1 hashes\tHotline FR") {
		t.Fatalf("list %q %v", out, err)
	}
	out, _, err = run1("bank", "export", "hotline-fr", "--format", "te")
	if err != nil || out != "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22,100\n" {
		t.Fatalf("export %q %v", out, err)
	}
	if _, _, err := run1("platform", "add", "Example Chat", "--contact", "trust@chat.example"); err != nil {
		t.Fatal(err)
	}
	out, _, err = run1("platform", "key", "Example Chat", "--scopes", "submit,match")
	if err != nil || !strings.Contains(out, "cnp_") {
		t.Fatalf("key %q %v", out, err)
	}
	if _, _, err := run1("platform", "key", "Example Chat", "--scopes", "everything"); err == nil {
		t.Fatal("unknown scope accepted")
	}
}

func TestBenchMatchCommand(t *testing.T) {
	dir := sharedPDQ(t)
	var out bytes.Buffer
	err := run(context.Background(), []string{"bench", "match", "--index", filepath.Join(dir, "haystack.txt"),
		"--queries", filepath.Join(dir, "needles.txt")}, &out, new(bytes.Buffer))
	if err != nil || !strings.Contains(out.String(), "1350 indexed, 100 queries") || !strings.Contains(out.String(), "matches:") {
		t.Fatalf("bench match: %v\n%s", err, out.String())
	}
}
