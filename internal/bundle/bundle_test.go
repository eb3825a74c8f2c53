package bundle_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/bundle"
	"github.com/canopy-org/canopy/internal/seal"
)

type keySigner struct{ priv ed25519.PrivateKey }

func (k keySigner) Sign(m []byte) []byte         { return ed25519.Sign(k.priv, m) }
func (k keySigner) PublicKey() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }

func newSigner(seed byte) keySigner {
	return keySigner{ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32))}
}

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func file(name string, content []byte) bundle.File {
	s, m := sha256.Sum256(content), md5.Sum(content)
	return bundle.File{
		Name:       name,
		Open:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(content)), nil },
		SHA256:     hex.EncodeToString(s[:]),
		MD5:        hex.EncodeToString(m[:]),
		Acquired:   t0,
		AcquiredBy: "analyst.lee",
	}
}

func sample() bundle.Bundle {
	photo := file("evidence/0001-photo.jpg", []byte("not really a photo"))
	photo.PDQ = strings.Repeat("ab", 32)
	doc := file("evidence/0002-notes.txt", []byte("notes\n"))
	return bundle.Bundle{
		Case: "CASE-2025-0042", Node: "hotline.example", Created: t0.Add(time.Hour),
		Files: []bundle.File{photo, doc},
		Custody: []bundle.CustodyEntry{
			{At: t0, Actor: "analyst.lee", Action: bundle.ActionAcquired, Item: photo.Name, Why: "report R-19", SHA256: photo.SHA256},
			{At: t0.Add(time.Minute), Actor: "analyst.kim", Action: bundle.ActionViewed, Item: doc.Name, Why: "triage", SHA256: doc.SHA256},
			{At: t0.Add(time.Hour), Actor: "analyst.lee", Action: bundle.ActionExported, Why: "MLA request 17"},
		},
	}
}

func writeSample(t *testing.T, s keySigner) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := bundle.Write(dir, sample(), s); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRoundTrip(t *testing.T) {
	s := newSigner(1)
	dir := writeSample(t, s)
	r, err := bundle.Verify(dir, s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Case != "CASE-2025-0042" || r.Files != 2 || r.Custody != 3 {
		t.Errorf("report %+v", r)
	}
	sums, _ := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	var paths []string
	for _, l := range strings.Split(strings.TrimSuffix(string(sums), "\n"), "\n") {
		paths = append(paths, l[66:])
	}
	want := "custody.json files/evidence/0001-photo.jpg files/evidence/0002-notes.txt manifest.json node.pub"
	if got := strings.Join(paths, " "); got != want {
		t.Errorf("SHA256SUMS lists %q, want %q", got, want)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "files/evidence/0002-notes.txt"))
	if string(got) != "notes\n" {
		t.Errorf("content %q", got)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".bundle.partial-*"))
	if len(left) > 0 {
		t.Errorf("temporary directories left: %v", left)
	}
	if err := bundle.Write(dir, sample(), s); !errors.Is(err, bundle.ErrExists) || canopy.ErrorCode(err) != canopy.ECONFLICT {
		t.Errorf("second write: %v", err)
	}
}

// TestSealIdentity checks that the node's own identity is a Signer.
func TestSealIdentity(t *testing.T) {
	id, err := seal.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "id"), "hotline.example")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "b")
	if err := bundle.Write(dir, sample(), id); err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.Verify(dir, id.PublicKey()); err != nil {
		t.Fatal(err)
	}
}

func TestWriteRefuses(t *testing.T) {
	s := newSigner(1)
	tests := []struct {
		name string
		edit func(b *bundle.Bundle)
		want error
	}{
		{"content differs from recorded SHA-256", func(b *bundle.Bundle) {
			b.Files[0].Open = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("altered")), nil }
		}, bundle.ErrRecordedHash},
		{"recorded MD5 differs", func(b *bundle.Bundle) { b.Files[0].MD5 = strings.Repeat("0", 32) }, bundle.ErrRecordedHash},
		{"custody hash is not the item's", func(b *bundle.Bundle) { b.Custody[0].SHA256 = b.Files[1].SHA256 }, bundle.ErrCustody},
		{"custody item unknown", func(b *bundle.Bundle) { b.Custody[0].Item = "evidence/none" }, bundle.ErrCustody},
		{"custody action unknown", func(b *bundle.Bundle) { b.Custody[0].Action = "copied" }, bundle.ErrCustody},
		{"names differ only in case", func(b *bundle.Bundle) { b.Files[1].Name = strings.ToUpper(b.Files[0].Name) }, bundle.ErrName},
		{"no case", func(b *bundle.Bundle) { b.Case = "" }, bundle.ErrInvalid},
	}
	for _, name := range []string{"../x", "evidence/../../x", "/etc/passwd", "a/./b", "a//b", "a/", "", ".", "..", "a\\b", "a\x00b", "a\nb", "a\x7fb", "\xff"} {
		tests = append(tests, struct {
			name string
			edit func(b *bundle.Bundle)
			want error
		}{"name " + name, func(b *bundle.Bundle) { b.Files[0].Name = name }, bundle.ErrName})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := sample()
			tt.edit(&b)
			parent := t.TempDir()
			err := bundle.Write(filepath.Join(parent, "b"), b, s)
			if !errors.Is(err, tt.want) || canopy.ErrorCode(err) != canopy.EINVALID {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Errorf("left %d entries behind", len(entries))
			}
		})
	}
}

// reseal rewrites SHA256SUMS from the files now present and signs it
// again, as a forger holding the key would after editing the metadata.
func reseal(t *testing.T, dir string, s keySigner) {
	t.Helper()
	old, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, l := range strings.Split(strings.TrimSuffix(string(old), "\n"), "\n") {
		data, err := os.ReadFile(filepath.Join(dir, l[66:]))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		b.WriteString(hex.EncodeToString(sum[:]) + "  " + l[66:] + "\n")
	}
	write(t, dir, "SHA256SUMS", b.Bytes())
	sig := s.Sign(b.Bytes())
	write(t, dir, "SHA256SUMS.sig", []byte(base64.StdEncoding.EncodeToString(sig)+"\n"))
}

func write(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func edit(t *testing.T, dir, name string, f func(string) string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	out := f(string(data))
	if out == string(data) {
		t.Fatalf("edit of %s changed nothing", name)
	}
	write(t, dir, name, []byte(out))
}

func flipByte(t *testing.T, dir, name string, at int) {
	edit(t, dir, name, func(s string) string {
		b := []byte(s)
		b[at] ^= 0x01
		return string(b)
	})
}

func TestTampering(t *testing.T) {
	s, other := newSigner(1), newSigner(2)
	photo := "files/evidence/0001-photo.jpg"
	tests := []struct {
		name    string
		tamper  func(t *testing.T, dir string)
		trusted ed25519.PublicKey
		want    []error
	}{
		{"file byte", func(t *testing.T, dir string) { flipByte(t, dir, photo, 3) }, nil, []error{bundle.ErrFileHash}},
		{"extra file", func(t *testing.T, dir string) { write(t, dir, "files/evidence/extra.jpg", []byte("x")) }, nil, []error{bundle.ErrUnlisted}},
		{"extra file at top", func(t *testing.T, dir string) { write(t, dir, "README", []byte("x")) }, nil, []error{bundle.ErrUnlisted}},
		{"symlink", func(t *testing.T, dir string) {
			if err := os.Symlink("/etc/passwd", filepath.Join(dir, "files/link")); err != nil {
				t.Skip(err)
			}
		}, nil, []error{bundle.ErrUnlisted}},
		{"missing file", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, photo)) }, nil, []error{bundle.ErrMissing}},
		{"missing signature", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "SHA256SUMS.sig")) }, nil, []error{bundle.ErrMissing}},
		{"SHA256SUMS reordered", func(t *testing.T, dir string) {
			edit(t, dir, "SHA256SUMS", func(s string) string {
				l := strings.SplitAfter(s, "\n")
				l[0], l[1] = l[1], l[0]
				return strings.Join(l, "")
			})
		}, nil, []error{bundle.ErrSignature, bundle.ErrSumsFormat}},
		{"SHA256SUMS hash edited", func(t *testing.T, dir string) { flipByte(t, dir, "SHA256SUMS", 0) }, nil, []error{bundle.ErrSignature}},
		{"SHA256SUMS line dropped and resealed", func(t *testing.T, dir string) {
			edit(t, dir, "SHA256SUMS", func(s string) string {
				i := strings.Index(s, "\n")
				return s[i+1:]
			})
			reseal(t, dir, s)
		}, nil, []error{bundle.ErrSumsFormat, bundle.ErrUnlisted}},
		{"wrong trusted key", func(t *testing.T, dir string) {}, other.PublicKey(), []error{bundle.ErrSignature, bundle.ErrKeyMismatch}},
		{"resigned by another key", func(t *testing.T, dir string) { reseal(t, dir, other) }, nil, []error{bundle.ErrSignature}},
		{"bad signature", func(t *testing.T, dir string) {
			edit(t, dir, "SHA256SUMS.sig", func(s string) string { return strings.Replace(s, s[:2], "AA", 1) })
		}, nil, []error{bundle.ErrSignature}},
		{"signature not base64", func(t *testing.T, dir string) { write(t, dir, "SHA256SUMS.sig", []byte("%%\n")) }, nil, []error{bundle.ErrSignature}},
		{"manifest edited", func(t *testing.T, dir string) {
			edit(t, dir, "manifest.json", func(s string) string { return strings.Replace(s, "analyst.lee", "analyst.bob", 1) })
		}, nil, []error{bundle.ErrFileHash}},
		{"manifest edited and resealed", func(t *testing.T, dir string) {
			edit(t, dir, "manifest.json", func(s string) string { return strings.Replace(s, `"size": 18`, `"size": 19`, 1) })
			reseal(t, dir, s)
		}, nil, []error{bundle.ErrManifest}},
		{"manifest unknown member", func(t *testing.T, dir string) {
			edit(t, dir, "manifest.json", func(s string) string { return strings.Replace(s, "{", `{"extra": 1,`, 1) })
			reseal(t, dir, s)
		}, nil, []error{bundle.ErrManifest}},
		{"custody hash mismatch", func(t *testing.T, dir string) {
			edit(t, dir, "custody.json", func(s string) string {
				i := strings.Index(s, `"sha256": "`) + len(`"sha256": "`)
				return s[:i] + strings.Repeat("0", 64) + s[i+64:]
			})
			reseal(t, dir, s)
		}, nil, []error{bundle.ErrCustody}},
		{"node.pub replaced", func(t *testing.T, dir string) {
			pem := writeSample(t, other)
			data, _ := os.ReadFile(filepath.Join(pem, "node.pub"))
			write(t, dir, "node.pub", data)
			reseal(t, dir, s)
		}, nil, []error{bundle.ErrKeyMismatch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeSample(t, s)
			tt.tamper(t, dir)
			trusted := tt.trusted
			if trusted == nil {
				trusted = s.PublicKey()
			}
			r, err := bundle.Verify(dir, trusted)
			if err == nil || r == nil || r.OK() {
				t.Fatalf("verified: %v", err)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("got %v\nwant %v", err, w)
				}
			}
			if canopy.ErrorCode(err) != canopy.EINVALID {
				t.Errorf("code %q", canopy.ErrorCode(err))
			}
		})
	}
}

// gen yields n bytes of a repeating pattern without holding them.
type gen struct{ n, off int64 }

func (g *gen) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n-g.off {
		p = p[:g.n-g.off]
	}
	for i := range p {
		x := g.off + int64(i)
		p[i] = byte(x ^ x>>8 ^ x>>16)
	}
	g.off += int64(len(p))
	return len(p), nil
}

func (g *gen) Close() error { return nil }

func TestLargeFileBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB")
	}
	const size = 64 << 20
	h := sha256.New()
	io.Copy(h, &gen{n: size})
	f := bundle.File{
		Name: "evidence/big.bin", SHA256: hex.EncodeToString(h.Sum(nil)),
		Open:     func() (io.ReadCloser, error) { return &gen{n: size}, nil },
		Acquired: t0, AcquiredBy: "analyst.lee",
	}
	b := bundle.Bundle{Case: "C-1", Node: "n", Created: t0, Files: []bundle.File{f}}
	s := newSigner(3)
	dir := filepath.Join(t.TempDir(), "big")

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := bundle.Write(dir, b, s); err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.Verify(dir, s.PublicKey()); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("write and verify of %d bytes allocated %d bytes", size, alloc)
	}
}
