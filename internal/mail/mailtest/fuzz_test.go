package mailtest

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzSession plays arbitrary client input against the server: a test
// server reads what the code under test sends, so no input may crash or
// hang it, every reply must be well formed, and what it stores must obey
// the rules it enforces. Seeds are in testdata/fuzz/FuzzSession.
func FuzzSession(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte, auth bool) {
		cfg := Config{MaxSize: 1 << 16}
		if auth {
			cfg.Users = map[string]string{"alice": "secret"}
		}
		srv, err := newServer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		out := converse(srv, string(in))
		if !strings.HasSuffix(out, "\r\n") {
			t.Fatalf("output does not end with CRLF: %q", out)
		}
		finals, queued := 0, 0
		for line := range strings.SplitSeq(strings.TrimSuffix(out, "\r\n"), "\r\n") {
			if len(line) < 4 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
				line[2] < '0' || line[2] > '9' || line[3] != ' ' && line[3] != '-' {
				t.Fatalf("malformed reply line %q", line)
			}
			if strings.ContainsAny(line, "\r\n") {
				t.Fatalf("reply line with a bare CR or LF: %q", line)
			}
			if line[3] == ' ' {
				finals++
			}
			if strings.HasPrefix(line, "250 2.0.0 OK queued") {
				queued++
			}
		}
		// One greeting, then at most one reply a line.
		if lines := bytes.Count(in, []byte("\n")); finals > lines+1 {
			t.Fatalf("%d replies to %d lines", finals, lines)
		}
		msgs := srv.Messages()
		if len(msgs) != queued {
			t.Fatalf("stored %d messages, said it queued %d", len(msgs), queued)
		}
		for _, m := range msgs {
			if len(m.To) == 0 || len(m.Raw) > cfg.MaxSize || auth && m.User == "" {
				t.Fatalf("stored a message it should have refused: %+v", m)
			}
			if len(m.Raw) > 0 && !bytes.HasSuffix(m.Raw, []byte("\r\n")) {
				t.Fatalf("stored message does not end with CRLF: %q", m.Raw)
			}
			for line := range strings.SplitSeq(strings.TrimSuffix(string(m.Raw), "\r\n"), "\r\n") {
				if len(line) > 998 || strings.ContainsAny(line, "\r\n") {
					t.Fatalf("stored message has a bad line: %q", line)
				}
			}
		}
	})
}

// FuzzData checks dot-stuffing and the end of data: any text split into
// lines, dot-stuffed as a client must, comes back exactly, unless a line
// is longer than 998 octets, in which case the message is refused whole.
// Seeds are in testdata/fuzz/FuzzData.
func FuzzData(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string) {
		srv, err := newServer(Config{})
		if err != nil {
			t.Fatal(err)
		}
		text = strings.ReplaceAll(text, "\r", "")
		lines := strings.Split(text, "\n")
		if strings.HasSuffix(text, "\n") || text == "" {
			lines = lines[:len(lines)-1]
		}
		var wire, want strings.Builder
		wire.WriteString(hello + envelope + "DATA\r\n")
		tooLong := false
		for _, l := range lines {
			if strings.HasPrefix(l, ".") {
				wire.WriteString(".")
			}
			wire.WriteString(l + "\r\n")
			want.WriteString(l + "\r\n")
			tooLong = tooLong || len(l) > 998
		}
		wire.WriteString(".\r\nQUIT\r\n")
		out := converse(srv, wire.String())
		wantCodes := "220 250 250 250 354 250 221"
		if tooLong {
			wantCodes = "220 250 250 250 354 550 221"
		}
		if got := strings.Join(finalCodes(out), " "); got != wantCodes {
			t.Fatalf("reply codes %s, want %s\n%s", got, wantCodes, out)
		}
		msgs := srv.Messages()
		if tooLong {
			if len(msgs) != 0 {
				t.Fatalf("stored a message with a line over 998 octets")
			}
			return
		}
		if len(msgs) != 1 {
			t.Fatalf("stored %d messages, want 1", len(msgs))
		}
		if got := string(msgs[0].Raw); got != want.String() {
			t.Fatalf("stored %q, want %q", got, want.String())
		}
	})
}
