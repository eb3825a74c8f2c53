// Package bundle writes and checks evidence bundles: a directory holding a
// case's files, a manifest of their hashes and acquisition facts, the chain
// of custody, and the node's Ed25519 signature over a SHA256SUMS file. The
// layout is chosen so that a court or hotline in another country can check
// a bundle offline with sha256sum and OpenSSL alone, without Canopy;
// docs/evidence.md is the specification and the shell recipe.
package bundle

import (
	"archive/zip"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/canopy-org/canopy"
)

// Format names version 1 of the bundle layout. It is written into
// manifest.json and custody.json; a reader refuses any other value.
const Format = "canopy-evidence-bundle/1"

// Names of the files at the top of a bundle.
const (
	SumsFile     = "SHA256SUMS"
	SigFile      = "SHA256SUMS.sig"
	ManifestFile = "manifest.json"
	CustodyFile  = "custody.json"
	KeyFile      = "node.pub"
	filesDir     = "files"
)

// Custody actions: the node's (canopy.CustodyActions). They are written
// to custody.json and so are append-only.
const (
	ActionAcquired    = canopy.CustodyAcquired
	ActionViewed      = canopy.CustodyViewed
	ActionExported    = canopy.CustodyExported
	ActionTransferred = canopy.CustodyTransferred
	ActionDestroyed   = canopy.CustodyDestroyed
)

var actions = canopy.CustodyActions

// Kinds of failure. Every error Write and Verify return for a bad input
// or a bad bundle is a *canopy.Error with code invalid (conflict for
// ErrExists) wrapping one of these, so callers and tests branch with
// errors.Is; I/O failures are returned as they are.
var (
	ErrInvalid      = errors.New("bundle: invalid input")
	ErrName         = errors.New("bundle: unsafe file name")
	ErrExists       = errors.New("bundle: destination exists")
	ErrRecordedHash = errors.New("bundle: content does not match the hash recorded at acquisition")
	ErrSumsFormat   = errors.New("bundle: SHA256SUMS is malformed")
	ErrSignature    = errors.New("bundle: signature does not verify")
	ErrKeyMismatch  = errors.New("bundle: key is not the trusted key")
	ErrMissing      = errors.New("bundle: listed file missing")
	ErrFileHash     = errors.New("bundle: file does not match SHA256SUMS")
	ErrUnlisted     = errors.New("bundle: file not listed in SHA256SUMS")
	ErrManifest     = errors.New("bundle: manifest is malformed or disagrees")
	ErrCustody      = errors.New("bundle: custody log is malformed or disagrees")
)

func fail(kind error, format string, args ...any) error {
	code := canopy.EINVALID
	if kind == ErrExists {
		code = canopy.ECONFLICT
	}
	return &canopy.Error{Code: code, Err: fmt.Errorf("%w: %s", kind, fmt.Sprintf(format, args...))}
}

// Bundle is what Write exports: one case's files and custody log.
type Bundle struct {
	Case    string
	Node    string
	Created time.Time
	Files   []File
	Custody []CustodyEntry
}

// File is one evidence file. Name is its place under files/ in the bundle
// (for example "evidence/0001-photo.jpg"); Open is called once, and what
// it returns is streamed, never held in memory. The hashes are those
// recorded at acquisition, in hex: Write refuses a file whose content no
// longer matches them.
type File struct {
	Name       string
	Open       func() (io.ReadCloser, error)
	SHA256     string
	MD5        string // optional
	PDQ        string // optional, images only
	Acquired   time.Time
	AcquiredBy string
}

// CustodyEntry is one event in the chain of custody. Item is the Name of
// the file it concerns and SHA256 that file's hash as the actor saw it;
// both are empty for events about the case as a whole.
type CustodyEntry struct {
	At     time.Time
	Actor  string
	Action string
	Item   string
	Why    string
	SHA256 string
}

// Signer signs the bundle; *seal.Identity is one.
type Signer interface {
	Sign([]byte) []byte
	PublicKey() ed25519.PublicKey
}

// manifest is manifest.json.
type manifest struct {
	Format    string         `json:"format"`
	Case      string         `json:"case"`
	Node      string         `json:"node"`
	Created   time.Time      `json:"created"`
	PublicKey string         `json:"public_key"`
	Files     []manifestFile `json:"files"`
}

type manifestFile struct {
	Name       string    `json:"name"`
	Path       string    `json:"path"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	MD5        string    `json:"md5,omitempty"`
	PDQ        string    `json:"pdq,omitempty"`
	Acquired   time.Time `json:"acquired"`
	AcquiredBy string    `json:"acquired_by"`
}

// custodyLog is custody.json.
type custodyLog struct {
	Format  string         `json:"format"`
	Case    string         `json:"case"`
	Entries []custodyEntry `json:"entries"`
}

type custodyEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Item   string    `json:"item,omitempty"`
	Why    string    `json:"why"`
	SHA256 string    `json:"sha256,omitempty"`
}

// Write exports b to the directory dir, which must not exist, signed by
// signer. Everything is written to a temporary directory beside dir and
// renamed into place at the end, so dir either holds a complete bundle or
// does not exist. Files are copied in bounded memory; their SHA-256 (and
// MD5, when recorded) is recomputed on the way and the export is refused
// if it differs from the recorded value.
func Write(dir string, b Bundle, signer Signer) (err error) {
	if err := b.check(); err != nil {
		return err
	}
	if _, err := os.Lstat(dir); err == nil {
		return fail(ErrExists, "%s", dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("bundle: %w", err)
	}
	parent, base := filepath.Split(filepath.Clean(dir))
	if parent == "" {
		parent = "."
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".partial-")
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := build(dirSink(tmp), b, signer); err != nil {
		return err
	}
	if err := syncDirs(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	return syncDir(parent)
}

// WriteZip writes b as a ZIP archive to w, every entry under the folder
// root, signed by signer: the same bundle Write makes, for a browser to
// download. Files are stored as they are (evidence rarely compresses) and
// streamed in bounded memory, their hashes recomputed on the way; a file
// that differs from its recorded hashes stops the archive with an error,
// so what w holds then is not a valid ZIP. Unpacked, it is checked exactly
// as docs/evidence.md shows.
func WriteZip(w io.Writer, root string, b Bundle, signer Signer) error {
	if err := b.check(); err != nil {
		return err
	}
	if err := checkName(root); err != nil || strings.Contains(root, "/") {
		return fail(ErrName, "%q is not a folder name for the archive", root)
	}
	zw := zip.NewWriter(w)
	if err := build(zipSink{zw: zw, root: root, modified: b.Created}, b, signer); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("bundle: finish the archive: %w", err)
	}
	return nil
}

// A sink is where a bundle's entries go: a directory or an archive. write
// creates the entry name (a slash-separated path) and fills it with fill.
type sink interface {
	write(name string, large bool, fill func(io.Writer) error) error
}

// dirSink writes entries as files under a directory, each synced.
type dirSink string

func (d dirSink) write(name string, _ bool, fill func(io.Writer) error) error {
	dst := filepath.Join(string(d), filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	defer f.Close()
	// An *os.File hides its ReadFrom behind this wrapper, so copies into
	// it use io.Copy's own 32 KiB buffer whatever the source is.
	if err := fill(struct{ io.Writer }{f}); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	return nil
}

// zipSink writes entries into a ZIP archive under a root folder.
type zipSink struct {
	zw       *zip.Writer
	root     string
	modified time.Time
}

func (z zipSink) write(name string, large bool, fill func(io.Writer) error) error {
	h := &zip.FileHeader{Name: z.root + "/" + name, Modified: z.modified.UTC(), Method: zip.Deflate}
	if large {
		h.Method = zip.Store
	}
	w, err := z.zw.CreateHeader(h)
	if err != nil {
		return fmt.Errorf("bundle: add %s to the archive: %w", name, err)
	}
	return fill(w)
}

// build writes every entry of a bundle to out: the files, checked against
// their recorded hashes on the way, then the manifest, the custody log,
// the key, SHA256SUMS and its signature.
func build(out sink, b Bundle, signer Signer) error {
	pub := signer.PublicKey()
	if len(pub) != ed25519.PublicKeySize {
		return fail(ErrInvalid, "signer has no Ed25519 public key")
	}
	m := manifest{
		Format:    Format,
		Case:      b.Case,
		Node:      b.Node,
		Created:   b.Created.UTC(),
		PublicKey: base64.RawURLEncoding.EncodeToString(pub),
	}
	var sums []sumEntry
	for i, f := range b.Files {
		p := filesDir + "/" + f.Name
		size, err := copyFile(out, p, i+1, f)
		if err != nil {
			return err
		}
		m.Files = append(m.Files, manifestFile{
			Name: f.Name, Path: p, Size: size,
			SHA256: strings.ToLower(f.SHA256), MD5: strings.ToLower(f.MD5), PDQ: strings.ToLower(f.PDQ),
			Acquired: f.Acquired.UTC(), AcquiredBy: f.AcquiredBy,
		})
		sums = append(sums, sumEntry{Hex: strings.ToLower(f.SHA256), Path: p})
	}
	c := custodyLog{Format: Format, Case: b.Case, Entries: []custodyEntry{}}
	for _, e := range b.Custody {
		c.Entries = append(c.Entries, custodyEntry{
			At: e.At.UTC(), Actor: e.Actor, Action: e.Action, Item: e.Item, Why: e.Why, SHA256: strings.ToLower(e.SHA256),
		})
	}
	if m.Files == nil {
		m.Files = []manifestFile{}
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return fmt.Errorf("bundle: encode key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	for _, meta := range []struct {
		name string
		v    any
	}{{ManifestFile, m}, {CustodyFile, c}, {KeyFile, keyPEM}} {
		data, ok := meta.v.([]byte)
		if !ok {
			if data, err = json.MarshalIndent(meta.v, "", "  "); err != nil {
				return fmt.Errorf("bundle: encode %s: %w", meta.name, err)
			}
			data = append(data, '\n')
		}
		if err := writeFile(out, meta.name, data); err != nil {
			return err
		}
		s := sha256.Sum256(data)
		sums = append(sums, sumEntry{Hex: hex.EncodeToString(s[:]), Path: meta.name})
	}
	slices.SortFunc(sums, func(a, b sumEntry) int { return strings.Compare(a.Path, b.Path) })
	sumsData := formatSums(sums)
	sig := signer.Sign(sumsData)
	if !ed25519.Verify(pub, sumsData, sig) {
		return fmt.Errorf("bundle: signer's signature does not verify with its own public key")
	}
	if err := writeFile(out, SumsFile, sumsData); err != nil {
		return err
	}
	return writeFile(out, SigFile, []byte(base64.StdEncoding.EncodeToString(sig)+"\n"))
}

func (b *Bundle) check() error {
	if err := checkText("case", b.Case, true); err != nil {
		return err
	}
	if err := checkText("node", b.Node, true); err != nil {
		return err
	}
	if b.Created.IsZero() {
		return fail(ErrInvalid, "no creation time")
	}
	byName := map[string]string{}
	folded := map[string]string{}
	for _, f := range b.Files {
		if err := checkName(f.Name); err != nil {
			return fail(ErrName, "%v", err)
		}
		// Bundles are opened on Windows and macOS too, whose file systems
		// ignore case: two names differing only in case would collide.
		k := strings.ToLower(f.Name)
		if other, dup := folded[k]; dup {
			return fail(ErrName, "%q and %q differ only in case", other, f.Name)
		}
		folded[k] = f.Name
		if f.Open == nil {
			return fail(ErrInvalid, "file %q has no Open", f.Name)
		}
		if !isHex(strings.ToLower(f.SHA256), 64) {
			return fail(ErrInvalid, "file %q: SHA-256 is not 64 hex digits", f.Name)
		}
		if f.MD5 != "" && !isHex(strings.ToLower(f.MD5), 32) {
			return fail(ErrInvalid, "file %q: MD5 is not 32 hex digits", f.Name)
		}
		if f.PDQ != "" && !isHex(strings.ToLower(f.PDQ), 64) {
			return fail(ErrInvalid, "file %q: PDQ is not 64 hex digits", f.Name)
		}
		if f.Acquired.IsZero() {
			return fail(ErrInvalid, "file %q: no acquisition time", f.Name)
		}
		if err := checkText("acquired by", f.AcquiredBy, true); err != nil {
			return err
		}
		byName[f.Name] = strings.ToLower(f.SHA256)
	}
	for i, e := range b.Custody {
		if err := checkCustody(e.At, e.Actor, e.Action, e.Item, strings.ToLower(e.SHA256), byName); err != nil {
			return fail(ErrCustody, "entry %d: %v", i, err)
		}
		if err := checkText("why", e.Why, false); err != nil {
			return err
		}
	}
	return nil
}

// checkCustody holds the rules shared by Write and Verify for one entry.
func checkCustody(at time.Time, actor, action, item, sum string, byName map[string]string) error {
	if at.IsZero() || actor == "" {
		return fmt.Errorf("no time or actor")
	}
	if !slices.Contains(actions, action) {
		return fmt.Errorf("unknown action %q", action)
	}
	if item == "" {
		if sum != "" {
			return fmt.Errorf("a hash without an item")
		}
		return nil
	}
	want, ok := byName[item]
	if !ok {
		return fmt.Errorf("item %q is not in the bundle", item)
	}
	// "mismatch" records a step at which the file did not match its
	// hashes (and was restored since, or it would not be exported).
	if sum != want && sum != Mismatch {
		return fmt.Errorf("item %q: hash %q is not the file's %s", item, sum, want)
	}
	return nil
}

// Mismatch is the hash of a custody step at which the file was found not
// to match the hashes taken at its acquisition.
const Mismatch = "mismatch"

func checkText(field, s string, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return fail(ErrInvalid, "%s is empty", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return fail(ErrInvalid, "%s holds a control character", field)
		}
	}
	return nil
}

// copyFile streams f, the bundle's nth file, into the entry p of out,
// checking its recorded hashes. Its errors name it by number, not by
// name: a name can say what a file shows, and errors reach logs.
func copyFile(out sink, p string, n int, f File) (int64, error) {
	src, err := f.Open()
	if err != nil {
		return 0, fmt.Errorf("bundle: open file %d: %w", n, err)
	}
	defer src.Close()
	var size int64
	err = out.write(p, true, func(w io.Writer) error {
		s, m := sha256.New(), md5.New()
		if size, err = io.Copy(io.MultiWriter(w, s, m), src); err != nil {
			return fmt.Errorf("bundle: copy file %d: %w", n, err)
		}
		if got := sumHex(s); got != strings.ToLower(f.SHA256) {
			return fail(ErrRecordedHash, "file %d: SHA-256 is %s, recorded %s", n, got, f.SHA256)
		}
		if got := sumHex(m); f.MD5 != "" && got != strings.ToLower(f.MD5) {
			return fail(ErrRecordedHash, "file %d: MD5 is %s, recorded %s", n, got, f.MD5)
		}
		return nil
	})
	return size, err
}

func sumHex(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

func writeFile(out sink, name string, data []byte) error {
	return out.write(name, false, func(w io.Writer) error {
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("bundle: write %s: %w", name, err)
		}
		return nil
	})
}

// syncDirs flushes every directory under root, so that the rename that
// publishes the bundle cannot outlive the entries inside it after a crash.
func syncDirs(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return syncDir(p)
		}
		return nil
	})
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("bundle: sync %s: %w", path.Base(dir), err)
	}
	return nil
}

// Fingerprint is the lowercase hex SHA-256 of pub's SubjectPublicKeyInfo
// DER encoding: what `openssl pkey -pubin -in node.pub -outform DER |
// sha256sum` prints, so that a reader can compare node.pub with the key
// the node's operator published, by telephone if need be.
func Fingerprint(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:])
}
