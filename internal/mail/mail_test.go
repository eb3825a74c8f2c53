package mail_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy/internal/mail"
	"github.com/canopy-org/canopy/internal/mail/mailtest"
)

// decoded is a message read back the way a mail reader would.
type decoded struct {
	header  netmail.Header
	from    *netmail.Address
	to      []*netmail.Address
	replyTo *netmail.Address
	subject string
	text    string
}

// decode parses raw with net/mail, decodes encoded words with
// mime.WordDecoder and the body with quotedprintable, and checks the
// octets obey the line rules of RFC 5322 on the way.
func decode(t *testing.T, raw []byte) decoded {
	t.Helper()
	checkLines(t, raw)
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, raw)
	}
	var d decoded
	d.header = msg.Header
	for name, want := range map[string]string{
		"MIME-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
	} {
		if got := msg.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if d.from, err = netmail.ParseAddress(msg.Header.Get("From")); err != nil {
		t.Errorf("From: %v", err)
	}
	if d.to, err = msg.Header.AddressList("To"); err != nil {
		t.Errorf("To: %v", err)
	}
	if rt := msg.Header.Get("Reply-To"); rt != "" {
		if d.replyTo, err = netmail.ParseAddress(rt); err != nil {
			t.Errorf("Reply-To: %v", err)
		}
	}
	if d.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Errorf("Subject: %v", err)
	}
	text, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Errorf("body: %v", err)
	}
	d.text = string(text)
	return d
}

// checkLines checks that every line ends in CRLF, has no other CR or LF,
// and is at most 998 octets long (RFC 5322 section 2.1.1); and that header
// lines stay within 78 octets unless a single word makes them longer.
func checkLines(t *testing.T, raw []byte) {
	t.Helper()
	if len(raw) > 0 && !bytes.HasSuffix(raw, []byte("\r\n")) {
		t.Errorf("message does not end with CRLF")
	}
	inHeader := true
	for i, line := range strings.Split(strings.TrimSuffix(string(raw), "\r\n"), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, line)
		}
		if len(line) > 998 {
			t.Errorf("line %d is %d octets long", i+1, len(line))
		}
		if line == "" {
			inHeader = false
		}
		if inHeader && len(line) > 78 && foldable(line) {
			t.Errorf("header line %d is %d octets long and could be folded: %q", i+1, len(line), line)
		}
	}
}

// foldable reports whether a header line has, after its field name (or
// the white space that makes it a continuation), a place where folding
// changes nothing for the reader: a single space between two other
// characters.
func foldable(line string) bool {
	if strings.HasPrefix(line, " ") {
		line = line[1:]
	} else {
		_, line, _ = strings.Cut(line, ": ")
	}
	for i := 1; i < len(line)-1; i++ {
		if line[i] == ' ' && !strings.ContainsRune(" \t", rune(line[i-1])) && !strings.ContainsRune(" \t", rune(line[i+1])) {
			return true
		}
	}
	return false
}

// crlf turns every line break into CRLF, as Send promises to.
func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// plainSender sends to srv without TLS.
func plainSender(srv *mailtest.Server) *mail.Sender {
	return &mail.Sender{Addr: srv.Addr, Host: "canopy.test", StartTLS: mail.StartTLSOff, Timeout: 10 * time.Second}
}

func waitOne(t *testing.T, srv *mailtest.Server) mailtest.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := srv.Wait(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("server holds %d messages, want 1", len(msgs))
	}
	if msgs[0].ParseErr != nil {
		t.Fatal(msgs[0].ParseErr)
	}
	return msgs[0]
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("0123456789", 150) // 1500 octets on one line
	tests := []struct {
		name    string
		from    string
		subject string
		text    string
		headers map[string]string
	}{
		{
			name:    "ASCII",
			from:    "Canopy Hotline <notices@hotline.example>",
			subject: "Notice of illegal content at https://host.example/a?b=c",
			text:    "Dear abuse team,\n\nPlease remove the material at the address below.\n\nRegards,\nThe hotline\n",
		},
		{
			name:    "French",
			from:    "Équipe de signalement <signalements@hotline.example>",
			subject: "Signalement de contenu illégal — retrait demandé",
			text:    "Bonjour,\n\nVeuillez retirer le contenu signalé à l'adresse ci-dessous.\nÀ bientôt, l'équipe « Canopy ».\n",
			headers: map[string]string{"X-Canopy-Notice": "N-2026-0001", "X-Canopy-Note": "reçu à 14 h"},
		},
		{
			name:    "Arabic",
			from:    "فريق البلاغات <reports@hotline.example>",
			subject: "إشعار بإزالة محتوى غير قانوني",
			text:    "مرحباً،\n\nيرجى إزالة المحتوى المبلغ عنه في الرابط أدناه.\nمع التحية،\nفريق الخط الساخن\n",
			headers: map[string]string{"X-Canopy-Note": "عاجل"},
		},
		{
			name:    "lines starting with a dot",
			subject: ".",
			text:    ".\n..\n.hidden\n. \nend\n.",
		},
		{
			name:    "lines longer than 998 octets",
			subject: "long lines",
			text:    long + "\n" + strings.Repeat("محتوى ", 300) + "\n" + long,
		},
		{
			name:    "long subjects are folded",
			subject: strings.Repeat("takedown notice ", 30) + strings.Repeat("x", 120),
			text:    "x\n",
		},
		{
			name:    "long non-ASCII subject",
			subject: strings.Repeat("إشعار بإزالة محتوى ", 20),
			text:    "x\n",
		},
		{
			name:    "subjects a reader could misread",
			subject: "  =?utf-8?q?not_encoded?= and a tab\there ",
			text:    "x",
			headers: map[string]string{"X-Canopy-Notice": " =?x?q?y?= "},
		},
		{
			name:    "white space at line ends and no final line break",
			subject: "spaces",
			text:    "trailing spaces   \ntrailing tab\t\n\nno final break ",
		},
		{
			name:    "CR and CRLF line breaks",
			subject: "line breaks",
			text:    "one\r\ntwo\rthree\n",
		},
		{
			name:    "CR, encoded octet, LF", // found by FuzzFormat
			subject: "line breaks",
			text:    "a\r\x04\nb\r\r\n\n",
		},
		{
			name:    "QP-looking text and control characters",
			subject: "equals",
			text:    "a=b =3D =\n\x01\x7f\x00 done\n",
		},
		{
			name:    "empty",
			subject: "",
			text:    "",
		},
		{
			name:    "display name needing quotes",
			from:    `"Abuse, \"Team\"" <abuse@hotline.example>`,
			subject: "quotes",
			text:    "x\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mailtest.NewServer(t, mailtest.Config{})
			from := tt.from
			if from == "" {
				from = "notices@hotline.example"
			}
			m := &mail.Message{
				From:    from,
				To:      []string{"Hébergeur SA <abuse@host.example>"},
				ReplyTo: "Canopy Desk <desk@hotline.example>",
				Subject: tt.subject,
				Text:    tt.text,
				Headers: tt.headers,
			}
			id, err := plainSender(srv).Send(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			got := waitOne(t, srv)
			d := decode(t, got.Raw)
			wantFrom, _ := netmail.ParseAddress(from)
			if got.From != wantFrom.Address || !slices.Equal(got.To, []string{"abuse@host.example"}) {
				t.Errorf("envelope from %q to %q", got.From, got.To)
			}
			if d.from.Name != wantFrom.Name || d.from.Address != wantFrom.Address {
				t.Errorf("From: %q <%s>, want %q <%s>", d.from.Name, d.from.Address, wantFrom.Name, wantFrom.Address)
			}
			if len(d.to) != 1 || d.to[0].Name != "Hébergeur SA" || d.to[0].Address != "abuse@host.example" {
				t.Errorf("To: %v", d.to)
			}
			if d.replyTo == nil || d.replyTo.Name != "Canopy Desk" {
				t.Errorf("Reply-To: %v", d.replyTo)
			}
			if d.subject != tt.subject {
				t.Errorf("Subject:\n got %q\nwant %q", d.subject, tt.subject)
			}
			if want := crlf(tt.text); d.text != want {
				t.Errorf("text:\n got %q\nwant %q", d.text, want)
			}
			for name, want := range tt.headers {
				got, err := new(mime.WordDecoder).DecodeHeader(d.header.Get(name))
				if err != nil || got != want {
					t.Errorf("%s: %q (%v), want %q", name, got, err, want)
				}
			}
			if d.header.Get("Message-ID") != id {
				t.Errorf("Message-ID %q, Send returned %q", d.header.Get("Message-ID"), id)
			}
			if _, err := d.header.Date(); err != nil {
				t.Errorf("Date: %v", err)
			}
		})
	}
}

func TestMultipleRecipients(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Config{})
	to := []string{"abuse@host.example", "Équipe NOC <noc@host.example>", `"Legal, Dept" <legal@host.example>`}
	for i := range 12 { // enough to fold the To field
		to = append(to, fmt.Sprintf("Contact %d <contact%d@registrar.example>", i, i))
	}
	if _, err := plainSender(srv).Send(context.Background(), &mail.Message{
		From: "notices@hotline.example", To: to, Subject: "notice", Text: "x\n",
	}); err != nil {
		t.Fatal(err)
	}
	got := waitOne(t, srv)
	d := decode(t, got.Raw)
	if len(got.To) != len(to) || len(d.to) != len(to) {
		t.Fatalf("envelope has %d recipients and To %d, want %d", len(got.To), len(d.to), len(to))
	}
	for i, s := range to {
		want, _ := netmail.ParseAddress(s)
		if got.To[i] != want.Address || d.to[i].Address != want.Address || d.to[i].Name != want.Name {
			t.Errorf("recipient %d: envelope %q, header %v, want %v", i, got.To[i], d.to[i], want)
		}
	}
}

func TestFormatRefuses(t *testing.T) {
	t.Parallel()
	valid := func() *mail.Message {
		return &mail.Message{From: "notices@hotline.example", To: []string{"abuse@host.example"}, Subject: "notice", Text: "x\n"}
	}
	tests := []struct {
		name   string
		change func(m *mail.Message)
	}{
		{"CRLF in the subject", func(m *mail.Message) { m.Subject = "notice\r\nBcc: victim@example.org" }},
		{"LF in the subject", func(m *mail.Message) { m.Subject = "notice\nBcc: victim@example.org" }},
		{"CR in the subject", func(m *mail.Message) { m.Subject = "notice\rx" }},
		{"NUL in the subject", func(m *mail.Message) { m.Subject = "notice\x00" }},
		{"subject not UTF-8", func(m *mail.Message) { m.Subject = "caf\xe9" }},
		{"text not UTF-8", func(m *mail.Message) { m.Text = "caf\xe9" }},
		{"CRLF in a header value", func(m *mail.Message) {
			m.Headers = map[string]string{"X-Canopy-Notice": "1\r\nBcc: victim@example.org"}
		}},
		{"colon in a header name", func(m *mail.Message) { m.Headers = map[string]string{"X-A: b\r\nX-B": "1"} }},
		{"space in a header name", func(m *mail.Message) { m.Headers = map[string]string{"X A": "1"} }},
		{"empty header name", func(m *mail.Message) { m.Headers = map[string]string{"": "1"} }},
		{"Bcc as an extra header", func(m *mail.Message) { m.Headers = map[string]string{"bcc": "victim@example.org"} }},
		{"Content-Type as an extra header", func(m *mail.Message) { m.Headers = map[string]string{"content-type": "text/html"} }},
		{"Message-ID as an extra header", func(m *mail.Message) { m.Headers = map[string]string{"Message-ID": "<a@b>"} }},
		{"CRLF in From", func(m *mail.Message) { m.From = "notices@hotline.example\r\nBcc: victim@example.org" }},
		{"CRLF in a display name", func(m *mail.Message) { m.To = []string{"\"Abuse\r\nBcc: victim@example.org\" <abuse@host.example>"} }},
		{"recipient smuggling a command", func(m *mail.Message) { m.To = []string{"abuse@host.example>\r\nRCPT TO:<victim@example.org"} }},
		{"From not an address", func(m *mail.Message) { m.From = "the hotline" }},
		{"To not an address", func(m *mail.Message) { m.To = []string{"abuse at host.example"} }},
		{"two addresses in one To entry", func(m *mail.Message) { m.To = []string{"a@host.example, b@host.example"} }},
		{"no recipients", func(m *mail.Message) { m.To = nil }},
		{"Reply-To not an address", func(m *mail.Message) { m.ReplyTo = "desk" }},
		{"non-ASCII address", func(m *mail.Message) { m.To = []string{"jörg@host.example"} }},
		{"address too long", func(m *mail.Message) {
			m.To = []string{strings.Repeat("a", 64) + "@" + strings.Repeat("b.", 100) + "example"}
		}},
		{"Message-ID with a space", func(m *mail.Message) { m.MessageID = "<a b@hotline.example>" }},
		{"Message-ID without @", func(m *mail.Message) { m.MessageID = "<abc>" }},
		{"Message-ID with CRLF", func(m *mail.Message) { m.MessageID = "<a@b>\r\nBcc: victim@example.org" }},
		{"display name too long to fold", func(m *mail.Message) { m.From = strings.Repeat("x", 1000) + " <notices@hotline.example>" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := valid()
			tt.change(m)
			raw, _, err := m.Format(time.Now())
			if !errors.Is(err, mail.ErrInvalid) {
				t.Fatalf("Format returned %v, want ErrInvalid\n%s", err, raw)
			}
			if !mail.Permanent(err) {
				t.Errorf("Permanent(%v) = false", err)
			}
			// Errors may be logged; a subject or header value may hold
			// what a notice is about.
			if (strings.Contains(tt.name, "subject") || strings.Contains(tt.name, "header value")) && strings.Contains(err.Error(), "victim") {
				t.Errorf("error repeats the header value: %v", err)
			}
		})
	}
	if _, _, err := valid().Format(time.Now()); err != nil {
		t.Fatalf("the valid message is refused: %v", err)
	}
}

// TestSendRefusesInvalid checks that an invalid message never reaches the
// server.
func TestSendRefusesInvalid(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Config{})
	_, err := plainSender(srv).Send(context.Background(), &mail.Message{
		From: "notices@hotline.example", To: []string{"abuse@host.example"}, Subject: "x\r\nBcc: victim@example.org",
	})
	var e *mail.Error
	if !errors.As(err, &e) || e.Step != "message" || !errors.Is(err, mail.ErrInvalid) || !mail.Permanent(err) {
		t.Fatalf("Send returned %v, want a permanent message error", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages reached the server", n)
	}
}

func TestFormatHeaders(t *testing.T) {
	t.Parallel()
	date := time.Date(2026, 3, 9, 14, 5, 7, 0, time.FixedZone("CET", 3600))
	m := &mail.Message{
		From:      "notices@hotline.example",
		To:        []string{"abuse@host.example"},
		Subject:   "notice",
		Text:      "x\n",
		Headers:   map[string]string{"X-Canopy-Notice": "N-1", "X-Canopy-Case": "C-2"},
		MessageID: "n-1.20260309@hotline.example",
	}
	raw, id, err := m.Format(date)
	if err != nil {
		t.Fatal(err)
	}
	if id != "<n-1.20260309@hotline.example>" {
		t.Errorf("id %q, want the caller's in angle brackets", id)
	}
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	want := "Date: Mon, 09 Mar 2026 14:05:07 +0100\r\n" +
		"From: <notices@hotline.example>\r\n" +
		"To: <abuse@host.example>\r\n" +
		"Subject: notice\r\n" +
		"Message-ID: <n-1.20260309@hotline.example>\r\n" +
		"X-Canopy-Case: C-2\r\n" +
		"X-Canopy-Notice: N-1\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable"
	if head != want {
		t.Errorf("header:\n%s\nwant:\n%s", head, want)
	}
	again, _, _ := m.Format(date)
	if !bytes.Equal(raw, again) {
		t.Error("the same message formats differently twice")
	}

	m.MessageID = ""
	seen := map[string]bool{}
	shape := regexp.MustCompile(`^<[0-9a-f]{32}@hotline\.example>$`)
	for range 100 {
		raw, id, err := m.Format(date)
		if err != nil {
			t.Fatal(err)
		}
		if !shape.MatchString(id) || seen[id] {
			t.Fatalf("generated id %q is malformed or repeated", id)
		}
		seen[id] = true
		if !bytes.Contains(raw, []byte("\r\nMessage-ID: "+id+"\r\n")) {
			t.Fatalf("generated id %q is not in the message", id)
		}
	}
}

func TestPermanent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("boom"), false},
		{context.DeadlineExceeded, false},
		{fmt.Errorf("notice 7: %w", mail.ErrInvalid), true},
		{fmt.Errorf("notice 7: %w", &mail.Error{Step: "rcpt to <a@b>", Code: 450, Err: errors.New("busy")}), false},
	}
	for _, tt := range tests {
		if got := mail.Permanent(tt.err); got != tt.want {
			t.Errorf("Permanent(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
