package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/indicators"
	"github.com/canopy-org/canopy/internal/store"
)

// indicatorsThread is the thread of a node's shared indicators: each
// publication follows the last, and the receiver keeps the latest.
const indicatorsThread = "indicators"

// ShareIndicators sends a publication of this node's indicators to every
// active peer, so that each can show the jurisdictions side by side. The
// publication holds only aggregates already protected by disclosure
// control (docs/indicators.md); it is the same as the public page's. It
// returns how many peers it was queued for.
func (s *Service) ShareIndicators(ctx context.Context, pub *indicators.Publication) (int, error) {
	// A peer refuses what it cannot take, and a refused message holds
	// back its thread: check here what the peer will check.
	check := *pub
	check.Rows = slices.Clone(pub.Rows)
	if err := check.Check(); err != nil {
		return 0, fmt.Errorf("federation: share indicators: %w", err)
	}
	peers, err := s.DB.Peers(ctx)
	if err != nil {
		return 0, err
	}
	var msgs []*store.OutboxMessage
	for _, p := range peers {
		if p.State != canopy.PeerActive {
			continue
		}
		msg, err := s.message(p, KindIndicators, indicatorsThread, pub)
		if err != nil {
			return 0, fmt.Errorf("federation: share indicators with %s: %w", p.ID, err)
		}
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		return 0, nil
	}
	if err := s.DB.Update(ctx, func(tx *store.Tx) error {
		for _, m := range msgs {
			if err := tx.Enqueue(m); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return 0, err
	}
	for _, m := range msgs {
		s.Wake(m.PeerID)
	}
	if err := s.log(ctx, audit.Entry{Actor: audit.System, Action: audit.ActionIndicatorsShare, Outcome: audit.OK,
		Details: map[string]string{"direction": "out", "peers": strconv.Itoa(len(msgs)), "rows": strconv.Itoa(len(pub.Rows))}}); err != nil {
		return 0, err
	}
	return len(msgs), nil
}

// PeerPublication is what one peer last shared of its indicators.
type PeerPublication struct {
	Peer        canopy.Peer
	Publication indicators.Publication
	Comparable  bool // computed under this node's definitions
}

// PeerIndicators returns the publications peers shared, with the peers.
func (s *Service) PeerIndicators(ctx context.Context) ([]PeerPublication, error) {
	all, err := s.DB.AllPeerIndicators(ctx)
	if err != nil {
		return nil, err
	}
	var out []PeerPublication
	for _, pi := range all {
		p, err := s.DB.Peer(ctx, pi.PeerID)
		if err != nil {
			return nil, err
		}
		var pub indicators.Publication
		if err := json.Unmarshal(pi.Payload, &pub); err != nil {
			return nil, fmt.Errorf("federation: indicators of %s: %w", pi.PeerID, err)
		}
		out = append(out, PeerPublication{Peer: *p, Publication: pub, Comparable: pub.Definitions == indicators.Definitions})
	}
	return out, nil
}
