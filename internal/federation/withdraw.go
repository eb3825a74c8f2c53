package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/store"
)

// A child's consent to share a report abroad is recorded in their support
// case (internal/support). Federation honours it twice: a referral of a
// report whose child has not agreed goes without the personal fields,
// and when the consent stops standing after a referral, the peer is told
// to remove them.

// withheld reports whether a referral of a report must go without its
// personal fields: a support case it is linked to is deleted, or has no
// standing consent to cross-border sharing at at; or peers were told
// before that the consent no longer stood. The last covers a deleted
// case, whose links to reports go with it, and keeps a report once
// withdrawn from going abroad in full again: a consent given anew speaks
// for the case from then on, not for a report already withdrawn.
//
// It reads inside tx once the report is locked (Tx.ApplyEvents or
// Tx.LockReport), as Withdraw does, so that a referral and a withdrawal
// made at the same moment see each other: either the referral sees the
// consent gone, or the withdrawal sees the referral.
func withheld(tx *store.Tx, reportID string, at time.Time) (bool, error) {
	cases, err := tx.ReportCases(reportID)
	if err != nil {
		return false, err
	}
	for _, c := range cases {
		if c.Deleted {
			return true, nil
		}
		consents, err := tx.CaseConsents(c.ID)
		if err != nil {
			return false, err
		}
		if !consents.Allows(canopy.PurposeCrossBorder, at) {
			return true, nil
		}
	}
	told, err := tx.EventData(reportID, canopy.EventSharingWithdrawn)
	if err != nil {
		return false, err
	}
	return len(told) > 0, nil
}

// Withdraw tells the peers the reports were referred to that the child's
// consent to share them abroad no longer stands, for reason (one of
// canopy.Withdrawal…): each referral gets a withdrawal message on its
// thread and the report a sharing_withdrawn event, as part of tx, the
// transaction of the change that caused it. A referral the peer rejected
// is told too (the peer still holds the report); one to a removed peer
// (nothing reaches it any more) and one told before are skipped. A report
// never referred is only marked, when its case was deleted, so that it
// never goes abroad in full later. After the commit,
// after rings the deliverers of the peers told and audits each notice; it
// is nil when no peer was told. It implements support.Sharing.
func (s *Service) Withdraw(tx *store.Tx, reportIDs []string, reason string, at time.Time) (func(), error) {
	if !slices.Contains(withdrawalReasons, reason) {
		return nil, fmt.Errorf("federation: withdraw: unknown reason %q", reason)
	}
	at = at.UTC()
	// One order for the locks, so two withdrawals cannot wait on each
	// other.
	ids := slices.Clone(reportIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var (
		entries []audit.Entry
		peers   = map[string]bool{}
	)
	for _, id := range ids {
		if err := tx.LockReport(id); err != nil {
			return nil, fmt.Errorf("federation: withdraw %s: %w", id, err)
		}
		refs, err := tx.ReferralsOf(id)
		if err != nil {
			return nil, fmt.Errorf("federation: withdraw %s: %w", id, err)
		}
		// A peer that sent a referral back still holds what it got:
		// it is told like the others.
		refs = slices.DeleteFunc(refs, func(r store.Referral) bool { return !r.Outbound })
		before, err := tx.EventData(id, canopy.EventSharingWithdrawn)
		if err != nil {
			return nil, fmt.Errorf("federation: withdraw %s: %w", id, err)
		}
		if len(refs) == 0 {
			if reason != canopy.WithdrawalDeleted || len(before) > 0 {
				continue
			}
			// A deleted case takes its links to reports along, so
			// nothing would keep this report from going abroad in full
			// later: the mark on its timeline does (withheld).
			if _, err := tx.ApplyEvents(id, nil, &store.SealedEvent{Event: canopy.Event{ReportID: id, Kind: canopy.EventSharingWithdrawn,
				At: at, Actor: "system", Data: map[string]string{"direction": "out", "reason": reason}}}); err != nil {
				return nil, fmt.Errorf("federation: withdraw %s: %w", id, err)
			}
			continue
		}
		told := map[[2]string]bool{}
		for _, d := range before {
			if d["direction"] == "out" {
				told[[2]string{d["peer"], d["referral"]}] = true
			}
		}
		var events []*store.SealedEvent
		for _, r := range refs {
			if told[[2]string{r.PeerID, r.ID}] {
				continue
			}
			p, err := tx.Peer(r.PeerID)
			if err != nil {
				return nil, fmt.Errorf("federation: withdraw %s: %w", id, err)
			}
			if p.State == canopy.PeerRemoved {
				continue
			}
			msg, err := s.message(p, KindWithdrawal, r.ID, &WithdrawalPayload{Referral: r.ID, Reason: reason,
				At: at.Format(timeFormat), Fields: PersonalFields})
			if err != nil {
				return nil, fmt.Errorf("federation: withdraw %s from %s: %w", id, p.ID, err)
			}
			if err := tx.Enqueue(msg); err != nil {
				return nil, fmt.Errorf("federation: withdraw %s from %s: %w", id, p.ID, err)
			}
			data := map[string]string{"direction": "out", "peer": p.ID, "referral": r.ID, "reason": reason}
			events = append(events, &store.SealedEvent{Event: canopy.Event{ReportID: id, Kind: canopy.EventSharingWithdrawn,
				At: at, Actor: "system", Data: data}})
			entries = append(entries, audit.Entry{Actor: audit.System, Action: audit.ActionReferralWithdrawn, Kind: audit.KindReport,
				ID: id, Details: data})
			peers[p.ID] = true
		}
		if len(events) == 0 {
			continue
		}
		if _, err := tx.ApplyEvents(id, nil, events...); err != nil {
			return nil, fmt.Errorf("federation: withdraw %s: %w", id, err)
		}
	}
	if len(peers) == 0 {
		return nil, nil
	}
	return func() {
		for id := range peers {
			s.Wake(id)
		}
		for _, e := range entries {
			if err := s.log(context.Background(), e); err != nil {
				s.Logger.Error("federation: audit", "err", err)
			}
		}
	}, nil
}

// redact removes the personal fields from a report as this node keeps
// it. The kind of reporter becomes partner, as check makes an absent
// one; the language is cleared rather than set to intake's default,
// which would claim the reporter wrote English.
func redact(r *canopy.Report) {
	for _, f := range PersonalFields {
		switch f {
		case canopy.ShareDescription:
			r.Content.Description = ""
		case canopy.ShareAccounts:
			r.Content.Accounts = nil
		case canopy.ShareChildCountry:
			r.ChildCountry = ""
		case canopy.ShareReporter:
			r.Reporter = canopy.ReporterPartner
		case canopy.ShareLanguage:
			r.Language = ""
		}
	}
}

// applyWithdrawal removes the personal fields from the report a peer
// referred to this node, inside the delivery's transaction, which may
// also have created that report: everything is read through tx.
func (s *Service) applyWithdrawal(tx *store.Tx, it *item, now time.Time) error {
	w, peer := it.withdrawal, it.peer.ID
	ref, err := tx.Referral(peer, w.Referral, false)
	if err != nil {
		return invalid("withdrawal of referral %s, which %s did not make to this node", w.Referral, peer)
	}
	id := ref.ReportID
	sealed, wrapped, err := tx.ReportContent(id)
	if err != nil {
		return err
	}
	var rep canopy.Report
	if wrapped != nil {
		dk, err := s.Keys.OpenDataKey(id, wrapped)
		if err != nil {
			return fmt.Errorf("federation: withdrawal: open %s: %w", id, err)
		}
		plain, err := dk.Open(sealed, intake.ContentContext(id))
		if err != nil {
			return fmt.Errorf("federation: withdrawal: open %s: %w", id, err)
		}
		if err := json.Unmarshal(plain, &rep.Content); err != nil {
			return fmt.Errorf("federation: withdrawal: open %s: %w", id, err)
		}
		redact(&rep)
		sealed = dk.Seal(mustJSON(rep.Content), intake.ContentContext(id))
	} else {
		// The key is destroyed: nobody can read the content again, and
		// only the plain columns are left to clear.
		redact(&rep)
		sealed = nil
	}
	if err := tx.RedactReport(id, sealed, rep.ChildCountry, rep.Language, rep.Reporter); err != nil {
		return err
	}
	data := map[string]string{"direction": "in", "peer": peer, "referral": w.Referral, "reason": w.Reason, "at": w.At}
	if _, err := tx.ApplyEvents(id, nil, &store.SealedEvent{Event: canopy.Event{ReportID: id, Kind: canopy.EventSharingWithdrawn,
		At: now, Actor: "peer:" + peer, Data: data}}); err != nil {
		return err
	}
	it.reportID = id
	return nil
}
