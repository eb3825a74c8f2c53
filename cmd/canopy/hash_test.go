package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canopy-org/canopy/internal/pdq"
)

func sharedPDQ(t *testing.T) string {
	dir := filepath.Join("..", "..", "..", "shared", "pdq")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("shared/pdq not found beside the repository: %v", err)
		}
		t.Skip("shared/pdq not found")
	}
	return dir
}

func TestHashCommand(t *testing.T) {
	dir := sharedPDQ(t)
	good := filepath.Join(dir, "images", "bridge-1-original.jpg")
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(t.TempDir(), "truncated.jpg")
	os.WriteFile(trunc, raw[:len(raw)/3], 0o644)
	text := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(text, []byte("not an image"), 0o644)

	var out, errs bytes.Buffer
	if err := runHash([]string{good}, &out, &errs); err != nil {
		t.Fatalf("%v: %s", err, errs.String())
	}
	fields := strings.Split(strings.TrimSpace(out.String()), ",")
	if len(fields) != 5 || fields[1] != "100" || fields[4] != good || len(fields[2]) != 32 || len(fields[3]) != 64 {
		t.Fatalf("line %q", out.String())
	}
	// bridge-1 against the C++ reference (shared/pdq/vectors.csv).
	want, _ := pdq.ParseHash("d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22")
	got, err := pdq.ParseHash(fields[0])
	if err != nil || pdq.Distance(got, want) > 10 {
		t.Fatalf("pdq %s is %d bits from the reference", fields[0], pdq.Distance(got, want))
	}

	out.Reset()
	errs.Reset()
	err = runHash([]string{"--json", good, trunc, text, filepath.Join(t.TempDir(), "missing.png")}, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "3 of 4") {
		t.Fatalf("err = %v", err)
	}
	var line hashLine
	if json.Unmarshal(out.Bytes(), &line) != nil || line.PDQ != fields[0] || line.Path != good {
		t.Fatalf("json line %q", out.String())
	}
	for _, want := range []string{"truncated.jpg: pdq: decode", "notes.txt: pdq: decode", "missing.png: no such file"} {
		if !strings.Contains(errs.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs.String())
		}
	}
}
