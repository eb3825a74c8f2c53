package mailtest

import (
	"bytes"
	"encoding/base64"
	"io"
	"slices"
	"strings"
	"testing"
)

// converse runs a whole session in memory with in as everything the
// client says, and returns everything the server said.
func converse(srv *Server, in string) string {
	var out bytes.Buffer
	srv.serve(nil, struct {
		io.Reader
		io.Writer
	}{strings.NewReader(in), &out})
	return out.String()
}

// finalCodes returns the code of each complete reply: the last line of a
// multi-line reply, and single lines.
func finalCodes(out string) []string {
	var codes []string
	for line := range strings.SplitSeq(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if len(line) >= 4 && line[3] == ' ' {
			codes = append(codes, line[:3])
		}
	}
	return codes
}

func plain(authz, user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + user + "\x00" + pass))
}

const (
	hello    = "EHLO client.example\r\n"
	envelope = "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n"
)

func TestSession(t *testing.T) {
	t.Parallel()
	users := map[string]string{"alice": "secret"}
	tests := []struct {
		name  string
		cfg   Config
		in    string
		codes string   // the final reply codes, in order
		raw   []string // the messages stored
	}{
		{
			name:  "message with dot-stuffed lines",
			in:    hello + envelope + "DATA\r\nSubject: x\r\n\r\n..hi\r\n...\r\n.\r\nQUIT\r\n",
			codes: "220 250 250 250 354 250 221",
			raw:   []string{"Subject: x\r\n\r\n.hi\r\n..\r\n"},
		},
		{
			name:  "two messages in one session, then RSET",
			in:    hello + envelope + "DATA\r\none\r\n.\r\n" + envelope + "DATA\r\ntwo\r\n.\r\nRSET\r\nQUIT\r\n",
			codes: "220 250 250 250 354 250 250 250 354 250 250 221",
			raw:   []string{"one\r\n", "two\r\n"},
		},
		{
			name:  "lower case, null sender and a space after the colon",
			in:    "ehlo c\r\nmail from:<>\r\nrcpt to: <b@example.org>\r\ndata\r\nx\r\n.\r\n",
			codes: "220 250 250 250 354 250",
			raw:   []string{"x\r\n"},
		},
		{
			name:  "parameters that net/smtp and others send",
			in:    hello + "MAIL FROM:<a@example.org> BODY=8BITMIME SIZE=100\r\n",
			codes: "220 250 250",
		},
		{
			name:  "commands out of order",
			in:    "MAIL FROM:<a@example.org>\r\n" + hello + "RCPT TO:<b@example.org>\r\nDATA\r\nMAIL FROM:<a@example.org>\r\nDATA\r\nMAIL FROM:<a@example.org>\r\nRSET\r\nRCPT TO:<b@example.org>\r\n",
			codes: "220 503 250 503 503 250 554 503 250 503",
		},
		{
			name:  "syntax errors",
			in:    "EHLO\r\n" + hello + "MAIL FROM:a@example.org\r\nMAIL FROM:<a@example.org\r\nMAIL FROM:<a b@example.org>\r\nMAIL FROM:<a@example.org>x\r\nMAIL FROM:<a@example.org> FOO=1\r\nMAIL FROM:<a@example.org> BODY=9BIT\r\nMAIL TO:<a@example.org>\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<>\r\nRCPT TO:<b@example.org> NOTIFY=NEVER\r\nRSET x\r\nDATA x\r\n",
			codes: "220 501 250 501 501 501 501 555 501 501 250 501 555 501 501",
		},
		{
			name:  "small commands and unknown ones",
			in:    "NOOP\r\nVRFY\r\nVRFY b\r\nHELP\r\nFROB\r\nSTARTTLS\r\nHELO c\r\nQUIT\r\nNOOP\r\n",
			codes: "220 250 501 252 502 500 502 250 221",
		},
		{
			name:  "bare LF and overlong commands are refused",
			in:    "EHLO c\n" + "NOOP " + strings.Repeat("x", 600) + "\r\nEHLO c\rx\r\nEHLO c\r\n",
			codes: "220 500 500 500 250",
		},
		{
			name: "a dot after a bare LF does not end the data",
			in: hello + envelope + "DATA\r\nfirst\n.\r\n" + envelope + "DATA\r\nsmuggled\r\n.\r\n" +
				"NOOP\r\n",
			codes: "220 250 250 250 354 550 250",
		},
		{
			name:  "bare CR in the data",
			in:    hello + envelope + "DATA\r\na\rb\r\n.\r\nNOOP\r\n",
			codes: "220 250 250 250 354 550 250",
		},
		{
			name: "a line over 998 octets",
			in: hello + envelope + "DATA\r\n" + strings.Repeat("x", 999) + "\r\n.\r\n" +
				envelope + "DATA\r\n" + strings.Repeat("y", 998) + "\r\n" +
				// 1001 octets on the wire, 998 once unstuffed
				"." + "." + strings.Repeat("z", 997) + "\r\n.\r\n",
			codes: "220 250 250 250 354 550 250 250 354 250",
			raw:   []string{strings.Repeat("y", 998) + "\r\n." + strings.Repeat("z", 997) + "\r\n"},
		},
		{
			name:  "too big",
			cfg:   Config{MaxSize: 10},
			in:    hello + "MAIL FROM:<a@example.org> SIZE=11\r\n" + envelope + "DATA\r\n0123456789\r\n.\r\n" + envelope + "DATA\r\n01234567\r\n.\r\n",
			codes: "220 250 552 250 250 354 552 250 250 354 250",
			raw:   []string{"01234567\r\n"},
		},
		{
			name:  "too many recipients",
			in:    hello + "MAIL FROM:<a@example.org>\r\n" + strings.Repeat("RCPT TO:<b@example.org>\r\n", maxRecipients+1),
			codes: "220 250 250" + strings.Repeat(" 250", maxRecipients) + " 452",
		},
		{
			name:  "AUTH PLAIN with an initial response",
			cfg:   Config{Users: users},
			in:    hello + "MAIL FROM:<a@example.org>\r\nAUTH PLAIN " + plain("", "alice", "wrong") + "\r\nAUTH PLAIN " + plain("alice", "alice", "secret") + "\r\nAUTH PLAIN " + plain("", "alice", "secret") + "\r\n" + envelope + "DATA\r\nx\r\n.\r\n",
			codes: "220 250 530 535 235 503 250 250 354 250",
			raw:   []string{"x\r\n"},
		},
		{
			name:  "AUTH PLAIN with a challenge, cancelled and malformed",
			cfg:   Config{Users: users},
			in:    hello + "AUTH PLAIN\r\n*\r\nAUTH PLAIN =\r\nAUTH PLAIN !!\r\nAUTH PLAIN " + plain("bob", "alice", "secret") + "\r\nAUTH LOGIN\r\nAUTH PLAIN\r\n" + plain("", "alice", "secret") + "\r\n",
			codes: "220 250 334 501 501 501 501 504 334 235",
		},
		{
			name:  "AUTH before EHLO or when not offered",
			cfg:   Config{},
			in:    "AUTH PLAIN =\r\n" + hello + "AUTH PLAIN " + plain("", "alice", "secret") + "\r\n",
			codes: "220 503 250 503",
		},
		{
			name:  "a new EHLO ends the transaction",
			in:    hello + "MAIL FROM:<a@example.org>\r\n" + hello + "RCPT TO:<b@example.org>\r\n",
			codes: "220 250 250 250 503",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, err := newServer(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			out := converse(srv, tt.in)
			if got := strings.Join(finalCodes(out), " "); got != tt.codes {
				t.Errorf("reply codes\n got %s\nwant %s\nconversation:\n%s", got, tt.codes, out)
			}
			var raw []string
			for _, m := range srv.Messages() {
				raw = append(raw, string(m.Raw))
			}
			if !slices.Equal(raw, tt.raw) {
				t.Errorf("stored %q, want %q", raw, tt.raw)
			}
		})
	}
}

func TestSessionEnvelope(t *testing.T) {
	t.Parallel()
	srv, err := newServer(Config{Users: map[string]string{"alice": "secret"}})
	if err != nil {
		t.Fatal(err)
	}
	out := converse(srv, hello+"AUTH PLAIN "+plain("", "alice", "secret")+"\r\n"+
		"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.net>\r\n"+
		"DATA\r\nSubject: hi\r\nTo: b@example.org\r\n\r\nbody\r\n.\r\n")
	if !strings.Contains(out, "250 AUTH PLAIN\r\n") {
		t.Errorf("EHLO reply does not offer AUTH PLAIN:\n%s", out)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("stored %d messages, want 1\n%s", len(msgs), out)
	}
	m := msgs[0]
	if m.From != "a@example.org" || !slices.Equal(m.To, []string{"b@example.org", "c@example.net"}) || m.User != "alice" || m.TLS {
		t.Errorf("envelope from %q to %q user %q tls %v", m.From, m.To, m.User, m.TLS)
	}
	if m.ParseErr != nil || m.Header.Get("Subject") != "hi" || string(m.Body) != "body\r\n" {
		t.Errorf("parsed subject %q body %q err %v", m.Header.Get("Subject"), m.Body, m.ParseErr)
	}
}

func TestParsePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		arg, addr string
		params    []string
		ok        bool
	}{
		{"FROM:<a@example.org>", "a@example.org", nil, true},
		{"from: <a@example.org>", "a@example.org", nil, true},
		{"FROM:<>", "", nil, true},
		{"FROM:<a@example.org> BODY=8BITMIME  SIZE=5", "a@example.org", []string{"BODY=8BITMIME", "SIZE=5"}, true},
		{"FROM:<\"a.b\"@example.org>", "\"a.b\"@example.org", nil, true},
		{"FROM:a@example.org", "", nil, false},
		{"FROM:<a@example.org", "", nil, false},
		{"FROM:<a@example.org>BODY=7BIT", "", nil, false},
		{"FROM:<Al <a@example.org>>", "", nil, false},
		{"FROM:<not an address>", "", nil, false},
		{"FROM:<@relay.example:a@example.org>", "", nil, false},
		{"TO:<a@example.org>", "", nil, false},
		{"FROM", "", nil, false},
	}
	for _, tt := range tests {
		addr, params, err := parsePath(tt.arg, "FROM:")
		if (err == nil) != tt.ok || addr != tt.addr || !slices.Equal(params, tt.params) {
			t.Errorf("parsePath(%q) = %q, %q, %v; want %q, %q, ok %v", tt.arg, addr, params, err, tt.addr, tt.params, tt.ok)
		}
	}
}
