package blob

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

var (
	testKey = bytes.Repeat([]byte{0x42}, KeySize)
	testAAD = []byte("evidence/test-item")
)

// plaintext returns n reproducible, incompressible bytes.
func plaintext(n int) []byte {
	p := make([]byte, n)
	rand.NewChaCha8([32]byte{1}).Read(p)
	return p
}

// detRand is a reproducible source for the salt and nonce prefix, for
// streams that must come out the same on every run.
func detRand(seed byte) io.Reader { return rand.NewChaCha8([32]byte{seed}) }

// sealBytes seals p with the given chunk size, writing it in pieces of
// the given size (0: all at once) to exercise the sealer's buffering.
func sealBytes(t testing.TB, p []byte, key, aad []byte, chunkSize, piece int) []byte {
	t.Helper()
	var out bytes.Buffer
	s := newSealer(&out, key, aad, chunkSize, detRand(7))
	if piece == 0 {
		piece = len(p) + 1
	}
	for rest := p; len(rest) > 0; {
		k := min(piece, len(rest))
		n, err := s.Write(rest[:k])
		if err != nil || n != k {
			t.Fatalf("Write = %d, %v; want %d, nil", n, err, k)
		}
		rest = rest[k:]
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return out.Bytes()
}

// sealedSize is the length of a sealed stream of n plaintext bytes, as
// docs/evidence-format.md gives it.
func sealedSize(n, chunkSize int) int {
	chunks := max(1, (n+chunkSize-1)/chunkSize)
	return headerSize + n + chunks*tagSize
}

// openAll reads the whole plaintext of sealed, one byte at a time.
func openAll(sealed, key, aad []byte) ([]byte, error) {
	return io.ReadAll(iotest.OneByteReader(Open(bytes.NewReader(sealed), key, aad)))
}

func readAll(r io.Reader) ([]byte, error) { return io.ReadAll(r) }

func TestRoundTrip(t *testing.T) {
	for _, cs := range []int{ChunkSize, minChunkSize, 1000} {
		for _, n := range []int{0, 1, cs - 1, cs, cs + 1, 2 * cs, 3*cs + 5, 5 * cs} {
			for _, piece := range []int{0, 1, 7, cs, cs + 3} {
				if piece == 1 && n > 4*minChunkSize {
					continue // byte by byte is slow and tells nothing more here
				}
				t.Run(fmt.Sprintf("chunk%d/size%d/piece%d", cs, n, piece), func(t *testing.T) {
					p := plaintext(n)
					sealed := sealBytes(t, p, testKey, testAAD, cs, piece)
					if len(sealed) != sealedSize(n, cs) {
						t.Fatalf("sealed %d bytes into %d, want %d", n, len(sealed), sealedSize(n, cs))
					}
					got, err := readAll(Open(bytes.NewReader(sealed), testKey, testAAD))
					if err != nil {
						t.Fatalf("Open: %v", err)
					}
					if !bytes.Equal(got, p) {
						t.Fatalf("round trip of %d bytes gave %d different bytes", n, len(got))
					}
				})
			}
		}
	}
}

// TestSealPublic checks the exported Seal: default chunk size, fresh
// randomness per stream, and odd read sizes on the way out.
func TestSealPublic(t *testing.T) {
	p := plaintext(3*ChunkSize + 17)
	var a, b bytes.Buffer
	for _, buf := range []*bytes.Buffer{&a, &b} {
		w := Seal(buf, testKey, testAAD)
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := w.Write([]byte("x")); err == nil {
			t.Fatal("Write after Close succeeded")
		}
	}
	if bytes.Equal(a.Bytes()[:headerSize], b.Bytes()[:headerSize]) {
		t.Fatal("two streams share salt and nonce prefix")
	}
	if a.Len() != sealedSize(len(p), ChunkSize) {
		t.Fatalf("sealed size %d, want %d", a.Len(), sealedSize(len(p), ChunkSize))
	}
	got, err := openAll(a.Bytes(), testKey, testAAD)
	if err != nil || !bytes.Equal(got, p) {
		t.Fatalf("Open: %d bytes, %v", len(got), err)
	}
}

// checkRejected opens a stream that must fail. It fails the test unless
// Open returns an error and, before it, only whole chunks of the genuine
// plaintext: a prefix of want ending on a chunk boundary.
func checkRejected(t *testing.T, sealed, key, aad, want []byte, chunkSize int) error {
	t.Helper()
	got, err := readAll(Open(bytes.NewReader(sealed), key, aad))
	if err == nil {
		t.Fatalf("tampered stream opened without error (%d bytes of plaintext)", len(got))
	}
	if !bytes.HasPrefix(want, got) {
		t.Fatalf("released %d bytes that are not the genuine plaintext (err %v)", len(got), err)
	}
	if len(got)%chunkSize != 0 || len(got) == len(want) && len(got) > 0 {
		t.Fatalf("released %d bytes, not whole non-final chunks of %d (err %v)", len(got), chunkSize, err)
	}
	return err
}

// layout locates the chunks of a sealed stream of n plaintext bytes.
type layout struct {
	chunkSize, n int
}

func (l layout) chunks() int { return max(1, (l.n+l.chunkSize-1)/l.chunkSize) }

// chunk returns the offsets of sealed chunk i: [start, end).
func (l layout) chunk(i int) (int, int) {
	start := headerSize + i*(l.chunkSize+tagSize)
	end := start + l.chunkSize + tagSize
	if i == l.chunks()-1 {
		end = headerSize + l.n + l.chunks()*tagSize
	}
	return start, end
}

func TestTamper(t *testing.T) {
	for _, cs := range []int{ChunkSize, minChunkSize} {
		n := 4*cs + cs/2
		p := plaintext(n)
		l := layout{cs, n}
		sealed := sealBytes(t, p, testKey, testAAD, cs, 0)
		// The same plaintext under the same key and aad, but another salt
		// and nonce prefix.
		var otherBuf bytes.Buffer
		ow := newSealer(&otherBuf, testKey, testAAD, cs, detRand(8))
		ow.Write(p)
		ow.Close()
		other := otherBuf.Bytes()

		flip := func(off int, bit byte) func([]byte) []byte {
			return func(b []byte) []byte { b[off] ^= bit; return b }
		}
		cut := func(at int) func([]byte) []byte {
			return func(b []byte) []byte { return b[:at] }
		}
		type tc struct {
			name   string
			tamper func([]byte) []byte
		}
		tcs := []tc{}
		for off := range headerSize {
			tcs = append(tcs, tc{fmt.Sprintf("flip header byte %d", off), flip(off, 0x01)})
		}
		for i := range l.chunks() {
			start, end := l.chunk(i)
			tcs = append(tcs,
				tc{fmt.Sprintf("flip first byte of chunk %d", i), flip(start, 0x80)},
				tc{fmt.Sprintf("flip middle of chunk %d", i), flip((start+end)/2, 0x10)},
				tc{fmt.Sprintf("flip tag of chunk %d", i), flip(end-1, 0x01)},
				tc{fmt.Sprintf("flip first tag byte of chunk %d", i), flip(end-tagSize, 0x04)},
				tc{fmt.Sprintf("cut at start of chunk %d", i), cut(start)},
				tc{fmt.Sprintf("cut 1 into chunk %d", i), cut(start + 1)},
				tc{fmt.Sprintf("cut inside chunk %d", i), cut((start + end) / 2)},
				tc{fmt.Sprintf("cut inside tag of chunk %d", i), cut(end - tagSize/2)},
				tc{fmt.Sprintf("cut 1 before end of chunk %d", i), cut(end - 1)},
				tc{fmt.Sprintf("drop chunk %d", i), func(b []byte) []byte {
					return append(b[:start:start], b[end:]...)
				}},
				tc{fmt.Sprintf("duplicate chunk %d", i), func(b []byte) []byte {
					return append(append(b[:end:end], b[start:end]...), b[end:]...)
				}},
				tc{fmt.Sprintf("chunk %d from another stream", i), func(b []byte) []byte {
					copy(b[start:end], other[start:end])
					return b
				}},
			)
			if i < l.chunks()-1 {
				tcs = append(tcs, tc{fmt.Sprintf("cut after chunk %d", i), cut(end)})
			}
		}
		for i := 0; i+1 < l.chunks()-1; i++ {
			tcs = append(tcs, tc{fmt.Sprintf("swap chunks %d and %d", i, i+1), func(b []byte) []byte {
				s1, e1 := l.chunk(i)
				_, e2 := l.chunk(i + 1)
				out := append([]byte{}, b[:s1]...)
				out = append(out, b[e1:e2]...)
				out = append(out, b[s1:e1]...)
				return append(out, b[e2:]...)
			}})
		}
		for at := range headerSize {
			tcs = append(tcs, tc{fmt.Sprintf("cut inside header at %d", at), cut(at)})
		}
		tcs = append(tcs,
			tc{"cut after header", cut(headerSize)},
			tc{"append a byte", func(b []byte) []byte { return append(b, 0) }},
			tc{"append a copy of chunk 1", func(b []byte) []byte {
				s, e := l.chunk(1)
				return append(b, b[s:e]...)
			}},
			tc{"append a copy of the final chunk", func(b []byte) []byte {
				s, e := l.chunk(l.chunks() - 1)
				return append(b, b[s:e]...)
			}},
			tc{"header from another stream", func(b []byte) []byte {
				copy(b, other[:headerSize])
				return b
			}},
			tc{"chunk size halved", func(b []byte) []byte {
				binary.BigEndian.PutUint32(b[offChunkSize:], uint32(cs/2))
				return b
			}},
			tc{"chunk size doubled", func(b []byte) []byte {
				binary.BigEndian.PutUint32(b[offChunkSize:], uint32(cs*2))
				return b
			}},
			tc{"final chunk moved first", func(b []byte) []byte {
				s, e := l.chunk(l.chunks() - 1)
				out := append([]byte{}, b[:headerSize]...)
				out = append(out, b[s:e]...)
				return append(out, b[headerSize:s]...)
			}},
			tc{"empty final chunk appended after full ones", func(b []byte) []byte {
				// Not forgeable without the key, but must be refused
				// even if it were.
				return append(b[:headerSize+(cs+tagSize)], make([]byte, tagSize)...)
			}},
		)
		for _, c := range tcs {
			t.Run(fmt.Sprintf("chunk%d/%s", cs, c.name), func(t *testing.T) {
				b := c.tamper(bytes.Clone(sealed))
				err := checkRejected(t, b, testKey, testAAD, p, cs)
				if !errors.Is(err, ErrAuth) && !errors.Is(err, ErrFormat) {
					t.Fatalf("error %v wraps neither ErrAuth nor ErrFormat", err)
				}
			})
		}
	}
}

// TestTamperEverywhere flips every bit and cuts at every offset of a
// small-chunk stream.
func TestTamperEverywhere(t *testing.T) {
	cs := minChunkSize
	p := plaintext(3*cs + 10)
	sealed := sealBytes(t, p, testKey, testAAD, cs, 0)
	for at := range len(sealed) {
		checkRejected(t, sealed[:at], testKey, testAAD, p, cs)
		for bit := range 8 {
			b := bytes.Clone(sealed)
			b[at] ^= 1 << bit
			checkRejected(t, b, testKey, testAAD, p, cs)
		}
	}
}

func TestWrongKeyOrAAD(t *testing.T) {
	p := plaintext(2*ChunkSize + 1)
	sealed := sealBytes(t, p, testKey, testAAD, ChunkSize, 0)
	otherKey := bytes.Clone(testKey)
	otherKey[31] ^= 1
	for _, c := range []struct {
		name     string
		key, aad []byte
	}{
		{"other key", otherKey, testAAD},
		{"other aad", testKey, []byte("evidence/other-item")},
		{"aad with a byte more", testKey, append(bytes.Clone(testAAD), 0)},
		{"no aad", testKey, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := readAll(Open(bytes.NewReader(sealed), c.key, c.aad))
			if !errors.Is(err, ErrAuth) || len(got) != 0 {
				t.Fatalf("got %d bytes, %v; want none and ErrAuth", len(got), err)
			}
		})
	}
	// Empty and nil aad are the same associated data.
	sealed = sealBytes(t, p[:10], testKey, nil, ChunkSize, 0)
	if got, err := readAll(Open(bytes.NewReader(sealed), testKey, []byte{})); err != nil || !bytes.Equal(got, p[:10]) {
		t.Fatalf("nil vs empty aad: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	p := plaintext(3 * minChunkSize)
	sealed := sealBytes(t, p, testKey, testAAD, minChunkSize, 0)

	t.Run("short key", func(t *testing.T) {
		_, err := readAll(Open(bytes.NewReader(sealed), testKey[:16], testAAD))
		if err == nil || !strings.Contains(err.Error(), "data key is 16 bytes") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("read error mid-stream is passed on, not taken for the end", func(t *testing.T) {
		boom := errors.New("disk on fire")
		r := io.MultiReader(bytes.NewReader(sealed[:headerSize+minChunkSize+tagSize+5]), iotest.ErrReader(boom))
		o := Open(r, testKey, testAAD)
		got, err := readAll(o)
		if !errors.Is(err, boom) || errors.Is(err, ErrAuth) {
			t.Fatalf("err = %v, want the read error", err)
		}
		if !bytes.Equal(got, p[:minChunkSize]) {
			t.Fatalf("released %d bytes, want the first chunk", len(got))
		}
		if n, err2 := o.Read(make([]byte, 10)); n != 0 || err2 != err {
			t.Fatalf("Read after error = %d, %v; want the same error", n, err2)
		}
	})
	t.Run("error is sticky", func(t *testing.T) {
		o := Open(bytes.NewReader(sealed[:len(sealed)-1]), testKey, testAAD)
		_, err := readAll(o)
		for range 3 {
			if _, err2 := o.Read(make([]byte, 1)); err2 != err {
				t.Fatalf("Read after error = %v, want %v", err2, err)
			}
		}
	})
	t.Run("EOF repeats", func(t *testing.T) {
		o := Open(bytes.NewReader(sealed), testKey, testAAD)
		readAll(o)
		if n, err := o.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Fatalf("Read at end = %d, %v", n, err)
		}
	})
	for _, c := range []struct {
		name   string
		modify func([]byte)
		want   error
	}{
		{"bad magic", func(b []byte) { b[0] = 'X' }, ErrFormat},
		{"version 2", func(b []byte) { b[offVersion] = 2 }, ErrFormat},
		{"version 0", func(b []byte) { b[offVersion] = 0 }, ErrFormat},
		{"chunk size too small", func(b []byte) { b[offChunkSize+3] = minChunkSize - 1 }, ErrFormat},
		{"chunk size too big", func(b []byte) { b[offChunkSize] = 1 }, ErrFormat},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := bytes.Clone(sealed)
			c.modify(b)
			if _, err := readAll(Open(bytes.NewReader(b), testKey, testAAD)); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

// failWriterAfter accepts n bytes, then fails.
type failWriterAfter struct {
	n   int
	err error
}

func (f *failWriterAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k := f.n
		f.n = 0
		return k, f.err
	}
	f.n -= len(p)
	return len(p), nil
}

func TestSealErrors(t *testing.T) {
	t.Run("short key", func(t *testing.T) {
		w := Seal(io.Discard, testKey[:31], nil)
		if _, err := w.Write([]byte("x")); err == nil {
			t.Fatal("Write with a 31-byte key succeeded")
		}
		if err := w.Close(); err == nil {
			t.Fatal("Close with a 31-byte key succeeded")
		}
	})
	t.Run("write error", func(t *testing.T) {
		boom := errors.New("disk full")
		w := Seal(&failWriterAfter{n: headerSize + ChunkSize, err: boom}, testKey, nil)
		_, err := w.Write(plaintext(3 * ChunkSize))
		if !errors.Is(err, boom) {
			t.Fatalf("Write = %v, want the write error", err)
		}
		if _, err := w.Write([]byte("x")); !errors.Is(err, boom) {
			t.Fatalf("next Write = %v, want the same error", err)
		}
		if err := w.Close(); !errors.Is(err, boom) {
			t.Fatalf("Close = %v, want the same error", err)
		}
	})
	t.Run("write error on close", func(t *testing.T) {
		boom := errors.New("disk full")
		w := Seal(&failWriterAfter{n: headerSize, err: boom}, testKey, nil)
		w.Write([]byte("small"))
		if err := w.Close(); !errors.Is(err, boom) {
			t.Fatalf("Close = %v, want the write error", err)
		}
	})
	t.Run("bad randomness", func(t *testing.T) {
		s := newSealer(io.Discard, testKey, nil, ChunkSize, iotest.ErrReader(errors.New("no entropy")))
		if err := s.Close(); err == nil {
			t.Fatal("Close succeeded without randomness")
		}
	})
}

// TestChunkLimit checks the 2^32-chunk bound on both sides, by starting
// the counters next to it.
func TestChunkLimit(t *testing.T) {
	cs := minChunkSize
	var out bytes.Buffer
	s := newSealer(&out, testKey, nil, cs, detRand(1))
	s.index = math.MaxUint32
	if _, err := s.Write(plaintext(cs + 1)); err == nil {
		t.Fatal("sealer went past chunk 2^32-1")
	}

	// The last possible chunk, index 2^32-1, may be the final one.
	out.Reset()
	s = newSealer(&out, testKey, nil, cs, detRand(1))
	s.index = math.MaxUint32
	s.Write(plaintext(cs))
	if err := s.Close(); err != nil {
		t.Fatalf("final chunk 2^32-1: %v", err)
	}
	o := Open(bytes.NewReader(out.Bytes()), testKey, nil).(*opener)
	if err := o.readHeader(); err != nil {
		t.Fatal(err)
	}
	o.index = math.MaxUint32
	if got, err := readAll(o); err != nil || !bytes.Equal(got, plaintext(cs)) {
		t.Fatalf("open final chunk 2^32-1: %v", err)
	}

	// A non-final chunk there is refused.
	out.Reset()
	s = newSealer(&out, testKey, nil, cs, detRand(1))
	s.Write(plaintext(2 * cs))
	s.Close()
	o = Open(bytes.NewReader(out.Bytes()), testKey, nil).(*opener)
	o.readHeader()
	o.index = math.MaxUint32
	if _, err := readAll(o); !errors.Is(err, ErrAuth) {
		t.Fatalf("non-final chunk 2^32-1: err = %v, want ErrAuth", err)
	}
}

// TestStreamMemory checks that sealing and opening allocate a fixed
// amount, not some per chunk: 64 MiB through Seal and Open must allocate
// well under one megabyte in all.
func TestStreamMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 64 MiB")
	}
	const total = 64 << 20
	block := plaintext(1 << 20)
	run := func() {
		pr, pw := io.Pipe()
		go func() {
			w := Seal(pw, testKey, testAAD)
			for range total / len(block) {
				w.Write(block)
			}
			pw.CloseWithError(w.Close())
		}()
		buf := make([]byte, 32<<10)
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{Open(pr, testKey, testAAD)}, buf)
		if err != nil || n != total {
			t.Fatalf("streamed %d bytes, %v", n, err)
		}
	}
	run() // warm up anything allocated once per process
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	run()
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("streaming %d MiB allocated %d bytes; want under 1 MiB", total>>20, alloc)
	} else {
		t.Logf("streaming %d MiB allocated %d bytes", total>>20, alloc)
	}
}

// The test vector of docs/evidence-format.md: a stream of 100 plaintext
// bytes in chunks of 64, so with a full and a short final chunk.
var (
	vectorKey       = mustHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	vectorAAD       = []byte("evidence/0001")
	vectorSaltNonce = mustHex("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6")
	vectorPlain     = bytes.Repeat([]byte("0123456789"), 10)
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func vectorStream(t testing.TB) []byte {
	var out bytes.Buffer
	s := newSealer(&out, vectorKey, vectorAAD, 64, bytes.NewReader(vectorSaltNonce))
	s.Write(vectorPlain)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestFormatVector pins the format: the stream must match the hex in
// docs/evidence-format.md, so code and document cannot drift apart.
func TestFormatVector(t *testing.T) {
	got := vectorStream(t)
	doc, err := os.ReadFile("../../docs/evidence-format.md")
	if err != nil {
		t.Fatal(err)
	}
	// The document wraps the hex at 64 digits a line.
	h := hex.EncodeToString(got)
	var lines []string
	for len(h) > 64 {
		lines = append(lines, h[:64])
		h = h[64:]
	}
	lines = append(lines, h)
	if !strings.Contains(string(doc), strings.Join(lines, "\n")) {
		t.Errorf("docs/evidence-format.md lacks the test vector; it is\n%s", strings.Join(lines, "\n"))
	}
	sum := sha256.Sum256(got)
	t.Logf("vector: %d bytes, sha256 %x", len(got), sum)
	if p, err := readAll(Open(bytes.NewReader(got), vectorKey, vectorAAD)); err != nil || !bytes.Equal(p, vectorPlain) {
		t.Fatalf("vector does not open: %v", err)
	}
}
