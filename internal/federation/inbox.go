package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/indicators"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/limit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
)

// Batch is the body of POST /federation/v1/inbox: messages in the order
// the sender enqueued them.
type Batch struct {
	Messages []*Envelope `json:"messages"`
}

// delivery is a Batch as received: each message is decoded on its own,
// so one malformed message is refused by itself and not the whole
// delivery.
type delivery struct {
	Messages []json.RawMessage `json:"messages"`
}

// Answer is the receiver's reply: one result per message, in order.
type Answer struct {
	Results []Result `json:"results"`
}

// Result is what became of one delivered message.
type Result struct {
	ID     string `json:"id"`
	Status string `json:"status"`           // accepted, duplicate, retry or refused
	Reason string `json:"reason,omitempty"` // for refused and retry
	Next   int64  `json:"next,omitempty"`   // for retry: the n its thread expects
}

// Result statuses. Accepted and duplicate both mean "delivered": the
// sender stops sending the message. Retry and refused mean "not taken":
// the sender keeps it and tries again later, in order.
const (
	StatusAccepted  = "accepted"
	StatusDuplicate = "duplicate"
	StatusRetry     = "retry"
	StatusRefused   = "refused"
)

// Limits of one delivery.
const (
	MaxBatch = 500      // messages
	maxBody  = 32 << 20 // bytes
)

// ReasonOutOfOrder is a retry's reason when an earlier message of the
// thread has not arrived.
const ReasonOutOfOrder = "out_of_order"

// Handler serves the node's federation endpoints:
//
//	POST /federation/v1/inbox   messages from peers
//	GET  /federation/v1/node    this node's public identity
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /federation/v1/inbox", s.serveInbox)
	mux.HandleFunc("GET /federation/v1/node", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Info())
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// problem answers an error for the whole request (RFC 9457).
func problem(w http.ResponseWriter, code int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(code), "status": code, "detail": detail})
}

func (s *Service) serveInbox(w http.ResponseWriter, r *http.Request) {
	if s.Limit != nil {
		if ok, wait := s.Limit.Allow(limit.Source(r.RemoteAddr)); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			problem(w, http.StatusTooManyRequests, "too many deliveries from this address; send again later")
			return
		}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		problem(w, http.StatusUnsupportedMediaType, "send application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		problem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("a delivery is at most %d bytes", maxBody))
		return
	}
	b, err := ParseBatch(body)
	if err != nil {
		problem(w, http.StatusBadRequest, err.Error())
		return
	}
	results, err := s.Receive(r.Context(), b.Messages)
	if err != nil {
		s.Logger.Error("federation: receive", "err", err)
		problem(w, http.StatusServiceUnavailable, "the node could not store the messages; send them again later")
		return
	}
	writeJSON(w, http.StatusOK, Answer{Results: results})
}

// ParseBatch reads a delivery's body: one JSON object with 1 to MaxBatch
// messages. A message that is not an envelope object comes back nil, and
// Receive refuses it as malformed.
func ParseBatch(body []byte) (*Batch, error) {
	var d delivery
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("the body is not a delivery: %v", err)
	}
	if dec.More() {
		return nil, errors.New("the body has data after the delivery")
	}
	if len(d.Messages) == 0 || len(d.Messages) > MaxBatch {
		return nil, fmt.Errorf("a delivery holds 1 to %d messages, not %d", MaxBatch, len(d.Messages))
	}
	b := &Batch{Messages: make([]*Envelope, len(d.Messages))}
	for i, raw := range d.Messages {
		var e Envelope
		if json.Unmarshal(raw, &e) == nil && len(raw) > 0 && raw[0] == '{' {
			b.Messages[i] = &e
		}
	}
	return b, nil
}

// item is one incoming message on its way through Receive.
type item struct {
	p      *parsed
	peer   *canopy.Peer
	result Result
	pre    error // refused before the transaction

	// Prepared before the transaction, by kind.
	report     *store.SealedReport
	referral   *ReferralPayload
	status     *StatusPayload
	statusAt   time.Time
	reportID   string // a status's or a withdrawal's report
	body       []byte // a status's sealed reason
	bank       string
	localBank  string
	changes    []canopy.BankChange
	applied    []canopy.BankChange
	withdrawal *WithdrawalPayload
	published  *indicators.Publication
	reply      *store.OutboxMessage // the "received" status a referral gets back
	seen       bool                 // taken before: only acknowledge it
	skipped    int                  // bank changes this node could not take
}

func (it *item) refuse(err error) {
	it.result.Status, it.result.Reason = StatusRefused, reasonOf(err)
	if it.result.Reason == "" {
		it.result.Reason = ReasonInvalid
	}
}

// Receive takes a delivery: it checks every message (form, addressee,
// sender, signature, freshness), opens and validates its payload, then
// applies the acceptable ones in one durable transaction, each exactly
// once and in its thread's order. A refusal is audited. It returns an
// error only when the messages could not be stored at all; the sender
// then sends them again.
func (s *Service) Receive(ctx context.Context, envs []*Envelope) ([]Result, error) {
	now := s.now()
	peers, err := s.DB.Peers(ctx)
	if err != nil {
		return nil, err
	}
	byKey := map[string]*canopy.Peer{}
	for _, p := range peers {
		byKey[string(p.SigningKey)] = p
	}
	me := s.Identity.PublicKey()
	skew := s.skew()
	items := make([]*item, len(envs))
	var wg sync.WaitGroup
	for i, e := range envs {
		it := &item{}
		items[i] = it
		if e == nil {
			it.pre = refuse(ReasonMalformed, "not an envelope")
			it.refuse(it.pre)
			continue
		}
		it.result.ID = e.ID
		p, err := parse(e)
		if err != nil {
			it.pre = err
			it.refuse(err)
			continue
		}
		it.p = p
		switch peer := byKey[string(p.from)]; {
		case !bytes.Equal(p.to, me):
			it.pre = refuse(ReasonWrongNode, "addressed to another node")
		case peer == nil:
			it.pre = refuse(ReasonUnknownKey, "no peer has this key")
		case peer.State != canopy.PeerActive:
			it.peer = peer
			it.pre = refuse(ReasonSuspended, "peer %s is %s", peer.ID, peer.State)
		default:
			it.peer = peer
		}
		if it.pre != nil {
			it.refuse(it.pre)
			continue
		}
		// Signatures and payloads are checked in parallel: they are
		// most of the work of a delivery.
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.check(ctx, it, now, skew); err != nil {
				it.pre = err
				it.refuse(err)
			}
		}()
	}
	wg.Wait()
	update := s.DB.Update
	for _, it := range items {
		if it.pre == nil && it.p.Kind == KindBankChanges {
			update = s.DB.UpdateSerial // bank changes are numbered
			break
		}
	}
	err = update(ctx, func(tx *store.Tx) error {
		for _, it := range items {
			if it.pre != nil {
				continue
			}
			// fn may run again if the shared transaction fails: start
			// each message afresh.
			it.result = Result{ID: it.p.ID}
			it.applied = nil
			err := tx.Savepoint(func() error { return s.apply(tx, it, now, skew) })
			switch {
			case err == nil:
			case reasonOf(err) != "":
				it.refuse(err)
			case canopy.ErrorCode(err) != canopy.EINTERNAL || dataException(err):
				// The message's own fault, or a value the database will
				// not store: refuse this one, keep the rest.
				it.refuse(invalid("%v", err))
			default:
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.after(ctx, items)
	out := make([]Result, len(items))
	for i, it := range items {
		out[i] = it.result
	}
	return out, nil
}

func (s *Service) skew() time.Duration {
	if s.Skew > 0 {
		return s.Skew
	}
	return 5 * time.Minute
}

// check verifies a message and prepares what applying it needs.
func (s *Service) check(ctx context.Context, it *item, now time.Time, skew time.Duration) error {
	p := it.p
	if err := p.verify(); err != nil {
		return err
	}
	if d := now.Sub(p.sent); d > skew || d < -skew {
		return refuse(ReasonStale, "sent %s, %s from this node's clock", p.Sent, d.Round(time.Second))
	}
	// A message taken before is acknowledged, not checked again: what it
	// needed may have changed since (a bank no longer shared), and a
	// retry must never be refused for that.
	seen, err := s.DB.Seen(ctx, it.peer.ID, p.ID)
	if err != nil {
		return err
	}
	if seen {
		it.seen = true
		return nil
	}
	plain, err := p.open(s.Exchange)
	if err != nil {
		return err
	}
	switch p.Kind {
	case KindReferral:
		var r ReferralPayload
		if err := decode(plain, &r); err != nil {
			return err
		}
		if err := r.check(p.Thread); err != nil {
			return err
		}
		it.referral = &r
		return s.prepareReferral(it, now)
	case KindStatus:
		var st StatusPayload
		if err := decode(plain, &st); err != nil {
			return err
		}
		at, err := st.check(p.Thread)
		if err != nil {
			return err
		}
		it.status, it.statusAt = &st, at
		return nil
	case KindSubscribe:
		var sub SubscribePayload
		if err := decode(plain, &sub); err != nil {
			return err
		}
		if bankThread(sub.Bank) != p.Thread {
			return invalid("bank %q does not name the thread", sub.Bank)
		}
		if !slices.Contains(it.peer.Banks, sub.Bank) {
			return invalid("bank %q is not shared with this peer", sub.Bank)
		}
		b, err := s.DB.BankByName(ctx, sub.Bank)
		if err != nil {
			return invalid("bank %q: %v", sub.Bank, err)
		}
		it.bank, it.localBank = sub.Bank, b.ID
		return nil
	case KindBankChanges:
		var bc BankChangesPayload
		if err := decode(plain, &bc); err != nil {
			return err
		}
		changes, skipped, err := bc.check(p.Thread)
		if err != nil {
			return err
		}
		it.bank, it.changes, it.skipped = bc.Bank, changes, skipped
		return nil
	case KindWithdrawal:
		var w WithdrawalPayload
		if err := decode(plain, &w); err != nil {
			return err
		}
		if err := w.check(p.Thread); err != nil {
			return err
		}
		// The referral and its report are looked up when applied: the
		// referral may arrive in this very delivery.
		it.withdrawal = &w
		return nil
	case KindIndicators:
		if p.Thread != indicatorsThread {
			return invalid("indicators on thread %q", p.Thread)
		}
		var pub indicators.Publication
		if err := decode(plain, &pub); err != nil {
			return err
		}
		if err := pub.Check(); err != nil {
			return invalid("%v", err)
		}
		it.published = &pub
		return nil
	}
	return invalid("kind %q", p.Kind)
}

// prepareReferral validates a referral's content as intake validates any
// report, and seals it as a new report of this node.
func (s *Service) prepareReferral(it *item, now time.Time) error {
	r := it.referral
	sub := intake.Submission{
		Channel: canopy.ChannelPeer, Reporter: r.Reporter, Category: r.Category, Flags: r.Flags,
		Description: r.Description, URLs: r.URLs, Platform: r.Platform, Accounts: r.Accounts,
		ChildCountry: r.ChildCountry, Language: r.Language, Hashes: r.Hashes,
	}
	if err := intake.Validate(&sub); err != nil {
		return invalid("referral content: %v", describe(err))
	}
	rep := canopy.Report{
		ID: canopy.NewID(), Received: now, Channel: canopy.ChannelPeer, Reporter: sub.Reporter, Category: sub.Category,
		Flags: sub.Flags, ChildCountry: sub.ChildCountry, Language: sub.Language, Hashes: sub.Hashes,
		Content: canopy.ReportContent{Description: sub.Description, URLs: sub.URLs, Platform: sub.Platform, Accounts: sub.Accounts},
	}
	if rep.Flags == nil {
		rep.Flags = []string{}
	}
	dk, wrapped, err := s.Keys.NewDataKey(rep.ID)
	if err != nil {
		return err
	}
	content := mustJSON(rep.Content)
	// Nobody holds a receipt for a referred report: its reporter follows
	// it at the referring node. The hash only fills the column.
	it.report = &store.SealedReport{
		Report: rep, Content: dk.Seal(content, intake.ContentContext(rep.ID)), WrappedKey: wrapped,
		ReceiptHash: s.Keys.ReceiptHash("referral:" + seal.NewReceipt()),
		Links:       s.Intake.Links(&rep), Hits: s.Intake.Match(&rep),
	}
	reply, err := s.message(it.peer, KindStatus, r.Referral, &StatusPayload{Referral: r.Referral, Status: canopy.ReferralReceived, At: now.Format(timeFormat)})
	if err != nil {
		return err
	}
	it.reply = reply
	return nil
}

// describe turns a validation error into a short list of its fields.
func describe(err error) string {
	var ce *canopy.Error
	if errors.As(err, &ce) && len(ce.Fields) > 0 {
		out := ""
		for i, f := range ce.Fields {
			if i > 0 {
				out += ", "
			}
			out += f.Field + " " + f.Key
		}
		return out
	}
	return err.Error()
}

// apply takes one checked message, inside the delivery's transaction.
func (s *Service) apply(tx *store.Tx, it *item, now time.Time, skew time.Duration) error {
	p := it.p
	fresh, err := tx.UseNonce(p.nonce, now.Add(2*skew))
	if err != nil {
		return err
	}
	if !fresh {
		return refuse(ReasonReplay, "nonce seen before")
	}
	outcome, next, err := tx.Receive(it.peer.ID, p.ID, p.Kind, p.Thread, p.N, now)
	if err != nil {
		return err
	}
	if it.seen && outcome == store.Fresh {
		// Checked as seen, yet the transaction says new: the record
		// was lost (a restore from backup). Ask again: the next attempt
		// is checked in full.
		return errors.New("federation: message seen before the transaction and not in it")
	}
	switch outcome {
	case store.Duplicate:
		it.result.Status = StatusDuplicate
		return nil
	case store.OutOfOrder:
		it.result.Status, it.result.Reason, it.result.Next = StatusRetry, ReasonOutOfOrder, next
		return nil
	}
	it.result.Status = StatusAccepted
	peer := it.peer.ID
	switch p.Kind {
	case KindReferral:
		r := it.referral
		rep := it.report
		if err := tx.CreateReport(rep); err != nil {
			return err
		}
		id := rep.Report.ID
		data := map[string]string{"peer": peer, "referral": r.Referral}
		if r.Jurisdiction != "" {
			data["jurisdiction"] = r.Jurisdiction
		}
		if r.Basis != "" {
			data["basis"] = r.Basis
		}
		for k, v := range map[string]string{"imagery": r.Imagery, "industry_class": r.IndustryClass, "age_band": r.AgeBand, "received": r.Received} {
			if v != "" {
				data[k] = v
			}
		}
		if _, err := tx.ApplyEvents(id, nil,
			&store.SealedEvent{Event: canopy.Event{ReportID: id, Kind: canopy.EventReferralReceived, At: now, Actor: "peer:" + peer, Data: data}},
			&store.SealedEvent{Event: canopy.Event{ReportID: id, Kind: canopy.EventReferralStatus, At: now, Actor: "system",
				Data: map[string]string{"direction": "out", "peer": peer, "referral": r.Referral, "status": canopy.ReferralReceived}}},
		); err != nil {
			return err
		}
		if err := tx.PutReferral(&store.Referral{PeerID: peer, ID: r.Referral, ReportID: id, Created: now,
			Status: canopy.ReferralReceived, StatusAt: now}); err != nil {
			return err
		}
		return tx.Enqueue(it.reply)
	case KindStatus:
		st := it.status
		ref, err := tx.Referral(peer, st.Referral, true)
		if err != nil {
			return invalid("status for referral %s, which this node did not make to %s", st.Referral, peer)
		}
		body, err := s.sealBody(context.Background(), ref.ReportID, now, st.Reason)
		if err != nil {
			return err
		}
		data := map[string]string{"direction": "in", "peer": peer, "referral": st.Referral, "status": st.Status, "at": st.At}
		if _, err := tx.ApplyEvents(ref.ReportID, nil, &store.SealedEvent{Event: canopy.Event{ReportID: ref.ReportID,
			Kind: canopy.EventReferralStatus, At: now, Actor: "peer:" + peer, Data: data}, SealedBody: body}); err != nil {
			return err
		}
		it.reportID = ref.ReportID
		return tx.SetReferralStatus(peer, st.Referral, true, st.Status, it.statusAt)
	case KindSubscribe:
		return tx.PutSubscription(&store.Subscription{PeerID: peer, Bank: it.bank, Outbound: true, LocalBank: it.localBank})
	case KindBankChanges:
		sub, err := s.subscription(tx, peer, it.bank)
		if err != nil {
			return err
		}
		for i := range it.changes {
			it.changes[i].AddedBy, it.changes[i].Added = "peer:"+peer, now
		}
		it.localBank = sub.LocalBank
		if len(it.changes) == 0 {
			return nil
		}
		it.applied, err = tx.ChangeBank(sub.LocalBank, it.changes)
		return err
	case KindWithdrawal:
		return s.applyWithdrawal(tx, it, now)
	case KindIndicators:
		return tx.PutPeerIndicators(&store.PeerIndicators{PeerID: peer, Received: now, Definitions: it.published.Definitions,
			Payload: mustJSON(it.published)})
	}
	return invalid("kind %q", p.Kind)
}

// dataException reports whether the database refused a value itself
// (PostgreSQL's SQLSTATE class 22: a NUL byte in text, a number out of
// range), which no retry will change.
func dataException(err error) bool { return strings.Contains(err.Error(), "SQLSTATE 22") }

// subscription finds this node's subscription to a peer's bank.
func (s *Service) subscription(tx *store.Tx, peer, bank string) (*store.Subscription, error) {
	subs, err := s.DB.Subscriptions(context.Background(), false)
	if err != nil {
		return nil, err
	}
	for i := range subs {
		if subs[i].PeerID == peer && subs[i].Bank == bank {
			return &subs[i], nil
		}
	}
	return nil, invalid("changes to bank %q, which this node does not take from %s", bank, peer)
}

// after does what follows a committed delivery: the match index learns
// new hashes, the audit log records every message taken and every one
// refused, and the deliverers learn there are replies to send.
func (s *Service) after(ctx context.Context, items []*item) {
	ctx = context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	wake := map[string]bool{}
	for _, it := range items {
		e, ok := s.entryFor(it)
		if !ok {
			continue
		}
		if it.result.Status == StatusAccepted && it.reply != nil {
			wake[it.peer.ID] = true
		}
		if len(it.applied) > 0 && s.Banks != nil && s.Banks.Matcher != nil {
			if b, err := s.DB.BankByID(ctx, it.localBank); err == nil {
				s.Banks.Matcher.Apply(b, it.applied)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.log(ctx, e); err != nil {
				s.Logger.Error("federation: audit", "err", err)
			}
		}()
	}
	wg.Wait()
	for id := range wake {
		s.Wake(id)
	}
}

// entryFor is the audit entry for a message's outcome; duplicates and
// retries changed nothing and have none.
func (s *Service) entryFor(it *item) (audit.Entry, bool) {
	by := audit.System
	if it.peer != nil {
		by = audit.Peer(it.peer.ID)
	}
	switch it.result.Status {
	case StatusRefused:
		d := map[string]string{"reason": it.result.Reason}
		if it.p != nil {
			d["message"], d["kind"] = it.p.ID, it.p.Kind
		}
		e := audit.Entry{Actor: by, Action: audit.ActionMessageRefused, Outcome: audit.Denied, Details: d}
		if it.peer != nil {
			e.Kind, e.ID = audit.KindPeer, it.peer.ID
		}
		return e, true
	case StatusAccepted:
		switch it.p.Kind {
		case KindReferral:
			return audit.Entry{Actor: by, Action: audit.ActionReferralReceive, Kind: audit.KindReport, ID: it.report.Report.ID,
				Details: map[string]string{"referral": it.referral.Referral}}, true
		case KindStatus:
			return audit.Entry{Actor: by, Action: audit.ActionReferralStatus, Kind: audit.KindReport, ID: it.reportID,
				Details: map[string]string{"status": it.status.Status, "direction": "in"}}, true
		case KindSubscribe:
			return audit.Entry{Actor: by, Action: audit.ActionBankSubscribe, Kind: audit.KindBank, ID: it.localBank}, true
		case KindBankChanges:
			return audit.Entry{Actor: by, Action: audit.ActionBankChange, Kind: audit.KindBank, ID: it.localBank,
				Details: map[string]string{"changes": strconv.Itoa(len(it.applied)), "skipped": strconv.Itoa(it.skipped)}}, true
		case KindWithdrawal:
			return audit.Entry{Actor: by, Action: audit.ActionReferralWithdrawn, Kind: audit.KindReport, ID: it.reportID,
				Details: map[string]string{"referral": it.withdrawal.Referral, "reason": it.withdrawal.Reason, "direction": "in"}}, true
		case KindIndicators:
			return audit.Entry{Actor: by, Action: audit.ActionIndicatorsShare, Kind: audit.KindPeer, ID: it.peer.ID,
				Details: map[string]string{"direction": "in", "rows": strconv.Itoa(len(it.published.Rows))}}, true
		}
	}
	return audit.Entry{}, false
}
