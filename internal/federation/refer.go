package federation

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/store"
)

// Refer sends a report to a peer on behalf of a member of staff.
func (s *Service) Refer(ctx context.Context, who *canopy.Account, id, peerID string) (*store.Referral, error) {
	if _, err := s.Triage.Authorize(ctx, who, access.ReportRefer, id); err != nil {
		return nil, err
	}
	return s.refer(ctx, audit.Staff(who.ID), who.ID, id, peerID)
}

// referral builds what a peer may receive of a report under its
// data-sharing profile. Whether the child has agreed to share it abroad
// is judged later, in the transaction that queues it (withheld), so that
// a consent withdrawn meanwhile is not missed.
func (s *Service) referral(ctx context.Context, p *canopy.Peer, id, refID string) (*ReferralPayload, error) {
	sr, c, err := s.content(ctx, id)
	if err != nil {
		return nil, err
	}
	st, err := s.DB.TriageState(ctx, id)
	if err != nil {
		return nil, err
	}
	events, err := s.DB.Events(ctx, id)
	if err != nil {
		return nil, err
	}
	r := &sr.Report
	out := &ReferralPayload{
		Referral: refID, Received: r.Received.UTC().Format(timeFormat),
		Category: st.Category, Flags: r.Flags, Hashes: r.Hashes,
		Jurisdiction: st.Responsible, Basis: st.Basis,
	}
	for _, e := range events {
		if e.Kind == canopy.EventAssessed {
			out.Flags = strings.Fields(e.Data["flags"])
			out.Imagery, out.IndustryClass, out.AgeBand = e.Data["imagery"], e.Data["industry_class"], e.Data["age_band"]
		}
	}
	if p.Shares(canopy.ShareDescription) {
		out.Description = c.Description
	}
	if p.Shares(canopy.ShareURLs) {
		out.URLs = c.URLs
	}
	if p.Shares(canopy.SharePlatform) {
		out.Platform = c.Platform
	}
	if p.Shares(canopy.ShareAccounts) {
		out.Accounts = c.Accounts
	}
	if p.Shares(canopy.ShareChildCountry) {
		out.ChildCountry = r.ChildCountry
	}
	if p.Shares(canopy.ShareReporter) {
		out.Reporter = r.Reporter
	}
	if p.Shares(canopy.ShareLanguage) {
		out.Language = r.Language
	}
	// The reporter's contact details never leave the node: Contact has
	// no place in the payload.
	return out, nil
}

var (
	errPeerInactive   = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.peer.inactive"}
	errReferralExists = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.referral.exists"}
)

func (s *Service) refer(ctx context.Context, by audit.Actor, actor, id, peerID string) (*store.Referral, error) {
	p, err := s.DB.Peer(ctx, peerID)
	if err != nil {
		return nil, err
	}
	if p.State != canopy.PeerActive {
		return nil, errPeerInactive
	}
	existing, err := s.DB.ReferralsOf(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, r := range existing {
		if r.Outbound && r.PeerID == peerID && r.Status != canopy.ReferralRejected {
			return nil, errReferralExists
		}
	}
	ref := &store.Referral{PeerID: peerID, ID: canopy.NewID(), Outbound: true, ReportID: id, Created: s.now()}
	payload, err := s.referral(ctx, p, id, ref.ID)
	if err != nil {
		return nil, err
	}
	entry := audit.Entry{Actor: by, Action: audit.ActionReportRefer, Kind: audit.KindReport, ID: id,
		Details: map[string]string{"peer": peerID, "referral": ref.ID}}
	err = s.alongside(ctx, entry, func() error {
		return s.DB.Update(ctx, func(tx *store.Tx) error {
			if _, err := tx.ApplyEvents(id, func(st *canopy.TriageState) error {
				if st.Stage == canopy.StageMerged {
					return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.report.merged"}
				}
				return nil
			}, &store.SealedEvent{Event: canopy.Event{ReportID: id, Kind: canopy.EventReferred, At: ref.Created, Actor: actor,
				Data: map[string]string{"outcome": canopy.OutcomeRefer, "peer": peerID, "referral": ref.ID, "jurisdiction": payload.Jurisdiction}}}); err != nil {
				return err
			}
			// ApplyEvents has locked the report: a consent withdrawn
			// from here on sees this referral and tells the peer.
			withhold, err := withheld(tx, id, ref.Created)
			if err != nil {
				return err
			}
			send := *payload // fn may run again: leave payload whole
			if withhold {
				send.withhold()
			}
			msg, err := s.message(p, KindReferral, ref.ID, &send)
			if err != nil {
				return err
			}
			if err := tx.PutReferral(ref); err != nil {
				return err
			}
			return tx.Enqueue(msg)
		})
	})
	if err != nil {
		return nil, err
	}
	s.Wake(peerID)
	return ref, nil
}

// message seals a payload to a peer as a new outbox message.
func (s *Service) message(p *canopy.Peer, kind, thread string, payload any) (*store.OutboxMessage, error) {
	id := canopy.NewID()
	sealed, err := SealPayload(p.EncryptionKey, id, s.Identity.PublicKey(), p.SigningKey, kind, thread, mustJSON(payload))
	if err != nil {
		return nil, err
	}
	return &store.OutboxMessage{ID: id, PeerID: p.ID, Kind: kind, Thread: thread, Created: s.now(), Sealed: sealed}, nil
}

var (
	errNoReferral     = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.referral.not_found"}
	errReferralClosed = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.referral.closed"}
)

// SendStatus tells the node that referred a report what has become of
// it: accepted, actioned, content removed, or rejected with a reason.
func (s *Service) SendStatus(ctx context.Context, who *canopy.Account, id, status, reason string) error {
	if _, err := s.Triage.Authorize(ctx, who, access.ReportRefer, id); err != nil {
		return err
	}
	reason = strings.TrimSpace(reason)
	switch {
	case !canopy.IsReferralStatus(status) || status == canopy.ReferralReceived:
		return fieldErr("status", "error.unknown_code")
	case status == canopy.ReferralRejected && reason == "":
		return fieldErr("reason", "error.required")
	case !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > maxReason:
		return fieldErr("reason", "error.too_long")
	}
	refs, err := s.DB.ReferralsOf(ctx, id)
	if err != nil {
		return err
	}
	var ref *store.Referral
	for i := range refs {
		if !refs[i].Outbound {
			ref = &refs[i]
		}
	}
	if ref == nil {
		return errNoReferral
	}
	if ref.Status == canopy.ReferralRejected || ref.Status == canopy.ReferralContentRemoved {
		return errReferralClosed
	}
	p, err := s.DB.Peer(ctx, ref.PeerID)
	if err != nil {
		return err
	}
	if p.State == canopy.PeerRemoved {
		return errPeerInactive
	}
	at := s.now()
	msg, err := s.message(p, KindStatus, ref.ID, &StatusPayload{Referral: ref.ID, Status: status, At: at.Format(timeFormat), Reason: reason})
	if err != nil {
		return err
	}
	body, err := s.sealBody(ctx, id, at, reason)
	if err != nil {
		return err
	}
	entry := audit.Entry{Actor: audit.Staff(who.ID), Action: audit.ActionReferralStatus, Kind: audit.KindReport, ID: id,
		Details: map[string]string{"peer": p.ID, "status": status, "direction": "out"}}
	err = s.alongside(ctx, entry, func() error {
		return s.DB.Update(ctx, func(tx *store.Tx) error {
			if _, err := tx.ApplyEvents(id, nil, &store.SealedEvent{Event: canopy.Event{ReportID: id, Kind: canopy.EventReferralStatus, At: at, Actor: who.ID,
				Data: map[string]string{"direction": "out", "peer": p.ID, "referral": ref.ID, "status": status}}, SealedBody: body}); err != nil {
				return err
			}
			if err := tx.SetReferralStatus(p.ID, ref.ID, false, status, at); err != nil {
				return err
			}
			return tx.Enqueue(msg)
		})
	})
	if err != nil {
		return err
	}
	s.Wake(p.ID)
	return nil
}

// sealBody seals text for an event on a report, with the report's key.
func (s *Service) sealBody(ctx context.Context, id string, at time.Time, text string) ([]byte, error) {
	if text == "" {
		return nil, nil
	}
	sr, err := s.DB.Report(ctx, id)
	if err != nil {
		return nil, err
	}
	if sr.WrappedKey == nil {
		return nil, nil // erased: the words go nowhere
	}
	dk, err := s.Keys.OpenDataKey(id, sr.WrappedKey)
	if err != nil {
		return nil, err
	}
	return dk.Seal([]byte(text), intake.EventContext(id, at)), nil
}
