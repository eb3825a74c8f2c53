package workspace

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/federation"
	"github.com/canopy-org/canopy/internal/store"
)

// The network page is where an administrator joins this node to others:
// what a peer's administrator needs to add this node, the peers with
// their data-sharing profiles and how delivery to each is going, the
// routing rules, and the hash-bank subscriptions. internal/federation
// takes an actor, not an account, for these, so the handlers check
// access.PeerManage themselves.

type networkView struct {
	Info       federation.NodeInfo
	AddCommand string // the `canopy peer add` line for a peer's administrator
	Peers      []peerRow
	Routes     []routeRow
	Routable   []*canopy.Peer // peers a rule may name: all but the removed
	Active     []*canopy.Peer // peers one may subscribe to
	Ours       []subRow       // this node's subscriptions to peers' banks
	Theirs     []subRow       // peers' subscriptions to this node's banks
	Banks      []string       // this node's banks, by name

	Add   peerForm
	Route routeForm
	Sub   subForm
}

type peerRow struct {
	*canopy.Peer
	Waiting   int
	Oldest    string // how long the oldest waiting message has waited
	Delivered int
	LastError string
}

type subRow struct {
	store.Subscription
	Mirror string // the local bank a subscription of ours fills
}

type routeRow struct {
	store.Route
	PeerName string
	Removed  bool // the peer is removed: the rule routes nothing
}

// peerForm is the add and change forms as typed.
type peerForm struct {
	ID, Name, URL, SigningKey, EncryptionKey, Jurisdictions, Banks string
	Share                                                          []string
}

// Shares reports whether a sharing box is ticked.
func (f peerForm) Shares(field string) bool { return slices.Contains(f.Share, field) }

type routeForm struct {
	Jurisdiction, Peer string
	Auto               bool
}

type subForm struct {
	Peer, Bank string
}

var networkLabels = map[string]string{
	"peer_id":            "Id",
	"url":                "Address",
	"signing_key":        "Signing key",
	"encryption_key":     "Encryption key",
	"jurisdictions":      "Jurisdictions",
	"share":              "What this peer receives",
	"banks":              "Hash banks it may subscribe to",
	"route_jurisdiction": "Jurisdiction",
	"route_peer":         "Peer",
	"sub_peer":           "Peer",
	"sub_bank":           "The peer's bank",
}

var networkTargets = map[string]string{"share": "share-" + canopy.Shareable[0]}

var networkNotices = map[string]string{
	"added":         "The peer is added. Messages to it are sent as soon as it can be reached.",
	"changed":       "The peer is changed.",
	"suspended":     "The peer is suspended: its messages are refused, and ours to it wait until it is resumed.",
	"resumed":       "The peer is resumed. Messages that waited are sent now.",
	"removed":       "The peer is removed. Its messages are refused, and ours to it are never delivered.",
	"route_set":     "The routing rule is set. Reports waiting for one were routed again.",
	"route_removed": "The routing rule is removed. Reports for that jurisdiction will wait for staff.",
	"subscribed":    "The subscription is asked for. The bank's hashes arrive as the peer sends them.",
}

// splitList reads a list typed with commas, semicolons or spaces.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) })
}

// renamed gives a service's field errors the names of this page's
// controls, where two forms on one page would otherwise share one.
func renamed(err error, names map[string]string) error {
	e := canopy.AsError(err)
	if e.Code != canopy.EINVALID {
		return err
	}
	out := *e
	out.Fields = slices.Clone(e.Fields)
	for i, f := range out.Fields {
		if n, ok := names[f.Field]; ok {
			out.Fields[i].Field = n
		}
	}
	return &out
}

func (s *server) networkPage(w http.ResponseWriter, r *http.Request, m *member) (*page, *networkView, bool) {
	if !s.require(w, r, m, access.PeerManage) {
		return nil, nil, false
	}
	v := &networkView{Info: s.network.Info(), Add: peerForm{Share: slices.Clone(canopy.DefaultShare)}}
	if err := s.loadNetwork(r.Context(), v); err != nil {
		s.internalError(w, r, err)
		return nil, nil, false
	}
	v.AddCommand = addCommand(v.Info, s.origin(r))
	names, err := s.accountNames(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return nil, nil, false
	}
	p := s.newPage(r, "network", "Network", m)
	p.names = names
	s.withForm(w, r, p)
	return p, v, true
}

// loadNetwork reads the peers, their outboxes, the rules, the
// subscriptions and the banks.
func (s *server) loadNetwork(ctx context.Context, v *networkView) error {
	db := s.network.DB
	peers, err := db.Peers(ctx)
	if err != nil {
		return err
	}
	stats, err := db.OutboxStats(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	byID := map[string]*canopy.Peer{}
	for _, p := range peers {
		byID[p.ID] = p
		v.Peers = append(v.Peers, s.peerRow(p, stats[p.ID], now))
		if p.State != canopy.PeerRemoved {
			v.Routable = append(v.Routable, p)
		}
		if p.State == canopy.PeerActive {
			v.Active = append(v.Active, p)
		}
	}
	routes, err := db.Routes(ctx)
	if err != nil {
		return err
	}
	for _, rt := range routes {
		row := routeRow{Route: rt}
		if p := byID[rt.PeerID]; p != nil {
			row.PeerName, row.Removed = p.Name, p.State == canopy.PeerRemoved
		}
		v.Routes = append(v.Routes, row)
	}
	for _, outbound := range []bool{false, true} {
		subs, err := db.Subscriptions(ctx, outbound)
		if err != nil {
			return err
		}
		for _, sub := range subs {
			if outbound {
				v.Theirs = append(v.Theirs, subRow{Subscription: sub})
			} else {
				v.Ours = append(v.Ours, subRow{Subscription: sub, Mirror: federation.MirrorName(sub.PeerID, sub.Bank)})
			}
		}
	}
	v.Banks, err = s.bankNames(ctx)
	return err
}

func (s *server) bankNames(ctx context.Context) ([]string, error) {
	banks, err := s.network.DB.Banks(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, b := range banks {
		out = append(out, b.Name)
	}
	slices.Sort(out)
	return out, nil
}

func (s *server) peerRow(p *canopy.Peer, st *store.OutboxStats, now time.Time) peerRow {
	row := peerRow{Peer: p}
	if st != nil {
		row.Waiting, row.Delivered, row.LastError = st.Pending, st.Delivered, st.LastError
		if st.Pending > 0 && !st.OldestPending.IsZero() {
			row.Oldest = dur(now.Sub(st.OldestPending))
		}
	}
	return row
}

// addCommand is what a peer's administrator types to add this node, as
// `canopy node info` prints it.
func addCommand(info federation.NodeInfo, origin string) string {
	c := "canopy peer add --id ID --url " + origin + " --peer-name " + info.Name +
		" --signing-key ed25519:" + info.SigningKey + " --encryption-key x25519:" + info.EncryptionKey
	if len(info.Jurisdictions) > 0 {
		c += " --jurisdictions " + strings.Join(info.Jurisdictions, ",")
	}
	return c
}

func (s *server) networkHome(w http.ResponseWriter, r *http.Request, m *member) {
	p, v, ok := s.networkPage(w, r, m)
	if !ok {
		return
	}
	p.Notice = networkNotices[r.URL.Query().Get("done")]
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

// invalidNetwork shows the network page again with a form as typed and
// its problems, or answers an error that is not about the form.
func (s *server) invalidNetwork(w http.ResponseWriter, r *http.Request, m *member, err error, keep func(*networkView)) {
	e := canopy.AsError(err)
	if e.Code != canopy.EINVALID {
		s.failNetwork(w, r, m, err)
		return
	}
	p, v, ok := s.networkPage(w, r, m)
	if !ok {
		return
	}
	keep(v)
	p.Errors = newFormErrors(e.Fields, networkLabels, networkTargets)
	p.Data = v
	s.render(w, r, http.StatusUnprocessableEntity, p)
}

// failNetwork answers a service's error with a way back to the page.
func (s *server) failNetwork(w http.ResponseWriter, r *http.Request, m *member, err error) {
	if e := canopy.AsError(err); e.Code == canopy.ECONFLICT {
		s.messageFor(w, r, http.StatusConflict, m, messageView{Heading: "That could not be done", Detail: messageOf(e.Key),
			Link: "/staff/network", LinkLabel: "Back to the network"})
		return
	}
	s.fail(w, r, m, err)
}

func networkDone(w http.ResponseWriter, r *http.Request, what string) {
	http.Redirect(w, r, "/staff/network?done="+what, http.StatusSeeOther)
}

// readPeerForm reads the add or change form.
func readPeerForm(r *http.Request) peerForm {
	f := peerForm{ID: r.PostForm.Get("peer_id"), Name: r.PostForm.Get("peer_name"), URL: r.PostForm.Get("url"),
		SigningKey: r.PostForm.Get("signing_key"), EncryptionKey: r.PostForm.Get("encryption_key"),
		Jurisdictions: r.PostForm.Get("jurisdictions"), Banks: r.PostForm.Get("banks"), Share: []string{}}
	for _, v := range r.PostForm["share"] {
		if !slices.Contains(f.Share, v) {
			f.Share = append(f.Share, v)
		}
	}
	return f
}

// unknownBank reports whether a peer form names a bank this node does not
// have: a typo would otherwise share nothing, silently.
func (s *server) unknownBank(ctx context.Context, names []string) (bool, error) {
	banks, err := s.bankNames(ctx)
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if !slices.Contains(banks, n) {
			return true, nil
		}
	}
	return false, nil
}

func lower(list []string) []string {
	for i, v := range list {
		list[i] = strings.ToLower(v)
	}
	return list
}

func (s *server) addPeer(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.PeerManage) {
		return
	}
	f := readPeerForm(r)
	keep := func(v *networkView) { v.Add = f }
	var fields []canopy.FieldError
	p := canopy.Peer{ID: f.ID, Name: strings.TrimSpace(f.Name), URL: f.URL, Jurisdictions: splitList(f.Jurisdictions),
		Share: f.Share, Banks: lower(splitList(f.Banks))}
	var err error
	if p.SigningKey, err = federation.DecodeKey(f.SigningKey, "ed25519"); err != nil {
		fields = append(fields, canopy.FieldError{Field: "signing_key", Key: "error.peer.key"})
	}
	if p.EncryptionKey, err = federation.DecodeKey(f.EncryptionKey, "x25519"); err != nil {
		fields = append(fields, canopy.FieldError{Field: "encryption_key", Key: "error.peer.key"})
	}
	bad, err := s.unknownBank(r.Context(), p.Banks)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if bad {
		fields = append(fields, canopy.FieldError{Field: "banks", Key: "error.bank.not_found"})
	}
	if len(fields) > 0 {
		s.invalidNetwork(w, r, m, &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: fields}, keep)
		return
	}
	_, err = s.network.AddPeer(r.Context(), audit.Staff(m.account.ID), p)
	if e := canopy.AsError(err); err != nil && e.Code == canopy.ECONFLICT && e.Key == "error.peer.exists" {
		err = fieldError("peer_id", e.Key)
	}
	if err != nil {
		s.invalidNetwork(w, r, m, renamed(err, map[string]string{"id": "peer_id"}), keep)
		return
	}
	networkDone(w, r, "added")
}

type peerView struct {
	Row    peerRow
	Form   peerForm
	Banks  []string
	Routes []string // the jurisdictions whose rules name it
}

// peerPage loads one peer's page, or answers the error and returns false.
func (s *server) peerPage(w http.ResponseWriter, r *http.Request, m *member) (*page, *peerView, bool) {
	if !s.require(w, r, m, access.PeerManage) {
		return nil, nil, false
	}
	ctx := r.Context()
	p, err := s.network.DB.Peer(ctx, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, m, err)
		return nil, nil, false
	}
	stats, err := s.network.DB.OutboxStats(ctx)
	if err != nil {
		s.internalError(w, r, err)
		return nil, nil, false
	}
	routes, err := s.network.DB.Routes(ctx)
	if err != nil {
		s.internalError(w, r, err)
		return nil, nil, false
	}
	banks, err := s.bankNames(ctx)
	if err != nil {
		s.internalError(w, r, err)
		return nil, nil, false
	}
	names, err := s.accountNames(ctx)
	if err != nil {
		s.internalError(w, r, err)
		return nil, nil, false
	}
	v := &peerView{Row: s.peerRow(p, stats[p.ID], s.now()), Banks: banks,
		Form: peerForm{URL: p.URL, Jurisdictions: strings.Join(p.Jurisdictions, " "), Banks: strings.Join(p.Banks, " "), Share: p.Share}}
	for _, rt := range routes {
		if rt.PeerID == p.ID {
			v.Routes = append(v.Routes, rt.Jurisdiction)
		}
	}
	pg := s.newPage(r, "peer", "Peer "+p.ID, m)
	pg.names = names
	s.withForm(w, r, pg)
	return pg, v, true
}

func (s *server) peer(w http.ResponseWriter, r *http.Request, m *member) {
	p, v, ok := s.peerPage(w, r, m)
	if !ok {
		return
	}
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

func (s *server) changePeer(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.PeerManage) {
		return
	}
	f := readPeerForm(r)
	current, err := s.network.DB.Peer(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	if current.State == canopy.PeerRemoved {
		s.failNetwork(w, r, m, &canopy.Error{Code: canopy.ECONFLICT, Key: "error.peer.removed"})
		return
	}
	banks := lower(splitList(f.Banks))
	bad, err := s.unknownBank(r.Context(), banks)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if bad {
		err = fieldError("banks", "error.bank.not_found")
	} else {
		_, err = s.network.UpdatePeer(r.Context(), audit.Staff(m.account.ID), r.PathValue("id"), func(p *canopy.Peer) {
			p.URL, p.Jurisdictions, p.Share, p.Banks = f.URL, splitList(f.Jurisdictions), f.Share, banks
		})
	}
	if err == nil {
		networkDone(w, r, "changed")
		return
	}
	e := canopy.AsError(err)
	if e.Code != canopy.EINVALID {
		s.failNetwork(w, r, m, err)
		return
	}
	p, v, ok := s.peerPage(w, r, m)
	if !ok {
		return
	}
	v.Form = f
	p.Errors = newFormErrors(e.Fields, networkLabels, networkTargets)
	p.Data = v
	s.render(w, r, http.StatusUnprocessableEntity, p)
}

func (s *server) setPeerState(w http.ResponseWriter, r *http.Request, m *member, state, what string) {
	if !s.require(w, r, m, access.PeerManage) {
		return
	}
	if _, err := s.network.SetPeerState(r.Context(), audit.Staff(m.account.ID), r.PathValue("id"), state); err != nil {
		s.failNetwork(w, r, m, err)
		return
	}
	networkDone(w, r, what)
}

func (s *server) suspendPeer(w http.ResponseWriter, r *http.Request, m *member) {
	s.setPeerState(w, r, m, canopy.PeerSuspended, "suspended")
}

func (s *server) resumePeer(w http.ResponseWriter, r *http.Request, m *member) {
	s.setPeerState(w, r, m, canopy.PeerActive, "resumed")
}

func (s *server) removePeer(w http.ResponseWriter, r *http.Request, m *member) {
	s.setPeerState(w, r, m, canopy.PeerRemoved, "removed")
}

// confirmView asks before an action that cannot be undone.
type confirmView struct {
	Heading string
	Detail  []string
	Action  string // where the form posts
	Button  string
	Back    string
}

// confirmRemovePeer is the step before removing a peer, which is final.
func (s *server) confirmRemovePeer(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.PeerManage) {
		return
	}
	p, err := s.network.DB.Peer(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	if p.State == canopy.PeerRemoved {
		s.failNetwork(w, r, m, &canopy.Error{Code: canopy.ECONFLICT, Key: "error.peer.removed"})
		return
	}
	pg := s.newPage(r, "confirm", "Remove peer "+p.ID, m)
	s.withForm(w, r, pg)
	pg.Data = confirmView{
		Heading: "Remove peer " + p.ID + " (" + p.Name + ")?",
		Detail: []string{
			"Removal is final. This node will refuse every message from " + p.ID + ", never deliver the messages to it that still wait, and no longer route reports to it.",
			"It cannot be resumed, and it cannot be added again with the same keys. To stop exchanging for a while, suspend it instead.",
		},
		Action: "/staff/network/peers/" + p.ID + "/remove",
		Button: "Remove peer " + p.ID + " for good",
		Back:   "/staff/network",
	}
	s.render(w, r, http.StatusOK, pg)
}

func (s *server) setRoute(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.PeerManage) {
		return
	}
	f := routeForm{Jurisdiction: r.PostForm.Get("route_jurisdiction"), Peer: r.PostForm.Get("route_peer"), Auto: r.PostForm.Get("auto") == "yes"}
	keep := func(v *networkView) { v.Route = f }
	var err error
	if f.Peer == "" {
		err = fieldError("route_peer", "error.required")
	} else {
		err = s.network.SetRoute(r.Context(), audit.Staff(m.account.ID), store.Route{Jurisdiction: f.Jurisdiction, PeerID: f.Peer, Auto: f.Auto})
	}
	if e := canopy.AsError(err); err != nil && e.Key == "error.peer.not_found" {
		err = fieldError("route_peer", e.Key)
	}
	if err != nil {
		s.invalidNetwork(w, r, m, renamed(err, map[string]string{"jurisdiction": "route_jurisdiction"}), keep)
		return
	}
	networkDone(w, r, "route_set")
}

func (s *server) removeRoute(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.PeerManage) {
		return
	}
	if err := s.network.DeleteRoute(r.Context(), audit.Staff(m.account.ID), strings.ToUpper(r.PathValue("jurisdiction"))); err != nil {
		s.failNetwork(w, r, m, err)
		return
	}
	networkDone(w, r, "route_removed")
}

func (s *server) subscribe(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.PeerManage) {
		return
	}
	f := subForm{Peer: r.PostForm.Get("sub_peer"), Bank: r.PostForm.Get("sub_bank")}
	keep := func(v *networkView) { v.Sub = f }
	var err error
	if f.Peer == "" {
		err = fieldError("sub_peer", "error.required")
	} else {
		_, err = s.network.Subscribe(r.Context(), audit.Staff(m.account.ID), f.Peer, strings.TrimSpace(f.Bank))
	}
	switch e := canopy.AsError(err); {
	case err == nil:
	case e.Key == "error.peer.not_found" || e.Key == "error.peer.inactive":
		err = fieldError("sub_peer", e.Key)
	case e.Key == "error.bank.exists":
		err = fieldError("sub_bank", e.Key)
	}
	if err != nil {
		s.invalidNetwork(w, r, m, renamed(err, map[string]string{"bank": "sub_bank"}), keep)
		return
	}
	networkDone(w, r, "subscribed")
}
