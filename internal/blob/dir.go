package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Store keeps opaque blobs under keys. It knows nothing of encryption:
// what it holds is already sealed (see Seal), so a store on someone else's
// disks, an object store say, learns only sizes.
//
// An implementation must meet what Dir does:
//
//   - Keys are checked with ValidateKey; a bad key fails with an error
//     wrapping ErrInvalidKey, before anything is stored.
//   - Put is all or nothing: a Put that fails, including one whose reader
//     fails half way or whose context ends, leaves nothing under the key
//     and no partial object anyone can Get. When Put returns nil the blob
//     is durable.
//   - Put never replaces: if the key holds a blob, it fails with an error
//     wrapping ErrExists and the old blob is untouched. Evidence is
//     written once; replacing it is a Delete and a Put, on purpose.
//   - Get, Stat and Delete of a key that holds nothing fail with an error
//     wrapping ErrNotFound.
//   - Methods are safe for concurrent use.
type Store interface {
	// Put stores everything r yields under key and returns its length.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Get returns a reader of the blob under key. The caller closes it.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the blob under key.
	Delete(ctx context.Context, key string) error
	// Stat returns the length of the blob under key.
	Stat(ctx context.Context, key string) (int64, error)
	// List calls fn for every blob whose key starts with prefix, in no
	// particular order, until fn returns an error, which List returns.
	// fn may Delete the blob it is given.
	List(ctx context.Context, prefix string, fn func(Info) error) error
}

// Info is what List tells of a blob.
type Info struct {
	Key      string
	Size     int64
	Modified time.Time // when it was stored
}

var (
	// ErrNotFound means no blob is stored under the key.
	ErrNotFound = errors.New("blob: not found")
	// ErrExists means Put was given a key that already holds a blob.
	ErrExists = errors.New("blob: key already holds a blob")
	// ErrInvalidKey means a key breaks the rules of ValidateKey.
	ErrInvalidKey = errors.New("blob: invalid key")
)

// MaxKeyLen is the longest key ValidateKey accepts. It keeps every path
// below common file name limits and every object name below S3's.
const MaxKeyLen = 255

// ValidateKey reports whether key may name a blob: 1 to MaxKeyLen bytes
// of a-z, 0-9, '/', '_' and '-', where '/' separates non-empty segments
// (no leading, trailing or doubled '/'). Dots are not allowed at all, so
// no segment can be "." or "..", and Dir's temporary files, which start
// with a dot, can never be mistaken for a blob. Keys are the same on every
// filesystem and object store, whatever its case rules.
func ValidateKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("%w: %d bytes long, want 1 to %d", ErrInvalidKey, len(key), MaxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '/' || c == '_' || c == '-') {
			return fmt.Errorf("%w: %q has byte %#02x at %d; allowed are a-z 0-9 / _ -", ErrInvalidKey, key, c, i)
		}
	}
	if key[0] == '/' || key[len(key)-1] == '/' || strings.Contains(key, "//") {
		return fmt.Errorf("%w: %q has an empty segment", ErrInvalidKey, key)
	}
	return nil
}

// Dir is a Store in a directory of the local filesystem, the default
// blob store. A key names a file below the directory, its '/' separated
// segments becoming subdirectories. Files are created 0600 and
// directories 0700.
//
// Put writes to a temporary file beside the final one (named
// ".tmp-<random>", which no key can name), syncs it, links it to its final
// name, which fails rather than replace an existing file, and syncs the
// directory; only then does the blob exist. A crash can leave ".tmp-*"
// files behind, which are safe to delete while no Put is running.
// Directories that Delete empties are left in place.
//
// Every path is resolved through an os.Root, so neither a key nor a
// symbolic link planted in the directory can reach outside it.
type Dir struct {
	root *os.Root
}

// OpenDir returns the Store in directory path, creating it (0700) if it
// does not exist. Close it when done.
func OpenDir(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("blob: create store directory: %w", err)
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("blob: open store directory: %w", err)
	}
	return &Dir{root: root}, nil
}

// Close releases the directory. The Dir cannot be used afterwards.
func (d *Dir) Close() error { return d.root.Close() }

// Put implements Store.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := ValidateKey(key); err != nil {
		return 0, fmt.Errorf("blob: put: %w", err)
	}
	n, err := d.put(ctx, key, r)
	if err != nil {
		return 0, fmt.Errorf("blob: put %s: %w", key, err)
	}
	return n, nil
}

func (d *Dir) put(ctx context.Context, key string, r io.Reader) (n int64, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	name := filepath.FromSlash(key)
	dir := filepath.Dir(name)
	// An early answer for the common case; the link below is what makes
	// Put safe against a concurrent Put of the same key.
	if _, err := d.root.Lstat(name); err == nil {
		return 0, ErrExists
	}
	if err := d.mkdirs(dir); err != nil {
		return 0, err
	}
	var rnd [12]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(dir, ".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if f != nil {
			f.Close()
		}
		// After a successful link this only drops the temporary name.
		d.root.Remove(tmp)
	}()
	// A buffer of two chunks takes a sealed chunk in one read; the file's
	// ReadFrom would copy through 32 KiB.
	n, err = io.CopyBuffer(struct{ io.Writer }{f}, ctxReader{ctx, r}, make([]byte, 128<<10))
	if err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("sync: %w", err)
	}
	err = f.Close()
	f = nil
	if err != nil {
		return 0, fmt.Errorf("close: %w", err)
	}
	if err := d.root.Link(tmp, name); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return 0, ErrExists
		}
		return 0, fmt.Errorf("link into place: %w", err)
	}
	if err := d.syncDir(dir); err != nil {
		// Not durable, so not stored: take it back rather than report a
		// failure and leave the blob.
		d.root.Remove(name)
		return 0, err
	}
	return n, nil
}

// mkdirs creates dir and its missing parents, syncing the parent of each
// directory it creates so that the new entry survives a crash.
func (d *Dir) mkdirs(dir string) error {
	if dir == "." {
		return nil
	}
	if fi, err := d.root.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is a blob, not a directory", filepath.ToSlash(dir))
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if err := d.mkdirs(parent); err != nil {
		return err
	}
	if err := d.root.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // a concurrent Put made it
		}
		return fmt.Errorf("create directory: %w", err)
	}
	return d.syncDir(parent)
}

func (d *Dir) syncDir(dir string) error {
	f, err := d.root.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

// Get implements Store. The reader is the open file.
func (d *Dir) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ValidateKey(key); err != nil {
		return nil, fmt.Errorf("blob: get: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("blob: get %s: %w", key, err)
	}
	f, err := d.root.Open(filepath.FromSlash(key))
	if err != nil {
		return nil, fmt.Errorf("blob: get %s: %w", key, notFound(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob: get %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("blob: get %s: %w", key, ErrNotFound)
	}
	return f, nil
}

// Stat implements Store.
func (d *Dir) Stat(ctx context.Context, key string) (int64, error) {
	if err := ValidateKey(key); err != nil {
		return 0, fmt.Errorf("blob: stat: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("blob: stat %s: %w", key, err)
	}
	fi, err := d.root.Stat(filepath.FromSlash(key))
	if err != nil {
		return 0, fmt.Errorf("blob: stat %s: %w", key, notFound(err))
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("blob: stat %s: %w", key, ErrNotFound)
	}
	return fi.Size(), nil
}

// Delete implements Store. The removal is synced to disk before it
// returns.
func (d *Dir) Delete(ctx context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return fmt.Errorf("blob: delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	name := filepath.FromSlash(key)
	fi, err := d.root.Lstat(name)
	if err != nil {
		return fmt.Errorf("blob: delete %s: %w", key, notFound(err))
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("blob: delete %s: %w", key, ErrNotFound)
	}
	if err := d.root.Remove(name); err != nil {
		return fmt.Errorf("blob: delete %s: %w", key, notFound(err))
	}
	if err := d.syncDir(filepath.Dir(name)); err != nil {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	return nil
}

// List implements Store. Temporary files of a Put in progress, or left
// by a crash, are not blobs and are not listed.
func (d *Dir) List(ctx context.Context, prefix string, fn func(Info) error) error {
	return fs.WalkDir(d.root.FS(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("blob: list: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("blob: list: %w", err)
		}
		if e.IsDir() {
			// Descend only where a key with the prefix can be.
			if p != "." && !strings.HasPrefix(p+"/", prefix) && !strings.HasPrefix(prefix, p+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() || ValidateKey(p) != nil || !strings.HasPrefix(p, prefix) {
			return nil
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted since the directory was read
		}
		if err != nil {
			return fmt.Errorf("blob: list %s: %w", p, err)
		}
		return fn(Info{Key: p, Size: fi.Size(), Modified: fi.ModTime()})
	})
}

// notFound turns the filesystem's ways of saying there is no such file
// (including "a/b" when "a" is a file) into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return ErrNotFound
	}
	return err
}

// ctxReader stops reading once its context is done, so that a long copy
// ends soon after it is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
