package preview

import (
	"bytes"
	"image"
	"math/rand/v2"
	"testing"
)

// BenchmarkProtected4000x3000 is the cost of a protected preview of a
// 12-megapixel camera JPEG, decoding included.
func BenchmarkProtected4000x3000(b *testing.B) { benchThumbnail(b, Protected) }

// BenchmarkRevealed4000x3000 is the same revealed, scaled with the
// sharper and dearer filter and not blurred.
func BenchmarkRevealed4000x3000(b *testing.B) { benchThumbnail(b, Revealed) }

func benchThumbnail(b *testing.B, mode Mode) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := image.NewRGBA(image.Rect(0, 0, 4000, 3000))
	// Smooth gradients with some noise: compresses like a photo, not like
	// a flat colour.
	for y := range 3000 {
		for x := range 4000 {
			i := m.PixOffset(x, y)
			n := uint8(rng.IntN(16))
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = uint8(x/16)+n, uint8(y/12)+n, uint8((x+y)/28)+n, 255
		}
	}
	data := encodeJPEG(b, m)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Thumbnail(bytes.NewReader(data), Options{Mode: mode}); err != nil {
			b.Fatal(err)
		}
	}
}
