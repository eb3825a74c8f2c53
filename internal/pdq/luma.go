package pdq

import (
	"image"
	"image/color"
)

// Luminance weights as float32 products, one table per channel, so that a
// pixel costs three loads and two adds and rounds exactly as the
// reference's float expression 0.299f·R + 0.587f·G + 0.114f·B does.
var lumR, lumG, lumB = func() (r, g, b [256]float32) {
	for i := range 256 {
		r[i] = 0.299 * float32(i)
		g[i] = 0.587 * float32(i)
		b[i] = 0.114 * float32(i)
	}
	return
}()

func lum(r, g, b uint8) float32 {
	return lumR[r] + lumG[g] + lumB[b]
}

// sampleLuma writes the luminance of img at every (xs[j], ys[i]) to
// dst[i*len(xs)+j], coordinates being relative to img.Bounds().Min. With
// every coordinate it converts the whole image; with a subset it is
// nearest-neighbour resampling that reads only the pixels it keeps. s
// provides scratch space.
//
// Colour follows the references, which hash 8-bit RGB: alpha is ignored,
// as when they drop the alpha channel (so the colour under a transparent
// pixel counts, where the image type keeps it), and Y'CbCr goes through
// color.YCbCrToRGB first, as a decoder's RGB output would.
func sampleLuma(img image.Image, xs, ys []int, dst []float32, s *scratch) {
	cols := len(xs)
	switch m := img.(type) {
	case *image.YCbCr:
		sampleYCbCr(m, xs, ys, dst, s)
	case *image.Gray:
		for i, y := range ys {
			row := m.Pix[y*m.Stride:]
			out := dst[i*cols : (i+1)*cols]
			for j, x := range xs {
				v := row[x]
				out[j] = lum(v, v, v)
			}
		}
	case *image.NRGBA:
		for i, y := range ys {
			row := m.Pix[y*m.Stride:]
			out := dst[i*cols : (i+1)*cols]
			for j, x := range xs {
				p := row[4*x : 4*x+3 : 4*x+3]
				out[j] = lum(p[0], p[1], p[2])
			}
		}
	case *image.RGBA:
		for i, y := range ys {
			row := m.Pix[y*m.Stride:]
			out := dst[i*cols : (i+1)*cols]
			for j, x := range xs {
				p := row[4*x : 4*x+4 : 4*x+4]
				if p[3] == 0xff {
					out[j] = lum(p[0], p[1], p[2])
					continue
				}
				// Premultiplied: undo it the way the generic path does.
				c := color.NRGBAModel.Convert(color.RGBA{p[0], p[1], p[2], p[3]}).(color.NRGBA)
				out[j] = lum(c.R, c.G, c.B)
			}
		}
	case *image.Paletted:
		var pal [256]float32
		for k, c := range m.Palette {
			if k == len(pal) {
				break
			}
			pal[k] = colorLuma(c)
		}
		for i, y := range ys {
			row := m.Pix[y*m.Stride:]
			out := dst[i*cols : (i+1)*cols]
			for j, x := range xs {
				// The decoders never leave an index past the palette; should
				// one come, it is black rather than At's panic.
				out[j] = pal[row[x]]
			}
		}
	default:
		origin := img.Bounds().Min
		for i, y := range ys {
			out := dst[i*cols : (i+1)*cols]
			for j, x := range xs {
				out[j] = colorLuma(img.At(origin.X+x, origin.Y+y))
			}
		}
	}
}

// colorLuma is the luminance of any colour, taken as 8-bit RGB without
// premultiplied alpha.
func colorLuma(c color.Color) float32 {
	if c == nil {
		return 0 // a nil palette entry
	}
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return lum(n.R, n.G, n.B)
}

// sampleYCbCr is sampleLuma for Y'CbCr, the type JPEG decodes to and so by
// far the commonest. It does color.YCbCrToRGB's conversion inline, which
// the tests check against the library function for every input.
func sampleYCbCr(m *image.YCbCr, xs, ys []int, dst []float32, s *scratch) {
	cols := len(xs)
	// Chroma planes are subsampled by hd horizontally and vd vertically;
	// offsets are computed as COffset does, with division (not shifts) so
	// that negative coordinates agree with it too.
	hd, vd := 1, 1
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hd = 2
	case image.YCbCrSubsampleRatio420:
		hd, vd = 2, 2
	case image.YCbCrSubsampleRatio440:
		vd = 2
	case image.YCbCrSubsampleRatio411:
		hd = 4
	case image.YCbCrSubsampleRatio410:
		hd, vd = 4, 2
	}
	cx := growInts(&s.cx, cols)
	identity := true
	for j, x := range xs {
		cx[j] = (m.Rect.Min.X+x)/hd - m.Rect.Min.X/hd
		identity = identity && x == j
	}
	if cap(s.terms) < cols {
		s.terms = make([]chroma, cols)
	}
	terms := s.terms[:cols]
	last := -1
	for i, y := range ys {
		// Rows sharing a chroma row (every pair, in 4:2:0) share its
		// colour terms, which are most of the arithmetic.
		if c0 := ((m.Rect.Min.Y+y)/vd - m.Rect.Min.Y/vd) * m.CStride; c0 != last {
			cbRow, crRow := m.Cb[c0:], m.Cr[c0:]
			for j, c := range cx {
				terms[j] = chromaTerms(cbRow[c], crRow[c])
			}
			last = c0
		}
		yRow := m.Y[y*m.YStride:]
		out := dst[i*cols : (i+1)*cols]
		if identity {
			// Every column, as for images not pre-scaled: reading Y
			// directly saves a load and a bounds check per pixel.
			yRow, terms := yRow[:cols], terms[:cols]
			for j, yv := range yRow {
				out[j] = terms[j].luma(yv)
			}
			continue
		}
		for j, x := range xs {
			out[j] = terms[j].luma(yRow[x])
		}
	}
}

// clampOffset keeps table indices positive: see chroma.
const clampOffset = 512

// Luminance of a clamped channel, indexed by an unclamped 16.16 channel
// value shifted down plus clampOffset. It folds color.YCbCrToRGB's
// saturation into the lookup, which clamps a value v to the byte
// min(max(v>>16, 0), 255). A branch per channel was slower, mispredicting
// on busy pictures.
var clampLumR, clampLumG, clampLumB = func() (r, g, b [2 * clampOffset]float32) {
	for k := range r {
		v := min(max(k-clampOffset, 0), 255)
		r[k], g[k], b[k] = lumR[v], lumG[v], lumB[v]
	}
	return
}()

// chroma is what a pixel's Cb and Cr add to its R, G and B in
// color.YCbCrToRGB's 16.16 fixed point, plus clampOffset<<16: with Y
// added, each lies in [284<<16, 947<<16), so shifted down it indexes the
// clamp tables directly.
type chroma struct{ r, g, b int32 }

func chromaTerms(cb, cr uint8) chroma {
	cb1 := int32(cb) - 128
	cr1 := int32(cr) - 128
	const off = clampOffset << 16
	return chroma{91881*cr1 + off, -22554*cb1 - 46802*cr1 + off, 116130*cb1 + off}
}

// luma is the luminance of the pixel with luma byte y and these chroma
// terms: lum(color.YCbCrToRGB(y, cb, cr)).
func (c *chroma) luma(y uint8) float32 {
	yy := int32(y) * 0x10101
	const mask = 2*clampOffset - 1 // always a no-op; spares bounds checks
	return clampLumR[((yy+c.r)>>16)&mask] + clampLumG[((yy+c.g)>>16)&mask] + clampLumB[((yy+c.b)>>16)&mask]
}

// ycbcrLuma is the luminance of one Y'CbCr pixel.
func ycbcrLuma(y, cb, cr uint8) float32 {
	c := chromaTerms(cb, cr)
	return c.luma(y)
}

func growInts(p *[]int, n int) []int {
	if cap(*p) < n {
		*p = make([]int, n)
	}
	*p = (*p)[:n]
	return *p
}
