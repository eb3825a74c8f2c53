package mailtest_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy/internal/mail/mailtest"
)

// dial connects to srv and reads its greeting.
func dial(t *testing.T, srv *mailtest.Server) (net.Conn, *textproto.Conn) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(conn)
	if _, _, err := tp.ReadResponse(220); err != nil {
		t.Fatalf("greeting: %v", err)
	}
	return conn, tp
}

// cmd sends a command and checks the reply's code, returning its text.
func cmd(t *testing.T, tp *textproto.Conn, want int, format string, args ...any) string {
	t.Helper()
	if err := tp.PrintfLine(format, args...); err != nil {
		t.Fatal(err)
	}
	_, msg, err := tp.ReadResponse(want)
	if err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return msg
}

func TestSTARTTLSAndAuth(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Config{StartTLS: true, Users: map[string]string{"alice": "secret"}})
	conn, tp := dial(t, srv)
	ext := cmd(t, tp, 250, "EHLO client.example")
	if !strings.Contains(ext, "STARTTLS") || strings.Contains(ext, "AUTH") {
		t.Errorf("before TLS the server offers %q, want STARTTLS and no AUTH", ext)
	}
	cmd(t, tp, 538, "AUTH PLAIN AGFsaWNlAHNlY3JldA==")
	cmd(t, tp, 220, "STARTTLS")
	cfg := srv.ClientTLS()
	cfg.ServerName = "127.0.0.1"
	tc := tls.Client(conn, cfg)
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake with the test certificate: %v", err)
	}
	tp = textproto.NewConn(tc)
	cmd(t, tp, 503, "MAIL FROM:<a@example.org>") // EHLO is forgotten after TLS
	ext = cmd(t, tp, 250, "EHLO client.example")
	if strings.Contains(ext, "STARTTLS") || !strings.Contains(ext, "AUTH PLAIN") {
		t.Errorf("after TLS the server offers %q, want AUTH PLAIN and no STARTTLS", ext)
	}
	cmd(t, tp, 235, "AUTH PLAIN AGFsaWNlAHNlY3JldA==") // \0alice\0secret
	cmd(t, tp, 250, "MAIL FROM:<a@example.org>")
	cmd(t, tp, 250, "RCPT TO:<b@example.org>")
	cmd(t, tp, 354, "DATA")
	cmd(t, tp, 250, "Subject: over TLS\r\n\r\nhello\r\n.")
	cmd(t, tp, 221, "QUIT")
	msgs := srv.Messages()
	if len(msgs) != 1 || !msgs[0].TLS || msgs[0].User != "alice" {
		t.Fatalf("stored %+v, want one message over TLS from alice", msgs)
	}
}

func TestSTARTTLSRefusesPipelinedCommands(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Config{StartTLS: true})
	conn, tp := dial(t, srv)
	cmd(t, tp, 250, "EHLO client.example")
	// One write, so that the server has both lines when it reads the first.
	if _, err := io.WriteString(conn, "STARTTLS\r\nMAIL FROM:<a@example.org>\r\n"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tp.ReadResponse(554); err != nil {
		t.Fatalf("STARTTLS with a command behind it: %v, want 554", err)
	}
	if _, err := tp.ReadLine(); !errors.Is(err, io.EOF) {
		t.Errorf("after refusing, read %v, want the server to hang up", err)
	}
}

func TestNetSMTPClient(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Config{})
	msg := "Subject: hi\r\n\r\n.leading dot\r\n"
	if err := smtp.SendMail(srv.Addr, nil, "a@example.org", []string{"b@example.org", "c@example.org"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := srv.Wait(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(msgs[0].Raw); got != msg {
		t.Errorf("raw %q, want %q", got, msg)
	}
	if len(msgs[0].To) != 2 {
		t.Errorf("recipients %q, want 2", msgs[0].To)
	}
}

func TestReplyAndRestore(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Config{})
	send := func() error {
		return smtp.SendMail(srv.Addr, nil, "a@example.org", []string{"b@example.org"}, []byte("Subject: x\r\n\r\nx\r\n"))
	}
	tests := []struct {
		stage mailtest.Stage
		code  int
	}{
		{mailtest.Greeting, 421},
		{mailtest.Mail, 451},
		{mailtest.Rcpt, 450},
		{mailtest.Rcpt, 550},
		{mailtest.Data, 554},
		{mailtest.EndOfData, 552},
	}
	for _, tt := range tests {
		srv.Reply(tt.stage, tt.code, "")
		err := send()
		var te *textproto.Error
		if !errors.As(err, &te) || te.Code != tt.code {
			t.Errorf("stage %d forced to %d: send returned %v", tt.stage, tt.code, err)
		}
		srv.Restore(tt.stage)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages stored while refusing", n)
	}
	if err := send(); err != nil {
		t.Fatalf("after Restore: %v", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

func TestWaitTimesOut(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := srv.Wait(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait with no mail coming: %v, want deadline exceeded", err)
	}
}

func TestCloseEndsHungSessions(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Config{})
	srv.Hang(mailtest.Rcpt)
	conn, tp := dial(t, srv)
	cmd(t, tp, 250, "EHLO client.example")
	cmd(t, tp, 250, "MAIL FROM:<a@example.org>")
	if err := tp.PrintfLine("RCPT TO:<b@example.org>"); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		_, err := srv.Wait(context.Background(), 1)
		waited <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the session reach the hang
	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return while a session hung")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := <-waited; err == nil {
		t.Error("Wait returned no error when the server closed")
	}
	conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := tp.ReadLine(); !errors.Is(err, io.EOF) {
		t.Errorf("hung client read %v after Close, want EOF", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := net.Dial("tcp", srv.Addr); err == nil {
		t.Error("server still accepts connections after Close")
	}
}
