// Package mailtest runs an SMTP server inside a test, so that code which
// sends mail is tested against a real conversation on a real socket rather
// than a fake client. It follows RFC 5321 closely enough to catch a client
// that breaks the protocol (bare line feeds, lines over 998 octets,
// commands out of order, pipelining after STARTTLS), speaks STARTTLS
// (RFC 3207) with a certificate made at start and AUTH PLAIN (RFC 4954),
// and keeps every message it accepts for the test to read.
//
// A test can make it refuse or stall at a chosen stage, to check how the
// code under test tells a temporary failure from a permanent one and how
// it copes with a server that stops answering:
//
//	srv := mailtest.NewServer(t, mailtest.Config{StartTLS: true})
//	srv.Reply(mailtest.Rcpt, 450, "4.2.1 mailbox busy")
//	... send, expect a temporary error ...
//	srv.Restore(mailtest.Rcpt)
//	... send again, then srv.Wait(ctx, 1) ...
package mailtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/mail"
	"sync"
	"testing"
)

// Stage is a point of the conversation where a test can make the server
// refuse or hang.
type Stage int

const (
	Greeting  Stage = iota + 1 // the banner sent on connection
	Mail                       // the reply to MAIL FROM
	Rcpt                       // the reply to each RCPT TO
	Data                       // the reply to the DATA command, instead of 354
	EndOfData                  // the reply after the final dot, which accepts the message
)

// Config sets up a Server.
type Config struct {
	// Hostname is the name the server gives in its greeting;
	// "mailtest.invalid" if empty.
	Hostname string

	// StartTLS makes the server offer STARTTLS, with a self-signed
	// certificate made at start for 127.0.0.1, ::1 and localhost. Clients
	// trust it through ClientTLS.
	StartTLS bool

	// Users, when not nil, makes the server offer AUTH PLAIN, accept these
	// user names and passwords, and refuse MAIL before AUTH. With StartTLS,
	// AUTH is offered and accepted only after STARTTLS, as real servers do.
	Users map[string]string

	// MaxSize is the largest message accepted, in octets; 10 MiB if zero.
	MaxSize int
}

// Message is a message the server accepted. Tests must not modify it.
type Message struct {
	From string   // the envelope sender, from MAIL FROM
	To   []string // the envelope recipients, from RCPT TO
	Raw  []byte   // the data as the client meant it: dot-unstuffed, CRLF line endings
	TLS  bool     // whether it came over STARTTLS
	User string   // who authenticated, if anyone

	// Header and Body are Raw parsed by net/mail; Body is still in its
	// transfer encoding. ParseErr says why they are empty, if they are.
	Header   mail.Header
	Body     []byte
	ParseErr error
}

// Server is an SMTP server listening on 127.0.0.1.
type Server struct {
	Addr string // host:port to dial

	cfg       Config
	ln        net.Listener
	serverTLS *tls.Config // nil without Config.StartTLS
	clientTLS *tls.Config

	mu      sync.Mutex
	msgs    []Message
	changed chan struct{} // closed and replaced when a message arrives
	forced  map[Stage]forced
	conns   map[net.Conn]bool
	closed  bool
	closing chan struct{}
	wg      sync.WaitGroup
}

type forced struct {
	code int
	text string
	hang bool
}

// NewServer starts a server on 127.0.0.1 with a port of the system's
// choosing, and stops it when the test ends.
func NewServer(tb testing.TB, c Config) *Server {
	tb.Helper()
	s, err := newServer(c)
	if err != nil {
		tb.Fatal(err)
	}
	s.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("mailtest: listen: %v", err)
	}
	s.Addr = s.ln.Addr().String()
	s.wg.Add(1)
	go s.accept()
	tb.Cleanup(func() { s.Close() })
	return s
}

// newServer sets a server up without a listener, so that the fuzz tests
// can drive sessions in memory.
func newServer(c Config) (*Server, error) {
	if c.Hostname == "" {
		c.Hostname = "mailtest.invalid"
	}
	if c.MaxSize <= 0 {
		c.MaxSize = 10 << 20
	}
	s := &Server{
		cfg:     c,
		changed: make(chan struct{}),
		forced:  map[Stage]forced{},
		conns:   map[net.Conn]bool{},
		closing: make(chan struct{}),
	}
	if c.StartTLS {
		var err error
		if s.serverTLS, s.clientTLS, err = newCertificate(); err != nil {
			return nil, fmt.Errorf("mailtest: make certificate: %w", err)
		}
	}
	return s, nil
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.conns[conn] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serve(conn, conn)
			conn.Close()
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
		}()
	}
}

// ClientTLS returns a client configuration that trusts the server's
// certificate, or nil if the server does not offer STARTTLS.
func (s *Server) ClientTLS() *tls.Config {
	return s.clientTLS.Clone()
}

// Messages returns the messages accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait returns the messages accepted so far once there are at least n of
// them. It fails when ctx is done or the server is closed first.
func (s *Server) Wait(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		have, changed := len(s.msgs), s.changed
		if have >= n {
			msgs := append([]Message(nil), s.msgs...)
			s.mu.Unlock()
			return msgs, nil
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("mailtest: waiting for %d messages, got %d: %w", n, have, ctx.Err())
		case <-s.closing:
			return nil, fmt.Errorf("mailtest: waiting for %d messages, got %d: server closed", n, have)
		}
	}
}

// Reply makes the server answer code and text at stage st, instead of
// going on, until Restore. Code should be 4xx or 5xx; text should start
// with an enhanced status code ("4.2.1 mailbox busy"), and is made up
// from the code if empty. At Greeting the server hangs up after the reply;
// at EndOfData the message is dropped.
func (s *Server) Reply(st Stage, code int, text string) {
	if text == "" {
		text = fmt.Sprintf("%d.0.0 mailtest: refused as the test asked", code/100)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forced[st] = forced{code: code, text: text}
}

// Hang makes the server stop answering at stage st, until Restore, and
// wait for the client to give up and hang up, or for Close. A message
// that hangs at EndOfData is dropped.
func (s *Server) Hang(st Stage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forced[st] = forced{hang: true}
}

// Restore makes the server behave normally again at stage st.
func (s *Server) Restore(st Stage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.forced, st)
}

func (s *Server) forcedAt(st Stage) (forced, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.forced[st]
	return f, ok
}

// Close stops the server: it stops listening, hangs up on every client,
// hung or not, and returns once all its goroutines have ended. Calling it
// again does nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("mailtest: close: %w", err)
	}
	return nil
}

// store keeps an accepted message and returns its number, from 1.
func (s *Server) store(m Message) int {
	hdr, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err == nil {
		m.Header = hdr.Header
		m.Body, err = io.ReadAll(hdr.Body)
	}
	if err != nil {
		m.ParseErr = fmt.Errorf("mailtest: parse message: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
	return len(s.msgs)
}
