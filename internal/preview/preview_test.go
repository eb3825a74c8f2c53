package preview

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// quadrants is a w×h picture whose top-left, top-right, bottom-left and
// bottom-right quarters are red, green, blue and white, so that any turn
// or mirror of it can be told from the others.
func quadrants(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, quadrantColour(x >= w/2, y >= h/2))
		}
	}
	return m
}

func quadrantColour(right, bottom bool) color.RGBA {
	switch {
	case !right && !bottom:
		return color.RGBA{255, 0, 0, 255}
	case right && !bottom:
		return color.RGBA{0, 255, 0, 255}
	case !right && bottom:
		return color.RGBA{0, 0, 255, 255}
	}
	return color.RGBA{255, 255, 255, 255}
}

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeGIF(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// lsbWriter packs bits least significant first, as VP8L reads them.
type lsbWriter struct {
	buf  []byte
	nbit int
}

func (w *lsbWriter) write(v uint32, n int) {
	for i := range n {
		if w.nbit%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		w.buf[len(w.buf)-1] |= byte(v>>i&1) << (w.nbit % 8)
		w.nbit++
	}
}

// uniformWebP is a lossless WebP of a w×h picture all of colour c, built
// from the VP8L specification: with every prefix code a "simple" code of
// one symbol, each pixel takes no bits, so the file is a few dozen bytes.
func uniformWebP(w, h int, c color.NRGBA) []byte {
	var bw lsbWriter
	bw.write(0x2f, 8)
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(0, 1) // alpha hint
	bw.write(0, 3) // version
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	for _, sym := range []uint8{c.G, c.R, c.B, c.A, 0} {
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // of 8 bits
		bw.write(uint32(sym), 8)
	}
	return riff("VP8L", bw.buf)
}

func riff(fourcc string, payload []byte) []byte {
	var b bytes.Buffer
	n := len(payload)
	pad := n & 1
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(4+8+n+pad))
	b.WriteString("WEBP")
	b.WriteString(fourcc)
	binary.Write(&b, binary.LittleEndian, uint32(n))
	b.Write(payload)
	if pad == 1 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

func decodeOut(t testing.TB, b []byte) image.Image {
	t.Helper()
	m, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("output is not a PNG: %v", err)
	}
	return m
}

func rgb(c color.Color) (r, g, b int) {
	r32, g32, b32, _ := c.RGBA()
	return int(r32 >> 8), int(g32 >> 8), int(b32 >> 8)
}

func near(c color.Color, want color.RGBA, tol int) bool {
	r, g, b := rgb(c)
	d := func(a, b int) bool { return a-b <= tol && b-a <= tol }
	return d(r, int(want.R)) && d(g, int(want.G)) && d(b, int(want.B))
}

func TestThumbnailFormats(t *testing.T) {
	src := quadrants(64, 48)
	tests := []struct {
		format string
		data   []byte
	}{
		{"jpeg", encodeJPEG(t, src)},
		{"png", encodePNG(t, src)},
		{"gif", encodeGIF(t, src)},
		{"webp", uniformWebP(64, 48, color.NRGBA{200, 40, 10, 255})},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			out, info, err := Thumbnail(bytes.NewReader(tt.data), Options{Mode: Revealed})
			if err != nil {
				t.Fatal(err)
			}
			if info != (Info{Format: tt.format, Width: 64, Height: 48, Orientation: 1}) {
				t.Errorf("info = %+v", info)
			}
			m := decodeOut(t, out)
			if m.Bounds() != image.Rect(0, 0, 64, 48) {
				t.Fatalf("bounds %v", m.Bounds())
			}
			want := color.RGBA{255, 0, 0, 255}
			if tt.format == "webp" {
				want = color.RGBA{200, 40, 10, 255}
			}
			if c := m.At(4, 4); !near(c, want, 24) {
				t.Errorf("top-left %v, want about %v", c, want)
			}
		})
	}
}

func TestThumbnailGIFFirstFrame(t *testing.T) {
	pal := color.Palette{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}}
	frame := func(i uint8) *image.Paletted {
		m := image.NewPaletted(image.Rect(0, 0, 20, 10), pal)
		for j := range m.Pix {
			m.Pix[j] = i
		}
		return m
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, &gif.GIF{Image: []*image.Paletted{frame(0), frame(1)}, Delay: []int{10, 10}}); err != nil {
		t.Fatal(err)
	}
	out, _, err := Thumbnail(&b, Options{Mode: Revealed})
	if err != nil {
		t.Fatal(err)
	}
	if c := decodeOut(t, out).At(5, 5); !near(c, color.RGBA{255, 0, 0, 255}, 0) {
		t.Errorf("got %v, want the first frame's red", c)
	}
}

// pngHeader is a PNG signature and IHDR chunk declaring a w×h RGBA
// picture, with no pixel data after it.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := binary.BigEndian.AppendUint32([]byte("IHDR"), w)
	chunk = binary.BigEndian.AppendUint32(chunk, h)
	chunk = append(chunk, 8, 6, 0, 0, 0) // 8-bit RGBA, no interlace
	binary.Write(&b, binary.BigEndian, uint32(len(chunk)-4))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// jpegHeader is a JPEG SOI, a baseline SOF0 declaring a w×h picture and
// the start of a scan header, where the decoder knows the size.
func jpegHeader(w, h uint16) []byte {
	b := []byte{0xff, 0xd8, 0xff, 0xc0, 0, 11, 8}
	b = binary.BigEndian.AppendUint16(b, h)
	b = binary.BigEndian.AppendUint16(b, w)
	return append(b, 1, 1, 0x11, 0, 0xff, 0xda, 0, 8)
}

// gifHeader is a GIF header with a w×h logical screen and nothing else.
func gifHeader(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	return append(b, 0, 0, 0)
}

func TestThumbnailRefusesBombs(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"png 100000×100000", pngHeader(100_000, 100_000)},
		{"png 30000×10 (side)", pngHeader(30_000, 10)},
		{"png 8000×6000 (pixels)", pngHeader(8000, 6000)},
		{"jpeg 65535×65535", jpegHeader(65535, 65535)},
		{"gif 65535×65535", gifHeader(65535, 65535)},
		{"webp 16384×16384", uniformWebP(16384, 16384, color.NRGBA{A: 255})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, _, err := Thumbnail(bytes.NewReader(tt.data), Options{})
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("allocated %d bytes before refusing", alloc)
			}
			if elapsed > time.Second {
				t.Errorf("took %v to refuse", elapsed)
			}
		})
	}
}

func TestThumbnailByteLimit(t *testing.T) {
	// An endless stream is cut off at the limit, not read to the end.
	r := io.MultiReader(bytes.NewReader(pngHeader(10, 10)), zeros{})
	_, _, err := Thumbnail(r, Options{MaxBytes: 1 << 20})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	// Exactly at the limit is allowed.
	data := encodePNG(t, quadrants(8, 8))
	if _, _, err := Thumbnail(bytes.NewReader(data), Options{MaxBytes: int64(len(data))}); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestThumbnailRefusesOthers(t *testing.T) {
	bmp := append([]byte("BM"), make([]byte, 60)...)
	tests := map[string][]byte{
		"empty":          nil,
		"text":           []byte("hello, world"),
		"bmp":            bmp,
		"webp garbage":   riff("VP8 ", []byte("not a vp8 frame at all")),
		"riff not webp":  append([]byte("RIFF\x10\x00\x00\x00WAVE"), make([]byte, 16)...),
		"truncated png":  encodePNG(t, quadrants(32, 32))[:60],
		"truncated jpeg": encodeJPEG(t, quadrants(32, 32))[:200],
		"png 0×0":        pngHeader(0, 0),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			out, _, err := Thumbnail(bytes.NewReader(data), Options{})
			if err == nil {
				t.Fatalf("accepted, %d bytes out", len(out))
			}
			if errors.Is(err, ErrTooLarge) {
				t.Errorf("err = %v, should not be ErrTooLarge", err)
			}
			if !strings.HasPrefix(err.Error(), "preview: ") {
				t.Errorf("err = %q, want the package prefix", err)
			}
		})
	}
}

// checkerboard is a w×h black and white checkerboard of cell-pixel cells.
func checkerboard(w, h, cell int) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			if (x/cell+y/cell)%2 == 0 {
				m.Pix[y*m.Stride+x] = 255
			}
		}
	}
	return m
}

// highFrequency is the mean square difference between neighbouring
// pixels' luma: what a blur removes.
func highFrequency(m image.Image) float64 {
	b := m.Bounds()
	luma := func(x, y int) float64 { return float64(color.GrayModel.Convert(m.At(x, y)).(color.Gray).Y) }
	var e float64
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if x+1 < b.Max.X {
				d := luma(x+1, y) - luma(x, y)
				e += d * d
				n++
			}
			if y+1 < b.Max.Y {
				d := luma(x, y+1) - luma(x, y)
				e += d * d
				n++
			}
		}
	}
	return e / float64(n)
}

func TestProtectedIsBlurred(t *testing.T) {
	tests := []struct{ w, h, cell int }{
		{480, 360, 1},
		{480, 360, 4},
		{480, 360, 16},
		{960, 720, 8}, // scaled down to 480×360 first
	}
	for _, tt := range tests {
		src := checkerboard(tt.w, tt.h, tt.cell)
		data := encodePNG(t, src)
		out, _, err := Thumbnail(bytes.NewReader(data), Options{})
		if err != nil {
			t.Fatal(err)
		}
		m := decodeOut(t, out)
		if m.Bounds() != image.Rect(0, 0, 480, 360) {
			t.Fatalf("bounds %v", m.Bounds())
		}
		in, got := highFrequency(src), highFrequency(m)
		if drop := 1 - got/in; drop < 0.9 {
			t.Errorf("%d×%d cell %d: high-frequency energy fell by %.1f%%, want over 90%%", tt.w, tt.h, tt.cell, 100*drop)
		} else {
			t.Logf("%d×%d cell %d: high-frequency energy fell by %.4f%%", tt.w, tt.h, tt.cell, 100*drop)
		}
		if tt.w != 480 {
			continue
		}
		// Revealed keeps the detail.
		out, _, err = Thumbnail(bytes.NewReader(data), Options{Mode: Revealed})
		if err != nil {
			t.Fatal(err)
		}
		if got := highFrequency(decodeOut(t, out)); got != in {
			t.Errorf("cell %d: revealed energy %v, want %v", tt.cell, got, in)
		}
	}
}

func TestProtectedIsGreyRevealedIsColour(t *testing.T) {
	data := encodeJPEG(t, quadrants(960, 600)) // scaled to 480×300
	out, _, err := Thumbnail(bytes.NewReader(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := decodeOut(t, out)
	b := m.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, bl := rgb(m.At(x, y)); r != g || g != bl {
				t.Fatalf("protected pixel (%d,%d) is (%d,%d,%d), not grey", x, y, r, g, bl)
			}
		}
	}

	out, _, err = Thumbnail(bytes.NewReader(data), Options{Mode: Revealed})
	if err != nil {
		t.Fatal(err)
	}
	m = decodeOut(t, out)
	for _, p := range []struct {
		x, y int
		want color.RGBA
	}{
		{20, 20, quadrantColour(false, false)},
		{460, 20, quadrantColour(true, false)},
		{20, 280, quadrantColour(false, true)},
		{460, 280, quadrantColour(true, true)},
	} {
		if c := m.At(p.x, p.y); !near(c, p.want, 24) {
			t.Errorf("revealed (%d,%d) = %v, want about %v", p.x, p.y, c, p.want)
		}
	}
}

func TestTransparencyLaidOnGrey(t *testing.T) {
	// Bright content behind full transparency must not show through.
	m := image.NewNRGBA(image.Rect(0, 0, 50, 50))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = 255, 255, 255, 0
	}
	out, _, err := Thumbnail(bytes.NewReader(encodePNG(t, m)), Options{Mode: Revealed})
	if err != nil {
		t.Fatal(err)
	}
	if c := decodeOut(t, out).At(25, 25); !near(c, color.RGBA{128, 128, 128, 255}, 0) {
		t.Errorf("got %v, want the mid-grey background", c)
	}
}

func TestThumbnailSize(t *testing.T) {
	tests := []struct {
		w, h         int
		opt          Options
		wantW, wantH int
	}{
		{50, 30, Options{}, 50, 30},      // never enlarged
		{480, 480, Options{}, 480, 480},  // fits exactly
		{1000, 500, Options{}, 480, 240}, // wide
		{500, 1000, Options{}, 240, 480}, // tall
		{1000, 500, Options{Width: 100, Height: 300}, 100, 50},
		{3000, 2, Options{}, 480, 1}, // never below one pixel
		{100, 100, Options{Width: 200, Height: 50}, 50, 50},
	}
	for _, tt := range tests {
		for _, mode := range []Mode{Protected, Revealed} {
			tt.opt.Mode = mode
			out, info, err := Thumbnail(bytes.NewReader(encodePNG(t, quadrants(tt.w, tt.h))), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if info.Width != tt.w || info.Height != tt.h {
				t.Errorf("%d×%d: info %+v", tt.w, tt.h, info)
			}
			if got := decodeOut(t, out).Bounds(); got != image.Rect(0, 0, tt.wantW, tt.wantH) {
				t.Errorf("%d×%d %v in %+v: got %v, want %d×%d", tt.w, tt.h, mode, tt.opt, got, tt.wantW, tt.wantH)
			}
		}
	}
}

func TestThumbnailDeterministic(t *testing.T) {
	data := encodeJPEG(t, quadrants(640, 480))
	a, _, err := Thumbnail(bytes.NewReader(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Thumbnail(bytes.NewReader(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("the same input gave different previews")
	}
}

// pngChunks lists the chunk types of a PNG.
func pngChunks(t *testing.T, b []byte) []string {
	t.Helper()
	var types []string
	for p := 8; p+8 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[p:]))
		types = append(types, string(b[p+4:p+8]))
		p += 12 + n
	}
	return types
}

func TestThumbnailStripsMetadata(t *testing.T) {
	// A JPEG with an EXIF segment and a comment goes in; only pixels come
	// out.
	data := withExif(encodeJPEG(t, quadrants(40, 40)), 'I', 1)
	data = append(data[:2:2], append([]byte("\xff\xfe\x00\x0esecret place"), data[2:]...)...)
	for _, mode := range []Mode{Protected, Revealed} {
		out, _, err := Thumbnail(bytes.NewReader(data), Options{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range pngChunks(t, out) {
			if c != "IHDR" && c != "IDAT" && c != "IEND" {
				t.Errorf("%v preview has a %s chunk", mode, c)
			}
		}
		if bytes.Contains(out, []byte("secret")) || bytes.Contains(out, []byte("Exif")) {
			t.Errorf("%v preview carries metadata", mode)
		}
	}
}
