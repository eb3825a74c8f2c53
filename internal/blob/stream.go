package blob

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// The sealed stream format, version 1. docs/evidence-format.md specifies it
// byte by byte; keep the two in step. Every value here is on disk: a change
// is a new version, never an edit.
const (
	// KeySize is the size of the data key Seal and Open take: AES-256.
	KeySize = 32

	// ChunkSize is how many plaintext bytes Seal puts in each chunk. Open
	// takes any size from minChunkSize to maxChunkSize that the header
	// declares, so the writer's choice can change without a new version.
	ChunkSize = 64 << 10

	magic        = "CNPYBLOB"
	version1     = 1
	saltSize     = 16
	prefixSize   = 7
	headerSize   = len(magic) + 1 + 4 + saltSize + prefixSize // 36
	tagSize      = 16                                         // GCM tag
	minChunkSize = 64
	maxChunkSize = 1 << 20

	// kdfInfo separates the chunk key from every other use of the data
	// key (internal/seal also seals single values under data keys).
	kdfInfo = "canopy blob v1 aes-256-gcm chunk key"
)

// Offsets of the header fields.
const (
	offVersion   = len(magic)
	offChunkSize = offVersion + 1
	offSalt      = offChunkSize + 4
	offPrefix    = offSalt + saltSize
)

var (
	// ErrAuth means a sealed stream failed authentication: it was
	// altered, truncated, reordered or extended, or it is being opened
	// with the wrong data key or the wrong associated data. The plaintext
	// already returned came from chunks that did authenticate, but the
	// whole is not the file that was sealed: discard it.
	ErrAuth = errors.New("blob: sealed stream is not authentic")

	// ErrFormat means the bytes are not a sealed stream this package can
	// read: another kind of file, or a format version it does not know.
	ErrFormat = errors.New("blob: not a sealed stream of a known format")

	errSealClosed = errors.New("blob: seal: write after close")
)

// Seal returns a writer that encrypts what is written to it and writes the
// sealed stream to w: a header, then the plaintext in chunks of ChunkSize
// bytes, each encrypted and authenticated with AES-256-GCM under a key
// derived from key (KeySize bytes) and a random salt, with aad and the
// header as associated data. aad is not stored; Open must be given the
// same bytes. Use it to bind the stream to what it is (an evidence item's
// ID, say), so that one item's blob cannot be passed off as another's.
//
// Close must be called: it writes the final chunk, without which Open
// rejects the stream as truncated. Close does not close w. Memory use is
// about one chunk whatever the size of the plaintext. An error (including
// a key of the wrong size) is returned by the first Write or Close, and
// by every one after it.
func Seal(w io.Writer, key, aad []byte) io.WriteCloser {
	return newSealer(w, key, aad, ChunkSize, rand.Reader)
}

// Open returns a reader of the plaintext of the sealed stream r, which
// Seal wrote with the same key and aad. Each chunk is authenticated before
// any of its plaintext is returned, and the stream must end with the chunk
// Seal marked final, exactly at the end of r: a stream that was cut short,
// reordered, spliced or extended makes Read return an error wrapping
// ErrAuth, never io.EOF after wrong or partial data. Read errors from r
// are returned wrapped. Errors are sticky. Memory use is about one chunk.
func Open(r io.Reader, key, aad []byte) io.Reader {
	o := &opener{r: r}
	if len(key) != KeySize {
		o.err = fmt.Errorf("blob: open: data key is %d bytes, want %d", len(key), KeySize)
		return o
	}
	// Copied, since the header is read later, at the first Read.
	o.key = append([]byte(nil), key...)
	o.aad = append([]byte(nil), aad...)
	return o
}

// chunkAEAD derives the stream's own key from the data key and the salt in
// header, so that no two streams share a GCM key even when they share a
// data key, and returns AES-256-GCM under it.
func chunkAEAD(key, header []byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, key, header[offSalt:offSalt+saltSize], kdfInfo, KeySize)
	if err != nil {
		return nil, fmt.Errorf("derive chunk key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("chunk cipher: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("chunk cipher: %w", err)
	}
	return gcm, nil
}

// setNonce fills the per-chunk part of the nonce: the big-endian chunk
// index and the final-chunk flag after the stream's random prefix.
func setNonce(nonce *[12]byte, index uint32, last bool) {
	binary.BigEndian.PutUint32(nonce[prefixSize:], index)
	nonce[11] = 0
	if last {
		nonce[11] = 1
	}
}

// sealer is the writer Seal returns. It holds back a full chunk until it
// knows whether more plaintext follows, since only then can it tell
// whether that chunk is the final one.
type sealer struct {
	w         io.Writer
	aead      cipher.AEAD
	ad        []byte // header || aad; the header is ad[:headerSize]
	nonce     [12]byte
	chunkSize int
	buf       []byte // buffered plaintext; capacity chunkSize+tagSize to seal in place
	index     uint32 // index of the chunk in buf
	wroteHdr  bool
	closed    bool
	err       error
}

// newSealer is Seal with the chunk size and the source of randomness
// chosen, for tests that need small chunks or reproducible streams.
func newSealer(w io.Writer, key, aad []byte, chunkSize int, random io.Reader) *sealer {
	s := &sealer{w: w, chunkSize: chunkSize}
	if len(key) != KeySize {
		s.err = fmt.Errorf("blob: seal: data key is %d bytes, want %d", len(key), KeySize)
		return s
	}
	if chunkSize < minChunkSize || chunkSize > maxChunkSize {
		s.err = fmt.Errorf("blob: seal: chunk size %d outside [%d, %d]", chunkSize, minChunkSize, maxChunkSize)
		return s
	}
	s.ad = make([]byte, headerSize, headerSize+len(aad))
	hdr := s.ad[:headerSize]
	copy(hdr, magic)
	hdr[offVersion] = version1
	binary.BigEndian.PutUint32(hdr[offChunkSize:], uint32(chunkSize))
	if _, err := io.ReadFull(random, hdr[offSalt:]); err != nil {
		s.err = fmt.Errorf("blob: seal: random salt and nonce prefix: %w", err)
		return s
	}
	s.ad = append(s.ad, aad...)
	copy(s.nonce[:prefixSize], hdr[offPrefix:])
	aead, err := chunkAEAD(key, hdr)
	if err != nil {
		s.err = fmt.Errorf("blob: seal: %w", err)
		return s
	}
	s.aead = aead
	s.buf = make([]byte, 0, chunkSize+tagSize)
	return s
}

func (s *sealer) Write(p []byte) (int, error) {
	if s.closed {
		return 0, errSealClosed
	}
	if s.err != nil {
		return 0, s.err
	}
	n := 0
	for len(p) > 0 {
		if len(s.buf) == s.chunkSize {
			// More plaintext follows, so the buffered chunk is not the last.
			if err := s.flush(false); err != nil {
				return n, err
			}
		}
		k := copy(s.buf[len(s.buf):s.chunkSize], p)
		s.buf = s.buf[:len(s.buf)+k]
		p = p[k:]
		n += k
	}
	return n, nil
}

// Close seals and writes the buffered plaintext as the final chunk (an
// empty one when nothing was written at all). Calling it again returns the
// same result.
func (s *sealer) Close() error {
	if s.closed || s.err != nil {
		return s.err
	}
	s.closed = true
	return s.flush(true)
}

// flush seals the buffered plaintext as chunk s.index and writes it,
// preceded by the header if this is the first chunk.
func (s *sealer) flush(last bool) error {
	if !s.wroteHdr {
		if _, err := s.w.Write(s.ad[:headerSize]); err != nil {
			s.err = fmt.Errorf("blob: seal: write header: %w", err)
			return s.err
		}
		s.wroteHdr = true
	}
	if !last && s.index == math.MaxUint32 {
		s.err = fmt.Errorf("blob: seal: plaintext longer than %d chunks", uint64(math.MaxUint32)+1)
		return s.err
	}
	setNonce(&s.nonce, s.index, last)
	out := s.aead.Seal(s.buf[:0], s.nonce[:], s.buf, s.ad)
	if _, err := s.w.Write(out); err != nil {
		s.err = fmt.Errorf("blob: seal: write chunk %d: %w", s.index, err)
		return s.err
	}
	s.buf = s.buf[:0]
	if !last {
		s.index++
	}
	return nil
}

// opener is the reader Open returns. It reads one sealed chunk plus one
// byte beyond it: a full chunk followed by end of input is the final
// chunk, a full chunk followed by anything is not, and a short chunk can
// only be the final one.
type opener struct {
	r        io.Reader
	key, aad []byte // until the header is read
	aead     cipher.AEAD
	ad       []byte // header || aad
	nonce    [12]byte
	buf      []byte // one sealed chunk and the byte after it
	carry    bool   // ahead holds the first byte of the next chunk
	ahead    byte
	plain    []byte // authenticated plaintext not yet returned
	index    uint32 // index of the next chunk to open
	done     bool   // the final chunk has been opened
	err      error
}

func (o *opener) Read(p []byte) (int, error) {
	for len(o.plain) == 0 {
		if o.err != nil {
			return 0, o.err
		}
		if o.done {
			return 0, io.EOF
		}
		o.err = o.next()
	}
	n := copy(p, o.plain)
	o.plain = o.plain[n:]
	return n, nil
}

// next reads, authenticates and decrypts the next chunk into o.plain.
func (o *opener) next() error {
	if o.aead == nil {
		if err := o.readHeader(); err != nil {
			return err
		}
	}
	start := 0
	if o.carry {
		o.buf[0] = o.ahead
		start = 1
	}
	n, err := io.ReadFull(o.r, o.buf[start:])
	n += start
	last := false
	switch err {
	case nil:
	case io.EOF, io.ErrUnexpectedEOF:
		last = true
	default:
		return fmt.Errorf("blob: open: read chunk %d: %w", o.index, err)
	}
	var chunk []byte
	if last {
		chunk = o.buf[:n]
		switch {
		case n < tagSize:
			return fmt.Errorf("%w: stream ends before its final chunk (chunk %d is missing or cut short)", ErrAuth, o.index)
		case n == tagSize && o.index > 0:
			// Seal only writes an empty final chunk for empty plaintext.
			return fmt.Errorf("%w: empty final chunk %d after full ones", ErrAuth, o.index)
		}
	} else {
		chunk = o.buf[:n-1]
		o.ahead, o.carry = o.buf[n-1], true
		if o.index == math.MaxUint32 {
			return fmt.Errorf("%w: stream longer than %d chunks", ErrAuth, uint64(math.MaxUint32)+1)
		}
	}
	setNonce(&o.nonce, o.index, last)
	plain, err := o.aead.Open(chunk[:0], o.nonce[:], chunk, o.ad)
	if err != nil {
		return fmt.Errorf("%w: chunk %d fails authentication (wrong key or associated data, or the stream was altered, cut or reordered)", ErrAuth, o.index)
	}
	o.plain = plain
	if last {
		o.done = true
	} else {
		o.index++
	}
	return nil
}

func (o *opener) readHeader() error {
	hdr := make([]byte, headerSize, headerSize+len(o.aad))
	if _, err := io.ReadFull(o.r, hdr); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("%w: stream ends inside its header", ErrAuth)
		}
		return fmt.Errorf("blob: open: read header: %w", err)
	}
	if string(hdr[:len(magic)]) != magic {
		return fmt.Errorf("%w: bad magic", ErrFormat)
	}
	if v := hdr[offVersion]; v != version1 {
		return fmt.Errorf("%w: version %d, this node reads version %d", ErrFormat, v, version1)
	}
	cs := binary.BigEndian.Uint32(hdr[offChunkSize:])
	if cs < minChunkSize || cs > maxChunkSize {
		return fmt.Errorf("%w: chunk size %d outside [%d, %d]", ErrFormat, cs, minChunkSize, maxChunkSize)
	}
	aead, err := chunkAEAD(o.key, hdr)
	if err != nil {
		return fmt.Errorf("blob: open: %w", err)
	}
	o.aead = aead
	o.ad = append(hdr, o.aad...)
	copy(o.nonce[:prefixSize], hdr[offPrefix:])
	o.buf = make([]byte, int(cs)+tagSize+1)
	o.key, o.aad = nil, nil
	return nil
}
