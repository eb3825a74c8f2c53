package blob

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

func digestOf(p []byte, chunkSize int) Digest {
	s := sha256.Sum256(p)
	m := md5.Sum(p)
	return Digest{
		Size:       int64(len(p)),
		SHA256:     hex.EncodeToString(s[:]),
		MD5:        hex.EncodeToString(m[:]),
		StoredSize: int64(sealedSize(len(p), chunkSize)),
	}
}

func TestAcquireVerify(t *testing.T) {
	ctx := context.Background()
	d, _ := openTestDir(t)
	for _, n := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 5*ChunkSize + 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			key := fmt.Sprintf("evidence/%d", n)
			aad := []byte(key)
			p := plaintext(n)
			var extra1, extra2 bytes.Buffer
			got, err := Acquire(ctx, d, key, testKey, aad, iotest.HalfReader(bytes.NewReader(p)), &extra1, &extra2)
			if err != nil {
				t.Fatal(err)
			}
			if want := digestOf(p, ChunkSize); got != want {
				t.Fatalf("Acquire = %+v, want %+v", got, want)
			}
			if !bytes.Equal(extra1.Bytes(), p) || !bytes.Equal(extra2.Bytes(), p) {
				t.Fatal("extra writers did not get the plaintext")
			}
			if size, _ := d.Stat(ctx, key); size != got.StoredSize {
				t.Fatalf("stored %d bytes, Acquire says %d", size, got.StoredSize)
			}
			// What is stored is sealed, not the plaintext.
			rc, _ := d.Get(ctx, key)
			stored, _ := io.ReadAll(rc)
			rc.Close()
			if n > 16 && bytes.Contains(stored, p[:16]) {
				t.Fatal("the store holds plaintext")
			}

			var out bytes.Buffer
			if err := Verify(ctx, d, key, testKey, aad, got, &out); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !bytes.Equal(out.Bytes(), p) {
				t.Fatal("Verify streamed the wrong plaintext")
			}
			if err := Verify(ctx, d, key, testKey, aad, got, io.Discard); err != nil {
				t.Fatalf("Verify to io.Discard: %v", err)
			}
			noStored := got
			noStored.StoredSize = 0
			upper := got
			upper.SHA256 = strings.ToUpper(upper.SHA256)
			for _, want := range []Digest{noStored, upper} {
				if err := Verify(ctx, d, key, testKey, aad, want, io.Discard); err != nil {
					t.Fatalf("Verify(%+v): %v", want, err)
				}
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	ctx := context.Background()
	d, root := openTestDir(t)
	p := plaintext(3*ChunkSize + 100)
	aad := []byte("evidence/0001")
	want, err := Acquire(ctx, d, "evidence/0001", testKey, aad, bytes.NewReader(p))
	if err != nil {
		t.Fatal(err)
	}
	other := plaintext(3*ChunkSize + 101)[1:] // same size, other bytes
	otherDigest, err := Acquire(ctx, d, "evidence/0002", testKey, aad, bytes.NewReader(other))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "evidence", "0001")
	genuine, _ := os.ReadFile(path)

	// rewrite replaces the stored blob behind the store's back, as a disk
	// fault or an intruder would.
	rewrite := func(b []byte) func(t *testing.T) {
		return func(t *testing.T) {
			os.Chmod(path, 0o600)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	flipped := bytes.Clone(genuine)
	flipped[headerSize+2*(ChunkSize+tagSize)+5] ^= 1
	swapped := bytes.Clone(genuine)
	copy(swapped[headerSize:], genuine[headerSize+ChunkSize+tagSize:headerSize+2*(ChunkSize+tagSize)])
	copy(swapped[headerSize+ChunkSize+tagSize:], genuine[headerSize:headerSize+ChunkSize+tagSize])

	otherKey := bytes.Clone(testKey)
	otherKey[0] ^= 1
	type tc struct {
		name    string
		setup   func(t *testing.T)
		key     []byte
		aad     []byte
		want    Digest
		wantErr error
	}
	digest := func(f func(*Digest)) Digest { d := want; f(&d); return d }
	for _, c := range []tc{
		{"wrong key", nil, otherKey, aad, want, ErrAuth},
		{"wrong aad", nil, testKey, []byte("evidence/0002"), want, ErrAuth},
		{"other size", nil, testKey, aad, digest(func(d *Digest) { d.Size++ }), ErrMismatch},
		{"other sha256", nil, testKey, aad, digest(func(d *Digest) { d.SHA256 = otherDigest.SHA256 }), ErrMismatch},
		{"other md5", nil, testKey, aad, digest(func(d *Digest) { d.MD5 = otherDigest.MD5 }), ErrMismatch},
		{"other stored size", nil, testKey, aad, digest(func(d *Digest) { d.StoredSize-- }), ErrMismatch},
		{"incomplete digest", nil, testKey, aad, digest(func(d *Digest) { d.MD5 = "" }), nil},
		{"bit flipped on disk", rewrite(flipped), testKey, aad, want, ErrAuth},
		{"chunks swapped on disk", rewrite(swapped), testKey, aad, want, ErrAuth},
		{"truncated on disk at a chunk boundary", rewrite(genuine[:headerSize+2*(ChunkSize+tagSize)]), testKey, aad, want, ErrAuth},
		{"truncated on disk inside a chunk", rewrite(genuine[:len(genuine)-1]), testKey, aad, want, ErrAuth},
		{"extended on disk", rewrite(append(bytes.Clone(genuine), 0)), testKey, aad, want, ErrAuth},
		{"empty on disk", rewrite(nil), testKey, aad, want, ErrAuth},
		// Authentic, and sealed with the same key and aad, but not the
		// item recorded: only the digest can tell.
		{"another item's blob in its place", func(t *testing.T) {
			b, _ := os.ReadFile(filepath.Join(root, "evidence", "0002"))
			rewrite(b)(t)
		}, testKey, aad, want, ErrMismatch},
		{"deleted", func(t *testing.T) { os.Remove(path) }, testKey, aad, want, ErrNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			rewrite(genuine)(t)
			if c.setup != nil {
				c.setup(t)
			}
			var out bytes.Buffer
			err := Verify(ctx, d, "evidence/0001", c.key, c.aad, c.want, &out)
			if err == nil {
				t.Fatal("Verify succeeded")
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Fatalf("Verify = %v, want %v", err, c.wantErr)
			}
			if !bytes.HasPrefix(p, out.Bytes()) && !bytes.HasPrefix(other, out.Bytes()) {
				t.Fatal("Verify wrote bytes that are no item's plaintext")
			}
			t.Log(err)
		})
	}
}

// errWriter fails every write.
type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

func TestVerifyWriteError(t *testing.T) {
	ctx := context.Background()
	d, _ := openTestDir(t)
	want, err := Acquire(ctx, d, "x", testKey, nil, bytes.NewReader(plaintext(1000)))
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("client went away")
	err = Verify(ctx, d, "x", testKey, nil, want, errWriter{boom})
	if !errors.Is(err, boom) || errors.Is(err, ErrAuth) {
		t.Fatalf("Verify = %v, want the write error", err)
	}
}

// failingStore is a Store whose Put reads some of the stream and then
// fails, without reading the rest.
type failingStore struct {
	Store
	after int64
	err   error
}

func (s failingStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	io.CopyN(io.Discard, r, s.after)
	return 0, s.err
}

// sloppyStore is a Store whose Put ignores read errors and keeps what it
// got: Acquire must not leave that behind.
type sloppyStore struct {
	*Dir
}

func (s sloppyStore) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	var buf bytes.Buffer
	io.Copy(&buf, r)
	return s.Dir.Put(ctx, key, &buf)
}

func TestAcquireFailures(t *testing.T) {
	boom := errors.New("boom")
	big := func() io.Reader { return bytes.NewReader(plaintext(5 * ChunkSize)) }
	for _, c := range []struct {
		name     string
		store    func(d *Dir) Store
		r        func() io.Reader
		extra    []io.Writer
		dataKey  []byte
		wantErr  error
		wantText string
	}{
		{"source fails half way", nil, func() io.Reader {
			return io.MultiReader(big(), iotest.ErrReader(boom))
		}, nil, testKey, boom, "read source"},
		{"extra writer fails", nil, big, []io.Writer{io.Discard, errWriter{boom}}, testKey, boom, "extra writer 1"},
		{"store fails at once", func(d *Dir) Store { return failingStore{d, 0, boom} }, big, nil, testKey, boom, ""},
		{"store fails half way", func(d *Dir) Store { return failingStore{d, 2 * ChunkSize, boom} }, big, nil, testKey, boom, ""},
		{"store stops reading and says nothing", func(d *Dir) Store { return failingStore{d, ChunkSize, nil} }, big, nil, testKey, nil, "store returned before the end"},
		{"store keeps what a failed source gave", func(d *Dir) Store { return sloppyStore{d} }, func() io.Reader {
			return io.MultiReader(big(), iotest.ErrReader(boom))
		}, nil, testKey, boom, "read source"},
		{"short data key", nil, big, nil, testKey[:16], nil, "data key is 16 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, root := openTestDir(t)
			var store Store = d
			if c.store != nil {
				store = c.store(d)
			}
			done := make(chan error, 1)
			go func() {
				_, err := Acquire(context.Background(), store, "evidence/1", c.dataKey, nil, c.r(), c.extra...)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Acquire hangs")
			}
			if err == nil {
				t.Fatal("Acquire succeeded")
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Fatalf("Acquire = %v, want %v", err, c.wantErr)
			}
			if !strings.Contains(err.Error(), c.wantText) {
				t.Fatalf("Acquire = %v, want it to mention %q", err, c.wantText)
			}
			for _, f := range listFiles(t, root) {
				if f != "evidence" {
					t.Fatalf("failed Acquire left %q", f)
				}
			}
		})
	}
}

func TestAcquireExisting(t *testing.T) {
	ctx := context.Background()
	d, _ := openTestDir(t)
	first, err := Acquire(ctx, d, "evidence/1", testKey, nil, strings.NewReader("first"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(ctx, d, "evidence/1", testKey, nil, strings.NewReader("second")); !errors.Is(err, ErrExists) {
		t.Fatalf("second Acquire = %v, want ErrExists", err)
	}
	var out bytes.Buffer
	if err := Verify(ctx, d, "evidence/1", testKey, nil, first, &out); err != nil || out.String() != "first" {
		t.Fatalf("first blob after a second Acquire: %q, %v", out.String(), err)
	}
}

func TestAcquireCancel(t *testing.T) {
	d, root := openTestDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	r := io.MultiReader(bytes.NewReader(plaintext(3*ChunkSize)), readFunc(func([]byte) (int, error) {
		once.Do(cancel)
		return 0, nil
	}), bytes.NewReader(plaintext(3*ChunkSize)))
	if _, err := Acquire(ctx, d, "evidence/1", testKey, nil, r); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire = %v, want context.Canceled", err)
	}
	for _, f := range listFiles(t, root) {
		if f != "evidence" {
			t.Fatalf("cancelled Acquire left %q", f)
		}
	}
	if err := Verify(ctx, d, "evidence/1", testKey, nil, Digest{SHA256: "x", MD5: "x"}, io.Discard); !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify with a cancelled context = %v", err)
	}
}
