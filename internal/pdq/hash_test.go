package pdq

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestHashLayout pins the reference's hex layout: bit k in 16-bit word
// k/16 at position k%16, word 15 printed first.
func TestHashLayout(t *testing.T) {
	for _, tc := range []struct {
		bit  int
		want string
	}{
		{0, strings.Repeat("0", 63) + "1"},
		{15, strings.Repeat("0", 60) + "8000"},
		{16, strings.Repeat("0", 59) + "1" + "0000"},
		{255, "8" + strings.Repeat("0", 63)},
		{100, strings.Repeat("0", 4*(15-100/16)) + "0010" + strings.Repeat("0", 4*(100/16))},
	} {
		var h Hash
		h.setBit(tc.bit)
		if got := h.String(); got != tc.want {
			t.Errorf("bit %d: got %s, want %s", tc.bit, got, tc.want)
		}
		if !h.bit(tc.bit) {
			t.Errorf("bit %d not read back", tc.bit)
		}
		w := h.Words()
		if w[tc.bit/64] != 1<<(tc.bit%64) {
			t.Errorf("bit %d: Words() = %x", tc.bit, w)
		}
		if slot := uint16(w[tc.bit/64] >> (16 * (tc.bit / 16 % 4))); slot != 1<<(tc.bit%16) {
			t.Errorf("bit %d: 16-bit word %d = %#x, want %#x", tc.bit, tc.bit/16, slot, 1<<(tc.bit%16))
		}
	}
}

func TestParseHash(t *testing.T) {
	const s = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"
	h, err := ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	if h.String() != s {
		t.Errorf("round trip: got %s", h)
	}
	if u, err := ParseHash(strings.ToUpper(s)); err != nil || u != h {
		t.Errorf("upper case: %v, %v", u, err)
	}
	for _, bad := range []string{
		"",
		s[:63],
		s + "0",
		"0x" + s[2:],
		" " + s[1:],
		s[:10] + "g" + s[11:],
		s[:63] + "\x00",
		strings.Repeat("é", 32),
	} {
		if _, err := ParseHash(bad); err == nil {
			t.Errorf("ParseHash(%q): no error", bad)
		} else if !strings.HasPrefix(err.Error(), "pdq: parse hash: ") {
			t.Errorf("ParseHash(%q): error %q lacks context", bad, err)
		}
	}
}

func TestDistance(t *testing.T) {
	a, _ := ParseHash("d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22")
	b, _ := ParseHash("d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b23")
	var zero, ones Hash
	for i := range ones {
		ones[i] = 0xff
	}
	for _, tc := range []struct {
		a, b Hash
		want int
	}{{a, a, 0}, {a, b, 1}, {zero, ones, 256}, {a, zero, 128}} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%v, %v) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if Distance(tc.a, tc.b) != Distance(tc.b, tc.a) {
			t.Errorf("Distance is not symmetric")
		}
	}
}

func TestTextMarshalling(t *testing.T) {
	h, _ := ParseHash("30a10efdf1c83f429013d48d0ffffc52e34e0e35ada952a9d29605215aa9e5af")
	in := map[string]Hash{"h": h}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"h":"` + h.String() + `"}`; string(b) != want {
		t.Errorf("json: got %s, want %s", b, want)
	}
	var out map[string]Hash
	if err := json.Unmarshal(b, &out); err != nil || out["h"] != h {
		t.Errorf("json round trip: %v, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"h":"abc"}`), &out); err == nil {
		t.Error("json: short hash accepted")
	}
}
