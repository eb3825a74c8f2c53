package mailtest

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// Limits from RFC 5321 section 4.5.3.1, line endings included, and RFC
// 4954 section 4 for the AUTH command and its responses.
const (
	maxCommandLine = 512
	maxAuthLine    = 12288
	maxTextLine    = 1000
	maxRecipients  = 100
)

// session is one client's conversation. It reads and writes through
// buffers over rw; conn is the connection under rw, which STARTTLS and
// Hang need, and is nil when the fuzz tests drive a session in memory.
type session struct {
	srv  *Server
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	err  error // the first write error; the session ends on it

	tls   bool
	hello string // the name the client gave in EHLO or HELO, if it did
	ehlo  bool   // the client used EHLO, so extensions are on
	user  string // who authenticated, if anyone

	inMail bool // a transaction is open: MAIL FROM was accepted
	from   string
	to     []string
}

// errHangUp ends a session without a further reply.
var errHangUp = errors.New("hang up")

func (s *Server) serve(conn net.Conn, rw io.ReadWriter) {
	ss := &session{srv: s, conn: conn, r: bufio.NewReader(rw), w: bufio.NewWriter(rw)}
	ss.run()
}

func (ss *session) run() {
	if f, ok := ss.srv.forcedAt(Greeting); ok {
		if !f.hang {
			ss.reply(f.code, f.text)
		}
		ss.stall(f)
		return
	}
	ss.reply(220, ss.srv.cfg.Hostname+" ESMTP mailtest")
	for ss.err == nil {
		line, crlf, long, err := readLine(ss.r, maxAuthLine)
		if err != nil {
			return // the client hung up, or the connection broke
		}
		switch {
		case long || len(line)+2 > maxCommandLine && !hasPrefixFold(line, "AUTH "):
			ss.reply(500, "5.5.2 line too long")
		case !crlf || bytes.IndexByte(line, '\r') >= 0:
			ss.reply(500, "5.5.2 commands end with CRLF; bare CR or LF refused")
		default:
			if err := ss.command(string(line)); err != nil {
				return
			}
		}
	}
}

// stall carries out a forced refusal or hang: it ends the session, either
// at once or, for a hang, when the client gives up or the server closes.
func (ss *session) stall(f forced) {
	ss.w.Flush()
	if f.hang && ss.conn != nil {
		io.Copy(io.Discard, ss.conn)
	}
}

// force answers at stage st if the test asked for it, reporting whether
// it did. A hang returns errHangUp once it is over.
func (ss *session) force(st Stage) (bool, error) {
	f, ok := ss.srv.forcedAt(st)
	if !ok {
		return false, nil
	}
	if f.hang {
		ss.stall(f)
		return true, errHangUp
	}
	ss.reply(f.code, f.text)
	return true, ss.err
}

// command carries out one command line. A non-nil error ends the session.
func (ss *session) command(line string) error {
	verb, arg, _ := strings.Cut(line, " ")
	switch strings.ToUpper(verb) {
	case "EHLO", "HELO":
		return ss.helloCmd(strings.ToUpper(verb) == "EHLO", arg)
	case "STARTTLS":
		return ss.startTLS(arg)
	case "AUTH":
		return ss.auth(arg)
	case "MAIL":
		return ss.mail(arg)
	case "RCPT":
		return ss.rcpt(arg)
	case "DATA":
		return ss.data(arg)
	case "RSET":
		if arg != "" {
			return ss.reply(501, "5.5.4 RSET takes no argument")
		}
		ss.reset()
		return ss.reply(250, "2.0.0 reset")
	case "NOOP":
		return ss.reply(250, "2.0.0 OK")
	case "VRFY":
		if arg == "" {
			return ss.reply(501, "5.5.4 VRFY needs an argument")
		}
		return ss.reply(252, "2.1.5 cannot VRFY, but will take the message")
	case "QUIT":
		ss.reply(221, "2.0.0 bye")
		return errHangUp
	case "EXPN", "HELP", "TURN", "ETRN", "BDAT":
		return ss.reply(502, "5.5.1 command not implemented")
	default:
		return ss.reply(500, "5.5.2 command not recognized")
	}
}

func (ss *session) helloCmd(ehlo bool, arg string) error {
	name := strings.TrimSpace(arg)
	if name == "" || strings.ContainsAny(name, " \t") {
		return ss.reply(501, "5.5.4 give one domain or address literal")
	}
	ss.reset() // RFC 5321 section 4.1.4: a new hello ends the transaction
	ss.hello, ss.ehlo = name, ehlo
	greeting := ss.srv.cfg.Hostname + " greets " + name
	if !ehlo {
		return ss.reply(250, greeting)
	}
	lines := []string{greeting, "8BITMIME", "ENHANCEDSTATUSCODES", "SIZE " + strconv.Itoa(ss.srv.cfg.MaxSize)}
	if ss.offerTLS() {
		lines = append(lines, "STARTTLS")
	}
	if ss.offerAuth() {
		lines = append(lines, "AUTH PLAIN")
	}
	return ss.reply(250, lines...)
}

func (ss *session) offerTLS() bool {
	return ss.srv.serverTLS != nil && ss.conn != nil && !ss.tls && ss.ehlo
}

func (ss *session) offerAuth() bool {
	return ss.srv.cfg.Users != nil && ss.ehlo && (ss.tls || ss.srv.serverTLS == nil)
}

func (ss *session) startTLS(arg string) error {
	switch {
	case !ss.offerTLS():
		return ss.reply(502, "5.5.1 STARTTLS not offered")
	case arg != "":
		return ss.reply(501, "5.5.4 STARTTLS takes no argument")
	case ss.r.Buffered() > 0:
		// Anything the client sent after STARTTLS in the same breath
		// would be read as if it came over TLS (CVE-2011-0411): refuse
		// and hang up rather than carry it over.
		ss.reply(554, "5.5.1 input pipelined after STARTTLS")
		return errHangUp
	}
	if err := ss.reply(220, "2.0.0 ready to start TLS"); err != nil {
		return err
	}
	tc := tls.Server(ss.conn, ss.srv.serverTLS)
	ss.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		return err
	}
	ss.conn.SetDeadline(time.Time{})
	// RFC 3207 section 4.2: forget everything learnt before TLS.
	*ss = session{srv: ss.srv, conn: ss.conn, r: bufio.NewReader(tc), w: bufio.NewWriter(tc), tls: true}
	return nil
}

func (ss *session) auth(arg string) error {
	switch {
	case ss.srv.cfg.Users == nil || !ss.ehlo:
		return ss.reply(503, "5.5.1 AUTH not offered")
	case !ss.offerAuth():
		return ss.reply(538, "5.7.11 encryption required for AUTH")
	case ss.user != "":
		return ss.reply(503, "5.5.1 already authenticated")
	case ss.inMail:
		return ss.reply(503, "5.5.1 AUTH not allowed during a transaction")
	}
	mech, resp, hasResp := strings.Cut(arg, " ")
	if !strings.EqualFold(mech, "PLAIN") {
		return ss.reply(504, "5.5.4 mechanism not supported")
	}
	if !hasResp {
		if err := ss.reply(334, ""); err != nil {
			return err
		}
		line, crlf, long, err := readLine(ss.r, maxAuthLine)
		if err != nil {
			return err
		}
		if long || !crlf {
			return ss.reply(500, "5.5.6 bad response line")
		}
		resp = string(line)
	}
	if resp == "*" {
		return ss.reply(501, "5.0.0 AUTH cancelled")
	}
	var plain []byte
	if resp != "=" { // "=" is an empty initial response (RFC 4954 section 4)
		var err error
		if plain, err = base64.StdEncoding.DecodeString(resp); err != nil {
			return ss.reply(501, "5.5.2 response is not base64")
		}
	}
	parts := strings.Split(string(plain), "\x00")
	if len(parts) != 3 || parts[0] != "" && parts[0] != parts[1] {
		return ss.reply(501, "5.5.2 want authzid NUL authcid NUL password")
	}
	want, ok := ss.srv.cfg.Users[parts[1]]
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(parts[2])) != 1 {
		return ss.reply(535, "5.7.8 authentication credentials invalid")
	}
	ss.user = parts[1]
	return ss.reply(235, "2.7.0 authenticated")
}

func (ss *session) mail(arg string) error {
	switch {
	case ss.hello == "":
		return ss.reply(503, "5.5.1 say EHLO first")
	case ss.srv.cfg.Users != nil && ss.user == "":
		return ss.reply(530, "5.7.0 authentication required")
	case ss.inMail:
		return ss.reply(503, "5.5.1 MAIL already given")
	}
	from, params, err := parsePath(arg, "FROM:")
	if err != nil {
		return ss.reply(501, "5.1.7 "+err.Error())
	}
	for _, p := range params {
		key, value, _ := strings.Cut(p, "=")
		switch strings.ToUpper(key) {
		case "BODY":
			if v := strings.ToUpper(value); v != "7BIT" && v != "8BITMIME" {
				return ss.reply(501, "5.5.4 BODY is 7BIT or 8BITMIME")
			}
		case "SIZE":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				return ss.reply(501, "5.5.4 SIZE is a number")
			}
			if n > ss.srv.cfg.MaxSize {
				return ss.reply(552, "5.3.4 message too big")
			}
		default:
			return ss.reply(555, "5.5.4 parameter not supported")
		}
	}
	if done, err := ss.force(Mail); done {
		return err
	}
	ss.inMail, ss.from = true, from
	return ss.reply(250, "2.1.0 sender OK")
}

func (ss *session) rcpt(arg string) error {
	if !ss.inMail {
		return ss.reply(503, "5.5.1 need MAIL first")
	}
	to, params, err := parsePath(arg, "TO:")
	if err != nil {
		return ss.reply(501, "5.1.3 "+err.Error())
	}
	switch {
	case to == "":
		return ss.reply(501, "5.1.3 a recipient cannot be empty")
	case len(params) > 0:
		return ss.reply(555, "5.5.4 parameter not supported")
	case len(ss.to) >= maxRecipients:
		return ss.reply(452, "4.5.3 too many recipients")
	}
	if done, err := ss.force(Rcpt); done {
		return err
	}
	ss.to = append(ss.to, to)
	return ss.reply(250, "2.1.5 recipient OK")
}

func (ss *session) data(arg string) error {
	switch {
	case arg != "":
		return ss.reply(501, "5.5.4 DATA takes no argument")
	case !ss.inMail:
		return ss.reply(503, "5.5.1 need MAIL first")
	case len(ss.to) == 0:
		return ss.reply(554, "5.5.1 no valid recipients")
	}
	if done, err := ss.force(Data); done {
		return err
	}
	if err := ss.reply(354, "end data with <CR><LF>.<CR><LF>"); err != nil {
		return err
	}
	raw, code, text, err := readData(ss.r, ss.srv.cfg.MaxSize)
	if err != nil {
		return err
	}
	defer ss.reset()
	if done, err := ss.force(EndOfData); done {
		return err
	}
	if code != 0 {
		return ss.reply(code, text)
	}
	n := ss.srv.store(Message{From: ss.from, To: ss.to, Raw: raw, TLS: ss.tls, User: ss.user})
	return ss.reply(250, fmt.Sprintf("2.0.0 OK queued as %d", n))
}

func (ss *session) reset() {
	ss.inMail, ss.from, ss.to = false, "", nil
}

// reply sends one reply, on several lines if there are several texts.
func (ss *session) reply(code int, texts ...string) error {
	if ss.err != nil {
		return ss.err
	}
	if len(texts) == 0 {
		texts = []string{""}
	}
	for i, t := range texts {
		sep := "-"
		if i == len(texts)-1 {
			sep = " "
		}
		fmt.Fprintf(ss.w, "%03d%s%s\r\n", code, sep, t)
	}
	ss.err = ss.w.Flush()
	return ss.err
}

// readData reads a message after 354 up to the line holding only a dot,
// and undoes dot-stuffing (RFC 5321 section 4.5.2). The end is a dot
// after CRLF only: a dot after a bare LF is content, so that a message
// cannot be ended early and another smuggled in behind it. A message with
// a bare CR or LF, a line over 998 octets or too many octets is read to
// its end and refused with code and text.
func readData(r *bufio.Reader, maxSize int) (raw []byte, code int, text string, err error) {
	var b bytes.Buffer
	prevCRLF := true // the 354 reply is where the data starts
	for {
		// The limit does not count the dot added for transparency (RFC
		// 5321 section 4.5.3.1.6).
		line, crlf, long, err := readLine(r, maxTextLine+1)
		if err != nil {
			return nil, 0, "", err
		}
		stuffed := len(line) > 0 && line[0] == '.'
		if stuffed {
			line = line[1:]
		}
		long = long || len(line) > maxTextLine-2
		if prevCRLF && crlf && !long && len(line) == 0 && stuffed {
			break
		}
		prevCRLF = crlf
		switch {
		case code != 0:
			// Refused already; read on to the end.
		case long:
			code, text = 550, "5.6.0 line longer than 998 octets"
		case !crlf || bytes.IndexByte(line, '\r') >= 0:
			code, text = 550, "5.6.0 bare CR or LF in message"
		case b.Len()+len(line)+2 > maxSize:
			code, text = 552, "5.3.4 message too big"
		default:
			b.Write(line)
			b.WriteString("\r\n")
		}
	}
	if code != 0 {
		return nil, code, text, nil
	}
	return b.Bytes(), 0, "", nil
}

// readLine reads a line up to its LF and returns it without its ending.
// crlf says whether the ending was CRLF rather than a bare LF. A line of
// more than limit octets, ending included, is read to its end but returned
// empty, with long set, so a client cannot make the server hold more.
func readLine(r *bufio.Reader, limit int) (line []byte, crlf, long bool, err error) {
	n := 0
	var beforeLF byte // the octet before the LF, which may be in an earlier chunk
	for {
		chunk, err := r.ReadSlice('\n')
		n += len(chunk)
		if n > limit {
			long, line = true, nil
		} else {
			line = append(line, chunk...)
		}
		if len(chunk) >= 2 {
			beforeLF = chunk[len(chunk)-2]
		}
		if err == bufio.ErrBufferFull {
			beforeLF = chunk[len(chunk)-1]
			continue
		}
		if err != nil {
			return nil, false, false, err // a line cut short is no line
		}
		break
	}
	crlf = n >= 2 && beforeLF == '\r'
	if long {
		return nil, crlf, true, nil
	}
	line = line[:len(line)-1] // the LF
	if crlf {
		line = line[:len(line)-1]
	}
	return line, crlf, false, nil
}

// parsePath parses the argument of MAIL or RCPT: the keyword ("FROM:" or
// "TO:"), a path in angle brackets and space-separated parameters (RFC
// 5321 section 4.1.2). It tolerates a space after the colon, as most
// servers do, and leaves out source routes and quoted local parts holding
// '>', which no current client sends. An empty path returns "".
func parsePath(arg, keyword string) (addr string, params []string, err error) {
	if !hasPrefixFold(arg, keyword) {
		return "", nil, fmt.Errorf("syntax: want %s<address>", keyword)
	}
	rest := strings.TrimPrefix(arg[len(keyword):], " ")
	if !strings.HasPrefix(rest, "<") {
		return "", nil, errors.New("syntax: address must be in angle brackets")
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", nil, errors.New("syntax: no closing angle bracket")
	}
	addr, rest = rest[1:end], rest[end+1:]
	if rest != "" && rest[0] != ' ' {
		return "", nil, errors.New("syntax: space must follow the address")
	}
	if addr != "" {
		a, err := mail.ParseAddress(addr)
		if err != nil || a.Name != "" || strings.ContainsAny(addr, " \t<") {
			return "", nil, errors.New("syntax: bad address")
		}
	}
	return addr, strings.Fields(rest), nil
}

func hasPrefixFold[T []byte | string](s T, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(string(s[:len(prefix)]), prefix)
}
