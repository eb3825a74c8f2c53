package mail_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy/internal/mail"
	"github.com/canopy-org/canopy/internal/mail/mailtest"
)

// secret stands for the content of a notice, which must never appear in
// an error.
const secret = "the URL of the reported material"

func notice() *mail.Message {
	return &mail.Message{
		From:    "Canopy <notices@hotline.example>",
		To:      []string{"abuse@host.example"},
		Subject: "Takedown notice",
		Text:    "Please remove " + secret + ".\n",
		Headers: map[string]string{"X-Canopy-Notice": "N-1"},
	}
}

func TestSendTLSAndAuth(t *testing.T) {
	t.Parallel()
	alice := map[string]string{"alice": "secret"}
	tests := []struct {
		name     string
		server   mailtest.Config
		startTLS string
		trust    bool // trust the test server's certificate
		user     string
		password string
		step     string // the step that fails, or "" for success
		code     int
		wantTLS  bool
	}{
		{name: "STARTTLS required and offered", server: mailtest.Config{StartTLS: true}, trust: true, wantTLS: true},
		{name: "STARTTLS required by default but not offered", step: "starttls"},
		{name: "STARTTLS required but not offered", startTLS: mail.StartTLSRequired, step: "starttls"},
		{name: "STARTTLS opportunistic and not offered", startTLS: mail.StartTLSOpportunistic},
		{name: "STARTTLS opportunistic and offered", server: mailtest.Config{StartTLS: true}, startTLS: mail.StartTLSOpportunistic, trust: true, wantTLS: true},
		{name: "STARTTLS off though offered", server: mailtest.Config{StartTLS: true}, startTLS: mail.StartTLSOff},
		{name: "certificate not trusted", server: mailtest.Config{StartTLS: true}, step: "starttls"},
		{name: "AUTH over STARTTLS", server: mailtest.Config{StartTLS: true, Users: alice}, trust: true, user: "alice", password: "secret", wantTLS: true},
		{name: "AUTH with a wrong password", server: mailtest.Config{StartTLS: true, Users: alice}, trust: true, user: "alice", password: "guess", step: "auth", code: 535},
		{name: "AUTH in clear to loopback", server: mailtest.Config{Users: alice}, startTLS: mail.StartTLSOff, user: "alice", password: "secret"},
		{name: "AUTH not offered", startTLS: mail.StartTLSOff, user: "alice", password: "secret", step: "auth"},
		{name: "AUTH required but not given", server: mailtest.Config{StartTLS: true, Users: alice}, trust: true, step: "mail from", code: 530},
		{name: "unknown StartTLS setting", startTLS: "sometimes", step: "config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mailtest.NewServer(t, tt.server)
			s := &mail.Sender{Addr: srv.Addr, Host: "canopy.test", StartTLS: tt.startTLS,
				Username: tt.user, Password: tt.password, Timeout: 10 * time.Second}
			if tt.trust {
				s.TLS = srv.ClientTLS()
			}
			_, err := s.Send(context.Background(), notice())
			if tt.step == "" {
				if err != nil {
					t.Fatal(err)
				}
				got := waitOne(t, srv)
				if got.TLS != tt.wantTLS || got.User != tt.user {
					t.Errorf("message came with TLS %v as %q, want TLS %v as %q", got.TLS, got.User, tt.wantTLS, tt.user)
				}
				return
			}
			var e *mail.Error
			if !errors.As(err, &e) || e.Step != tt.step || e.Code != tt.code {
				t.Fatalf("Send returned %v, want step %q code %d", err, tt.step, tt.code)
			}
			// None of these get better by trying again.
			if !mail.Permanent(err) {
				t.Errorf("Permanent(%v) = false", err)
			}
			if !strings.HasPrefix(err.Error(), "mail: "+tt.step+": ") {
				t.Errorf("error %q does not start with its step", err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("%d messages reached the server", n)
			}
		})
	}
}

func TestSendReplyCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		stage     mailtest.Stage
		code      int
		step      string
		permanent bool
	}{
		{mailtest.Greeting, 421, "greeting", false},
		{mailtest.Greeting, 554, "greeting", true},
		{mailtest.Mail, 451, "mail from", false},
		{mailtest.Mail, 553, "mail from", true},
		{mailtest.Rcpt, 450, "rcpt to <abuse@host.example>", false},
		{mailtest.Rcpt, 550, "rcpt to <abuse@host.example>", true},
		{mailtest.Data, 451, "data", false},
		{mailtest.Data, 554, "data", true},
		{mailtest.EndOfData, 452, "data", false},
		{mailtest.EndOfData, 552, "data", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %d", tt.step, tt.code), func(t *testing.T) {
			t.Parallel()
			srv := mailtest.NewServer(t, mailtest.Config{})
			srv.Reply(tt.stage, tt.code, "")
			_, err := plainSender(srv).Send(context.Background(), notice())
			var e *mail.Error
			if !errors.As(err, &e) || e.Step != tt.step || e.Code != tt.code {
				t.Fatalf("Send returned %v, want step %q code %d", err, tt.step, tt.code)
			}
			if mail.Permanent(err) != tt.permanent {
				t.Errorf("Permanent(%v) = %v, want %v", err, !tt.permanent, tt.permanent)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error holds the text of the message: %v", err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("server kept %d refused messages", n)
			}
		})
	}
}

// TestSendMultipleRecipientsOneRefused checks that the error names the
// recipient the server refused, so the caller knows which contact is bad.
func TestSendMultipleRecipientsOneRefused(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Config{})
	srv.Reply(mailtest.Rcpt, 550, "5.1.1 no such mailbox")
	m := notice()
	m.To = []string{"gone@host.example", "abuse@host.example"}
	_, err := plainSender(srv).Send(context.Background(), m)
	var e *mail.Error
	if !errors.As(err, &e) || e.Step != "rcpt to <gone@host.example>" || !strings.Contains(err.Error(), "5.1.1 no such mailbox") {
		t.Fatalf("Send returned %v", err)
	}
}

// TestRetryAfterTemporaryFailure is the caller's loop in small: a
// temporary refusal, then success on the next attempt.
func TestRetryAfterTemporaryFailure(t *testing.T) {
	t.Parallel()
	srv := mailtest.NewServer(t, mailtest.Config{})
	s := plainSender(srv)
	m := notice()
	srv.Reply(mailtest.Rcpt, 450, "4.2.1 mailbox busy, try later")
	if _, err := s.Send(context.Background(), m); err == nil || mail.Permanent(err) {
		t.Fatalf("first attempt: %v, want a temporary error", err)
	}
	srv.Restore(mailtest.Rcpt)
	id, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	if got := waitOne(t, srv); got.Header.Get("Message-ID") != id {
		t.Errorf("stored Message-ID %q, Send returned %q", got.Header.Get("Message-ID"), id)
	}
}

func TestSendHangingServer(t *testing.T) {
	t.Parallel()
	const limit = 300 * time.Millisecond
	tests := []struct {
		name  string
		stage mailtest.Stage
		// how the wait is bounded
		how  string // "deadline", "cancel" or "timeout"
		want error
	}{
		{"greeting, context deadline", mailtest.Greeting, "deadline", context.DeadlineExceeded},
		{"rcpt, context deadline", mailtest.Rcpt, "deadline", context.DeadlineExceeded},
		{"data, context cancelled", mailtest.Data, "cancel", context.Canceled},
		{"end of data, context cancelled", mailtest.EndOfData, "cancel", context.Canceled},
		{"end of data, Sender.Timeout", mailtest.EndOfData, "timeout", context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mailtest.NewServer(t, mailtest.Config{})
			srv.Hang(tt.stage)
			s := plainSender(srv)
			ctx := context.Background()
			switch tt.how {
			case "deadline":
				c, cancel := context.WithTimeout(ctx, limit)
				defer cancel()
				ctx = c
			case "cancel":
				c, cancel := context.WithCancel(ctx)
				defer cancel()
				time.AfterFunc(limit, cancel)
				ctx = c
			case "timeout":
				s.Timeout = limit
			}
			start := time.Now()
			_, err := s.Send(ctx, notice())
			elapsed := time.Since(start)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Send returned %v, want %v", err, tt.want)
			}
			if mail.Permanent(err) {
				t.Errorf("Permanent(%v) = true", err)
			}
			if elapsed > limit+2*time.Second {
				t.Errorf("Send took %v to give up after %v", elapsed, limit)
			}
		})
	}
}

func TestSendDialFails(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = (&mail.Sender{Addr: addr, StartTLS: mail.StartTLSOff, Timeout: 5 * time.Second}).Send(context.Background(), notice())
	var e *mail.Error
	if !errors.As(err, &e) || e.Step != "dial" || e.Code != 0 {
		t.Fatalf("Send returned %v, want a dial error", err)
	}
	if mail.Permanent(err) {
		t.Errorf("a refused connection is permanent: %v", err)
	}
}

func TestSendConfig(t *testing.T) {
	t.Parallel()
	for _, s := range []mail.Sender{
		{Addr: "no-port"},
		{Addr: ":25"},
		{Addr: "127.0.0.1:25", Host: "two words"},
		{Addr: "127.0.0.1:25", Username: "a\x00b"},
	} {
		_, err := s.Send(context.Background(), notice())
		var e *mail.Error
		if !errors.As(err, &e) || e.Step != "config" || !mail.Permanent(err) {
			t.Errorf("Sender %+v: %v, want a permanent config error", s, err)
		}
	}
}
