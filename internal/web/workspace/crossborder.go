package workspace

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/store"
)

// Cross-border work: the reports routed abroad that no rule sends
// anywhere, and on a report's page the routing decision, the analyst's
// choice of jurisdiction, referral to a peer, and the statuses answered to
// a peer that referred a report here. internal/federation checks
// access.ReportRefer and the member's jurisdictions for every action.

// unroutedMax bounds how many unrouted reports the page lists.
const unroutedMax = 500

type unroutedView struct {
	Rows  []unroutedRow
	Total int
	More  bool // more may wait than the page lists
}

type unroutedRow struct {
	canopy.TriageState
	Age time.Duration
}

// unroutedFor returns the unrouted reports a member may see that still
// wait for a decision, oldest first, how many there are, and whether
// there may be more than it read.
func (s *server) unroutedFor(ctx context.Context, a *canopy.Account) ([]canopy.TriageState, int, bool, error) {
	sts, total, err := s.network.DB.Unrouted(ctx, store.QueueFilter{Jurisdictions: a.Jurisdictions, Limit: unroutedMax})
	if err != nil {
		return nil, 0, false, err
	}
	return sts, total, total > len(sts), nil
}

func (s *server) unrouted(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.QueueView) {
		return
	}
	sts, total, more, err := s.unroutedFor(r.Context(), m.account)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	now := s.now()
	v := unroutedView{Total: total, More: more}
	for _, st := range sts {
		v.Rows = append(v.Rows, unroutedRow{TriageState: st, Age: now.Sub(st.Received)})
	}
	p := s.newPage(r, "unrouted", "Unrouted reports", m)
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

// crossBorder is a report's routing and referrals, and the forms that act
// on them.
type crossBorder struct {
	Routing   string // the routing decision in words
	Hosted    string // where the addresses are hosted, as the router found
	Referrals []store.Referral
	Inbound   *store.Referral // how a peer referred this report here
	Closed    bool            // the inbound referral takes no more statuses
	Peers     []referPeer     // the active peers, for the referral form

	Jurisdiction string // the jurisdiction form, as typed
	Peer         string // the referral form's choice
	Reason       string // the status form's reason, as typed
}

type referPeer struct {
	*canopy.Peer
	Receives string // what of a report its profile sends, in a sentence
}

// loadCrossBorder fills the report page's cross-border panel.
func (s *server) loadCrossBorder(ctx context.Context, v *reportView, timeline []canopy.Event) error {
	db := s.network.DB
	b := &v.Border
	refs, err := db.ReferralsOf(ctx, v.ID)
	if err != nil {
		return err
	}
	b.Referrals = refs
	for i := range refs {
		if !refs[i].Outbound {
			b.Inbound = &refs[i] // the latest, as federation answers it
		}
	}
	if in := b.Inbound; in != nil {
		b.Closed = in.Status == canopy.ReferralRejected || in.Status == canopy.ReferralContentRemoved
	}
	peers, err := db.Peers(ctx)
	if err != nil {
		return err
	}
	for _, p := range peers {
		// The peer that referred the report here gets it back by a
		// rejection, not a referral.
		if p.State == canopy.PeerActive && (b.Inbound == nil || p.ID != b.Inbound.PeerID) {
			b.Peers = append(b.Peers, referPeer{Peer: p, Receives: receives(p.Share)})
		}
	}
	st := v.State
	auto := false
	if st.Route == canopy.RoutePeer {
		routes, err := db.Routes(ctx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(routes, func(r store.Route) bool { return r.Jurisdiction == st.Responsible })
		auto = i >= 0 && routes[i].Auto
	}
	for i := len(timeline) - 1; i >= 0; i-- {
		if timeline[i].Kind == canopy.EventRouted {
			b.Hosted = strings.Join(strings.Fields(timeline[i].Data["hosted"]), ", ")
			break
		}
	}
	b.Routing = routingWords(st, auto)
	b.Jurisdiction, b.Peer = st.Responsible, st.RoutePeer
	return nil
}

// routingWords says where routing sent a report, and why.
func routingWords(st canopy.TriageState, auto bool) string {
	if st.Route == "" {
		return "Not routed yet. The node decides shortly after a report arrives: from where its web addresses are hosted, or else from the child's country."
	}
	var where string
	switch {
	case st.Responsible == "":
		where = "No jurisdiction known"
	case st.Basis == canopy.BasisHosting:
		where = "Hosted in " + st.Responsible + " (" + basisNames[canopy.BasisHosting] + ")"
	case st.Basis == canopy.BasisChild:
		where = "The child's country, " + st.Responsible + " (from the report; where the content is hosted is not known)"
	case st.Basis == canopy.BasisAnalyst:
		where = "Jurisdiction " + st.Responsible + " (" + basisNames[canopy.BasisAnalyst] + ")"
	default:
		where = "Jurisdiction " + st.Responsible
	}
	switch st.Route {
	case canopy.RoutePeer:
		how := "an analyst confirms each referral"
		if auto {
			how = "it refers at once"
		}
		return where + " — routing rule: refer to peer " + st.RoutePeer + " (" + how + ")."
	case canopy.RouteUnrouted:
		return where + " — no routing rule names a peer for it. Choose a peer below, or ask an administrator to add a routing rule."
	}
	return where + " — this node's own: the report stays here."
}

// routedDetail is a routed event's line on the timeline.
func routedDetail(data map[string]string) string {
	where := "no jurisdiction known"
	if j := data["jurisdiction"]; j != "" {
		where = j
		if b := basisNames[data["basis"]]; b != "" {
			where += " (" + b + ")"
		}
	}
	switch data["route"] {
	case canopy.RoutePeer:
		return where + "; routing rule: refer to peer " + data["peer"]
	case canopy.RouteUnrouted:
		return where + "; no routing rule names a peer"
	}
	return where + "; stays with this node"
}

// referralDetail is a cross-border event's line on the timeline.
func referralDetail(e canopy.Event) string {
	peer := e.Data["peer"]
	switch e.Kind {
	case canopy.EventReferred:
		if peer == "" {
			return ""
		}
		return "to peer " + peer
	case canopy.EventReferralReceived:
		d := "from peer " + peer
		if j := e.Data["jurisdiction"]; j != "" {
			d += ", for " + j
			if b := basisNames[e.Data["basis"]]; b != "" {
				d += " (" + b + " at the peer)"
			}
		}
		return d
	case canopy.EventReferralStatus:
		status := word(referralStatusNames, e.Data["status"])
		if e.Data["direction"] == "in" {
			return "Peer " + peer + ": " + status
		}
		return "Sent to peer " + peer + ": " + status
	}
	return ""
}

func (s *server) chooseJurisdiction(w http.ResponseWriter, r *http.Request, m *member) {
	typed := r.PostForm.Get("jurisdiction")
	country := strings.ToUpper(strings.TrimSpace(typed))
	if _, err := s.network.ChooseJurisdiction(r.Context(), m.account, r.PathValue("id"), country); err != nil {
		s.invalidReport(w, r, m, err, func(v *reportView) { v.Border.Jurisdiction = typed })
		return
	}
	done(w, r, "routed")
}

func (s *server) refer(w http.ResponseWriter, r *http.Request, m *member) {
	peer := r.PostForm.Get("peer")
	_, err := s.network.Refer(r.Context(), m.account, r.PathValue("id"), peer)
	if err == nil {
		done(w, r, "referred")
		return
	}
	// The service checked the member first: a peer not found is the
	// one chosen.
	switch e := canopy.AsError(err); {
	case e.Key == "error.peer.not_found" && peer == "":
		err = fieldError("peer", "error.unknown_code")
	case e.Key == "error.peer.not_found" || e.Key == "error.peer.inactive":
		err = fieldError("peer", e.Key)
	}
	s.invalidReport(w, r, m, err, func(v *reportView) { v.Border.Peer = peer })
}

func (s *server) sendStatus(w http.ResponseWriter, r *http.Request, m *member) {
	reason := r.PostForm.Get("status_reason")
	err := s.network.SendStatus(r.Context(), m.account, r.PathValue("id"), r.PostForm.Get("status"), strings.ReplaceAll(reason, "\r\n", "\n"))
	if err == nil {
		done(w, r, "status")
		return
	}
	if e := canopy.AsError(err); e.Key == "error.referral.not_found" {
		// The report exists: it just did not come from a peer.
		err = &canopy.Error{Code: canopy.ECONFLICT, Key: e.Key}
	}
	s.invalidReport(w, r, m, renamed(err, map[string]string{"reason": "status_reason"}), func(v *reportView) { v.Border.Reason = reason })
}
