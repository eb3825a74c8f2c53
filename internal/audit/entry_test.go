package audit

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

var sample = Entry{
	Index:   42,
	At:      time.Date(2026, 11, 27, 10, 0, 0, 123456000, time.UTC),
	Actor:   Staff("acc_7"),
	Action:  ActionReportView,
	Kind:    KindReport,
	ID:      "q3k5tz2bwm",
	Outcome: OK,
	Details: map[string]string{"role": "analyst", "fields": "category,flags"},
}

// The encoding is a published format: an auditor's own implementation must
// reproduce these bytes and this hash. Changing either breaks every
// auditor; a new format gets a new version byte instead.
func TestEncodingIsStable(t *testing.T) {
	b, err := sample.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := "01" + "000000000000002a" + "0006613f1f884a40" +
		"000b" + hex_("staff:acc_7") + "000b" + hex_("report.view") + "0006" + hex_("report") +
		"000a" + hex_("q3k5tz2bwm") + "0002" + hex_("ok") + "0002" +
		"0006" + hex_("fields") + "000e" + hex_("category,flags") +
		"0004" + hex_("role") + "0007" + hex_("analyst")
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("encoding\n got %s\nwant %s", got, want)
	}
	if got := tlog.RecordHash(b).String(); got != "PIO0D3pVCxFgsULLtpsfgI/1Wjd9pr/lZ31bVZDj+tE=" {
		t.Fatalf("leaf hash = %s", got)
	}
}

func hex_(s string) string { return hex.EncodeToString([]byte(s)) }

func TestDecodeRoundTrip(t *testing.T) {
	for _, e := range []Entry{
		sample,
		{At: time.UnixMicro(0).UTC(), Actor: System, Action: ActionAuditVerify, Outcome: Failed},
		{Index: 1 << 40, At: time.UnixMicro(-5).UTC(), Actor: Peer("nl-01"), Action: ActionReportRefer,
			Kind: KindPeer, ID: "nl-01", Outcome: Denied, Details: map[string]string{"status": ""}},
	} {
		b, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		d, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		again, err := d.Encode()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs: %x, %v", again, err)
		}
		if d.Index != e.Index || !d.At.Equal(e.At) || d.Actor != e.Actor || d.Action != e.Action ||
			d.Kind != e.Kind || d.ID != e.ID || d.Outcome != e.Outcome || len(d.Details) != len(e.Details) {
			t.Fatalf("decoded %+v, want %+v", d, e)
		}
	}
}

func TestDecodeRefusesNonCanonical(t *testing.T) {
	good, _ := sample.Encode()
	swapped := bytes.Clone(good)
	// Swap the two details, so the keys are out of order.
	i := bytes.Index(swapped, []byte("\x00\x06fields"))
	j := bytes.Index(swapped, []byte("\x00\x04role"))
	swapped = append(append(append([]byte{}, good[:i]...), good[j:]...), good[i:j]...)
	repeated := append(bytes.Clone(good[:i]), good[i:j]...)
	repeated = append(repeated, good[i:j]...)
	repeated[i-1] = 2

	for name, b := range map[string][]byte{
		"empty":        nil,
		"version":      append([]byte{2}, good[1:]...),
		"truncated":    good[:len(good)-1],
		"trailing":     append(bytes.Clone(good), 0),
		"unsorted":     swapped,
		"repeated key": repeated,
		"bad utf8":     bytes.Replace(bytes.Clone(good), []byte("analyst"), []byte("analys\xff"), 1),
		"negative":     append(append([]byte{1}, 0xff), good[2:]...),
	} {
		if _, err := Decode(b); !errors.Is(err, ErrEncoding) {
			t.Errorf("%s: Decode err = %v, want ErrEncoding", name, err)
		}
		if _, _, ok := scan(b); ok {
			t.Errorf("%s: scan accepts it", name)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(e *Entry)
		bad  bool
	}{
		{"sample", func(e *Entry) {}, false},
		{"system actor, no record", func(e *Entry) { e.Actor, e.Kind, e.ID = System, "", "" }, false},
		{"public actor", func(e *Entry) { e.Actor = Public }, false},
		{"peer actor", func(e *Entry) { e.Actor = Peer("be-02") }, false},
		{"base64 hash value", func(e *Entry) { e.Details = map[string]string{"sha256": "cz4G1Ln8YXtbhdFE5O+/xPiYDxJ5=="} }, false},
		{"no actor", func(e *Entry) { e.Actor = "" }, true},
		{"unknown actor", func(e *Entry) { e.Actor = "alice" }, true},
		{"staff without id", func(e *Entry) { e.Actor = Staff("") }, true},
		{"staff e-mail", func(e *Entry) { e.Actor = Staff("alice@example.org") }, true},
		{"unknown action", func(e *Entry) { e.Action = "report.peek" }, true},
		{"unknown outcome", func(e *Entry) { e.Outcome = "maybe" }, true},
		{"kind without id", func(e *Entry) { e.ID = "" }, true},
		{"id without kind", func(e *Entry) { e.Kind = "" }, true},
		{"kind not a code", func(e *Entry) { e.Kind = "Report" }, true},
		{"id with space", func(e *Entry) { e.ID = "r 1" }, true},
		{"long id", func(e *Entry) { e.ID = strings.Repeat("a", 129) }, true},
		{"free text detail", func(e *Entry) { e.Details = map[string]string{"note": "child said that"} }, true},
		{"e-mail detail", func(e *Entry) { e.Details = map[string]string{"contact": "a@b.org"} }, true},
		{"newline detail", func(e *Entry) { e.Details = map[string]string{"x": "a\nb"} }, true},
		{"long detail", func(e *Entry) { e.Details = map[string]string{"x": strings.Repeat("a", 129)} }, true},
		{"bad detail key", func(e *Entry) { e.Details = map[string]string{"Content": "x"} }, true},
		{"too many details", func(e *Entry) {
			e.Details = map[string]string{}
			for i := range MaxDetails + 1 {
				e.Details[string(rune('a'+i))] = "1"
			}
		}, true},
	} {
		e := sample
		e.Details = map[string]string{"role": "analyst"}
		c.edit(&e)
		err := e.Validate()
		if (err != nil) != c.bad {
			t.Errorf("%s: Validate = %v, want error %v", c.name, err, c.bad)
		}
		if err != nil && strings.Contains(err.Error(), "child said") {
			t.Errorf("%s: error echoes the refused value: %v", c.name, err)
		}
	}
}

// Whatever Decode accepts re-encodes to the same bytes, so an entry has
// one leaf hash.
func FuzzDecode(f *testing.F) {
	good, _ := sample.Encode()
	f.Add(good)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		index, at, ok := scan(b)
		if ok != (err == nil) || ok && (index != e.Index || at != e.At.UnixMicro()) {
			t.Fatalf("scan(%x) = %d, %d, %v; Decode = %+v, %v", b, index, at, ok, e, err)
		}
		if err != nil {
			return
		}
		if again := e.appendEncoding(nil); !bytes.Equal(again, b) {
			t.Fatalf("Decode(%x) re-encodes to %x", b, again)
		}
	})
}
