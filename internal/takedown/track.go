package takedown

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/mail"
	"github.com/canopy-org/canopy/internal/store"
)

// Tracking: what became of each address, from the host (through the API)
// or from an analyst, and escalation of what is still up.

// escalate passes the addresses of a notice still up after the host's
// time to law enforcement: each is marked, the report's timeline and the
// audit log say so, and the liaison's mailbox hears of it.
func (s *Service) escalate(ctx context.Context, n *canopy.Notice, host *canopy.Host) error {
	now := s.now()
	count := 0
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		count = 0
		cur, items, err := tx.LockNotice(n.ID)
		if err != nil {
			return err
		}
		for i := range items {
			if items[i].Open() && items[i].Escalated.IsZero() {
				items[i].Escalated = now
				if err := tx.PutTakedown(&items[i]); err != nil {
					return err
				}
				count++
			}
		}
		cur.Next = time.Time{}
		if err := tx.PutNotice(cur); err != nil {
			return err
		}
		if count == 0 {
			return nil
		}
		_, err = tx.ApplyEvents(n.ReportID, nil, &store.SealedEvent{Event: canopy.Event{ReportID: n.ReportID,
			Kind: canopy.EventTakedownEscalate, At: now, Actor: "system",
			Data: map[string]string{"host": n.Host, "notice": n.ID, "urls": strconv.Itoa(count)}}})
		return err
	})
	if err != nil || count == 0 {
		return err
	}
	if err := s.audit(ctx, audit.System, audit.ActionTakedownEscalate, n.ReportID, audit.OK,
		map[string]string{"notice": n.ID, "host": n.Host, "urls": strconv.Itoa(count)}); err != nil {
		return err
	}
	if s.EscalateTo != "" && s.Mail != nil {
		c := i18n.Get("en")
		link := strings.TrimSuffix(s.BaseURL, "/") + "/staff/takedown?state=escalated"
		m := &mail.Message{From: s.From, To: []string{s.EscalateTo}, Subject: c.T("notice.subject.escalated", n.Reference),
			Text:    c.T("notice.escalated.body", n.Reference, host.Name, int(s.escalateAfter(host).Hours()), link),
			Headers: map[string]string{"X-Canopy-Notice": n.Reference, "Auto-Submitted": "auto-generated"}}
		if _, err := s.Mail.Send(ctx, m); err != nil {
			// The escalation stands on the board and the timeline;
			// the mail is a courtesy. Nothing of the report is logged.
			s.logger().Warn("takedown: tell the liaison of an escalation", "notice", n.ID, "err", errorCode(err))
		}
	}
	return nil
}

// Confirmation is what a host or an analyst says became of an address.
type Confirmation struct {
	Status string    // acknowledged, removed or refused
	At     time.Time // when it happened; zero for now
	Reason string    // why a host refused; required then
}

// maxReason bounds a refusal's words.
const maxReason = 2000

// clockSkew is how far in the future a host's clock may be.
const clockSkew = 5 * time.Minute

var (
	errTakedownNotFound = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.takedown.not_found"}
	errNotNotified      = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.takedown.not_sent"}
)

func fieldErr(field, key string) error {
	return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: []canopy.FieldError{{Field: field, Key: key}}}
}

func (c *Confirmation) check(now time.Time, t *store.SealedTakedown) error {
	c.Reason = strings.TrimSpace(c.Reason)
	switch {
	case c.Status != canopy.TakedownAcknowledged && c.Status != canopy.TakedownRemoved && c.Status != canopy.TakedownRefused:
		return fieldErr("status", "error.unknown_code")
	case c.Status == canopy.TakedownRefused && c.Reason == "":
		return fieldErr("reason", "error.required")
	case !utf8.ValidString(c.Reason) || utf8.RuneCountInString(c.Reason) > maxReason:
		return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid",
			Fields: []canopy.FieldError{{Field: "reason", Key: "error.too_long", Args: []any{maxReason}}}}
	case strings.ContainsFunc(c.Reason, func(r rune) bool { return canopy.IsControlRune(r) && r != '\n' }):
		return fieldErr("reason", "error.control_chars")
	}
	if c.At.IsZero() {
		c.At = now
	}
	c.At = c.At.UTC()
	switch {
	case c.At.After(now.Add(clockSkew)):
		return fieldErr("at", "error.takedown.future")
	case c.At.After(now):
		c.At = now
	}
	if t.Notified.IsZero() {
		return errNotNotified
	}
	if c.At.Before(t.Notified) {
		return fieldErr("at", "error.takedown.before_notice")
	}
	return nil
}

// Confirm records what a host says became of one of its addresses,
// through the API with a key of the platform account the host names. Any
// other caller is told the address does not exist.
func (s *Service) Confirm(ctx context.Context, key *canopy.APIKey, id string, c Confirmation) (*canopy.Takedown, error) {
	t, err := s.DB.Takedown(ctx, id)
	if canopy.ErrorCode(err) == canopy.ENOTFOUND {
		return nil, errTakedownNotFound
	}
	if err != nil {
		return nil, err
	}
	host, err := s.DB.Host(ctx, t.Host)
	if err != nil && canopy.ErrorCode(err) != canopy.ENOTFOUND {
		return nil, err
	}
	if host == nil || host.Platform == "" || host.Platform != key.PlatformID {
		if err := s.audit(ctx, audit.Platform(key.PlatformID), audit.ActionTakedownUpdate, t.ReportID, audit.Denied,
			map[string]string{"takedown": t.ID}); err != nil {
			return nil, err
		}
		return nil, errTakedownNotFound
	}
	return s.record(ctx, audit.Platform(key.PlatformID), "host:"+t.Host, t, c)
}

// Record records what an analyst found became of an address: the host
// answered by e-mail, or the analyst saw the page gone.
func (s *Service) Record(ctx context.Context, who *canopy.Account, id string, c Confirmation) (*canopy.Takedown, error) {
	t, err := s.DB.Takedown(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := s.Triage.Authorize(ctx, who, access.ReportTakedown, t.ReportID); err != nil {
		return nil, err
	}
	return s.record(ctx, audit.Staff(who.ID), "staff:"+who.ID, t, c)
}

// record applies a confirmation. When the last address of the report
// comes down, the report's content is removed: the reporter sees it, and
// a peer that referred the report is told, in the same transaction.
func (s *Service) record(ctx context.Context, by audit.Actor, actor string, t *store.SealedTakedown, c Confirmation) (*canopy.Takedown, error) {
	now := s.now()
	if err := c.check(now, t); err != nil {
		return nil, err
	}
	var (
		changed, allDown bool
		after            func()
		out              canopy.Takedown
	)
	var reason []byte
	if c.Reason != "" {
		_, dk, err := s.content(ctx, t.ReportID)
		if err != nil {
			return nil, err
		}
		if dk != nil {
			reason = dk.Seal([]byte(c.Reason), reasonContext(t.ReportID, t.ID))
		}
	}
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		changed, allDown, after = false, false, nil
		_, items, err := tx.LockNotice(t.NoticeID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(items, func(it store.SealedTakedown) bool { return it.ID == t.ID })
		if i < 0 {
			return errTakedownNotFound
		}
		it := &items[i]
		out = it.Takedown
		if !it.Advance(c.Status, c.At) {
			return nil
		}
		changed = true
		if c.Status == canopy.TakedownRemoved {
			it.RemovedBy = actor
		}
		if c.Status == canopy.TakedownRefused {
			it.SealedReason = reason
		}
		if err := tx.PutTakedown(it); err != nil {
			return err
		}
		out = it.Takedown
		// The step goes on the report's timeline, at the time it
		// happened: the indicators count from it.
		if _, err := tx.ApplyEvents(t.ReportID, nil, &store.SealedEvent{Event: canopy.Event{ReportID: t.ReportID,
			Kind: canopy.EventTakedownStatus, At: c.At, Actor: actor,
			Data: map[string]string{"takedown": t.ID, "notice": t.NoticeID, "host": t.Host, "status": c.Status}}}); err != nil {
			return err
		}
		if c.Status != canopy.TakedownRemoved {
			return nil
		}
		all, err := tx.ReportTakedowns(t.ReportID)
		if err != nil {
			return err
		}
		allDown = !slices.ContainsFunc(all, func(o store.SealedTakedown) bool {
			return o.Status != canopy.TakedownRemoved && o.ID != t.ID
		})
		if !allDown {
			return nil
		}
		if _, err := tx.ApplyEvents(t.ReportID, nil, &store.SealedEvent{Event: canopy.Event{ReportID: t.ReportID,
			Kind: canopy.EventContentRemoved, At: now, Actor: actor,
			Data: map[string]string{"via": "takedown", "urls": strconv.Itoa(len(all))}}}); err != nil {
			return err
		}
		if s.Loop != nil {
			after, err = s.Loop.ContentRemoved(tx, t.ReportID, now)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if after != nil {
		after()
	}
	if changed {
		details := map[string]string{"takedown": t.ID, "notice": t.NoticeID, "host": t.Host, "status": c.Status}
		if allDown {
			details["report_removed"] = "true"
		}
		if err := s.audit(ctx, by, audit.ActionTakedownUpdate, t.ReportID, audit.OK, details); err != nil {
			return nil, err
		}
	}
	return &out, nil
}
