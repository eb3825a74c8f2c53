package mail

import (
	"net"
	"strings"
	"testing"
)

func TestLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 25}, true},
		{&net.TCPAddr{IP: net.ParseIP("127.3.2.1"), Port: 25}, true},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 25}, true},
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 25}, false},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 25}, false},
		{&net.UnixAddr{Name: "/tmp/smtp", Net: "unix"}, false},
	}
	for _, tt := range tests {
		if got := loopback(tt.addr); got != tt.want {
			t.Errorf("loopback(%v) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestWriteField(t *testing.T) {
	t.Parallel()
	words := strings.Repeat("word ", 30)
	tests := []struct {
		name, value, want string
	}{
		{"short", "a b", "Subject: a b\r\n"},
		{"folded at the last space that fits", strings.TrimSpace(words),
			"Subject: word word word word word word word word word word word word word word\r\n" +
				" word word word word word word word word word word word word word word word\r\n" +
				" word\r\n"},
		{"no break before the value", strings.Repeat("x", 100),
			"Subject: " + strings.Repeat("x", 100) + "\r\n"},
		{"first space past the limit when none fits", strings.Repeat("x", 100) + " y z",
			"Subject: " + strings.Repeat("x", 100) + "\r\n y z\r\n"},
		{"never at doubled white space", strings.Repeat("x", 70) + "  \tyy" + strings.Repeat(" ", 2) + "zz",
			"Subject: " + strings.Repeat("x", 70) + "  \tyy  zz\r\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		writeField(&b, "Subject", tt.value)
		if b.String() != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, b.String(), tt.want)
		}
	}
}

func TestQEncode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":           "=?utf-8?q??=",
		"a b=?c?=":   "=?utf-8?q?a_b=3D=3Fc=3F=3D?=",
		"é":          "=?utf-8?q?=C3=A9?=",
		" x ":        "=?utf-8?q?_x_?=",
		"!*+-/_\t\"": "=?utf-8?q?!*+-/=5F=09=22?=",
	} {
		if got := qEncode(in); got != want {
			t.Errorf("qEncode(%q) = %q, want %q", in, got, want)
		}
	}
	// Words stay within 75 octets and never split a character.
	for w := range strings.FieldsSeq(qEncode(strings.Repeat("é", 40))) {
		if len(w) > 75 || !strings.HasSuffix(w, "=A9?=") {
			t.Errorf("word %q is too long or splits a character", w)
		}
	}
}
