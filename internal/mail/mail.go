// Package mail sends notices by e-mail: it formats a plain-text message and
// hands it to an SMTP server. Notice and takedown uses it to reach the
// abuse contacts of hosting providers, whose mail systems we do not know,
// so the choices lean towards what every server accepts:
//
//   - One text/plain part in UTF-8, sent as quoted-printable (RFC 2045).
//     Quoted-printable keeps the message 7-bit clean whatever the relay
//     supports, keeps every line under the 998-octet limit of RFC 5322
//     with soft line breaks, and leaves ASCII text readable in the raw.
//   - Subjects, extra header values and display names that are not plain
//     ASCII become RFC 2047 encoded words (Q encoding, or B where net/mail
//     picks it for a display name full of specials). Long header lines are
//     folded at spaces. Addresses themselves must be ASCII: an IDN domain
//     is given in its xn-- form, and we never need SMTPUTF8.
//   - Header values with CR, LF or NUL are refused rather than cleaned, so
//     text from a report can never add a header or a recipient.
//   - The client is net/smtp over a connection we dial ourselves, so the
//     caller's context bounds the whole conversation. STARTTLS is required
//     by default, and the password is only ever sent over TLS or to a
//     server on the loopback interface.
//   - Every failure is an *Error naming the step that failed and the
//     server's reply code, and [Permanent] tells the caller whether to
//     retry (4xx replies, network trouble, timeouts) or escalate to a
//     person (5xx replies, an invalid message, a server that will not do
//     TLS or a certificate that does not verify).
//
// The package never logs, and no error carries the text of a message, so
// the content of a notice stays out of operators' logs.
//
// Package mailtest provides an SMTP server to test against.
package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrInvalid is wrapped by every error about a message that cannot be sent
// as it is. Sending it again will fail again.
var ErrInvalid = errors.New("invalid message")

// Message is a plain-text e-mail.
type Message struct {
	From    string   // "Name <addr>" or "addr", as net/mail.ParseAddress reads it
	To      []string // each as From; all of them are envelope recipients
	ReplyTo string   // optional, as From
	Subject string
	Text    string // the body; any line breaks (LF, CRLF or CR) are sent as CRLF

	// Headers are extra header fields, such as X-Canopy-Notice. They are
	// unstructured text: values that are not plain ASCII are encoded. The
	// fields this package writes itself, and Cc, Bcc and Sender, cannot be
	// set here.
	Headers map[string]string

	// MessageID is the Message-ID, with or without its angle brackets. If
	// empty, one is made from random bytes and the domain of From. Keep
	// it: replies name it in In-Reply-To.
	MessageID string
}

// reserved are the header fields Format writes itself or that would make
// the header disagree with the envelope.
var reserved = map[string]bool{
	"Date": true, "From": true, "To": true, "Cc": true, "Bcc": true,
	"Reply-To": true, "Sender": true, "Subject": true, "Message-Id": true,
	"Mime-Version": true, "Return-Path": true, "Received": true,
}

// maxLine is the limit on the length of a line, without its CRLF, set by
// RFC 5322 section 2.1.1 and RFC 5321 section 4.5.3.1.6.
const maxLine = 998

// foldAt is the length under which we try to keep header lines (RFC 5322
// section 2.1.1 recommends 78).
const foldAt = 78

// envelope is what the SMTP conversation needs from a formatted message.
type envelope struct {
	from string
	to   []string
	raw  []byte
	id   string
}

// Format returns m as it would be sent: the octets of an Internet message
// with CRLF line endings, dated date, and its Message-ID with angle
// brackets. It checks the message as Send does; errors wrap ErrInvalid.
func (m *Message) Format(date time.Time) (raw []byte, id string, err error) {
	env, err := m.format(date)
	if err != nil {
		return nil, "", err
	}
	return env.raw, env.id, nil
}

func (m *Message) format(date time.Time) (*envelope, error) {
	from, err := parseAddress("from", m.From)
	if err != nil {
		return nil, err
	}
	if len(m.To) == 0 {
		return nil, invalid("to: no recipients")
	}
	var to []*mail.Address
	for i, s := range m.To {
		a, err := parseAddress(fmt.Sprintf("to[%d]", i), s)
		if err != nil {
			return nil, err
		}
		to = append(to, a)
	}
	var replyTo *mail.Address
	if m.ReplyTo != "" {
		if replyTo, err = parseAddress("reply-to", m.ReplyTo); err != nil {
			return nil, err
		}
	}
	if err := checkText("subject", m.Subject); err != nil {
		return nil, err
	}
	if !utf8.ValidString(m.Text) {
		return nil, invalid("text: not valid UTF-8")
	}
	id, err := messageID(m.MessageID, from.Address)
	if err != nil {
		return nil, err
	}

	var h strings.Builder
	writeField(&h, "Date", date.Format(time.RFC1123Z))
	writeField(&h, "From", from.String())
	addrs := make([]string, len(to))
	for i, a := range to {
		addrs[i] = a.String()
	}
	writeField(&h, "To", strings.Join(addrs, ", "))
	if replyTo != nil {
		writeField(&h, "Reply-To", replyTo.String())
	}
	writeText(&h, "Subject", m.Subject)
	writeField(&h, "Message-ID", id)
	// Sorted, so that the same message is always formatted the same way.
	names := make([]string, 0, len(m.Headers))
	for name := range m.Headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := checkFieldName(name); err != nil {
			return nil, err
		}
		if err := checkText("header "+name, m.Headers[name]); err != nil {
			return nil, err
		}
		writeText(&h, name, m.Headers[name])
	}
	writeField(&h, "MIME-Version", "1.0")
	writeField(&h, "Content-Type", "text/plain; charset=utf-8")
	writeField(&h, "Content-Transfer-Encoding", "quoted-printable")
	// Only an address or a display name without spaces could still be too
	// long here: text fields fall back to short encoded words.
	for line := range strings.SplitSeq(h.String(), "\r\n") {
		if len(line) > maxLine {
			name, _, _ := strings.Cut(line, ":")
			return nil, invalid(fmt.Sprintf("%s: header line longer than %d octets", strings.ToLower(name), maxLine))
		}
	}

	var b bytes.Buffer
	b.WriteString(h.String())
	b.WriteString("\r\n")
	body := b.Len()
	// The writer turns each LF into CRLF. We turn CRLF and lone CR into LF
	// first rather than leave that to it too: after a CR, it drops the
	// next LF even when an encoded octet stands between them ("\r\x04\n").
	text := strings.ReplaceAll(m.Text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(text)); err != nil {
		return nil, fmt.Errorf("mail: encode text: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, fmt.Errorf("mail: encode text: %w", err)
	}
	// SMTP ends the data with a line break that belongs to the message. If
	// the text had none, end with a soft line break, which decodes to
	// nothing, so the reader gets back exactly the text we were given.
	if b.Len() > body && !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("=\r\n")
	}

	env := &envelope{from: from.Address, raw: b.Bytes(), id: id}
	for _, a := range to {
		env.to = append(env.to, a.Address)
	}
	return env, nil
}

func invalid(msg string) error {
	return fmt.Errorf("mail: %w: %s", ErrInvalid, msg)
}

// checkText refuses what must not reach a header, whatever the encoding:
// line breaks and NUL, which could end the field and start another, and
// bytes that are not UTF-8, which the charset we declare could not carry.
// The value itself is left out of the error, which may be logged.
func checkText(field, s string) error {
	if strings.ContainsAny(s, "\r\n\x00") {
		return invalid(field + ": contains CR, LF or NUL")
	}
	if !utf8.ValidString(s) {
		return invalid(field + ": not valid UTF-8")
	}
	return nil
}

func parseAddress(field, s string) (*mail.Address, error) {
	if err := checkText(field, s); err != nil {
		return nil, err
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, invalid(fmt.Sprintf("%s: %q: %v", field, s, err))
	}
	for _, r := range a.Address {
		if r >= utf8.RuneSelf {
			return nil, invalid(fmt.Sprintf("%s: %q: address is not ASCII (give a domain in its xn-- form)", field, a.Address))
		}
	}
	// RFC 5321 section 4.5.3.1.3 limits a path to 256 octets, brackets
	// included.
	if len(a.Address) > 254 {
		return nil, invalid(fmt.Sprintf("%s: address longer than 254 octets", field))
	}
	return a, nil
}

// checkFieldName accepts the field names of RFC 5322 section 3.6.8,
// printable ASCII without colon, except those Format owns.
func checkFieldName(name string) error {
	if name == "" || len(name) > 76 {
		return invalid(fmt.Sprintf("header %q: name empty or too long", name))
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < '!' || c > '~' || c == ':' {
			return invalid(fmt.Sprintf("header %q: name must be printable ASCII without colon", name))
		}
	}
	canon := textproto.CanonicalMIMEHeaderKey(name)
	if reserved[canon] || strings.HasPrefix(canon, "Content-") {
		return invalid(fmt.Sprintf("header %q: set by the mail package, not by the caller", name))
	}
	return nil
}

// messageID returns the caller's Message-ID in angle brackets after
// checking it is a dot-atom "left@right" (RFC 5322 section 3.6.4), or a
// new one made of 128 random bits and the domain of the sender.
func messageID(id, from string) (string, error) {
	if id == "" {
		var r [16]byte
		rand.Read(r[:])
		domain := from[strings.LastIndexByte(from, '@')+1:]
		return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">", nil
	}
	bare := strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	left, right, ok := strings.Cut(bare, "@")
	if !ok || !isDotAtom(left) || !isDotAtom(right) || len(bare) > 250 {
		return "", invalid(fmt.Sprintf("message-id %q: want <left@right> in printable ASCII", id))
	}
	return "<" + bare + ">", nil
}

func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0) {
			return false
		}
	}
	return true
}

// writeText writes an unstructured field (RFC 5322 section 3.2.5),
// encoding the value when it is not plain ASCII, or when a reader would
// otherwise change it: text that already looks like an encoded word
// ("=?"), white space at either end (which unfolding drops), or a run of
// characters too long to fold under the line limit.
func writeText(b *strings.Builder, name, value string) {
	v := mime.QEncoding.Encode("utf-8", value)
	if v == value && (strings.Contains(value, "=?") || strings.Trim(value, " \t") != value) {
		v = qEncode(value)
	}
	var f strings.Builder
	writeField(&f, name, v)
	for line := range strings.SplitSeq(f.String(), "\r\n") {
		if len(line) > maxLine {
			f.Reset()
			writeField(&f, name, qEncode(value))
			break
		}
	}
	b.WriteString(f.String())
}

// qEncode encodes s as RFC 2047 Q-encoded words, whether or not it needs
// it; mime.QEncoding leaves plain ASCII alone. It uses only the characters
// RFC 2047 section 5 allows everywhere, and keeps each word within 75
// octets without splitting a character between words.
func qEncode(s string) string {
	const (
		prefix = "=?utf-8?q?"
		suffix = "?="
		room   = 75 - len(prefix) - len(suffix)
	)
	var out, word strings.Builder
	flush := func() {
		if out.Len() > 0 {
			out.WriteByte(' ')
		}
		out.WriteString(prefix + word.String() + suffix)
		word.Reset()
	}
	var buf [utf8.UTFMax]byte
	for _, r := range s {
		var enc string
		switch {
		case r == ' ':
			enc = "_"
		case r < utf8.RuneSelf && ('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("!*+-/", r)):
			enc = string(r)
		default:
			n := utf8.EncodeRune(buf[:], r)
			enc = strings.ToUpper(hex.EncodeToString(buf[:n]))
			var e strings.Builder
			for i := 0; i < len(enc); i += 2 {
				e.WriteString("=" + enc[i:i+2])
			}
			enc = e.String()
		}
		if word.Len()+len(enc) > room {
			flush()
		}
		word.WriteString(enc)
	}
	if word.Len() > 0 || out.Len() == 0 {
		flush()
	}
	return out.String()
}

// writeField writes "name: value" CRLF, folded (RFC 5322 section 2.2.3)
// so that lines stay within foldAt octets where the value has room to
// break. It breaks only before a single space between two other
// characters, because unfolding turns each fold into one space and trims
// white space at either end: breaking there changes nothing for the
// reader, not even inside a quoted display name.
func writeField(b *strings.Builder, name, value string) {
	line := name + ": " + value
	start := len(name) + 2 // never break before the value starts
	for len(line) > foldAt {
		cut := -1
		for i := max(start, 1); i < len(line)-1; i++ {
			if line[i] != ' ' || isWSP(line[i-1]) || isWSP(line[i+1]) {
				continue
			}
			if i > foldAt && cut >= 0 {
				break
			}
			cut = i
			if i > foldAt {
				break
			}
		}
		if cut < 0 {
			break
		}
		b.WriteString(line[:cut])
		b.WriteString("\r\n")
		line = line[cut:] // starts with the space that makes it a continuation
		start = 1
	}
	b.WriteString(line)
	b.WriteString("\r\n")
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }
