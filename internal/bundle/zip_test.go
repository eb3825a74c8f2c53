package bundle_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canopy-org/canopy/internal/bundle"
)

// unzip writes every entry of an archive under dir, refusing any that
// would land outside it.
func unzip(t *testing.T, data []byte, dir string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if !fs.ValidPath(f.Name) {
			t.Fatalf("entry %q is not a plain relative path", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			t.Fatal(err)
		}
		write(t, dir, f.Name, b)
	}
}

// TestWriteZip: the archive unpacks to exactly the bundle Write makes,
// byte for byte, which Verify accepts; evidence files are stored, not
// compressed; a file that differs from its recorded hash stops the
// archive; the folder must be a plain name.
func TestWriteZip(t *testing.T) {
	s := newSigner(1)
	want := writeSample(t, s)
	var buf bytes.Buffer
	if err := bundle.WriteZip(&buf, "inv-0042", sample(), s); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, "inv-0042/") {
			t.Errorf("entry %q is outside the archive's folder", f.Name)
		}
		if strings.Contains(f.Name, "/files/") && f.Method != zip.Store {
			t.Errorf("evidence file %q is compressed (method %d)", f.Name, f.Method)
		}
	}
	out := t.TempDir()
	unzip(t, buf.Bytes(), out)
	got := filepath.Join(out, "inv-0042")
	n := 0
	err = filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		a, _ := os.ReadFile(p)
		b, err := os.ReadFile(filepath.Join(got, rel))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between the directory and the archive (%v)", rel, err)
		}
		n++
		return nil
	})
	if err != nil || n != 7 {
		t.Fatalf("compared %d files: %v", n, err)
	}
	if r, err := bundle.Verify(got, s.PublicKey()); err != nil || !r.OK() {
		t.Fatalf("the unpacked archive does not verify: %+v %v", r, err)
	}

	bad := sample()
	bad.Files[1].Open = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("altered\n")), nil }
	if err := bundle.WriteZip(io.Discard, "inv-0042", bad, s); !errors.Is(err, bundle.ErrRecordedHash) {
		t.Errorf("altered file: %v", err)
	}
	for _, root := range []string{"", "a/b", "..", "x\x00"} {
		if err := bundle.WriteZip(io.Discard, root, sample(), s); !errors.Is(err, bundle.ErrName) {
			t.Errorf("folder %q: %v", root, err)
		}
	}
}
