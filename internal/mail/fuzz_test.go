package mail_test

import (
	"errors"
	"mime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	netmail "net/mail"

	"github.com/canopy-org/canopy/internal/mail"
)

// FuzzFormat checks the header encoder and the body encoding against the
// readers that will see them. Subjects, header values and texts come from
// reports and case files: any of them is either refused as invalid, for
// a reason we can name, or reaches a net/mail reader exactly as given.
// Display names, which go through net/mail both ways, must round-trip
// when accepted. Seeds are in testdata/fuzz/FuzzFormat.
func FuzzFormat(f *testing.F) {
	date := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, name, subject, text, header string) {
		m := &mail.Message{
			From:    "notices@hotline.example",
			To:      []string{"abuse@host.example"},
			Subject: subject,
			Text:    text,
			Headers: map[string]string{"X-Canopy-Notice": header},
		}
		raw, _, err := m.Format(date)
		clean := func(s string) bool { return utf8.ValidString(s) && !strings.ContainsAny(s, "\r\n\x00") }
		if wantOK := clean(subject) && clean(header) && utf8.ValidString(text); wantOK != (err == nil) {
			t.Fatalf("Format error %v, want ok %v", err, wantOK)
		}
		if err != nil {
			if !errors.Is(err, mail.ErrInvalid) {
				t.Fatalf("Format error %v does not wrap ErrInvalid", err)
			}
			return
		}
		d := decode(t, raw)
		if d.subject != subject {
			t.Fatalf("Subject %q came back as %q", subject, d.subject)
		}
		if got, err := new(mime.WordDecoder).DecodeHeader(d.header.Get("X-Canopy-Notice")); err != nil || got != header {
			t.Fatalf("header %q came back as %q (%v)", header, got, err)
		}
		if d.text != crlf(text) {
			t.Fatalf("text %q came back as %q", text, d.text)
		}

		m.From = name + " <notices@hotline.example>"
		raw, _, err = m.Format(date)
		if err != nil {
			if !errors.Is(err, mail.ErrInvalid) {
				t.Fatalf("Format error %v does not wrap ErrInvalid", err)
			}
			return
		}
		in, err := netmail.ParseAddress(m.From)
		if err != nil {
			t.Fatalf("Format accepted From %q, which net/mail refuses: %v", m.From, err)
		}
		d = decode(t, raw)
		if d.from == nil || d.from.Name != in.Name || d.from.Address != in.Address {
			t.Fatalf("From %q (name %q) came back as %v", m.From, in.Name, d.from)
		}
	})
}
