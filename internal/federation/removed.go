package federation

import (
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
)

// ContentRemoved closes the loop of a referral: when the last address of
// a report a peer referred here comes down (takedown confirmed it), the
// peer hears "content removed" on the referral's thread, in the same
// transaction as the removal, and the referring hotline's timeline and
// its reporter see it. A report that came from no peer, or whose
// referral is already closed, needs nothing. after wakes the deliverer
// once the transaction has committed.
func (s *Service) ContentRemoved(tx *store.Tx, reportID string, at time.Time) (func(), error) {
	refs, err := tx.ReferralsOf(reportID)
	if err != nil {
		return nil, err
	}
	var told []string
	for _, ref := range refs {
		if ref.Outbound || ref.Status == canopy.ReferralRejected || ref.Status == canopy.ReferralContentRemoved {
			continue
		}
		p, err := tx.Peer(ref.PeerID)
		if err != nil {
			return nil, err
		}
		if p.State == canopy.PeerRemoved {
			continue
		}
		msg, err := s.message(p, KindStatus, ref.ID, &StatusPayload{Referral: ref.ID, Status: canopy.ReferralContentRemoved,
			At: at.Format(timeFormat)})
		if err != nil {
			return nil, err
		}
		if _, err := tx.ApplyEvents(reportID, nil, &store.SealedEvent{Event: canopy.Event{ReportID: reportID,
			Kind: canopy.EventReferralStatus, At: at, Actor: "system",
			Data: map[string]string{"direction": "out", "peer": p.ID, "referral": ref.ID, "status": canopy.ReferralContentRemoved}}}); err != nil {
			return nil, err
		}
		if err := tx.SetReferralStatus(p.ID, ref.ID, false, canopy.ReferralContentRemoved, at); err != nil {
			return nil, err
		}
		if err := tx.Enqueue(msg); err != nil {
			return nil, err
		}
		told = append(told, p.ID)
	}
	if len(told) == 0 {
		return nil, nil
	}
	return func() {
		for _, p := range told {
			s.Wake(p)
		}
	}, nil
}
