package federation

import (
	"context"
	"slices"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
)

// MirrorName is the name of the local bank that mirrors a peer's bank:
// the peer's id, an underscore, and the bank's name. Peer ids hold no
// underscore, so no two peers' banks can share a mirror.
func MirrorName(peerID, bank string) string { return peerID + "_" + bank }

// Subscribe asks a peer for its bank's changes, from the start and then
// as they happen. They land in a local bank named MirrorName(peer, bank),
// made now, and through it in the match index.
func (s *Service) Subscribe(ctx context.Context, by audit.Actor, peerID, bankName string) (*canopy.Bank, error) {
	p, err := s.DB.Peer(ctx, peerID)
	if err != nil {
		return nil, err
	}
	if p.State != canopy.PeerActive {
		return nil, errPeerInactive
	}
	if !bankNamePattern.MatchString(bankName) {
		return nil, fieldErr("bank", "error.bank.name")
	}
	mirror, err := s.DB.BankByName(ctx, MirrorName(peerID, bankName))
	if err == nil {
		// The name is taken: only by this very subscription's mirror may
		// it be reused, never by a bank of this node's own.
		subs, serr := s.DB.Subscriptions(ctx, false)
		if serr != nil {
			return nil, serr
		}
		if !slices.ContainsFunc(subs, func(sub store.Subscription) bool {
			return sub.PeerID == peerID && sub.Bank == bankName && sub.LocalBank == mirror.ID
		}) {
			return nil, &canopy.Error{Code: canopy.ECONFLICT, Key: "error.bank.exists"}
		}
	}
	if canopy.ErrorCode(err) == canopy.ENOTFOUND {
		mirror, err = s.Banks.Create(ctx, by, canopy.Bank{Name: MirrorName(peerID, bankName), SourceOrg: p.Name,
			Agreement: "federation with " + p.Name, Description: "Mirror of bank " + bankName + " at " + p.Name})
	}
	if err != nil {
		return nil, err
	}
	msg, err := s.message(p, KindSubscribe, bankThread(bankName), &SubscribePayload{Bank: bankName})
	if err != nil {
		return nil, err
	}
	err = s.DB.Update(ctx, func(tx *store.Tx) error {
		if err := tx.PutSubscription(&store.Subscription{PeerID: peerID, Bank: bankName, LocalBank: mirror.ID}); err != nil {
			return err
		}
		return tx.Enqueue(msg)
	})
	if err != nil {
		return nil, err
	}
	if err := s.log(ctx, audit.Entry{Actor: by, Action: audit.ActionBankSubscribe, Kind: audit.KindBank, ID: mirror.ID,
		Details: map[string]string{"peer": peerID}}); err != nil {
		return nil, err
	}
	s.Wake(peerID)
	return mirror, nil
}
