// Package intake accepts reports from every channel (the portal, partner
// apps, platforms) through one path: validate, seal, store durably, and
// only then hand back a receipt. It also serves the anonymous follow-up a
// receipt opens: the report's status and the messages with the hotline.
package intake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
)

// Service accepts reports and answers follow-ups.
type Service struct {
	DB   *store.DB
	Keys *seal.Keyring
	Now  func() time.Time
	// Audit records every report accepted, every follow-up opened and
	// every message, by the report's id and never its words. A step whose
	// entry cannot be written fails.
	Audit *audit.Log
	// Matcher, when set, checks every hash a report carries against the
	// node's hash banks; a match raises the report in the queue and shows
	// the analyst the bank, category and distance.
	Matcher interface {
		MatchReport([]canopy.ContentHash) []canopy.Hit
	}
	// Notify, when set, is called after each report is stored (the router
	// routes it at once instead of at its next look).
	Notify func()
}

// maxHits bounds the matches recorded on one report's timeline.
const maxHits = 20

// audit appends an entry about report id by an anonymous reporter.
func (s *Service) audit(ctx context.Context, action audit.Action, id string, details map[string]string) error {
	if s.Audit == nil {
		return nil
	}
	_, err := s.Audit.Append(ctx, audit.Entry{Actor: audit.Public, Action: action, Kind: audit.KindReport, ID: id, Outcome: audit.OK, Details: details})
	if err != nil {
		return fmt.Errorf("intake: audit: %w", err)
	}
	return nil
}

// Receipt is what a reporter gets back: the report's id (for partner apps
// to keep) and the receipt code, shown once and stored only as a keyed hash.
type Receipt struct {
	ReportID string
	Code     string
}

// Submit validates and stores a report. It returns the receipt only after
// the report is durably committed; on bad input it returns an EINVALID
// *canopy.Error listing every problem, and nothing is stored.
func (s *Service) Submit(ctx context.Context, sub Submission) (Receipt, error) {
	if sub.Channel == "" {
		sub.Channel = canopy.ChannelPortal
	}
	if err := Validate(&sub); err != nil {
		return Receipt{}, err
	}
	if sub.ID == "" {
		sub.ID = canopy.NewID()
	}
	flags := sub.Flags
	if flags == nil {
		flags = []string{}
	}
	r := canopy.Report{
		ID:           sub.ID,
		Received:     s.Now().UTC(),
		Channel:      sub.Channel,
		Reporter:     sub.Reporter,
		Category:     sub.Category,
		Flags:        flags,
		ChildCountry: sub.ChildCountry,
		Language:     sub.Language,
		Hashes:       sub.Hashes,
		Content: canopy.ReportContent{
			Description: sub.Description,
			URLs:        sub.URLs,
			Platform:    sub.Platform,
			Accounts:    sub.Accounts,
			Contact:     sub.Contact,
		},
	}
	content, err := json.Marshal(r.Content)
	if err != nil {
		return Receipt{}, fmt.Errorf("intake: encode report: %w", err)
	}
	dk, wrapped, err := s.Keys.NewDataKey(r.ID)
	if err != nil {
		return Receipt{}, fmt.Errorf("intake: %w", err)
	}
	code := seal.NewReceipt()
	sealed := &store.SealedReport{
		Report:      r,
		Content:     dk.Seal(content, contentContext(r.ID)),
		WrappedKey:  wrapped,
		ReceiptHash: s.Keys.ReceiptHash(seal.NormaliseReceipt(code)),
		Links:       s.Links(&r),
		Hits:        s.Match(&r),
	}
	// The report and its audit entry are written side by side, so they
	// usually share one group commit and the reporter waits for one fsync,
	// not two. The receipt goes out only when both are durable. Should the
	// report fail after its entry was written, a second entry says so:
	// the log is append-only, and it must not claim a report that is not
	// there.
	audited := make(chan error, 1)
	go func() {
		audited <- s.audit(ctx, audit.ActionReportCreate, r.ID, map[string]string{"channel": r.Channel})
	}()
	err = s.DB.CreateReport(ctx, sealed)
	aerr := <-audited
	if err != nil {
		if aerr == nil && s.Audit != nil {
			s.Audit.Append(context.WithoutCancel(ctx), audit.Entry{Actor: audit.Public, Action: audit.ActionReportCreate,
				Kind: audit.KindReport, ID: r.ID, Outcome: audit.Failed, Details: map[string]string{"channel": r.Channel}})
		}
		return Receipt{}, fmt.Errorf("intake: store report: %w", err)
	}
	if aerr != nil {
		return Receipt{}, aerr
	}
	if s.Notify != nil {
		s.Notify()
	}
	return Receipt{ReportID: r.ID, Code: code}, nil
}

// Links returns the keyed hashes that tie this report to others that
// share a web address, a host, an account or a content hash. Analysts see
// the reports together without anyone storing the values in the clear.
func (s *Service) Links(r *canopy.Report) []store.Link {
	var out []store.Link
	add := func(kind, value string) {
		out = append(out, store.Link{Kind: kind, Key: s.Keys.Hash("link-"+kind, value)})
	}
	hosts := map[string]bool{}
	for _, raw := range r.Content.URLs {
		add("url", raw)
		if u, err := url.Parse(raw); err == nil && !hosts[u.Hostname()] {
			hosts[u.Hostname()] = true
			add("host", strings.TrimPrefix(u.Hostname(), "www."))
		}
	}
	for _, a := range r.Content.Accounts {
		add("account", strings.ToLower(strings.TrimPrefix(a, "@")))
	}
	for _, h := range r.Hashes {
		add("hash", h.Algorithm+":"+h.Value)
	}
	return out
}

// Match returns the report's known-content matches, at most 20.
func (s *Service) Match(r *canopy.Report) []canopy.Hit {
	if s.Matcher == nil || len(r.Hashes) == 0 {
		return nil
	}
	hits := s.Matcher.MatchReport(r.Hashes)
	return hits[:min(len(hits), maxHits)]
}

func contentContext(id string) string { return ContentContext(id) }

// ContentContext is what a report's sealed content is bound to; every
// package that seals or opens it uses this.
func ContentContext(id string) string { return "report/" + id + "/content" }

// EventContext is what a sealed event body (a message, a reason) is bound
// to: its report and its time.
func EventContext(id string, at time.Time) string { return eventContext(id, at) }

func eventContext(id string, at time.Time) string {
	return "report/" + id + "/event/" + strconv.FormatInt(at.UnixMicro(), 10)
}

// lookup finds the report a receipt opens. A malformed code, a wrong code
// and an unknown code take the same path and get the same not-found error,
// so nothing can be learned by trying codes.
func (s *Service) lookup(ctx context.Context, receipt string) (*store.SealedReport, error) {
	n := seal.NormaliseReceipt(receipt)
	if n == "" {
		n = "malformed:" + receipt
		if len(n) > 100 {
			n = n[:100]
		}
	}
	r, err := s.DB.ReportByReceipt(ctx, s.Keys.ReceiptHash(n))
	if canopy.ErrorCode(err) == canopy.ENOTFOUND {
		return nil, &canopy.Error{Code: canopy.ENOTFOUND, Key: KeyReceipt}
	}
	return r, err
}

// Followup returns what a receipt's holder may see: the status, derived
// from the timeline, and the messages. It never says who handles the
// report.
func (s *Service) Followup(ctx context.Context, receipt string) (*canopy.Followup, error) {
	r, err := s.lookup(ctx, receipt)
	if err != nil {
		return nil, err
	}
	events, err := s.DB.Events(ctx, r.Report.ID)
	if err != nil {
		return nil, fmt.Errorf("intake: followup: %w", err)
	}
	f := &canopy.Followup{ReportID: r.Report.ID, Received: r.Report.Received, Language: r.Report.Language}
	plain := make([]canopy.Event, len(events))
	var dk *seal.DataKey
	if r.WrappedKey != nil {
		if dk, err = s.Keys.OpenDataKey(r.Report.ID, r.WrappedKey); err != nil {
			return nil, fmt.Errorf("intake: followup: %w", err)
		}
	}
	for i, e := range events {
		plain[i] = e.Event
		if !e.IsMessage() || dk == nil {
			continue // a destroyed key leaves the status, never the words
		}
		body, err := dk.Open(e.SealedBody, eventContext(e.ReportID, e.At))
		if err != nil {
			return nil, fmt.Errorf("intake: followup: message %d: %w", e.ID, err)
		}
		f.Messages = append(f.Messages, canopy.Message{At: e.At, FromReporter: e.Kind == canopy.EventReporterMessage, Body: string(body)})
	}
	f.Status = canopy.StatusOf(plain)
	// A duplicate merged into another report follows that report's status.
	if st, err := s.DB.TriageState(ctx, r.Report.ID); err == nil && st.MergedInto != "" {
		primary, err := s.DB.Events(ctx, st.MergedInto)
		if err != nil {
			return nil, fmt.Errorf("intake: followup: %w", err)
		}
		plain = plain[:0]
		for _, e := range primary {
			plain = append(plain, e.Event)
		}
		f.Status = canopy.StatusOf(plain)
	}
	if err := s.audit(ctx, audit.ActionReportView, r.Report.ID, map[string]string{"via": "receipt"}); err != nil {
		return nil, err
	}
	return f, nil
}

// AddMessage adds a message from the receipt's holder to the report's
// timeline, durably.
func (s *Service) AddMessage(ctx context.Context, receipt, body string) error {
	v := &validator{}
	body = v.text("body", body, MaxMessage, true)
	if body == "" && len(v.errs) == 0 {
		v.add("body", KeyRequired)
	}
	if len(v.errs) > 0 {
		return &canopy.Error{Code: canopy.EINVALID, Key: KeyInvalid, Fields: v.errs}
	}
	r, err := s.lookup(ctx, receipt)
	if err != nil {
		return err
	}
	if err := s.appendMessage(ctx, r, canopy.EventReporterMessage, "", body); err != nil {
		return err
	}
	return s.audit(ctx, audit.ActionReportMessage, r.Report.ID, map[string]string{"from": "reporter"})
}

// appendMessage seals body with the report's data key and appends it to
// the timeline.
func (s *Service) appendMessage(ctx context.Context, r *store.SealedReport, kind, actor, body string) error {
	if r.WrappedKey == nil {
		return &canopy.Error{Code: canopy.ECONFLICT, Key: KeyErased}
	}
	dk, err := s.Keys.OpenDataKey(r.Report.ID, r.WrappedKey)
	if err != nil {
		return fmt.Errorf("intake: message: %w", err)
	}
	at := s.Now().UTC()
	_, err = s.DB.AppendEvent(ctx, &store.SealedEvent{
		Event:      canopy.Event{ReportID: r.Report.ID, Kind: kind, At: at, Actor: actor},
		SealedBody: dk.Seal([]byte(body), eventContext(r.Report.ID, at)),
	})
	if err != nil {
		return fmt.Errorf("intake: message: %w", err)
	}
	return nil
}
