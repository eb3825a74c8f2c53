package pdq

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"

	// The formats the reference vectors and hotline reports come in; Decode
	// needs them registered with package image.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
)

// DefaultMaxPixels is the pixel limit Decode applies when given none:
// enough for a 48-megapixel camera. Memory is about proportional to the
// limit: a decoded image takes 1 to 8 bytes a pixel, and a progressive
// JPEG up to 12 more while it decodes, so a service short of memory
// should pass a lower one.
const DefaultMaxPixels = 50_000_000

// maxHeader bounds what Decode holds while reading an image's header.
// Metadata before the pixel data (EXIF, ICC profiles, embedded previews)
// can legitimately run to megabytes, but not to this.
const maxHeader = 64 << 20

var errHeaderTooLarge = fmt.Errorf("header over %d MiB", maxHeader>>20)

// headerBuffer keeps what DecodeConfig reads, up to maxHeader.
type headerBuffer struct{ bytes.Buffer }

func (b *headerBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxHeader {
		return 0, errHeaderTooLarge
	}
	return b.Buffer.Write(p)
}

// Decode decodes a JPEG, PNG or GIF (its first frame), or any other format
// registered with package image, from r for hashing. It reads the header
// first and refuses an image of more than maxPixels pixels before
// allocating it, since a few bytes can declare an image that would take
// gigabytes to decode; maxPixels ≤ 0 means DefaultMaxPixels. Truncated
// data is an error wrapping io.ErrUnexpectedEOF (except from the PNG
// decoder, which reports its own format error), unrecognised data one
// wrapping image.ErrFormat.
//
// EXIF orientation is not applied: the standard library's decoders ignore
// it. A photo whose camera stored it sideways therefore hashes as stored;
// matching with Dihedral's eight hashes finds it in any orientation.
func Decode(r io.Reader, maxPixels int) (image.Image, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	// Keep what DecodeConfig reads so that Decode can read it again;
	// that is only the header, so this stays small.
	var head headerBuffer
	cfg, format, err := image.DecodeConfig(io.TeeReader(r, &head))
	if err != nil {
		return nil, fmt.Errorf("pdq: decode: %w", eofIsTruncation(err))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("pdq: decode: %s image has no pixels (%d×%d)", format, cfg.Width, cfg.Height)
	}
	if cfg.Width > maxPixels/cfg.Height {
		return nil, fmt.Errorf("pdq: decode: %s image is %d×%d pixels, over the limit of %d", format, cfg.Width, cfg.Height, maxPixels)
	}
	img, _, err := image.Decode(io.MultiReader(&head.Buffer, r))
	if err != nil {
		return nil, fmt.Errorf("pdq: decode %s: %w", format, eofIsTruncation(err))
	}
	return img, nil
}

// eofIsTruncation says what an EOF from a decoder means: the data stopped
// before the image ended. A bare io.EOF becomes io.ErrUnexpectedEOF so
// that callers need test for one error only.
func eofIsTruncation(err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("truncated image: %w", err)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("truncated image: %w", io.ErrUnexpectedEOF)
	}
	return err
}
