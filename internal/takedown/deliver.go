package takedown

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/mail"
	"github.com/canopy-org/canopy/internal/store"
)

// The sender. One loop per node delivers queued notices, sends reminders
// and escalates on schedule. Each notice carries when it is next due
// (notices.next_at), so the loop only reads what is due: Tick does one
// round at the service's clock, which tests move by hand.

// tickBatch bounds the notices one round handles; the next round takes
// the rest at once.
const tickBatch = 100

// Run delivers and reminds until ctx ends, waking when Send queues a
// notice or when the next notice falls due, and at least every minute.
func (s *Service) Run(ctx context.Context) {
	for {
		n, err := s.Tick(ctx)
		if err != nil && ctx.Err() == nil {
			s.logger().Error("takedown: round", "err", err)
		}
		wait := time.Minute
		if n == tickBatch {
			wait = 0
		} else if next, err := s.DB.NextDue(ctx); err == nil && !next.IsZero() {
			wait = min(wait, max(0, next.Sub(s.now())))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.doorbell():
		case <-t.C:
		}
		t.Stop()
	}
}

// Tick handles every notice due now: first deliveries and their retries,
// reminders and escalations. It returns how many it handled.
func (s *Service) Tick(ctx context.Context) (int, error) {
	ids, err := s.DB.DueNotices(ctx, s.now(), tickBatch)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, id := range ids {
		if err := s.handle(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("takedown: notice %s: %w", id, err))
		}
	}
	return len(ids), errors.Join(errs...)
}

// handle does what a due notice needs.
func (s *Service) handle(ctx context.Context, id string) error {
	n, items, err := s.DB.Notice(ctx, id)
	if err != nil {
		return err
	}
	now := s.now()
	if n.Next.IsZero() || n.Next.After(now) {
		return nil // another round took it
	}
	host, err := s.DB.Host(ctx, n.Host)
	if canopy.ErrorCode(err) == canopy.ENOTFOUND {
		return s.failed(ctx, n, "host_removed", nil)
	}
	if err != nil {
		return err
	}
	switch n.Status {
	case canopy.NoticeQueued:
		return s.deliver(ctx, n, host, items, 0)
	case canopy.NoticeSent:
		var open []store.SealedTakedown
		for _, t := range items {
			if t.Open() && t.Escalated.IsZero() {
				open = append(open, t)
			}
		}
		switch {
		case len(open) == 0:
			return s.settle(ctx, n.ID, func(n *canopy.Notice) { n.Next = time.Time{} })
		case !now.Before(n.Sent.Add(s.escalateAfter(host))):
			return s.escalate(ctx, n, host)
		}
		return s.deliver(ctx, n, host, open, n.Reminders+1)
	}
	return s.settle(ctx, n.ID, func(n *canopy.Notice) { n.Next = time.Time{} })
}

// settle changes a notice under its lock.
func (s *Service) settle(ctx context.Context, id string, change func(*canopy.Notice)) error {
	return s.DB.Update(ctx, func(tx *store.Tx) error {
		n, _, err := tx.LockNotice(id)
		if err != nil {
			return err
		}
		change(n)
		return tx.PutNotice(n)
	})
}

// letterFor builds what a delivery says, with the addresses opened.
func (s *Service) letterFor(ctx context.Context, n *canopy.Notice, host *canopy.Host, items []store.SealedTakedown, reminder int) (*letter, error) {
	_, dk, err := s.content(ctx, n.ReportID)
	if err != nil {
		return nil, err
	}
	if dk == nil {
		return nil, errNoContent
	}
	st, err := s.DB.TriageState(ctx, n.ReportID)
	if err != nil {
		return nil, err
	}
	l := &letter{notice: n, host: host, category: st.Category, reminder: reminder, escalate: s.escalateAfter(host),
		node: s.NodeName, baseURL: strings.TrimSuffix(s.BaseURL, "/"), countries: s.Jurisdictions}
	if a, err := s.assessment(ctx, n.ReportID); err == nil {
		l.imagery = a
	}
	for _, it := range items {
		u, err := dk.Open(it.SealedURL, urlContext(n.ReportID, it.ID))
		if err != nil {
			return nil, fmt.Errorf("open address: %w", err)
		}
		t := it.Takedown
		t.URL = string(u)
		l.items = append(l.items, t)
	}
	return l, nil
}

// assessment returns the imagery decision of the report's last
// assessment, or "".
func (s *Service) assessment(ctx context.Context, id string) (string, error) {
	events, err := s.DB.Events(ctx, id)
	if err != nil {
		return "", err
	}
	imagery := ""
	for _, e := range events {
		if e.Kind == canopy.EventAssessed {
			imagery = e.Data["imagery"]
		}
	}
	return imagery, nil
}

// backoff is the wait before the next attempt after a temporary failure:
// a minute, doubling, at most an hour.
func backoff(attempts int) time.Duration {
	d := time.Minute << min(max(attempts-1, 0), 6)
	return min(d, time.Hour)
}

// deliver sends a notice (reminder 0) or a reminder, and records what
// happened: sent, to retry, or failed for good.
func (s *Service) deliver(ctx context.Context, n *canopy.Notice, host *canopy.Host, items []store.SealedTakedown, reminder int) error {
	l, err := s.letterFor(ctx, n, host, items, reminder)
	if errors.Is(err, errNoContent) {
		return s.failed(ctx, n, "report_erased", nil)
	}
	if err != nil {
		return err
	}
	at := s.now()
	sendErr := s.send(ctx, host, l, at)
	done := s.now()
	permanent := sendErr != nil && isPermanent(sendErr)
	var sent []string
	err = s.DB.Update(ctx, func(tx *store.Tx) error {
		sent = sent[:0]
		cur, all, err := tx.LockNotice(n.ID)
		if err != nil {
			return err
		}
		cur.Attempts++
		switch {
		case sendErr != nil && !permanent:
			cur.Error = describe(sendErr)
			cur.Next = done.Add(backoff(cur.Attempts))
			if reminder > 0 {
				// A reminder that cannot get through never delays the
				// escalation.
				cur.Next = minTime(cur.Next, cur.Sent.Add(s.escalateAfter(host)))
			}
			return tx.PutNotice(cur)
		case sendErr != nil && reminder == 0:
			cur.Status, cur.Error, cur.Next = canopy.NoticeFailed, describe(sendErr), time.Time{}
			return tx.PutNotice(cur)
		case sendErr != nil:
			cur.Error = describe(sendErr)
			cur.Next = cur.Sent.Add(s.escalateAfter(host))
			return tx.PutNotice(cur)
		}
		cur.Error = ""
		if reminder == 0 {
			cur.Status, cur.Sent = canopy.NoticeSent, done
			for i := range all {
				if all[i].Status == canopy.TakedownPending && all[i].Advance(canopy.TakedownNotified, done) {
					if err := tx.PutTakedown(&all[i]); err != nil {
						return err
					}
					sent = append(sent, all[i].ID)
				}
			}
			if _, err := tx.ApplyEvents(n.ReportID, nil, &store.SealedEvent{Event: canopy.Event{ReportID: n.ReportID,
				Kind: canopy.EventNoticeSent, At: done, Actor: "system",
				Data: map[string]string{"host": n.Host, "notice": n.ID, "urls": strconv.Itoa(len(sent)), "takedowns": strings.Join(sent, " ")}}}); err != nil {
				return err
			}
		} else {
			cur.Reminders = reminder
		}
		escalation := cur.Sent.Add(s.escalateAfter(host))
		cur.Next = minTime(done.Add(s.remindAfter(host)), escalation)
		return tx.PutNotice(cur)
	})
	if err != nil {
		return err
	}
	details := map[string]string{"notice": n.ID, "host": n.Host, "method": host.Method, "reminder": strconv.Itoa(reminder)}
	outcome := audit.OK
	if sendErr != nil {
		outcome, details["error"] = audit.Failed, errorCode(sendErr)
		details["final"] = strconv.FormatBool(permanent)
	}
	return s.audit(ctx, audit.System, audit.ActionNoticeDeliver, n.ReportID, outcome, details)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// failed marks a notice failed for a reason of the node's own.
func (s *Service) failed(ctx context.Context, n *canopy.Notice, code string, _ error) error {
	if err := s.settle(ctx, n.ID, func(n *canopy.Notice) {
		n.Status, n.Error, n.Next = canopy.NoticeFailed, code, time.Time{}
	}); err != nil {
		return err
	}
	return s.audit(ctx, audit.System, audit.ActionNoticeDeliver, n.ReportID, audit.Failed,
		map[string]string{"notice": n.ID, "host": n.Host, "error": code, "final": "true"})
}

// send delivers a letter by the host's method.
func (s *Service) send(ctx context.Context, host *canopy.Host, l *letter, at time.Time) error {
	switch host.Method {
	case canopy.NoticeByEmail:
		if s.Mail == nil {
			return &deliveryError{code: "no_mail_server", temporary: true}
		}
		_, err := s.Mail.Send(ctx, l.email(s.From))
		return err
	case canopy.NoticeByWebhook:
		return s.post(ctx, host.Webhook, l.webhook(at), at)
	}
	return &deliveryError{code: "unknown_method"}
}

// maxAnswer bounds what the sender reads of a webhook's answer.
const maxAnswer = 4 << 10

// post delivers a webhook notice. A 2xx answer is delivery; 408, 425,
// 429 and 5xx are tried again; any other answer is final.
func (s *Service) post(ctx context.Context, endpoint string, body []byte, at time.Time) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return &deliveryError{code: "bad_endpoint"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Canopy takedown")
	req.Header.Set(SignatureHeader, s.signature(at, body))
	client := s.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return &deliveryError{code: "unreachable", temporary: true, err: err}
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout || c == http.StatusTooEarly || c == http.StatusTooManyRequests || c >= 500:
		return &deliveryError{code: "http_" + strconv.Itoa(c), temporary: true}
	default:
		return &deliveryError{code: "http_" + strconv.Itoa(c)}
	}
}

// deliveryError is a webhook's or the node's own failure to deliver.
type deliveryError struct {
	code      string
	temporary bool
	err       error
}

func (e *deliveryError) Error() string {
	if e.err != nil {
		return e.code + ": " + e.err.Error()
	}
	return e.code
}

func (e *deliveryError) Unwrap() error { return e.err }

// isPermanent reports whether trying again cannot help.
func isPermanent(err error) bool {
	var de *deliveryError
	if errors.As(err, &de) {
		return !de.temporary
	}
	return mail.Permanent(err)
}

// errorCode is a failure as a code for the audit log: no server text,
// which could quote an address.
func errorCode(err error) string {
	var de *deliveryError
	if errors.As(err, &de) {
		return de.code
	}
	var me *mail.Error
	if errors.As(err, &me) {
		if me.Code != 0 {
			return "smtp_" + strconv.Itoa(me.Code)
		}
		step, _, _ := strings.Cut(me.Step, "<")
		return "smtp_" + strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' {
				return r
			}
			return '_'
		}, strings.TrimSpace(strings.ToLower(step)))
	}
	return "error"
}

// describe is a failure as staff see it on the board.
func describe(err error) string {
	s := err.Error()
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
