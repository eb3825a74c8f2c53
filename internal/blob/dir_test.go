package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// openTestDir returns a Dir in a fresh temporary directory, and that
// directory's path.
func openTestDir(t testing.TB) (*Dir, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "blobs")
	d, err := OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, path
}

// listFiles returns every file and directory below root, slash-separated.
func listFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if p != root {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

func TestValidateKey(t *testing.T) {
	for _, c := range []struct {
		key string
		ok  bool
	}{
		{"a", true},
		{"evidence/2026/0f3a-9c_b1", true},
		{"0", true},
		{"-", true},
		{"a/b/c/d/e", true},
		{strings.Repeat("a", MaxKeyLen), true},
		{"", false},
		{strings.Repeat("a", MaxKeyLen+1), false},
		{"A", false},
		{"a.b", false},
		{".", false},
		{"..", false},
		{"../etc/passwd", false},
		{"a/../b", false},
		{"a/./b", false},
		{".tmp-0123", false},
		{"/a", false},
		{"a/", false},
		{"a//b", false},
		{"/", false},
		{"a b", false},
		{"a\\b", false},
		{"a\x00b", false},
		{"é", false},
		{"a:b", false},
		{"~root", false},
	} {
		err := ValidateKey(c.key)
		if (err == nil) != c.ok {
			t.Errorf("ValidateKey(%q) = %v, want ok %v", c.key, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidateKey(%q) = %v, not ErrInvalidKey", c.key, err)
		}
	}
}

func TestDir(t *testing.T) {
	ctx := context.Background()
	d, root := openTestDir(t)
	data := plaintext(100_000)

	n, err := d.Put(ctx, "evidence/0001", bytes.NewReader(data))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Put = %d, %v", n, err)
	}
	if size, err := d.Stat(ctx, "evidence/0001"); err != nil || size != int64(len(data)) {
		t.Fatalf("Stat = %d, %v", size, err)
	}
	rc, err := d.Get(ctx, "evidence/0001")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get gave %d bytes, %v", len(got), err)
	}
	if got := listFiles(t, root); strings.Join(got, " ") != "evidence evidence/0001" {
		t.Fatalf("store holds %q; want just the blob and its directory", got)
	}

	// Never replaced.
	if _, err := d.Put(ctx, "evidence/0001", strings.NewReader("other")); !errors.Is(err, ErrExists) {
		t.Fatalf("second Put = %v, want ErrExists", err)
	}
	if size, _ := d.Stat(ctx, "evidence/0001"); size != int64(len(data)) {
		t.Fatal("second Put changed the blob")
	}
	// An empty blob is a blob.
	if n, err := d.Put(ctx, "empty", strings.NewReader("")); err != nil || n != 0 {
		t.Fatalf("Put empty = %d, %v", n, err)
	}
	if size, err := d.Stat(ctx, "empty"); err != nil || size != 0 {
		t.Fatalf("Stat empty = %d, %v", size, err)
	}

	if err := d.Delete(ctx, "evidence/0001"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"evidence/0001", "missing", "evidence", "empty/below", "evidence/0001/x"} {
		t.Run("missing "+key, func(t *testing.T) {
			if _, err := d.Get(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get = %v, want ErrNotFound", err)
			}
			if _, err := d.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Errorf("Stat = %v, want ErrNotFound", err)
			}
			if err := d.Delete(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Errorf("Delete = %v, want ErrNotFound", err)
			}
		})
	}
	// A key cannot be both a blob and a directory of blobs.
	if _, err := d.Put(ctx, "empty/below", strings.NewReader("x")); err == nil {
		t.Fatal("Put below a blob succeeded")
	}
	if _, err := d.Put(ctx, "evidence", strings.NewReader("x")); !errors.Is(err, ErrExists) {
		t.Fatalf("Put over a directory = %v, want ErrExists", err)
	}
	if got := listFiles(t, root); strings.Join(got, " ") != "empty evidence" {
		t.Fatalf("store holds %q", got)
	}
}

func TestDirBadKeys(t *testing.T) {
	ctx := context.Background()
	d, root := openTestDir(t)
	// A file beside the store, which no key may reach.
	outside := filepath.Join(filepath.Dir(root), "secret")
	os.WriteFile(outside, []byte("x"), 0o600)
	for _, key := range []string{"", "../secret", "a/../../secret", "/etc/passwd", ".tmp-x", "A", "a//b"} {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			if _, err := d.Put(ctx, key, strings.NewReader("x")); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Put = %v", err)
			}
			if _, err := d.Get(ctx, key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Get = %v", err)
			}
			if _, err := d.Stat(ctx, key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Stat = %v", err)
			}
			if err := d.Delete(ctx, key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Delete = %v", err)
			}
		})
	}
	if got := listFiles(t, root); len(got) != 0 {
		t.Fatalf("bad keys left %q", got)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatal(err)
	}
}

func TestDirPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	d, root := openTestDir(t)
	if _, err := d.Put(context.Background(), "a/b/c", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want fs.FileMode
	}{
		{"", 0o700 | fs.ModeDir},
		{"a", 0o700 | fs.ModeDir},
		{"a/b", 0o700 | fs.ModeDir},
		{"a/b/c", 0o600},
	} {
		fi, err := os.Stat(filepath.Join(root, c.path))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode() & (fs.ModeDir | fs.ModePerm); got != c.want {
			t.Errorf("%q has mode %v, want %v", c.path, got, c.want)
		}
	}
}

// TestDirPutFailure checks that a Put that fails leaves nothing: no
// blob, no temporary file.
func TestDirPutFailure(t *testing.T) {
	boom := errors.New("source failed")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name string
		ctx  context.Context
		r    func(ctx context.Context, cancel func()) io.Reader
		want error
	}{
		{"reader fails half way", context.Background(), func(context.Context, func()) io.Reader {
			return io.MultiReader(bytes.NewReader(plaintext(300_000)), iotest.ErrReader(boom))
		}, boom},
		{"reader fails at once", context.Background(), func(context.Context, func()) io.Reader {
			return iotest.ErrReader(boom)
		}, boom},
		{"context already cancelled", cancelled, func(context.Context, func()) io.Reader {
			return bytes.NewReader(plaintext(10))
		}, context.Canceled},
		{"context cancelled half way", nil, func(ctx context.Context, cancel func()) io.Reader {
			return io.MultiReader(bytes.NewReader(plaintext(300_000)), readFunc(func([]byte) (int, error) {
				cancel()
				return 0, nil
			}), bytes.NewReader(plaintext(300_000)))
		}, context.Canceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, root := openTestDir(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if c.ctx != nil {
				ctx = c.ctx
			}
			_, err := d.Put(ctx, "evidence/0001", c.r(ctx, cancel))
			if !errors.Is(err, c.want) {
				t.Fatalf("Put = %v, want %v", err, c.want)
			}
			if _, err := d.Stat(context.Background(), "evidence/0001"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("after failed Put, Stat = %v", err)
			}
			for _, f := range listFiles(t, root) {
				if f != "evidence" {
					t.Fatalf("failed Put left %q", f)
				}
			}
		})
	}
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }

func TestDirConcurrentPuts(t *testing.T) {
	ctx := context.Background()
	d, root := openTestDir(t)
	const n = 32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Shared parent directories, created concurrently.
			key := fmt.Sprintf("case/%d/item-%d", i%4, i)
			if _, err := d.Put(ctx, key, bytes.NewReader(plaintext(1000+i))); err != nil {
				t.Errorf("Put %s: %v", key, err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		key := fmt.Sprintf("case/%d/item-%d", i%4, i)
		rc, err := d.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, plaintext(1000+i)) {
			t.Errorf("%s holds the wrong bytes", key)
		}
	}
	if got := len(listFiles(t, root)); got != 1+4+n {
		t.Fatalf("store holds %d entries, want %d", got, 1+4+n)
	}
}

// TestDirConcurrentSameKey races Puts of one key: exactly one wins, the
// others fail with ErrExists, and the blob is the winner's, whole.
func TestDirConcurrentSameKey(t *testing.T) {
	ctx := context.Background()
	d, root := openTestDir(t)
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = d.Put(ctx, "contested", bytes.NewReader(bytes.Repeat([]byte{byte(i)}, 200_000)))
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("Puts %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, ErrExists):
			t.Fatalf("Put %d: %v, want ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no Put succeeded")
	}
	rc, _ := d.Get(ctx, "contested")
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, bytes.Repeat([]byte{byte(winner)}, 200_000)) {
		t.Fatal("the blob is not the winner's")
	}
	if got := listFiles(t, root); len(got) != 1 {
		t.Fatalf("store holds %q", got)
	}
}

// TestDirSymlinkEscape checks that a symbolic link planted in the store
// cannot lead a blob out of it.
func TestDirSymlinkEscape(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges")
	}
	ctx := context.Background()
	d, root := openTestDir(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(ctx, "link/x", strings.NewReader("x")); err == nil {
		t.Fatal("Put through a symlink out of the store succeeded")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("Put wrote %d files outside the store", len(entries))
	}
}

// TestDirList: List gives every blob under a prefix with its size and
// time, never a temporary file or a symbolic link, lets its callback
// delete what it is given, and stops at the callback's error or the
// context's end.
func TestDirList(t *testing.T) {
	d, path := openTestDir(t)
	ctx := context.Background()
	for key, body := range map[string]string{"evidence/a/x1": "one", "evidence/a/x2": "three", "evidence/b/y": "22", "other/z": "z",
		"evidencex": "not under evidence/"} {
		if _, err := d.Put(ctx, key, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(path, "evidence", "a", ".tmp-0123"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(path, "other", "z"), filepath.Join(path, "evidence", "b", "link")); err != nil {
		t.Fatal(err)
	}
	list := func(prefix string) string {
		t.Helper()
		var keys []string
		err := d.List(ctx, prefix, func(b Info) error {
			if b.Modified.IsZero() || time.Since(b.Modified) > time.Minute {
				t.Errorf("%s: modified %v", b.Key, b.Modified)
			}
			keys = append(keys, fmt.Sprintf("%s=%d", b.Key, b.Size))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(keys)
		return strings.Join(keys, " ")
	}
	for _, c := range []struct{ prefix, want string }{
		{"", "evidence/a/x1=3 evidence/a/x2=5 evidence/b/y=2 evidencex=19 other/z=1"},
		{"evidence/", "evidence/a/x1=3 evidence/a/x2=5 evidence/b/y=2"},
		{"evidence/a/", "evidence/a/x1=3 evidence/a/x2=5"},
		{"evidence/a/x1", "evidence/a/x1=3"},
		{"nothing/", ""},
	} {
		if got := list(c.prefix); got != c.want {
			t.Errorf("List(%q) = %q, want %q", c.prefix, got, c.want)
		}
	}
	if err := d.List(ctx, "evidence/", func(b Info) error { return d.Delete(ctx, b.Key) }); err != nil {
		t.Fatal(err)
	}
	if got := list(""); got != "evidencex=19 other/z=1" {
		t.Errorf("after deleting under evidence/: %q", got)
	}
	stop := errors.New("enough")
	if err := d.List(ctx, "", func(Info) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("the callback's error: %v", err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := d.List(done, "", func(Info) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled list: %v", err)
	}
}
