package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/geo"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/store"
)

// Geo maps an address to an ISO 3166-1 country code ("" when unknown).
// internal/geo reads one from a MaxMind-format database.
type Geo = geo.Countries

// Resolver looks up a host's addresses; *net.Resolver is one.
type Resolver = geo.Resolver

// Decision is where a report's responsibility lies.
type Decision struct {
	Jurisdiction string // ISO 3166-1, or "" when nothing says
	Basis        string // canopy.BasisHosting, BasisChild or BasisAnalyst
	Route        string // canopy.RouteLocal, RoutePeer or RouteUnrouted
	Peer         string // the peer a rule names, for RoutePeer
	Auto         bool   // the rule refers without waiting for staff
	Hosted       []string
}

// hosting returns the countries where a report's addresses are hosted, in
// the order the reporter gave them.
func (s *Service) hosting(ctx context.Context, urls []string) []string {
	if s.Geo == nil {
		return nil
	}
	l := &geo.Locator{Geo: s.Geo, Resolver: s.Resolver}
	var out []string
	seen := map[string]bool{}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() == "" || seen[u.Hostname()] {
			continue
		}
		seen[u.Hostname()] = true
		if c := l.Country(l.Addrs(ctx, u.Hostname())); c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// decide applies the routing rules to a jurisdiction.
func (s *Service) decide(ctx context.Context, d *Decision) error {
	if d.Jurisdiction == "" || slices.Contains(s.Jurisdictions, d.Jurisdiction) {
		d.Route = canopy.RouteLocal
		return nil
	}
	routes, err := s.DB.Routes(ctx)
	if err != nil {
		return err
	}
	if i := slices.IndexFunc(routes, func(r store.Route) bool { return r.Jurisdiction == d.Jurisdiction }); i >= 0 {
		r := routes[i]
		p, err := s.DB.Peer(ctx, r.PeerID)
		if err != nil {
			return err
		}
		if p.State != canopy.PeerRemoved {
			d.Route, d.Peer, d.Auto = canopy.RoutePeer, r.PeerID, r.Auto
			return nil
		}
	}
	// No rule. A node that names no jurisdictions of its own keeps what
	// it cannot route; one that does lets it wait for staff.
	d.Route = canopy.RouteUnrouted
	if len(s.Jurisdictions) == 0 {
		d.Route = canopy.RouteLocal
	}
	return nil
}

// content opens a report's sealed content.
func (s *Service) content(ctx context.Context, id string) (*store.SealedReport, *canopy.ReportContent, error) {
	sr, err := s.DB.Report(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	var c canopy.ReportContent
	if sr.WrappedKey == nil {
		return sr, &c, nil // erased: only the classification is left
	}
	dk, err := s.Keys.OpenDataKey(id, sr.WrappedKey)
	if err != nil {
		return nil, nil, fmt.Errorf("federation: open %s: %w", id, err)
	}
	plain, err := dk.Open(sr.Content, intake.ContentContext(id))
	if err != nil {
		return nil, nil, fmt.Errorf("federation: open %s: %w", id, err)
	}
	if err := json.Unmarshal(plain, &c); err != nil {
		return nil, nil, fmt.Errorf("federation: open %s: %w", id, err)
	}
	return sr, &c, nil
}

// Route decides a report's responsible jurisdiction from where its
// addresses are hosted, or else the child's country, and records it on
// the timeline. A decision by staff is never overridden. A rule marked
// auto refers the report at once.
func (s *Service) Route(ctx context.Context, id string) (*Decision, error) {
	st, err := s.DB.TriageState(ctx, id)
	if err != nil {
		return nil, err
	}
	if st.Basis == canopy.BasisAnalyst {
		return nil, nil
	}
	sr, c, err := s.content(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &Decision{}
	d.Hosted = s.hosting(ctx, c.URLs)
	switch {
	case len(d.Hosted) > 0:
		d.Jurisdiction, d.Basis = d.Hosted[0], canopy.BasisHosting
	case sr.Report.ChildCountry != "":
		d.Jurisdiction, d.Basis = sr.Report.ChildCountry, canopy.BasisChild
	}
	if err := s.decide(ctx, d); err != nil {
		return nil, err
	}
	if err := s.record(ctx, audit.System, "system", id, d, func(st *canopy.TriageState) error {
		if st.Basis == canopy.BasisAnalyst {
			return errAnalystChose
		}
		return nil
	}); err != nil {
		if err == errAnalystChose {
			return nil, nil
		}
		return nil, err
	}
	if d.Auto && d.Route == canopy.RoutePeer {
		if err := s.autoRefer(ctx, id, d.Peer); err != nil {
			return d, err
		}
	}
	return d, nil
}

var errAnalystChose = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.report.routed"}

// record writes a routing decision to the timeline and the audit log.
func (s *Service) record(ctx context.Context, by audit.Actor, actor, id string, d *Decision, check func(*canopy.TriageState) error) error {
	data := map[string]string{"jurisdiction": d.Jurisdiction, "basis": d.Basis, "route": d.Route, "peer": d.Peer}
	if len(d.Hosted) > 0 {
		data["hosted"] = strings.Join(d.Hosted, " ")
	}
	for k, v := range data {
		if v == "" {
			delete(data, k)
		}
	}
	if _, err := s.DB.ApplyEvents(ctx, id, check, &store.SealedEvent{Event: canopy.Event{
		ReportID: id, Kind: canopy.EventRouted, At: s.now(), Actor: actor, Data: data}}); err != nil {
		return err
	}
	details := map[string]string{"route": d.Route}
	if d.Jurisdiction != "" {
		details["jurisdiction"] = d.Jurisdiction
	}
	if d.Basis != "" {
		details["basis"] = d.Basis
	}
	return s.log(ctx, audit.Entry{Actor: by, Action: audit.ActionReportRoute, Kind: audit.KindReport, ID: id, Details: details})
}

// ChooseJurisdiction is an analyst's routing decision, which always wins.
func (s *Service) ChooseJurisdiction(ctx context.Context, who *canopy.Account, id, country string) (*Decision, error) {
	if _, err := s.Triage.Authorize(ctx, who, access.ReportRefer, id); err != nil {
		return nil, err
	}
	if !canopy.IsCountry(country) {
		return nil, fieldErr("jurisdiction", "error.country")
	}
	d := &Decision{Jurisdiction: country, Basis: canopy.BasisAnalyst}
	if err := s.decide(ctx, d); err != nil {
		return nil, err
	}
	if err := s.record(ctx, audit.Staff(who.ID), who.ID, id, d, nil); err != nil {
		return nil, err
	}
	return d, nil
}

// rerouteUnrouted applies the rules again to reports waiting for one.
func (s *Service) rerouteUnrouted(ctx context.Context) error {
	waiting, _, err := s.DB.Unrouted(ctx, store.QueueFilter{Limit: 100000})
	if err != nil {
		return err
	}
	for _, st := range waiting {
		d := &Decision{Jurisdiction: st.Responsible, Basis: st.Basis}
		if err := s.decide(ctx, d); err != nil {
			return err
		}
		if d.Route != canopy.RoutePeer {
			// Only a rule can move a waiting report; the node's own
			// jurisdictions did not change (and a shell command does not
			// even know them).
			continue
		}
		if err := s.record(ctx, audit.System, "system", st.ReportID, d, nil); err != nil {
			return err
		}
		if d.Auto {
			if err := s.autoRefer(ctx, st.ReportID, d.Peer); err != nil {
				return err
			}
		}
	}
	return nil
}

// autoRefer refers a report as a rule with auto says. A report that came
// from a peer is never passed on by itself: staff decide that. A
// referral the peer's state prevents leaves the report in the queue with
// its route, for staff.
func (s *Service) autoRefer(ctx context.Context, id, peer string) error {
	sr, err := s.DB.Report(ctx, id)
	if err != nil {
		return err
	}
	if sr.Report.Channel == canopy.ChannelPeer {
		return nil
	}
	if _, err := s.refer(ctx, audit.System, "system", id, peer); err != nil {
		if canopy.ErrorCode(err) == canopy.ECONFLICT {
			s.Logger.Warn("router: automatic referral not made; the report waits for staff", "report", id, "peer", peer, "err", err)
			return nil
		}
		return err
	}
	return nil
}

// RunRouter routes new reports until ctx ends: every report gets a
// decision, oldest first, a few at a time in parallel since most of the
// time goes into DNS.
func (s *Service) RunRouter(ctx context.Context) {
	const parallel = 8
	for ctx.Err() == nil {
		ids, err := s.DB.RoutingBacklog(ctx, 64)
		if err != nil {
			s.Logger.Error("router: backlog", "err", err)
		}
		var wg sync.WaitGroup
		var failed atomic.Bool
		sem := make(chan struct{}, parallel)
		for _, id := range ids {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if _, err := s.Route(ctx, id); err != nil && ctx.Err() == nil {
					failed.Store(true)
					s.Logger.Error("router: route report", "report", id, "err", err)
				}
			}()
		}
		wg.Wait()
		if len(ids) > 0 && err == nil && !failed.Load() {
			continue
		}
		select {
		case <-ctx.Done():
		case <-s.routerBell():
		case <-time.After(2 * time.Second):
		}
	}
}
