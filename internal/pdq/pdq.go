// Package pdq computes PDQ perceptual hashes, Meta's published 256-bit
// image hash, so that Canopy can match pictures reported to a hotline
// against hash lists of known child sexual abuse material without anyone
// having to look at, store or exchange the pictures themselves.
//
// The hasher is written from the published algorithm and checked against
// the reference implementations' test vectors. Given the same luminance it
// computes what the algorithm specifies, float32 rounding included; from
// an image file it mostly reproduces the C++ reference's hash exactly, and
// otherwise stays within a few bits, far inside the match threshold,
// because Go's JPEG decoder rounds a little differently from libjpeg (the
// references disagree among themselves for the same reason). Two hashes
// match when Distance is at most MatchThreshold; a hash whose quality is
// under 50 comes from a flat or featureless picture and should not be
// trusted for matching.
package pdq

import (
	"errors"
	"fmt"
	"math"
	"sync"
)

const (
	bufSide  = 64  // the Jarosz filter decimates to a 64×64 buffer
	hashSide = 16  // the DCT keeps 16×16 coefficients, one per hash bit
	minSide  = 5   // smaller images hash to zero with quality 0
	maxSide  = 512 // larger images are pre-scaled to keep the filter cheap
)

// dct is the 16×64 DCT-II matrix without its DC row. It is a table computed
// once because the cosines cost far more than the multiplies that use them.
var dct = func() *[hashSide][bufSide]float32 {
	var d [hashSide][bufSide]float32
	scale := math.Sqrt(2.0 / bufSide)
	for i := range d {
		for j := range d[i] {
			d[i][j] = float32(scale * math.Cos(math.Pi/2/bufSide*float64(i+1)*float64(2*j+1)))
		}
	}
	return &d
}()

// coeffs holds the 16×16 DCT output, row-major: index k = 16·i + j
// becomes bit k.
type coeffs [hashSide * hashSide]float32

// scratch holds the image-sized buffers one hash needs. They are pooled
// because a 512×512 image needs 2 MiB of them and a batch run hashes many
// images in a row.
type scratch struct {
	a, b       []float32
	sums       []float32
	xs, ys, cx []int
	terms      []chroma
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (s *scratch) grow(n, cols int) {
	if cap(s.a) < n {
		s.a = make([]float32, n)
		s.b = make([]float32, n)
	}
	s.a, s.b = s.a[:n], s.b[:n]
	if cap(s.sums) < cols {
		s.sums = make([]float32, cols)
	}
	s.sums = s.sums[:cols]
}

var errNonFinite = errors.New("pdq: luminance is not finite (NaN, infinite, or past float32 range)")

// FromLuma hashes a luminance image: rows×cols values, row-major, each
// 0.299·R + 0.587·G + 0.114·B on a 0–255 scale. It runs the published
// algorithm as it stands, without the pre-scaling FromImage applies to large
// images, so that the same luminance gives the reference's hash. The slice
// is not modified. It returns the hash and its quality, 0 to 100.
func FromLuma(luma []float32, rows, cols int) (Hash, int, error) {
	var c coeffs
	q, err := lumaCoeffs(luma, rows, cols, &c)
	if err != nil || q < 0 {
		return Hash{}, 0, err
	}
	return threshold(&c), q, nil
}

// lumaCoeffs checks and copies luma and computes its DCT coefficients. A
// negative quality means the image is too small to hash.
func lumaCoeffs(luma []float32, rows, cols int, c *coeffs) (int, error) {
	if rows < 0 || cols < 0 || (cols > 0 && rows > math.MaxInt/cols) || len(luma) != rows*cols {
		return 0, fmt.Errorf("pdq: luminance has %d values, not %d rows × %d columns", len(luma), rows, cols)
	}
	if rows < minSide || cols < minSide {
		return -1, nil
	}
	s := new(scratch)
	if rows*cols <= maxSide*maxSide {
		// Larger buffers are not pooled, so that hashing one huge
		// luminance image does not pin its scratch memory.
		s = scratchPool.Get().(*scratch)
		defer scratchPool.Put(s)
	}
	s.grow(rows*cols, cols)
	copy(s.a, luma)
	return compute(s, rows, cols, c)
}

// compute runs the algorithm on the rows×cols luminance in s.a, which it
// overwrites, and returns the quality.
func compute(s *scratch, rows, cols int, c *coeffs) (int, error) {
	var buf [bufSide * bufSide]float32
	jarosz(s, rows, cols, &buf)
	q := quality(&buf)
	dct16(&buf, c)
	for _, v := range c {
		// NaN would defeat the median and the comparisons; only FromLuma
		// callers can produce it, images cannot.
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return 0, errNonFinite
		}
	}
	return q, nil
}

// jarosz downsamples the rows×cols image in s.a to 64×64 with two passes of
// a box filter along rows then columns, sampling cell centres.
func jarosz(s *scratch, rows, cols int, out *[bufSide * bufSide]float32) {
	if rows == bufSide && cols == bufSide {
		copy(out[:], s.a)
		return
	}
	// The window is about twice the decimation step, so two passes make
	// a tent-like filter that keeps aliasing out of the 64×64 buffer.
	wr := (cols + 2*bufSide - 1) / (2 * bufSide)
	wc := (rows + 2*bufSide - 1) / (2 * bufSide)
	boxRows(s.a, s.b, rows, cols, wr)
	boxCols(s.b, s.a, rows, cols, wc, s.sums)
	boxRows(s.a, s.b, rows, cols, wr)
	var ri, ci [bufSide]int
	centres(&ri, rows)
	centres(&ci, cols)
	// Only 64 of the columns are sampled, and columns are filtered
	// independently, so the last pass filters just those.
	boxColsSampled(s.b, rows, cols, wc, &ri, &ci, out)
}

// centres sets idx[i] to the input index at the centre of output cell i.
func centres(idx *[bufSide]int, n int) {
	for i := range idx {
		idx[i] = int((float64(i) + 0.5) * float64(n) / bufSide)
	}
}

// quality scores how much detail the 64×64 buffer has, 0 to 100, from the
// total gradient between neighbours.
func quality(buf *[bufSide * bufSide]float32) int {
	sum := 0
	for i := 0; i < bufSide; i++ {
		for j := 0; j < bufSide; j++ {
			u := buf[i*bufSide+j]
			if i+1 < bufSide {
				sum += absInt(int((u - buf[(i+1)*bufSide+j]) * 100 / 255))
			}
			if j+1 < bufSide {
				sum += absInt(int((u - buf[i*bufSide+j+1]) * 100 / 255))
			}
		}
	}
	return min(sum/90, 100)
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// dct16 computes c = D·A·Dᵀ as (D·A)·Dᵀ, keeping the 16×16 lowest
// non-DC frequencies. The explicit float32 conversions stop the compiler
// fusing multiply and add on platforms with FMA, which would round
// differently from the reference.
func dct16(a *[bufSide * bufSide]float32, c *coeffs) {
	var t [hashSide][bufSide]float32
	for i := range t {
		ti := &t[i]
		for k := 0; k < bufSide; k++ {
			d := dct[i][k]
			ak := (*[bufSide]float32)(a[k*bufSide:])
			for j := range ti {
				ti[j] += float32(d * ak[j])
			}
		}
	}
	for i := range hashSide {
		for j := range hashSide {
			var sum float32
			dj := &dct[j]
			for k, v := range &t[i] {
				sum += float32(v * dj[k])
			}
			c[i*hashSide+j] = sum
		}
	}
}

// threshold sets each bit whose coefficient is above the median. The lower
// median (the 128th smallest) leaves exactly 128 bits set when the values
// are distinct, as in the reference.
func threshold(c *coeffs) Hash {
	tmp := *c
	m := nth(tmp[:], len(tmp)/2-1)
	var h Hash
	for k, v := range c {
		if v > m {
			h.setBit(k)
		}
	}
	return h
}

// nth returns the k-th smallest of a (0-based), reordering a. It is a
// quickselect; a has no NaN, so comparisons are a total order.
func nth(a []float32, k int) float32 {
	lo, hi := 0, len(a)-1
	for hi > lo {
		// Median of three keeps sorted input (common for flat images)
		// from going quadratic.
		mid := lo + (hi-lo)/2
		if a[mid] < a[lo] {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi] < a[lo] {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[hi] < a[mid] {
			a[hi], a[mid] = a[mid], a[hi]
		}
		p := a[mid]
		i, j := lo, hi
		for i <= j {
			for a[i] < p {
				i++
			}
			for a[j] > p {
				j--
			}
			if i <= j {
				a[i], a[j] = a[j], a[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return a[k]
		}
	}
	return a[k]
}

// The eight dihedral transforms in the order Dihedral returns them.
const (
	original = iota
	rotate90
	rotate180
	rotate270
	flipX
	flipY
	flipPlus1
	flipMinus1
)

// dihedral derives the hashes of the seven rotations and reflections of
// an image from its DCT: moving the image permutes and negates
// coefficients, because each basis function is symmetric or antisymmetric.
func dihedral(c *coeffs) [8]Hash {
	var out [8]Hash
	var t coeffs
	for n := range out {
		for i := range hashSide {
			for j := range hashSide {
				v := c[i*hashSide+j]
				// Basis row i is frequency i+1: odd frequencies (even i)
				// change sign when that axis is reversed.
				neg := false
				ti, tj := i, j
				switch n {
				case rotate90:
					ti, tj, neg = j, i, j%2 == 0
				case rotate180:
					neg = (i+j)%2 == 1
				case rotate270:
					ti, tj, neg = j, i, i%2 == 0
				case flipX:
					neg = i%2 == 0
				case flipY:
					neg = j%2 == 0
				case flipPlus1:
					ti, tj = j, i
				case flipMinus1:
					ti, tj, neg = j, i, (i+j)%2 == 1
				}
				if neg {
					v = -v
				}
				t[ti*hashSide+tj] = v
			}
		}
		out[n] = threshold(&t)
	}
	return out
}
