package bundle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"
)

// Limits on the files Verify reads whole; everything under files/ is
// streamed instead.
const (
	maxSums     = 16 << 20
	maxMeta     = 64 << 20
	maxSmallKey = 4 << 10
)

// Report is what Verify found: one Check per thing it looked at, in order,
// and what the manifest says the bundle is, when it could be read.
type Report struct {
	Case    string
	Node    string
	Created time.Time
	Files   int // evidence files in the manifest
	Custody int // custody entries
	Checks  []Check
}

// Check is one check Verify made. Err is nil when it passed.
type Check struct {
	Name   string // what was checked: "signature", "node.pub", a path…
	Detail string // what was found, for a person reading the report
	Err    error
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if c.Err != nil {
			return false
		}
	}
	return len(r.Checks) > 0
}

func (r *Report) add(name, detail string, err error) error {
	r.Checks = append(r.Checks, Check{Name: name, Detail: detail, Err: err})
	return err
}

// Verify checks the bundle in dir against the trusted public key of the
// node that is said to have written it, which the reader must have
// obtained by other means than the bundle. It checks the signature on
// SHA256SUMS, that node.pub and the manifest name the trusted key, that
// every listed file is present with its hash and nothing else is, that
// manifest.json and custody.json parse and agree with SHA256SUMS, and that
// every custody entry's hash is its item's. It goes on after a failure
// where that still tells the reader something, and returns every failure
// joined; the report is nil only when dir cannot be opened.
func Verify(dir string, trusted ed25519.PublicKey) (*Report, error) {
	if len(trusted) != ed25519.PublicKeySize {
		return nil, fail(ErrInvalid, "trusted key is not an Ed25519 public key")
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	defer root.Close()
	r := &Report{}
	var errs []error
	note := func(name, detail string, err error) {
		if r.add(name, detail, err) != nil {
			errs = append(errs, err)
		}
	}
	done := func() (*Report, error) { return r, errors.Join(errs...) }

	sumsData, err := readSmall(root, SumsFile, maxSums)
	if err != nil {
		note(SumsFile, "", err)
		return done()
	}

	// The signature first: nothing else in the bundle means anything
	// until SHA256SUMS is known to come from the trusted node.
	note(SigFile, "Ed25519 signature over SHA256SUMS", checkSignature(root, sumsData, trusted))
	note(KeyFile, "public key shipped in the bundle", checkKeyFile(root, trusted))

	entries, err := parseSums(sumsData)
	if err != nil {
		note(SumsFile, "format", fail(ErrSumsFormat, "%v", err))
		return done()
	}
	listed := map[string]string{}
	for _, e := range entries {
		listed[e.Path] = e.Hex
	}
	var missingMeta []string
	for _, name := range []string{ManifestFile, CustodyFile, KeyFile} {
		if _, ok := listed[name]; !ok {
			missingMeta = append(missingMeta, name)
		}
	}
	if len(missingMeta) > 0 {
		note(SumsFile, "format", fail(ErrSumsFormat, "does not list %s", strings.Join(missingMeta, ", ")))
	} else {
		note(SumsFile, fmt.Sprintf("format; %d files listed", len(entries)), nil)
	}

	// Every listed file, streamed.
	type facts struct {
		size int64
		md5  string
	}
	found := map[string]facts{}
	for _, e := range entries {
		size, s, m, err := hashFile(root, e.Path)
		switch {
		case err != nil:
			note(e.Path, "", err)
		case s != e.Hex:
			note(e.Path, "", fail(ErrFileHash, "%s: SHA-256 is %s, SHA256SUMS says %s", e.Path, s, e.Hex))
		default:
			found[e.Path] = facts{size, m}
			note(e.Path, "SHA-256 "+s, nil)
		}
	}

	// Nothing else.
	var extra []string
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || p == SumsFile || p == SigFile {
			return nil
		}
		if _, ok := listed[p]; !ok || !d.Type().IsRegular() {
			extra = append(extra, p)
		}
		return nil
	})
	if err != nil {
		note("unlisted files", "", fmt.Errorf("bundle: %w", err))
	} else if len(extra) > 0 {
		note("unlisted files", "", fail(ErrUnlisted, "%s", strings.Join(extra, ", ")))
	} else {
		note("unlisted files", "none", nil)
	}

	// The manifest must describe exactly the files listed under files/,
	// with the same hashes and the sizes found.
	var m manifest
	byName := map[string]string{}
	err = readJSON(root, ManifestFile, &m)
	if err == nil {
		r.Case, r.Node, r.Created, r.Files = m.Case, m.Node, m.Created, len(m.Files)
		for _, f := range m.Files {
			byName[f.Name] = f.SHA256
		}
		err = m.check(trusted, listed, func(p string) (int64, string, bool) {
			f, ok := found[p]
			return f.size, f.md5, ok
		})
	}
	if err != nil {
		note(ManifestFile, "", fail(ErrManifest, "%v", err))
	} else {
		note(ManifestFile, fmt.Sprintf("%d evidence files agree with SHA256SUMS", len(m.Files)), nil)
	}

	var c custodyLog
	err = readJSON(root, CustodyFile, &c)
	if err == nil {
		r.Custody = len(c.Entries)
		switch {
		case c.Format != Format:
			err = fmt.Errorf("format %q", c.Format)
		case c.Case != m.Case:
			err = fmt.Errorf("case %q, manifest says %q", c.Case, m.Case)
		}
	}
	if err == nil {
		for i, e := range c.Entries {
			if err = checkCustody(e.At, e.Actor, e.Action, e.Item, e.SHA256, byName); err != nil {
				err = fmt.Errorf("entry %d: %w", i, err)
				break
			}
		}
	}
	if err != nil {
		note(CustodyFile, "", fail(ErrCustody, "%v", err))
	} else {
		note(CustodyFile, fmt.Sprintf("%d entries agree with the manifest", len(c.Entries)), nil)
	}
	return done()
}

func checkSignature(root *os.Root, sums []byte, trusted ed25519.PublicKey) error {
	data, err := readSmall(root, SigFile, maxSmallKey)
	if err != nil {
		return err
	}
	text, ok := bytes.CutSuffix(data, []byte("\n"))
	if !ok {
		return fail(ErrSignature, "%s does not end in a newline", SigFile)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(string(text))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fail(ErrSignature, "%s is not one line of base64 holding 64 bytes", SigFile)
	}
	if !ed25519.Verify(trusted, sums, sig) {
		return fail(ErrSignature, "not signed by the trusted key %s", base64.RawURLEncoding.EncodeToString(trusted))
	}
	return nil
}

func checkKeyFile(root *os.Root, trusted ed25519.PublicKey) error {
	data, err := readSmall(root, KeyFile, maxSmallKey)
	if err != nil {
		return err
	}
	pub, err := parseKeyPEM(data)
	if err != nil {
		return fail(ErrKeyMismatch, "%s: %v", KeyFile, err)
	}
	if !pub.Equal(trusted) {
		return fail(ErrKeyMismatch, "%s holds %s, not the trusted key %s", KeyFile,
			base64.RawURLEncoding.EncodeToString(pub), base64.RawURLEncoding.EncodeToString(trusted))
	}
	return nil
}

func parseKeyPEM(data []byte) (ed25519.PublicKey, error) {
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" || len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("not one PEM PUBLIC KEY block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("not an Ed25519 key")
	}
	return pub, nil
}

func (m *manifest) check(trusted ed25519.PublicKey, listed map[string]string, found func(string) (int64, string, bool)) error {
	if m.Format != Format {
		return fmt.Errorf("format %q", m.Format)
	}
	if m.Case == "" || m.Node == "" || m.Created.IsZero() {
		return fmt.Errorf("case, node or creation time missing")
	}
	if m.PublicKey != base64.RawURLEncoding.EncodeToString(trusted) {
		return fmt.Errorf("public key %q is not the trusted key", m.PublicKey)
	}
	described := map[string]bool{}
	for _, f := range m.Files {
		if err := checkName(f.Name); err != nil {
			return err
		}
		if f.Path != filesDir+"/"+f.Name || described[f.Path] {
			return fmt.Errorf("file %q: path %q", f.Name, f.Path)
		}
		described[f.Path] = true
		if want, ok := listed[f.Path]; !ok || want != f.SHA256 {
			return fmt.Errorf("%s: SHA-256 %q, SHA256SUMS says %q", f.Path, f.SHA256, want)
		}
		if size, sum, ok := found(f.Path); ok {
			if size != f.Size {
				return fmt.Errorf("%s: size %d, file has %d bytes", f.Path, f.Size, size)
			}
			if f.MD5 != "" && f.MD5 != sum {
				return fmt.Errorf("%s: MD5 %q, file's is %s", f.Path, f.MD5, sum)
			}
		}
	}
	for p := range listed {
		switch {
		case p == ManifestFile || p == CustodyFile || p == KeyFile:
		case strings.HasPrefix(p, filesDir+"/") && described[p]:
		default:
			return fmt.Errorf("SHA256SUMS lists %s, which the manifest does not describe", p)
		}
	}
	return nil
}

// readJSON decodes a whole file into v, refusing unknown members and
// anything after the value: a court reads what was signed, nothing more.
func readJSON(root *os.Root, name string, v any) error {
	data, err := readSmall(root, name, maxMeta)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%s: data after the JSON value", name)
	}
	return nil
}

// openRegular opens name inside root, refusing anything but a regular
// file (a symlink in a bundle could point anywhere on the reader's disk).
func openRegular(root *os.Root, name string) (*os.File, error) {
	fi, err := root.Lstat(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fail(ErrMissing, "%s", name)
		}
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fail(ErrMissing, "%s is not a regular file", name)
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return f, nil
}

func readSmall(root *os.Root, name string, limit int64) ([]byte, error) {
	f, err := openRegular(root, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fail(ErrInvalid, "%s is larger than %d bytes", name, limit)
	}
	return data, nil
}

func hashFile(root *os.Root, name string) (size int64, sha, md string, err error) {
	f, err := openRegular(root, name)
	if err != nil {
		return 0, "", "", err
	}
	defer f.Close()
	s, m := sha256.New(), md5.New()
	n, err := io.Copy(io.MultiWriter(s, m), f)
	if err != nil {
		return 0, "", "", fmt.Errorf("bundle: %s: %w", name, err)
	}
	return n, sumHex(s), sumHex(m), nil
}
