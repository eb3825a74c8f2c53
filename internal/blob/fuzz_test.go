package blob

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzOpen from fuzzStreams")

var fuzzKey = bytes.Repeat([]byte{0xf0}, KeySize)

// genuineStream is a stream sealed by this package under fuzzKey with
// empty aad, and its plaintext.
type genuineStream struct {
	name          string
	sealed, plain []byte
}

// fuzzStreams returns reproducible genuine streams (fixed randomness, so
// the seed files stay the same), each with its own salt: mostly with
// small chunks, so the fuzzer can reach several chunks in a few hundred
// bytes.
func fuzzStreams() []genuineStream {
	var out []genuineStream
	add := func(name string, n, chunkSize int) {
		p := bytes.Repeat([]byte("evidence"), n/8+1)[:n]
		var b bytes.Buffer
		s := newSealer(&b, fuzzKey, nil, chunkSize, detRand(byte(len(out))))
		s.Write(p)
		if err := s.Close(); err != nil {
			panic(err)
		}
		out = append(out, genuineStream{name, b.Bytes(), p})
	}
	add("empty", 0, minChunkSize)
	add("one-byte", 1, minChunkSize)
	add("chunk-minus-1", minChunkSize-1, minChunkSize)
	add("one-chunk", minChunkSize, minChunkSize)
	add("chunk-plus-1", minChunkSize+1, minChunkSize)
	add("three-chunks", 3*minChunkSize+7, minChunkSize)
	add("default-chunk-size", 100, ChunkSize)
	return out
}

// TestFuzzSeeds keeps testdata/fuzz/FuzzOpen equal to fuzzStreams, since
// FuzzOpen treats exactly those streams as genuine. Run it with
// -update-seeds after a format change.
func TestFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzOpen")
	for _, g := range fuzzStreams() {
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(g.sealed)))
		path := filepath.Join(dir, g.name)
		if *updateSeeds {
			os.MkdirAll(dir, 0o755)
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Errorf("%s is missing or stale (%v); run go test -run TestFuzzSeeds -update-seeds", path, err)
		}
	}
}

// FuzzOpen feeds Open arbitrary bytes. It must not panic, must fail with
// ErrAuth or ErrFormat on anything but a genuine stream, and may release
// plaintext only from chunks of a genuine stream: the fuzzer, not having
// the key, cannot make a chunk that authenticates.
func FuzzOpen(f *testing.F) {
	streams := fuzzStreams()
	byHeader := map[string]genuineStream{}
	for _, g := range streams {
		f.Add(g.sealed)
		byHeader[string(g.sealed[:headerSize])] = g
	}
	f.Add([]byte{})
	f.Add([]byte(magic))
	f.Add(append([]byte(magic), 2, 0, 0, 0, 64))

	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := io.ReadAll(Open(bytes.NewReader(data), fuzzKey, nil))
		var g genuineStream
		known := false
		if len(data) >= headerSize {
			g, known = byHeader[string(data[:headerSize])]
		}
		if err == nil {
			if !known || !bytes.Equal(data, g.sealed) {
				t.Fatalf("a stream that Seal did not write opened (%d bytes of plaintext)", len(got))
			}
			if !bytes.Equal(got, g.plain) {
				t.Fatal("a genuine stream opened to the wrong plaintext")
			}
			return
		}
		if !errors.Is(err, ErrAuth) && !errors.Is(err, ErrFormat) {
			t.Fatalf("error %v wraps neither ErrAuth nor ErrFormat", err)
		}
		if known && bytes.Equal(data, g.sealed) {
			t.Fatalf("a genuine stream was refused: %v", err)
		}
		if len(got) > 0 && (!known || !bytes.HasPrefix(g.plain, got)) {
			t.Fatalf("released %d bytes that are no genuine stream's plaintext", len(got))
		}
	})
}
