package pdq

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveCoeffs is the published algorithm written as plainly as possible:
// every box filter walks its own row or column, both passes run on the
// whole image, and the DCT is two textbook matrix products. The package's
// optimised path must give bit-identical coefficients, which is the
// reference's rule that the same luminance gives the same hash.
func naiveCoeffs(luma []float32, rows, cols int) (c [256]float32, quality int) {
	a := slices.Clone(luma)
	var buf [64][64]float32
	if rows == 64 && cols == 64 {
		for i := range 64 {
			copy(buf[i][:], a[i*64:])
		}
	} else {
		wr := (cols + 127) / 128
		wc := (rows + 127) / 128
		b := make([]float32, len(a))
		for range 2 {
			for i := range rows {
				naiveBox(a[i*cols:], b[i*cols:], cols, 1, wr)
			}
			for j := range cols {
				naiveBox(b[j:], a[j:], rows, cols, wc)
			}
		}
		for i := range 64 {
			for j := range 64 {
				buf[i][j] = a[int((float64(i)+0.5)*float64(rows)/64)*cols+int((float64(j)+0.5)*float64(cols)/64)]
			}
		}
	}
	sum := 0
	for i := range 63 {
		for j := range 64 {
			d := int((buf[i][j] - buf[i+1][j]) * 100 / 255)
			sum += max(d, -d)
		}
	}
	for i := range 64 {
		for j := range 63 {
			d := int((buf[i][j] - buf[i][j+1]) * 100 / 255)
			sum += max(d, -d)
		}
	}
	quality = min(sum/90, 100)
	var d [16][64]float32
	for i := range 16 {
		for j := range 64 {
			d[i][j] = float32(math.Sqrt(2.0/64) * math.Cos((math.Pi/128)*float64(i+1)*float64(2*j+1)))
		}
	}
	var t [16][64]float32
	for i := range 16 {
		for j := range 64 {
			var s float32
			for k := range 64 {
				s += float32(d[i][k] * buf[k][j])
			}
			t[i][j] = s
		}
	}
	for i := range 16 {
		for j := range 16 {
			var s float32
			for k := range 64 {
				s += float32(t[i][k] * d[j][k])
			}
			c[16*i+j] = s
		}
	}
	return c, quality
}

// naiveBox is the four-phase box filter on n values stride apart.
func naiveBox(in, out []float32, n, stride, w int) {
	half := (w + 2) / 2
	var sum float32
	count, next, old, o := 0, 0, 0, 0
	for range half - 1 {
		sum += in[next*stride]
		next++
	}
	count = half - 1
	for range w - half + 1 {
		sum += in[next*stride]
		next++
		count++
		out[o*stride] = sum / float32(count)
		o++
	}
	for range n - w {
		sum += in[next*stride]
		next++
		sum -= in[old*stride]
		old++
		out[o*stride] = sum / float32(count)
		o++
	}
	for range half - 1 {
		sum -= in[old*stride]
		old++
		count--
		out[o*stride] = sum / float32(count)
		o++
	}
}

func naiveHash(c [256]float32) Hash {
	sorted := slices.Clone(c[:])
	slices.Sort(sorted)
	m := sorted[127]
	var h Hash
	for k, v := range c {
		if v > m {
			h.setBit(k)
		}
	}
	return h
}

// smoothLuma makes a test picture with structure at several scales, so
// that its hash is not dominated by ties, plus some noise.
func smoothLuma(rng *rand.Rand, rows, cols int) []float32 {
	l := make([]float32, rows*cols)
	fx, fy := 1+rng.Float64()*6, 1+rng.Float64()*6
	for i := range rows {
		for j := range cols {
			x, y := float64(j)/float64(cols), float64(i)/float64(rows)
			v := 128 + 60*math.Sin(fx*x*math.Pi+fy*y) + 40*math.Cos(fy*x*y*7) + 10*rng.Float64()
			l[i*cols+j] = float32(math.Floor(v))
		}
	}
	return l
}

func TestFromLumaMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := [][2]int{{5, 5}, {5, 300}, {300, 5}, {7, 9}, {63, 65}, {64, 64}, {100, 37}, {127, 129}, {256, 256}, {384, 200}, {512, 512}, {513, 700}, {1000, 130}}
	for _, sz := range sizes {
		rows, cols := sz[0], sz[1]
		luma := smoothLuma(rng, rows, cols)
		orig := slices.Clone(luma)
		want, wantQ := naiveCoeffs(luma, rows, cols)
		var got coeffs
		q, err := lumaCoeffs(luma, rows, cols, &got)
		if err != nil {
			t.Fatalf("%dx%d: %v", rows, cols, err)
		}
		if got != want {
			for k := range got {
				if got[k] != want[k] {
					t.Errorf("%d×%d: coefficient %d is %v, plain algorithm gives %v", rows, cols, k, got[k], want[k])
					break
				}
			}
		}
		if q != wantQ {
			t.Errorf("%d×%d: quality %d, plain algorithm gives %d", rows, cols, q, wantQ)
		}
		h, hq, err := FromLuma(luma, rows, cols)
		if err != nil || hq != q || h != naiveHash(want) {
			t.Errorf("%d×%d: FromLuma = %v, %d, %v; want %v, %d", rows, cols, h, hq, err, naiveHash(want), wantQ)
		}
		if !slices.Equal(luma, orig) {
			t.Errorf("%d×%d: FromLuma modified its input", rows, cols)
		}
	}
}

func TestNth(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 200; n++ {
		var a [256]float32
		for i := range a {
			switch n % 4 {
			case 0:
				a[i] = rng.Float32()
			case 1:
				a[i] = float32(rng.IntN(5)) // many ties
			case 2:
				a[i] = float32(i) // sorted
			case 3:
				a[i] = float32(-i) // reversed
			}
		}
		k := rng.IntN(256)
		sorted := slices.Clone(a[:])
		slices.Sort(sorted)
		if got := nth(a[:], k); got != sorted[k] {
			t.Fatalf("case %d: nth(%d) = %v, want %v", n, k, got, sorted[k])
		}
	}
}

func TestTinyImagesHashToZero(t *testing.T) {
	for _, sz := range [][2]int{{0, 0}, {4, 100}, {100, 4}, {1, 1}} {
		rows, cols := sz[0], sz[1]
		h, q, err := FromLuma(make([]float32, rows*cols), rows, cols)
		if err != nil || h != (Hash{}) || q != 0 {
			t.Errorf("FromLuma %d×%d = %v, %d, %v; want zero hash, quality 0", rows, cols, h, q, err)
		}
		img := image.NewGray(image.Rect(0, 0, cols, rows))
		for i := range img.Pix {
			img.Pix[i] = uint8(i * 37)
		}
		h, q, err = FromImage(img)
		if err != nil || h != (Hash{}) || q != 0 {
			t.Errorf("FromImage %d×%d = %v, %d, %v; want zero hash, quality 0", rows, cols, h, q, err)
		}
		hs, q, err := Dihedral(img)
		if err != nil || hs != ([8]Hash{}) || q != 0 {
			t.Errorf("Dihedral %d×%d = %v, %d, %v; want zero hashes, quality 0", rows, cols, hs, q, err)
		}
	}
}

func TestFromLumaErrors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		luma       []float32
		rows, cols int
	}{
		{"short", make([]float32, 10), 5, 5},
		{"long", make([]float32, 26), 5, 5},
		{"negative", nil, -5, 0},
		{"overflow", nil, math.MaxInt/2 + 1, 4},
		{"NaN", slices.Repeat([]float32{float32(math.NaN())}, 100), 10, 10},
		{"Inf", slices.Repeat([]float32{float32(math.Inf(1))}, 100), 10, 10},
	} {
		if _, _, err := FromLuma(tc.luma, tc.rows, tc.cols); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, _, err := FromImage(nil); err == nil {
		t.Error("FromImage(nil): no error")
	}
}

// TestDihedralExact checks the coefficient transforms on a 64×64 picture,
// which the algorithm uses as it is: there the rotated and flipped
// pictures have exactly transformed coefficients, up to float rounding.
func TestDihedralExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 64
	src := image.NewGray(image.Rect(0, 0, n, n))
	l := smoothLuma(rng, n, n)
	for i, v := range l {
		src.Pix[i] = uint8(v)
	}
	// Each transform as a map from output (x, y) to input (x, y).
	transforms := [8]func(x, y int) (int, int){
		func(x, y int) (int, int) { return x, y },
		func(x, y int) (int, int) { return n - 1 - y, x },         // rotate 90 anticlockwise
		func(x, y int) (int, int) { return n - 1 - x, n - 1 - y }, // rotate 180
		func(x, y int) (int, int) { return y, n - 1 - x },         // rotate 270 anticlockwise
		func(x, y int) (int, int) { return x, n - 1 - y },         // flip about the x axis
		func(x, y int) (int, int) { return n - 1 - x, y },         // flip about the y axis
		func(x, y int) (int, int) { return y, x },                 // transpose
		func(x, y int) (int, int) { return n - 1 - y, n - 1 - x }, // anti-transpose
	}
	hs, _, err := Dihedral(src)
	if err != nil {
		t.Fatal(err)
	}
	for k, tr := range transforms {
		dst := image.NewGray(src.Rect)
		for y := range n {
			for x := range n {
				sx, sy := tr(x, y)
				dst.Pix[y*n+x] = src.Pix[sy*n+sx]
			}
		}
		h, _, err := FromImage(dst)
		if err != nil {
			t.Fatal(err)
		}
		if d := Distance(h, hs[k]); d > 2 {
			t.Errorf("%s: distance %d between Dihedral and the transformed picture", dihedralNames[k], d)
		}
	}
}

// TestPrescale checks that a large image is hashed as the nearest-neighbour
// 512×512 sample of it, whatever its aspect ratio.
func TestPrescale(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, sz := range [][2]int{{1024, 1024}, {600, 300}, {300, 2000}, {513, 513}} {
		rows, cols := sz[0], sz[1]
		img := image.NewGray(image.Rect(0, 0, cols, rows))
		for i, v := range smoothLuma(rng, rows, cols) {
			img.Pix[i] = uint8(v)
		}
		sample := make([]float32, 512*512)
		for i := range 512 {
			for j := range 512 {
				v := img.Pix[(i*rows/512)*cols+j*cols/512]
				sample[i*512+j] = lum(v, v, v)
			}
		}
		want, wantQ, _ := FromLuma(sample, 512, 512)
		got, q, err := FromImage(img)
		if err != nil || got != want || q != wantQ {
			t.Errorf("%d×%d: FromImage = %v, %d, %v; want the 512×512 sample's %v, %d", rows, cols, got, q, err, want, wantQ)
		}
	}
}

func TestYCbCrLumaMatchesLibrary(t *testing.T) {
	for y := range 256 {
		for cb := range 256 {
			for cr := range 256 {
				got := ycbcrLuma(uint8(y), uint8(cb), uint8(cr))
				if want := lum(color.YCbCrToRGB(uint8(y), uint8(cb), uint8(cr))); got != want {
					t.Fatalf("ycbcrLuma(%d, %d, %d) = %v; via color.YCbCrToRGB %v", y, cb, cr, got, want)
				}
			}
		}
	}
}

// opaque hides an image's concrete type, forcing the generic At path.
type opaque struct{ image.Image }

// TestFastPathsMatchGeneric checks each fast path against image.At on
// images with odd sizes and origins away from zero, where offset
// arithmetic goes wrong.
func TestFastPathsMatchGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	r := image.Rect(-3, 5, 38, 28) // odd size, negative and positive origin
	fill := func(b []byte) {
		for i := range b {
			b[i] = uint8(rng.Uint32())
		}
	}
	var imgs []image.Image
	for _, ratio := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		m := image.NewYCbCr(r, ratio)
		fill(m.Y)
		fill(m.Cb)
		fill(m.Cr)
		imgs = append(imgs, m, m.SubImage(image.Rect(0, 8, 30, 27)))
	}
	rgba := image.NewRGBA(r)
	fill(rgba.Pix)
	for i := 3; i < len(rgba.Pix); i += 4 {
		// Valid premultiplied colour: no channel above alpha.
		a := rgba.Pix[i]
		if i%8 == 3 {
			a = 0xff
		}
		rgba.Pix[i] = a
		for c := i - 3; c < i; c++ {
			rgba.Pix[c] = uint8(uint(rgba.Pix[c]) * uint(a) / 255)
		}
	}
	nrgba := image.NewNRGBA(r)
	fill(nrgba.Pix)
	gray := image.NewGray(r)
	fill(gray.Pix)
	pal := color.Palette{color.RGBA{1, 2, 3, 255}, color.RGBA{200, 100, 0, 255}, color.RGBA{0, 0, 0, 0}, color.Gray{77}}
	paletted := image.NewPaletted(r, pal)
	for i := range paletted.Pix {
		paletted.Pix[i] = uint8(rng.IntN(len(pal)))
	}
	imgs = append(imgs, rgba, rgba.SubImage(image.Rect(1, 6, 20, 20)), nrgba, nrgba.SubImage(image.Rect(1, 6, 20, 20)),
		gray, gray.SubImage(image.Rect(1, 6, 20, 20)), paletted, paletted.SubImage(image.Rect(1, 6, 20, 20)))

	for _, img := range imgs {
		size := img.Bounds().Size()
		xs := sampleIndex(nil, size.X, size.X)
		ys := sampleIndex(nil, size.Y, size.Y)
		fast := make([]float32, size.X*size.Y)
		slow := make([]float32, size.X*size.Y)
		sampleLuma(img, xs, ys, fast, new(scratch))
		sampleLuma(opaque{img}, xs, ys, slow, new(scratch))
		if !slices.Equal(fast, slow) {
			name := fmtImage(img)
			for i := range fast {
				if fast[i] != slow[i] {
					t.Errorf("%s: pixel %d: fast path %v, At %v", name, i, fast[i], slow[i])
					break
				}
			}
		}
	}
}

func fmtImage(img image.Image) string {
	s := ""
	if m, ok := img.(*image.YCbCr); ok {
		s = " " + m.SubsampleRatio.String()
	}
	return reflectName(img) + s + " " + img.Bounds().String()
}

func reflectName(img image.Image) string {
	switch img.(type) {
	case *image.YCbCr:
		return "YCbCr"
	case *image.RGBA:
		return "RGBA"
	case *image.NRGBA:
		return "NRGBA"
	case *image.Gray:
		return "Gray"
	case *image.Paletted:
		return "Paletted"
	}
	return "image"
}
