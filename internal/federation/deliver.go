package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
)

// Run delivers the outbox and routes new reports until ctx ends: one
// deliverer per active peer, the router, the bank publisher, and the
// clean-up of old nonces.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	running := map[string]context.CancelFunc{}
	for _, fn := range []func(context.Context){s.RunRouter, s.runPublisher} {
		wg.Add(1)
		go func() { defer wg.Done(); fn(ctx) }()
	}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		// Keep one deliverer for each active peer.
		peers, err := s.DB.Peers(ctx)
		if err != nil && ctx.Err() == nil {
			s.Logger.Error("federation: list peers", "err", err)
		}
		active := map[string]bool{}
		for _, p := range peers {
			if p.State != canopy.PeerActive {
				continue
			}
			active[p.ID] = true
			if _, ok := running[p.ID]; !ok {
				pctx, cancel := context.WithCancel(ctx)
				running[p.ID] = cancel
				wg.Add(1)
				go func(id string) { defer wg.Done(); s.deliver(pctx, id) }(p.ID)
			}
		}
		for id, cancel := range running {
			if !active[id] {
				cancel()
				delete(running, id)
			}
		}
		if err := s.DB.ForgetNonces(ctx, s.now()); err != nil && ctx.Err() == nil {
			s.Logger.Error("federation: forget nonces", "err", err)
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
		}
	}
}

func (s *Service) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (s *Service) backoff(failures int) time.Duration {
	lo, hi := s.MinBackoff, s.MaxBackoff
	if lo <= 0 {
		lo = time.Second
	}
	if hi <= 0 {
		hi = 5 * time.Minute
	}
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// maxDelivery is how many bytes of envelopes one delivery carries at
// most, a quarter of what a receiver takes.
const maxDelivery = maxBody / 4

var errTooLarge = errors.New("the delivery was too large for the peer")

// batchSize is how many messages the next delivery to a peer may hold:
// 200, less after a peer refused a delivery as too large.
func (s *Service) batchSize(peerID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.sizes[peerID]; ok {
		return n
	}
	return 200
}

func (s *Service) shrink(peerID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.sizes[peerID]
	if !ok {
		n = 200
	}
	if s.sizes == nil {
		s.sizes = map[string]int{}
	}
	s.sizes[peerID] = max(1, n/2)
}

// deliver sends a peer its messages in outbox order, one delivery in
// flight at a time, until ctx ends. A delivery stops at the first message
// the peer does not take; that message and everything after it are sent
// again after a backoff, so a thread never skips ahead.
func (s *Service) deliver(ctx context.Context, peerID string) {
	failures := 0
	for ctx.Err() == nil {
		wait, err := s.deliverOnce(ctx, peerID)
		if err != nil {
			failures++
			if ctx.Err() == nil {
				s.Logger.Warn("federation: delivery", "peer", peerID, "err", err, "failures", failures)
			}
			wait = s.backoff(failures)
		} else if wait == 0 {
			failures = 0
			continue // more to send
		} else {
			failures = 0
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-s.doorbell(peerID):
			if err != nil {
				// A new message does not cut a backoff short: the peer
				// is still down, or still refusing.
				select {
				case <-ctx.Done():
				case <-timer.C:
				}
			}
		case <-timer.C:
		}
		timer.Stop()
	}
}

// deliverOnce sends one delivery. It returns how long to wait before the
// next (0: send again at once), or an error to back off on.
func (s *Service) deliverOnce(ctx context.Context, peerID string) (time.Duration, error) {
	p, err := s.DB.Peer(ctx, peerID)
	if err != nil {
		return 0, err
	}
	if p.State != canopy.PeerActive {
		return time.Minute, nil
	}
	pending, err := s.DB.Pending(ctx, peerID, s.batchSize(peerID))
	if err != nil {
		return 0, err
	}
	if len(pending) == 0 {
		return 2 * time.Second, nil
	}
	// A delivery stays well under the receiver's limit on its size: a
	// page of bank changes is a few hundred kilobytes.
	size := 0
	for i, m := range pending {
		size += len(m.Sealed)*4/3 + 512
		if i > 0 && size > maxDelivery {
			pending = pending[:i]
			break
		}
	}
	batch := Batch{Messages: make([]*Envelope, len(pending))}
	sent := s.now()
	for i, m := range pending {
		batch.Messages[i] = NewEnvelope(s.Identity, p.SigningKey, m.ID, m.Kind, m.Thread, m.N, m.Created, sent, m.Sealed)
	}
	results, err := s.post(ctx, p.URL, &batch)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			s.shrink(peerID) // the peer's limit is lower than ours: send less at once
		}
		s.DB.MarkAttempt(context.WithoutCancel(ctx), pending[0].ID, err.Error())
		return 0, err
	}
	var delivered []string
	var stop error
	for i, r := range results {
		if i >= len(pending) || r.ID != pending[i].ID {
			stop = fmt.Errorf("the peer answered message %q out of order", r.ID)
			break
		}
		if r.Status == StatusAccepted || r.Status == StatusDuplicate {
			delivered = append(delivered, r.ID)
			continue
		}
		stop = fmt.Errorf("message %s (%s) %s: %s", r.ID, pending[i].Kind, r.Status, r.Reason)
		s.DB.MarkAttempt(context.WithoutCancel(ctx), r.ID, r.Status+": "+r.Reason)
		break
	}
	if err := s.DB.MarkDelivered(context.WithoutCancel(ctx), delivered, s.now()); err != nil {
		return 0, err
	}
	if stop != nil {
		return 0, stop
	}
	if len(results) < len(pending) {
		return 0, fmt.Errorf("the peer answered %d of %d messages", len(results), len(pending))
	}
	return 0, nil
}

// post sends one delivery and reads the peer's answer.
func (s *Service) post(ctx context.Context, base string, b *Batch) ([]Result, error) {
	body, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode delivery: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/federation/v1/inbox", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("delivery request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "canopy-federation/1")
	resp, err := s.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("deliver to %s: %w", base, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("read answer from %s: %w", base, err)
	}
	if resp.StatusCode == http.StatusRequestEntityTooLarge {
		return nil, fmt.Errorf("%s: %w", base, errTooLarge)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s: %.200s", base, resp.Status, out)
	}
	var a Answer
	if err := json.Unmarshal(out, &a); err != nil {
		return nil, fmt.Errorf("%s answered something other than results: %w", base, err)
	}
	return a.Results, nil
}

// runPublisher sends each subscribing peer the changes of the banks it
// takes, in order, as they happen.
func (s *Service) runPublisher(ctx context.Context) {
	for ctx.Err() == nil {
		more, err := s.publish(ctx)
		if err != nil && ctx.Err() == nil {
			s.Logger.Error("federation: publish bank changes", "err", err)
		}
		if more && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// publish enqueues one page of changes for every subscription that is
// behind. It reports whether any had more.
func (s *Service) publish(ctx context.Context) (bool, error) {
	subs, err := s.DB.Subscriptions(ctx, true)
	if err != nil {
		return false, err
	}
	more := false
	for _, sub := range subs {
		p, err := s.DB.Peer(ctx, sub.PeerID)
		if err != nil {
			return more, err
		}
		if p.State != canopy.PeerActive || !slices.Contains(p.Banks, sub.Bank) {
			continue // suspended, or no longer shared: nothing more goes for now
		}
		// A large bank is sent a few pages ahead of what the peer has
		// taken, not queued whole.
		if waiting, err := s.DB.PendingCount(ctx, p.ID, KindBankChanges); err != nil || waiting >= 20 {
			if err != nil {
				return more, err
			}
			continue
		}
		changes, err := s.DB.BankChanges(ctx, sub.LocalBank, sub.Cursor, maxBankChange)
		if err != nil {
			return more, err
		}
		if len(changes) == 0 {
			continue
		}
		// A page is at most 1,000 changes and about 1 MiB, far under
		// what one sealed payload may be: long opaque hashes and labels
		// make pages shorter, never too large.
		payload := BankChangesPayload{Bank: sub.Bank}
		size := 0
		for _, c := range changes {
			bc := BankChange{Seq: c.Seq, Op: c.Op, Algorithm: c.Algorithm, Value: c.Value,
				Quality: c.Quality, Category: c.Category, Labels: c.Labels}
			size += len(mustJSON(bc))
			if len(payload.Changes) > 0 && size > maxBankPage {
				break
			}
			payload.Changes = append(payload.Changes, bc)
		}
		full := len(changes) == maxBankChange || len(payload.Changes) < len(changes)
		changes = changes[:len(payload.Changes)]
		msg, err := s.message(p, KindBankChanges, bankThread(sub.Bank), &payload)
		if err != nil {
			return more, err
		}
		last := changes[len(changes)-1].Seq
		if err := s.DB.Update(ctx, func(tx *store.Tx) error {
			if err := tx.Enqueue(msg); err != nil {
				return err
			}
			return tx.AdvanceSubscription(sub.PeerID, sub.Bank, last)
		}); err != nil {
			return more, err
		}
		s.Wake(p.ID)
		more = more || full
	}
	return more, nil
}
