package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"
)

// StartTLS settings of a Sender.
const (
	StartTLSRequired      = "required"      // refuse to send unless the server offers STARTTLS; the default
	StartTLSOpportunistic = "opportunistic" // use STARTTLS when offered, else send in clear; a certificate is still checked as TLS says
	StartTLSOff           = "off"           // never use STARTTLS
)

// DefaultTimeout bounds a whole conversation when Sender.Timeout is zero
// and the caller's context has no earlier deadline.
const DefaultTimeout = 2 * time.Minute

// Sender sends messages through one SMTP server, usually the hotline's
// own submission server or relay.
type Sender struct {
	Addr string // host:port of the server
	Host string // name to give in EHLO; the host name of the machine if empty

	// Username and Password, when Username is set, are sent with AUTH
	// PLAIN: only over TLS, or to a server on the loopback interface.
	Username, Password string

	// TLS configures STARTTLS. If nil, the server's certificate is checked
	// against the system roots for the host of Addr. A copy without a
	// ServerName gets the host of Addr.
	TLS *tls.Config

	StartTLS string // StartTLSRequired (if empty), StartTLSOpportunistic or StartTLSOff

	// Timeout bounds the whole conversation, from dial to the reply to
	// the message, as well as the caller's context: DefaultTimeout if zero.
	Timeout time.Duration
}

// Error is a failed attempt to send. Step says what failed: "message",
// "config", "dial", "greeting", "hello", "starttls", "auth", "mail from",
// "rcpt to <addr>" or "data".
type Error struct {
	Step string
	Code int // the server's reply code, or 0 if the server did not refuse
	Err  error

	permanent bool
}

func (e *Error) Error() string { return "mail: " + e.Step + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether err says that sending the same message the
// same way will fail again, so a person should look at it: the server
// refused it with a 5xx reply, the message or the Sender is invalid, the
// server does not offer what the Sender requires, or its certificate did
// not verify. Other errors from Send (4xx replies, network failures,
// timeouts, a cancelled context) are temporary and worth retrying later.
func Permanent(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.permanent
	}
	return errors.Is(err, ErrInvalid)
}

// Send sends m and returns its Message-ID. The conversation ends when ctx
// is done or s.Timeout has passed, whichever comes first; the error then
// wraps the context's error. A nil error means the server accepted the
// message for delivery.
func (s *Sender) Send(ctx context.Context, m *Message) (id string, err error) {
	env, err := m.format(time.Now())
	if err != nil {
		return "", &Error{Step: "message", Err: err, permanent: true}
	}
	mode, helo, host, err := s.check()
	if err != nil {
		return "", &Error{Step: "config", Err: err, permanent: true}
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()

	fail := func(step string, err error) error {
		e := &Error{Step: step, Err: err}
		var reply *textproto.Error
		var verify *tls.CertificateVerificationError
		switch {
		case errors.As(err, &reply):
			e.Code = reply.Code
			e.permanent = reply.Code >= 500
		case ctx.Err() != nil || !time.Now().Before(deadline):
			// The deadline we set on the connection, or the one that
			// cancellation moved to the past, is why the step failed. The
			// connection's deadline can pass a moment before the
			// context's timer fires.
			cause := ctx.Err()
			if cause == nil {
				cause = context.DeadlineExceeded
			}
			e.Err = fmt.Errorf("%w (%w)", cause, err)
		case errors.As(err, &verify):
			e.permanent = true
		}
		return e
	}
	refuse := func(step, msg string) error {
		return &Error{Step: step, Err: errors.New(msg), permanent: true}
	}

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return "", fail("dial", err)
	}
	defer conn.Close()
	// The deadline bounds every read and write; cancellation moves it to
	// the past, which unblocks whatever is waiting on the server.
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return "", fail("greeting", err)
	}
	defer c.Close()
	// Say goodbye before hanging up, as RFC 5321 asks, unless time is up.
	// QUIT on a broken connection fails at once.
	quit := func(err error) error {
		if ctx.Err() == nil {
			c.Quit()
		}
		return err
	}
	if err := c.Hello(helo); err != nil {
		return "", quit(fail("hello", err))
	}

	secure := false
	if mode != StartTLSOff {
		if ok, _ := c.Extension("STARTTLS"); ok {
			cfg := s.TLS.Clone()
			if cfg == nil {
				cfg = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			if cfg.ServerName == "" {
				cfg.ServerName = host
			}
			if err := c.StartTLS(cfg); err != nil {
				return "", quit(fail("starttls", err))
			}
			secure = true
		} else if mode == StartTLSRequired {
			return "", quit(refuse("starttls", fmt.Sprintf("server %s does not offer STARTTLS, which the sender requires", s.Addr)))
		}
	}

	if s.Username != "" {
		if !secure && !loopback(conn.RemoteAddr()) {
			return "", quit(refuse("auth", fmt.Sprintf("will not send a password to %s without TLS", s.Addr)))
		}
		if ok, mechs := c.Extension("AUTH"); !ok || !hasWord(mechs, "PLAIN") {
			return "", quit(refuse("auth", fmt.Sprintf("server %s does not offer AUTH PLAIN", s.Addr)))
		}
		if err := c.Auth(plainAuth{s.Username, s.Password}); err != nil {
			return "", quit(fail("auth", err))
		}
	}

	if err := c.Mail(env.from); err != nil {
		return "", quit(fail("mail from", err))
	}
	for _, to := range env.to {
		if err := c.Rcpt(to); err != nil {
			return "", quit(fail("rcpt to <"+to+">", err))
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", quit(fail("data", err))
	}
	if _, err := w.Write(env.raw); err != nil {
		return "", fail("data", err)
	}
	if err := w.Close(); err != nil {
		return "", quit(fail("data", err))
	}
	// The message is accepted: a failed QUIT must not make the caller
	// send it twice.
	c.Quit()
	return env.id, nil
}

// check validates the settings of s and works out the STARTTLS mode, the
// EHLO name and the host to verify the server's certificate against.
func (s *Sender) check() (mode, helo, host string, err error) {
	mode = s.StartTLS
	switch mode {
	case "":
		mode = StartTLSRequired
	case StartTLSRequired, StartTLSOpportunistic, StartTLSOff:
	default:
		return "", "", "", fmt.Errorf("StartTLS %q: want %q, %q or %q", s.StartTLS, StartTLSRequired, StartTLSOpportunistic, StartTLSOff)
	}
	host, _, err = net.SplitHostPort(s.Addr)
	if err != nil || host == "" {
		return "", "", "", fmt.Errorf("addr %q: want host:port", s.Addr)
	}
	helo = s.Host
	if helo == "" {
		if helo, err = os.Hostname(); err != nil || helo == "" {
			helo = "localhost"
		}
	}
	if strings.ContainsAny(helo, " \t\r\n\x00") {
		return "", "", "", fmt.Errorf("host %q: white space or control characters in the EHLO name", helo)
	}
	if strings.ContainsAny(s.Username+s.Password, "\x00") {
		return "", "", "", errors.New("username or password contains NUL, which AUTH PLAIN cannot carry")
	}
	return mode, helo, host, nil
}

// loopback reports whether the connection goes to this machine, where a
// password in clear is read by no one else.
func loopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

func hasWord(list, word string) bool {
	for w := range strings.FieldsSeq(list) {
		if strings.EqualFold(w, word) {
			return true
		}
	}
	return false
}

// plainAuth is AUTH PLAIN (RFC 4616). We do not use smtp.PlainAuth: it
// decides whether the connection is safe from the server's name, where
// Send has already checked the connection itself.
type plainAuth struct{ user, pass string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected challenge after AUTH PLAIN")
	}
	return nil, nil
}
