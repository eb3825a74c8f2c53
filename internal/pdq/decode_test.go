package pdq

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
	"testing"
)

func encodePNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecode(t *testing.T) {
	small := encodePNG(t, 20, 10)
	img, err := Decode(bytes.NewReader(small), 200)
	if err != nil || img.Bounds().Size() != (image.Point{20, 10}) {
		t.Fatalf("Decode 20×10 PNG = %v, %v", img, err)
	}
	// The reader is consumed only once: a non-seekable stream must work.
	if _, err := Decode(io.MultiReader(bytes.NewReader(small[:30]), bytes.NewReader(small[30:])), 0); err != nil {
		t.Fatalf("Decode from a stream: %v", err)
	}

	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, image.NewGray(image.Rect(0, 0, 16, 16)), nil); err != nil {
		t.Fatal(err)
	}
	jpg := jb.Bytes()

	for _, tc := range []struct {
		name      string
		data      []byte
		max       int
		want      string
		unexpEOF  bool
		formatErr bool
	}{
		{"too many pixels", small, 199, "over the limit of 199", false, false},
		{"garbage", []byte("hello, world"), 0, "unknown format", false, true},
		{"empty", nil, 0, "unknown format", false, true},
		{"png header only", small[:16], 0, "truncated", true, false},
		// The PNG decoder reports a short stream as its own FormatError.
		{"png cut short", small[:len(small)-20], 0, "", false, false},
		{"jpeg cut short", jpg[:len(jpg)/2], 0, "truncated", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Decode(bytes.NewReader(tc.data), tc.max)
			if err == nil || img != nil {
				t.Fatalf("Decode = %v, %v; want an error", img, err)
			}
			if !strings.HasPrefix(err.Error(), "pdq: decode") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to start with \"pdq: decode\" and mention %q", err, tc.want)
			}
			if tc.unexpEOF && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error %q does not wrap io.ErrUnexpectedEOF", err)
			}
			if tc.formatErr && !errors.Is(err, image.ErrFormat) {
				t.Errorf("error %q does not wrap image.ErrFormat", err)
			}
		})
	}
}
