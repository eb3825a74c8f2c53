// Package preview makes the small pictures an analyst sees of a reported
// image: blurred and greyscale by default, so that nobody is shown abuse
// material in detail merely by opening a report, and in colour and sharp
// only when revealed. Deciding who may reveal, for how long, and recording
// each reveal belong to the caller; this package only turns bytes into a
// preview.
//
// # Limits before pixels
//
// Input comes from outside. A few hundred bytes of PNG or JPEG header can
// declare an image that takes gigabytes to decode, so Thumbnail reads at
// most MaxBytes (64 MiB by default), then reads only the header and
// refuses anything over MaxPixels (40 megapixels) or MaxSide (20,000
// pixels on either side) before a single pixel is allocated. Refusals wrap
// ErrTooLarge. Only JPEG, PNG, GIF (first frame) and WebP are accepted,
// recognised by their signature and decoded by their own decoder, so a
// format some other package registers with package image is not reached
// through here; anything else wraps ErrUnsupported.
//
// # Orientation
//
// Cameras often store a photo sideways with an EXIF orientation tag. The
// standard decoders ignore it, so Thumbnail reads that one tag (and
// nothing else) from a JPEG's APP1 segment and turns the preview upright.
//
// # The protected view
//
// The picture is first scaled to fit the box (480×480 by default, never
// enlarged), then turned to grey and blurred. Blurring after scaling costs
// little whatever the original size. Protected previews are scaled with a
// bilinear filter, revealed ones with Catmull-Rom: the sharper filter
// keeps nothing the blur would not remove, and for a 12-megapixel JPEG it
// costs more than the decoding: it more than doubles the time of a
// protected preview (see BenchmarkProtected4000x3000). The blur
// is a box blur run three times in each direction, which is close to a
// Gaussian; its radius is 4% of the preview's longer side, so the result
// looks equally vague whatever box a page asks for: a larger preview is
// not a sharper one. At that radius the picture resolves to roughly ten
// blobs across, enough to tell a scene or the number of people from an
// empty frame, not enough to make out faces, bodies or text. The blur
// protects the analyst's eyes; it is not anonymisation, and the original
// is kept elsewhere anyway.
//
// # Output
//
// Previews are PNG: lossless, so no compression artefacts sharpen the
// blur's edges or add noise to the grey, and deterministic, so the same
// input and options give the same bytes (useful for caching and tests).
// Re-encoding drops all metadata: the PNG holds only the pixels (IHDR,
// IDAT, IEND), never the original's EXIF, GPS position, ICC profile,
// comments or embedded thumbnails. Transparent areas are laid on mid-grey
// so that what was hidden by transparency stays hidden.
package preview

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// Mode says whether a preview is protected (blurred and grey) or revealed.
// The zero value is Protected, so a forgotten option is the safe one.
type Mode int

const (
	Protected Mode = iota
	Revealed
)

func (m Mode) String() string {
	switch m {
	case Protected:
		return "protected"
	case Revealed:
		return "revealed"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Defaults for the zero fields of Options.
const (
	DefaultBox       = 480
	DefaultMaxPixels = 40_000_000
	DefaultMaxSide   = 20_000
	DefaultMaxBytes  = 64 << 20
)

// blurFraction is the blur radius as a fraction of the preview's longer
// side; see the package comment.
const blurFraction = 0.04

// Options controls Thumbnail. Zero fields take the defaults above.
type Options struct {
	Mode Mode
	// Width and Height are the box the preview must fit in.
	Width, Height int
	// MaxPixels, MaxSide and MaxBytes bound what Thumbnail will decode.
	MaxPixels int
	MaxSide   int
	MaxBytes  int64
}

// Info describes the original image.
type Info struct {
	// Format is "jpeg", "png", "gif" or "webp".
	Format string
	// Width and Height are as stored in the file, before orientation.
	Width, Height int
	// Orientation is the EXIF orientation, 1 to 8; 1 (upright) when the
	// file has none. For 5 to 8 the upright picture is Height wide.
	Orientation int
}

var (
	// ErrTooLarge is wrapped by errors for input over a limit.
	ErrTooLarge = errors.New("image too large")
	// ErrUnsupported is wrapped by errors for input that is not a JPEG,
	// PNG, GIF or WebP.
	ErrUnsupported = errors.New("unsupported image format")
)

type codec struct {
	name         string
	decodeConfig func(io.Reader) (image.Config, error)
	decode       func(io.Reader) (image.Image, error)
}

var codecs = []struct {
	magic string
	codec
}{
	{"\xff\xd8\xff", codec{"jpeg", jpeg.DecodeConfig, jpeg.Decode}},
	{"\x89PNG\r\n\x1a\n", codec{"png", png.DecodeConfig, png.Decode}},
	{"GIF87a", codec{"gif", gif.DecodeConfig, gif.Decode}},
	{"GIF89a", codec{"gif", gif.DecodeConfig, gif.Decode}},
	{"RIFF????WEBP", codec{"webp", webp.DecodeConfig, webp.Decode}},
}

func sniff(b []byte) (codec, bool) {
	for _, c := range codecs {
		if len(b) < len(c.magic) {
			continue
		}
		ok := true
		for i := range len(c.magic) {
			if c.magic[i] != '?' && c.magic[i] != b[i] {
				ok = false
				break
			}
		}
		if ok {
			return c.codec, true
		}
	}
	return codec{}, false
}

// Thumbnail reads an image from r and returns a PNG preview of it that
// fits opt's box, upright, protected or revealed as opt.Mode says, with
// what it learnt of the original.
func Thumbnail(r io.Reader, opt Options) ([]byte, Info, error) {
	opt = opt.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, opt.MaxBytes+1))
	if err != nil {
		return nil, Info{}, fmt.Errorf("preview: read: %w", err)
	}
	if int64(len(data)) > opt.MaxBytes {
		return nil, Info{}, fmt.Errorf("preview: over %d bytes: %w", opt.MaxBytes, ErrTooLarge)
	}
	c, ok := sniff(data)
	if !ok {
		return nil, Info{}, fmt.Errorf("preview: %w", ErrUnsupported)
	}
	cfg, err := c.decodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, Info{}, fmt.Errorf("preview: %s header: %w", c.name, err)
	}
	info := Info{Format: c.name, Width: cfg.Width, Height: cfg.Height, Orientation: 1}
	if err := opt.check(cfg.Width, cfg.Height); err != nil {
		return nil, info, fmt.Errorf("preview: %s: %w", c.name, err)
	}
	if c.name == "jpeg" {
		info.Orientation = exifOrientation(data)
	}
	img, err := c.decode(bytes.NewReader(data))
	if err != nil {
		return nil, info, fmt.Errorf("preview: decode %s: %w", c.name, err)
	}
	// A decoder's image should match its header; check rather than trust.
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, info, fmt.Errorf("preview: decode %s: image is %d×%d, header said %d×%d",
			c.name, b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}
	out := render(img, info.Orientation, opt)
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		return nil, info, fmt.Errorf("preview: encode: %w", err)
	}
	return buf.Bytes(), info, nil
}

func (o Options) withDefaults() Options {
	if o.Width <= 0 {
		o.Width = DefaultBox
	}
	if o.Height <= 0 {
		o.Height = DefaultBox
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.MaxSide <= 0 {
		o.MaxSide = DefaultMaxSide
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	return o
}

func (o Options) check(w, h int) error {
	switch {
	case w <= 0 || h <= 0:
		return fmt.Errorf("image has no pixels (%d×%d)", w, h)
	case w > o.MaxSide || h > o.MaxSide:
		return fmt.Errorf("%d×%d pixels, a side over %d: %w", w, h, o.MaxSide, ErrTooLarge)
	case w > o.MaxPixels/h:
		return fmt.Errorf("%d×%d pixels, over %d: %w", w, h, o.MaxPixels, ErrTooLarge)
	}
	return nil
}

// background is what transparent areas are laid on.
var background = image.NewUniform(color.Gray{0x80})

// render scales img (stored with EXIF orientation orient) to fit opt's box
// and returns the upright preview: an *image.Gray when protected, an
// opaque *image.RGBA when revealed.
func render(img image.Image, orient int, opt Options) image.Image {
	b := img.Bounds()
	// Upright size of the original, then of the preview.
	uw, uh := b.Dx(), b.Dy()
	if orient >= 5 {
		uw, uh = uh, uw
	}
	tw, th := fit(uw, uh, opt.Width, opt.Height)
	// Scale in the stored orientation, then turn the small result.
	sw, sh := tw, th
	if orient >= 5 {
		sw, sh = sh, sw
	}
	scaled := image.NewRGBA(image.Rect(0, 0, sw, sh))
	draw.Draw(scaled, scaled.Bounds(), background, image.Point{}, draw.Src)
	switch {
	case sw == b.Dx() && sh == b.Dy():
		draw.Draw(scaled, scaled.Bounds(), img, b.Min, draw.Over)
	case opt.Mode == Revealed:
		draw.CatmullRom.Scale(scaled, scaled.Bounds(), img, b, draw.Over, nil)
	default:
		// The blur below is far wider than any detail a sharper filter
		// would keep, and this one is much cheaper on a large photo
		// (see the package comment).
		draw.ApproxBiLinear.Scale(scaled, scaled.Bounds(), img, b, draw.Over, nil)
	}
	upright := orientRGBA(scaled, orient)
	if opt.Mode == Revealed {
		return upright
	}
	g := grey(upright)
	r := int(math.Round(blurFraction * float64(max(tw, th))))
	blur(g, max(r, 1), 3)
	return g
}

// fit returns the size of a w×h picture scaled down to fit a bw×bh box,
// keeping its aspect ratio; a picture that already fits keeps its size.
func fit(w, h, bw, bh int) (int, int) {
	if w <= bw && h <= bh {
		return w, h
	}
	s := min(float64(bw)/float64(w), float64(bh)/float64(h))
	return max(1, int(math.Round(float64(w)*s))), max(1, int(math.Round(float64(h)*s)))
}

// grey converts an opaque picture to luma with the BT.601 weights, as
// JPEG does, in integers so that the output is the same on every machine.
func grey(m *image.RGBA) *image.Gray {
	b := m.Bounds()
	g := image.NewGray(b)
	for y := 0; y < b.Dy(); y++ {
		src := m.Pix[y*m.Stride : y*m.Stride+4*b.Dx()]
		dst := g.Pix[y*g.Stride : y*g.Stride+b.Dx()]
		for x := range dst {
			r, gr, bl := uint32(src[4*x]), uint32(src[4*x+1]), uint32(src[4*x+2])
			dst[x] = uint8((19595*r + 38470*gr + 7471*bl + 1<<15) >> 16)
		}
	}
	return g
}
