// Package federation joins Canopy nodes into one network with no centre.
// Each node routes a report to the jurisdiction responsible for it, refers
// it to that jurisdiction's node, and hears back what became of it; nodes
// also share hash banks. Every message is sealed to its receiver (HPKE)
// and signed by its sender (Ed25519), travels through a durable outbox
// that retries until the peer has it, and takes effect exactly once, in
// order within its thread. docs/federation.md specifies the protocol.
package federation

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/bank"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/limit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/triage"
)

// Service is a node's side of the network.
type Service struct {
	DB       *store.DB
	Keys     *seal.Keyring
	Identity *seal.Identity
	Exchange *seal.ExchangeKey
	Audit    *audit.Log
	Intake   *intake.Service // validation, links and matching of referred reports
	Triage   *triage.Service // staff's permissions on reports
	Banks    *bank.Service
	Now      func() time.Time
	Logger   *slog.Logger
	// Jurisdictions are the ISO 3166-1 codes this node serves; a report
	// whose responsible jurisdiction is among them (or that has none) stays
	// here. Empty means the node keeps every report it cannot route.
	Jurisdictions []string
	// Geo maps an address to a country; nil when the operator has not
	// installed a database, and routing then uses the child's country.
	Geo Geo
	// Resolver looks up the addresses of reported hosts; nil means the
	// system resolver.
	Resolver Resolver
	// Client sends messages to peers; nil means a client with a 30 s
	// timeout.
	Client *http.Client
	// MinBackoff and MaxBackoff bound the wait between delivery attempts
	// to a peer that is down or refusing (default 1 s and 5 min).
	MinBackoff, MaxBackoff time.Duration
	// Skew is how far a message's sending time may be from this node's
	// clock (default 5 min). Nonces are kept twice as long.
	Skew time.Duration
	// Limit, when set, bounds the deliveries one address may make, so a
	// stranger cannot flood the node (or its audit log with refusals).
	Limit *limit.Limiter

	mu    sync.Mutex
	wakes map[string]chan struct{} // peer id → its deliverer's doorbell
	sizes map[string]int           // peer id → messages per delivery, when lowered
	route chan struct{}            // the router's doorbell
}

var peerID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// NodeInfo is the public identity of a node: what another node's
// administrator needs to add it as a peer.
type NodeInfo struct {
	Name          string   `json:"name"`
	SigningKey    string   `json:"signing_key"`    // Ed25519, base64url
	EncryptionKey string   `json:"encryption_key"` // X25519, base64url
	Jurisdictions []string `json:"jurisdictions"`
	Protocol      int      `json:"protocol"`
}

// Info returns this node's public identity.
func (s *Service) Info() NodeInfo {
	j := s.Jurisdictions
	if j == nil {
		j = []string{} // any: the list is empty, never null
	}
	return NodeInfo{
		Name: s.Identity.Name(), SigningKey: b64.EncodeToString(s.Identity.PublicKey()),
		EncryptionKey: b64.EncodeToString(s.Exchange.Public()), Jurisdictions: j, Protocol: Version,
	}
}

// DecodeKey reads a public key in the form Info prints: base64url
// without padding, optionally after its type, "ed25519:" or "x25519:",
// which must then be kind.
func DecodeKey(s, kind string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if typ, rest, ok := strings.Cut(s, ":"); ok {
		if typ != kind {
			return nil, fmt.Errorf("federation: this is a key of type %s, not %s", typ, kind)
		}
		s = rest
	}
	b, err := b64.DecodeString(s)
	if err != nil || len(b) != 32 || b64.EncodeToString(b) != s {
		return nil, fmt.Errorf("federation: an %s public key is 32 bytes in base64url without padding", kind)
	}
	return b, nil
}

func (s *Service) now() time.Time { return s.Now().UTC() }

func (s *Service) log(ctx context.Context, e audit.Entry) error {
	if e.Outcome == "" {
		e.Outcome = audit.OK
	}
	if _, err := s.Audit.Append(ctx, e); err != nil {
		return fmt.Errorf("federation: audit %s: %w", e.Action, err)
	}
	return nil
}

// alongside runs a durable write and its audit entry side by side, so
// they usually share one group commit and the caller waits for one fsync,
// not two. If the write fails after the entry was written, a second entry
// says so: the log is append-only and must not claim what did not happen.
func (s *Service) alongside(ctx context.Context, e audit.Entry, write func() error) error {
	audited := make(chan error, 1)
	go func() { audited <- s.log(ctx, e) }()
	err := write()
	aerr := <-audited
	if err != nil {
		if aerr == nil {
			e.Outcome = audit.Failed
			s.log(context.WithoutCancel(ctx), e)
		}
		return err
	}
	return aerr
}

func fieldErr(field, key string) error {
	return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: []canopy.FieldError{{Field: field, Key: key}}}
}

// checkPeer validates and normalises a peer's editable fields.
func (s *Service) checkPeer(p *canopy.Peer) error {
	var fields []canopy.FieldError
	bad := func(f, k string) { fields = append(fields, canopy.FieldError{Field: f, Key: k}) }
	// Work on copies: the caller's lists are not ours to reorder.
	p.Jurisdictions, p.Share, p.Banks = slices.Clone(p.Jurisdictions), slices.Clone(p.Share), slices.Clone(p.Banks)
	p.URL = strings.TrimRight(strings.TrimSpace(p.URL), "/")
	if u, err := url.Parse(p.URL); err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
		!(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
		// Plain http only to this machine: a node on a test bench, or
		// behind a proxy on the same host that terminates TLS.
		bad("url", "error.peer.url")
	}
	for i, j := range p.Jurisdictions {
		p.Jurisdictions[i] = strings.ToUpper(strings.TrimSpace(j))
		if !canopy.IsCountry(p.Jurisdictions[i]) {
			bad("jurisdictions", "error.country")
		}
	}
	slices.Sort(p.Jurisdictions)
	p.Jurisdictions = slices.Compact(p.Jurisdictions)
	for _, f := range p.Share {
		if !canopy.IsShareable(f) {
			bad("share", "error.unknown_code")
		}
	}
	slices.Sort(p.Share)
	p.Share = slices.Compact(p.Share)
	slices.Sort(p.Banks)
	p.Banks = slices.Compact(p.Banks)
	if len(fields) > 0 {
		return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: fields}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// AddPeer adds a node to the network as this node sees it.
func (s *Service) AddPeer(ctx context.Context, by audit.Actor, p canopy.Peer) (*canopy.Peer, error) {
	p.ID = strings.ToLower(strings.TrimSpace(p.ID))
	if !peerID.MatchString(p.ID) {
		return nil, fieldErr("id", "error.peer.id")
	}
	if len(p.SigningKey) != ed25519.PublicKeySize {
		return nil, fieldErr("signing_key", "error.peer.key")
	}
	if len(p.EncryptionKey) != 32 {
		return nil, fieldErr("encryption_key", "error.peer.key")
	}
	if slices.Equal(p.SigningKey, s.Identity.PublicKey()) {
		return nil, fieldErr("signing_key", "error.peer.self")
	}
	if p.Share == nil {
		p.Share = slices.Clone(canopy.DefaultShare)
	}
	if err := s.checkPeer(&p); err != nil {
		return nil, err
	}
	if p.Name == "" {
		p.Name = p.ID
	}
	p.State, p.Added, p.AddedBy = canopy.PeerActive, s.now(), string(by)
	if err := s.DB.CreatePeer(ctx, &p); err != nil {
		return nil, err
	}
	if err := s.log(ctx, audit.Entry{Actor: by, Action: audit.ActionPeerAdd, Kind: audit.KindPeer, ID: p.ID,
		Details: map[string]string{"jurisdictions": strings.Join(p.Jurisdictions, "-"), "share": strings.Join(p.Share, "-")}}); err != nil {
		return nil, err
	}
	s.Wake(p.ID)
	return &p, nil
}

// UpdatePeer changes a peer's URL, jurisdictions, data-sharing profile,
// banks or state through change, and records it.
func (s *Service) UpdatePeer(ctx context.Context, by audit.Actor, id string, change func(*canopy.Peer)) (*canopy.Peer, error) {
	p, err := s.DB.Peer(ctx, id)
	if err != nil {
		return nil, err
	}
	before := p.State
	change(p)
	if p.State != canopy.PeerActive && p.State != canopy.PeerSuspended && p.State != canopy.PeerRemoved {
		return nil, fieldErr("state", "error.unknown_code")
	}
	if before == canopy.PeerRemoved && p.State != canopy.PeerRemoved {
		return nil, &canopy.Error{Code: canopy.ECONFLICT, Key: "error.peer.removed"}
	}
	if err := s.checkPeer(p); err != nil {
		return nil, err
	}
	if err := s.DB.UpdatePeer(ctx, p); err != nil {
		return nil, err
	}
	if err := s.log(ctx, audit.Entry{Actor: by, Action: audit.ActionPeerUpdate, Kind: audit.KindPeer, ID: p.ID,
		Details: map[string]string{"state": p.State, "share": strings.Join(p.Share, "-")}}); err != nil {
		return nil, err
	}
	s.Wake(p.ID)
	return p, nil
}

// SetPeerState suspends, resumes or removes a peer.
func (s *Service) SetPeerState(ctx context.Context, by audit.Actor, id, state string) (*canopy.Peer, error) {
	return s.UpdatePeer(ctx, by, id, func(p *canopy.Peer) { p.State = state })
}

// SetRoute sends a jurisdiction's reports to a peer.
func (s *Service) SetRoute(ctx context.Context, by audit.Actor, r store.Route) error {
	r.Jurisdiction = strings.ToUpper(strings.TrimSpace(r.Jurisdiction))
	if !canopy.IsCountry(r.Jurisdiction) {
		return fieldErr("jurisdiction", "error.country")
	}
	p, err := s.DB.Peer(ctx, r.PeerID)
	if err != nil {
		return err
	}
	if p.State == canopy.PeerRemoved {
		return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.peer.removed"}
	}
	if err := s.DB.SetRoute(ctx, r); err != nil {
		return err
	}
	auto := "no"
	if r.Auto {
		auto = "yes"
	}
	if err := s.log(ctx, audit.Entry{Actor: by, Action: audit.ActionRouteSet, Kind: audit.KindPeer, ID: r.PeerID,
		Details: map[string]string{"jurisdiction": r.Jurisdiction, "auto": auto}}); err != nil {
		return err
	}
	return s.rerouteUnrouted(ctx)
}

// DeleteRoute removes a jurisdiction's rule; its reports will wait for
// staff.
func (s *Service) DeleteRoute(ctx context.Context, by audit.Actor, jurisdiction string) error {
	routes, err := s.DB.Routes(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(routes, func(r store.Route) bool { return r.Jurisdiction == jurisdiction })
	if i < 0 {
		return &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.route.not_found"}
	}
	if err := s.DB.DeleteRoute(ctx, jurisdiction); err != nil {
		return err
	}
	return s.log(ctx, audit.Entry{Actor: by, Action: audit.ActionRouteSet, Kind: audit.KindPeer, ID: routes[i].PeerID,
		Details: map[string]string{"jurisdiction": jurisdiction, "removed": "yes"}})
}

// Wake tells a peer's deliverer there is something to send.
func (s *Service) Wake(peerID string) {
	select {
	case s.doorbell(peerID) <- struct{}{}:
	default:
	}
}

func (s *Service) doorbell(peerID string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wakes == nil {
		s.wakes = map[string]chan struct{}{}
	}
	c, ok := s.wakes[peerID]
	if !ok {
		c = make(chan struct{}, 1)
		s.wakes[peerID] = c
	}
	return c
}

func (s *Service) routerBell() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.route == nil {
		s.route = make(chan struct{}, 1)
	}
	return s.route
}

// WakeRouter tells the router there are new reports.
func (s *Service) WakeRouter() {
	select {
	case s.routerBell() <- struct{}{}:
	default:
	}
}
