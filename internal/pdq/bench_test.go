package pdq

import (
	"image"
	"math/rand/v2"
	"testing"
)

// benchYCbCr makes a w×h 4:2:0 Y'CbCr picture, the type JPEG decodes to.
// The content does not change the cost; it only has to be a picture.
func benchYCbCr(w, h int) *image.YCbCr {
	rng := rand.New(rand.NewPCG(11, 12))
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	l := smoothLuma(rng, h, w)
	for i, v := range l {
		m.Y[i] = uint8(v)
	}
	for i := range m.Cb {
		m.Cb[i] = uint8(96 + rng.IntN(64))
		m.Cr[i] = uint8(96 + rng.IntN(64))
	}
	return m
}

// BenchmarkHash512 is the cost of hashing a decoded 512×512 picture, the
// size every larger one is brought down to. The C++ reference takes about
// 1.8 ms for this.
func BenchmarkHash512(b *testing.B) {
	img := benchYCbCr(512, 512)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := FromImage(img); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHash512RGBA(b *testing.B) {
	src := benchYCbCr(512, 512)
	img := image.NewRGBA(src.Rect)
	for y := range 512 {
		for x := range 512 {
			img.Set(x, y, src.At(x, y))
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := FromImage(img); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDihedral512(b *testing.B) {
	img := benchYCbCr(512, 512)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Dihedral(img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashPhoto hashes a 12-megapixel photo; pre-scaling reads only
// the pixels it keeps, so it should cost about what a 512×512 one does.
func BenchmarkHashPhoto(b *testing.B) {
	img := benchYCbCr(4000, 3000)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := FromImage(img); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDistance(b *testing.B) {
	x, _ := ParseHash("d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22")
	y, _ := ParseHash("30a10efdf1c83f429013d48d0ffffc52e34e0e35ada952a9d29605215aa9e5af")
	n := 0
	for b.Loop() {
		n += Distance(x, y)
	}
	_ = n
}
