package preview

import (
	"bytes"
	"image"
	"testing"
)

// FuzzThumbnail feeds Thumbnail arbitrary bytes under tight limits: it
// must return a preview or an error, never panic, and a preview must fit
// the box.
func FuzzThumbnail(f *testing.F) {
	f.Add(encodePNG(f, quadrants(16, 12)))
	f.Add(encodeJPEG(f, quadrants(16, 12)))
	f.Add(withExif(encodeJPEG(f, quadrants(12, 16)), 'M', 6))
	f.Add(encodeGIF(f, quadrants(8, 8)))
	f.Add(pngHeader(100_000, 100_000))
	f.Fuzz(func(t *testing.T, data []byte) {
		opt := Options{Width: 32, Height: 32, MaxPixels: 1 << 16, MaxSide: 1024, MaxBytes: 1 << 16}
		for _, mode := range []Mode{Protected, Revealed} {
			opt.Mode = mode
			out, _, err := Thumbnail(bytes.NewReader(data), opt)
			if err != nil {
				continue
			}
			b := decodeOut(t, out).Bounds()
			if b.Empty() || b.Dx() > 32 || b.Dy() > 32 {
				t.Fatalf("%v preview is %v", mode, b)
			}
		}
	})
}

// FuzzExifOrientation checks that the EXIF reader stays within its input
// and always answers an orientation from 1 to 8.
func FuzzExifOrientation(f *testing.F) {
	f.Add([]byte{0xff, 0xd8})
	f.Add(append([]byte{0xff, 0xd8}, exifSegment('I', 6)...))
	f.Add(append([]byte{0xff, 0xd8}, exifSegment('M', 3)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := exifOrientation(data); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
		// The orientation is applied to any image it is given.
		o := exifOrientation(data)
		m := orientRGBA(image.NewRGBA(image.Rect(0, 0, 3, 2)), o)
		if m.Bounds().Dx()*m.Bounds().Dy() != 6 {
			t.Fatalf("orientation %d gave %v", o, m.Bounds())
		}
	})
}
