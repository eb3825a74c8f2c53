package bundle_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/canopy-org/canopy/internal/bundle"
)

// docSteps returns the shell blocks of docs/evidence.md, keyed by the
// name in the "<!-- check:NAME -->" comment before each.
func docSteps(t *testing.T) map[string]string {
	data, err := os.ReadFile("../../docs/evidence.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- check:([a-z]+) -->\n```sh\n(.*?)```")
	steps := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(data), -1) {
		steps[m[1]] = m[2]
	}
	for _, k := range []string{"sums", "unlisted", "signature", "fingerprint"} {
		if steps[k] == "" {
			t.Fatalf("docs/evidence.md has no %q step", k)
		}
	}
	return steps
}

// TestShellVerification runs the documented sha256sum and OpenSSL steps
// against a bundle Write made, and checks that they fail once a file or
// SHA256SUMS is altered by one byte.
func TestShellVerification(t *testing.T) {
	for _, tool := range []string{"bash", "sha256sum", "openssl", "base64", "find", "diff"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	steps := docSteps(t)
	s := newSigner(1)
	run := func(dir, step string) (string, error) {
		cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", steps[step])
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir(), "LC_ALL=C")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	dir := writeSample(t, s)
	for _, step := range []string{"sums", "unlisted", "signature"} {
		if out, err := run(dir, step); err != nil {
			t.Fatalf("%s: %v\n%s", step, err, out)
		}
	}
	out, err := run(dir, "fingerprint")
	if err != nil || !strings.HasPrefix(out, bundle.Fingerprint(s.PublicKey())+"  -") {
		t.Errorf("fingerprint: %v %q, want %s", err, out, bundle.Fingerprint(s.PublicKey()))
	}

	t.Run("file byte", func(t *testing.T) {
		dir := writeSample(t, s)
		flipByte(t, dir, "files/evidence/0002-notes.txt", 0)
		if out, err := run(dir, "sums"); err == nil {
			t.Errorf("sha256sum passed:\n%s", out)
		}
	})
	t.Run("SHA256SUMS byte", func(t *testing.T) {
		dir := writeSample(t, s)
		// One hex digit for another, so the file stays well formed.
		edit(t, dir, "SHA256SUMS", func(s string) string {
			d := "0"
			if s[0] == '0' {
				d = "1"
			}
			return d + s[1:]
		})
		for _, step := range []string{"sums", "signature"} {
			if out, err := run(dir, step); err == nil {
				t.Errorf("%s passed:\n%s", step, out)
			}
		}
	})
	t.Run("extra file", func(t *testing.T) {
		dir := writeSample(t, s)
		write(t, dir, "files/extra", []byte("x"))
		if out, err := run(dir, "unlisted"); err == nil {
			t.Errorf("unlisted passed:\n%s", out)
		}
	})
	t.Run("symlink", func(t *testing.T) {
		dir := writeSample(t, s)
		if err := os.Symlink("/etc/passwd", filepath.Join(dir, "files", "l")); err != nil {
			t.Skip(err)
		}
		if out, err := run(dir, "unlisted"); err == nil {
			t.Errorf("unlisted passed:\n%s", out)
		}
	})
}
