package preview

import "image"

// orientRGBA returns m turned upright for EXIF orientation o, which says
// how the stored picture relates to the upright one:
//
//	1 as stored          5 transposed (mirrored and turned 270° clockwise)
//	2 mirrored           6 turned 90° clockwise
//	3 turned 180°        7 transversed (mirrored and turned 90° clockwise)
//	4 flipped vertically 8 turned 270° clockwise
//
// Any other value is taken as 1. m must have its origin at (0, 0).
func orientRGBA(m *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return m
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	d := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range dh {
		for x := range dw {
			// (sx, sy) is the stored pixel shown at (x, y).
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			}
			copy(d.Pix[y*d.Stride+4*x:y*d.Stride+4*x+4], m.Pix[sy*m.Stride+4*sx:])
		}
	}
	return d
}
