package preview

import (
	"bytes"
	"encoding/binary"
	"image"
	"testing"
)

// exifSegment is an APP1 Exif segment whose IFD0 holds an orientation
// entry (after an unrelated one), in byte order 'I' (little-endian) or 'M'.
func exifSegment(order byte, orientation uint16) []byte {
	var bo binary.AppendByteOrder = binary.LittleEndian
	if order == 'M' {
		bo = binary.BigEndian
	}
	t := []byte{order, order}
	t = bo.AppendUint16(t, 42)
	t = bo.AppendUint32(t, 8)
	t = bo.AppendUint16(t, 2) // two entries
	// ImageWidth, a LONG, to be skipped.
	t = bo.AppendUint16(t, 0x0100)
	t = bo.AppendUint16(t, 4)
	t = bo.AppendUint32(t, 1)
	t = bo.AppendUint32(t, 640)
	// Orientation, a SHORT padded to four bytes.
	t = bo.AppendUint16(t, 0x0112)
	t = bo.AppendUint16(t, 3)
	t = bo.AppendUint32(t, 1)
	t = bo.AppendUint16(t, orientation)
	t = bo.AppendUint16(t, 0)
	t = bo.AppendUint32(t, 0) // no next IFD
	seg := append([]byte("Exif\x00\x00"), t...)
	return append(binary.BigEndian.AppendUint16([]byte{0xff, 0xe1}, uint16(2+len(seg))), seg...)
}

// withExif puts an Exif segment right after a JPEG's SOI marker.
func withExif(jpg []byte, order byte, orientation uint16) []byte {
	out := append([]byte{}, jpg[:2]...)
	out = append(out, exifSegment(order, orientation)...)
	return append(out, jpg[2:]...)
}

func TestExifOrientationParse(t *testing.T) {
	soi := []byte{0xff, 0xd8}
	app0 := []byte{0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		data []byte
		want int
	}{
		{"none", cat(soi, app0, []byte{0xff, 0xda, 0, 2}), 1},
		{"little-endian 6", cat(soi, exifSegment('I', 6)), 6},
		{"big-endian 8", cat(soi, exifSegment('M', 8)), 8},
		{"after APP0", cat(soi, app0, exifSegment('I', 3)), 3},
		{"after fill bytes", cat(soi, []byte{0xff, 0xff}, exifSegment('M', 5)), 5},
		{"out of range 9", cat(soi, exifSegment('I', 9)), 1},
		{"zero", cat(soi, exifSegment('I', 0)), 1},
		{"after the scan", cat(soi, []byte{0xff, 0xda, 0, 2}, exifSegment('I', 6)), 1},
		{"truncated", cat(soi, exifSegment('I', 6))[:30], 1},
		{"not a jpeg", exifSegment('I', 6), 1},
		{"empty", nil, 1},
	}
	for _, tt := range tests {
		if got := exifOrientation(tt.data); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}

// storedToUpright says where the upright picture shows stored pixel
// (sx, sy) of a w×h stored picture, as the EXIF specification describes
// each orientation. It is the inverse of what orientRGBA computes,
// written separately so that each checks the other.
func storedToUpright(o, sx, sy, w, h int) (int, int) {
	switch o {
	case 2:
		return w - 1 - sx, sy
	case 3:
		return w - 1 - sx, h - 1 - sy
	case 4:
		return sx, h - 1 - sy
	case 5:
		return sy, sx
	case 6:
		return h - 1 - sy, sx
	case 7:
		return h - 1 - sy, w - 1 - sx
	case 8:
		return sy, w - 1 - sx
	}
	return sx, sy
}

func TestThumbnailOrientation(t *testing.T) {
	const uw, uh = 96, 64 // the upright picture
	upright := quadrants(uw, uh)
	for o := 1; o <= 8; o++ {
		w, h := uw, uh
		if o >= 5 {
			w, h = uh, uw
		}
		stored := image.NewRGBA(image.Rect(0, 0, w, h))
		for sy := range h {
			for sx := range w {
				x, y := storedToUpright(o, sx, sy, w, h)
				stored.Set(sx, sy, upright.At(x, y))
			}
		}
		data := withExif(encodeJPEG(t, stored), "IM"[o%2], uint16(o))
		for _, mode := range []Mode{Revealed, Protected} {
			out, info, err := Thumbnail(bytes.NewReader(data), Options{Mode: mode, Width: 48, Height: 48})
			if err != nil {
				t.Fatal(err)
			}
			if info.Orientation != o || info.Width != w || info.Height != h {
				t.Errorf("orientation %d: info %+v", o, info)
			}
			m := decodeOut(t, out)
			if m.Bounds() != image.Rect(0, 0, 48, 32) {
				t.Errorf("orientation %d %v: bounds %v, want 48×32", o, mode, m.Bounds())
				continue
			}
			if mode == Protected {
				continue
			}
			for _, p := range []struct{ x, y int }{{4, 4}, {43, 4}, {4, 27}, {43, 27}} {
				want := quadrantColour(p.x >= 24, p.y >= 16)
				if c := m.At(p.x, p.y); !near(c, want, 40) {
					t.Errorf("orientation %d: (%d,%d) = %v, want about %v", o, p.x, p.y, c, want)
				}
			}
		}
	}
}
