// Package takedown is notice and takedown: from an analyst's finding that
// content is illegal and hosted at home, to its removal, with the clock
// running. It keeps the list of hosts (hosting companies and platforms)
// and how each takes notices; prepares one notice per host for a
// report's addresses; delivers it by e-mail or signed webhook; tracks
// every address until the host or an analyst confirms it is gone;
// reminds hosts on schedule and escalates what is still up after their
// time; and scores each host on how fast it removes.
//
// Content is never sent: a notice carries addresses, the classification
// and a reference. Addresses are sealed at rest with the report's key.
// Every step is on the report's timeline and in the audit log.
// docs/takedown.md explains the design and the webhook's signature.
package takedown

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/geo"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/mail"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/triage"
)

// Defaults of a host's clock.
const (
	DefaultRemindAfter   = 24 * time.Hour
	DefaultEscalateAfter = 72 * time.Hour
)

// Mailer sends an e-mail; *mail.Sender is one.
type Mailer interface {
	Send(ctx context.Context, m *mail.Message) (string, error)
}

// Signer signs webhook bodies with the node's key.
type Signer interface {
	Sign(msg []byte) []byte
	PublicKey() ed25519.PublicKey
}

// Loop is what takedown needs of federation: when the last address of a
// report a peer referred here comes down, the peer is told, in the same
// transaction as the removal. after, which may be nil, runs once it has
// committed.
type Loop interface {
	ContentRemoved(tx *store.Tx, reportID string, at time.Time) (after func(), err error)
}

// Service is the takedown capability of a node.
type Service struct {
	DB       *store.DB
	Keys     *seal.Keyring
	Audit    *audit.Log
	Triage   *triage.Service
	Identity Signer
	// Mail delivers e-mail notices; nil leaves e-mail notices queued
	// with an error that says the node has no mail server.
	Mail Mailer
	From string // the From of notices: "Hotline <abuse-desk@hotline.example>"
	// EscalateTo, when set, is the mailbox of the law-enforcement liaison
	// told of each escalation (no addresses, only the reference and a
	// link to the workspace).
	EscalateTo string
	NodeName   string
	BaseURL    string // the node's public address, for links in notices
	// Jurisdictions are the node's: content hosted in them, or at a host
	// that answers to them, is noticed from here.
	Jurisdictions []string
	Locator       *geo.Locator
	HTTP          *http.Client // for webhooks; nil for a default with a 30 s timeout
	Loop          Loop
	Now           func() time.Time
	Logger        *slog.Logger

	// RemindAfter and EscalateAfter are the node's defaults; zero for
	// DefaultRemindAfter and DefaultEscalateAfter.
	RemindAfter, EscalateAfter time.Duration

	bell     chan struct{}
	bellOnce sync.Once
}

func (s *Service) now() time.Time { return s.Now().UTC() }

func (s *Service) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Service) remindAfter(h *canopy.Host) time.Duration {
	switch {
	case h != nil && h.RemindAfter > 0:
		return h.RemindAfter
	case s.RemindAfter > 0:
		return s.RemindAfter
	}
	return DefaultRemindAfter
}

func (s *Service) escalateAfter(h *canopy.Host) time.Duration {
	switch {
	case h != nil && h.EscalateAfter > 0:
		return h.EscalateAfter
	case s.EscalateAfter > 0:
		return s.EscalateAfter
	}
	return DefaultEscalateAfter
}

// audit writes one entry about a report.
func (s *Service) audit(ctx context.Context, by audit.Actor, action audit.Action, reportID string, outcome audit.Outcome, details map[string]string) error {
	e := audit.Entry{Actor: by, Action: action, Outcome: outcome, Details: details}
	if reportID != "" {
		e.Kind, e.ID = audit.KindReport, reportID
	}
	if _, err := s.Audit.Append(context.WithoutCancel(ctx), e); err != nil {
		return fmt.Errorf("takedown: audit %s: %w", action, err)
	}
	return nil
}

// content opens a report's sealed content and its data key; both nil when
// the key was destroyed.
func (s *Service) content(ctx context.Context, id string) (*canopy.ReportContent, *seal.DataKey, error) {
	sr, err := s.DB.Report(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if sr.WrappedKey == nil {
		return nil, nil, nil
	}
	dk, err := s.Keys.OpenDataKey(id, sr.WrappedKey)
	if err != nil {
		return nil, nil, fmt.Errorf("takedown: key of %s: %w", id, err)
	}
	plain, err := dk.Open(sr.Content, intake.ContentContext(id))
	if err != nil {
		return nil, nil, fmt.Errorf("takedown: open %s: %w", id, err)
	}
	var c canopy.ReportContent
	if err := json.Unmarshal(plain, &c); err != nil {
		return nil, nil, fmt.Errorf("takedown: open %s: %w", id, err)
	}
	return &c, dk, nil
}

func urlContext(reportID, takedownID string) string { return "takedown/" + reportID + "/" + takedownID }
func reasonContext(reportID, takedownID string) string {
	return "takedown/" + reportID + "/" + takedownID + "/reason"
}

// Placement is where one address of a report is hosted and who takes its
// notice.
type Placement struct {
	URL     string
	Country string // where it is served from, or "" when unknown
	Host    string // the host's id, or "" when no host on the list serves it
	// Here is true when this node notices it: the host answers to one of
	// the node's jurisdictions, or the address is served from one.
	Here bool
}

// place finds, for each address, its host and whether it is noticed from
// here. A host that serves the address's name wins over one that holds
// its network: a platform is noticed at its own desk, not at its cloud.
func (s *Service) place(ctx context.Context, urls []string, hosts []canopy.Host) []Placement {
	out := make([]Placement, 0, len(urls))
	for _, raw := range urls {
		p := Placement{URL: raw}
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() == "" {
			out = append(out, p)
			continue
		}
		name := u.Hostname()
		var addrs []netip.Addr
		if s.Locator != nil {
			addrs = s.Locator.Addrs(ctx, name)
			p.Country = s.Locator.Country(addrs)
		}
		var host *canopy.Host
		for i := range hosts {
			if hosts[i].Active && hosts[i].Serves(name) {
				host = &hosts[i]
				break
			}
		}
		for i := range hosts {
			if host != nil {
				break
			}
			for _, a := range addrs {
				if hosts[i].Active && hosts[i].Holds(a) {
					host = &hosts[i]
					break
				}
			}
		}
		if host != nil {
			p.Host = host.ID
			p.Here = slices.ContainsFunc(host.Jurisdictions, func(j string) bool { return slices.Contains(s.Jurisdictions, j) })
		}
		if p.Country != "" && slices.Contains(s.Jurisdictions, p.Country) {
			p.Here = true
		}
		out = append(out, p)
	}
	return out
}

// Plan is what takedown knows of a report: its notices with their
// addresses, and its addresses in no notice yet, placed.
type Plan struct {
	Notices []NoticeView
	// Unplaced are addresses noticed from here with no host on the
	// list; Abroad are those for a peer (routing refers them).
	Unplaced, Abroad []Placement
}

// NoticeView is a notice with its host and its addresses opened.
type NoticeView struct {
	canopy.Notice
	HostName string
	Items    []canopy.Takedown
}

// Open reports whether any address of the notice is still up.
func (n *NoticeView) Open() bool {
	return slices.ContainsFunc(n.Items, func(t canopy.Takedown) bool { return t.Open() })
}

// Prepare writes draft notices for a report assessed for takedown: one
// per host, holding the report's addresses that are noticed from here and
// in no notice yet. It is safe to call again (after a host is added to
// the list): it only adds what is missing. It returns the report's plan.
func (s *Service) Prepare(ctx context.Context, who *canopy.Account, id string) (*Plan, error) {
	if _, err := s.Triage.Authorize(ctx, who, access.ReportTakedown, id); err != nil {
		return nil, err
	}
	return s.prepare(ctx, audit.Staff(who.ID), id)
}

// PrepareAssessed is Prepare for the node itself, after an assessment
// whose outcome is takedown.
func (s *Service) PrepareAssessed(ctx context.Context, id string) error {
	_, err := s.prepare(ctx, audit.System, id)
	return err
}

var errNoContent = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.takedown.no_content"}

func (s *Service) prepare(ctx context.Context, by audit.Actor, id string) (*Plan, error) {
	c, dk, err := s.content(ctx, id)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errNoContent
	}
	hosts, err := s.DB.Hosts(ctx)
	if err != nil {
		return nil, err
	}
	placed := s.place(ctx, c.URLs, hosts)
	now := s.now()
	var made []string
	err = s.DB.Update(ctx, func(tx *store.Tx) error {
		made = made[:0]
		existing, err := tx.ReportTakedowns(id)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, t := range existing {
			u, err := dk.Open(t.SealedURL, urlContext(id, t.ID))
			if err != nil {
				return fmt.Errorf("takedown: open address of %s: %w", id, err)
			}
			have[string(u)] = true
		}
		byHost := map[string][]string{}
		var order []string
		for _, p := range placed {
			if !p.Here || p.Host == "" || have[p.URL] {
				continue
			}
			have[p.URL] = true
			if byHost[p.Host] == nil {
				order = append(order, p.Host)
			}
			byHost[p.Host] = append(byHost[p.Host], p.URL)
		}
		for _, h := range order {
			n := &canopy.Notice{ID: canopy.NewID(), Host: h, ReportID: id, Status: canopy.NoticeDraft, Created: now}
			n.Reference = reference(s.NodeName, n.ID)
			items := make([]store.SealedTakedown, len(byHost[h]))
			for i, u := range byHost[h] {
				t := &items[i]
				t.ID, t.N, t.Status = canopy.NewID(), i+1, canopy.TakedownPending
				t.SealedURL = dk.Seal([]byte(u), urlContext(id, t.ID))
			}
			if err := tx.CreateNotice(n, items); err != nil {
				return err
			}
			made = append(made, n.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(made) > 0 {
		if err := s.audit(ctx, by, audit.ActionNoticePrepare, id, audit.OK, map[string]string{"notices": fmt.Sprint(len(made))}); err != nil {
			return nil, err
		}
	}
	return s.plan(ctx, id, placed, dk)
}

// reference is what a host quotes back: the node's name and the start of
// the notice's id, in capitals so it reads well on the telephone.
func reference(node, id string) string {
	node = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '-'
	}, node)
	if node == "" {
		node = "CANOPY"
	}
	return node + "-" + strings.ToUpper(id[:min(10, len(id))])
}

// Plan returns what takedown knows of a report, for its page. Placing
// the addresses that are in no notice looks them up, so it may take a
// moment; it is done only for a report assessed for takedown.
func (s *Service) Plan(ctx context.Context, who *canopy.Account, id string) (*Plan, error) {
	st, err := s.Triage.Authorize(ctx, who, access.ReportView, id)
	if err != nil {
		return nil, err
	}
	c, dk, err := s.content(ctx, id)
	if err != nil {
		return nil, err
	}
	var placed []Placement
	if st.Outcome == canopy.OutcomeTakedown && c != nil {
		hosts, err := s.DB.Hosts(ctx)
		if err != nil {
			return nil, err
		}
		placed = s.place(ctx, c.URLs, hosts)
	}
	return s.plan(ctx, id, placed, dk)
}

func (s *Service) plan(ctx context.Context, id string, placed []Placement, dk *seal.DataKey) (*Plan, error) {
	notices, err := s.DB.ReportNotices(ctx, id)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	if hosts, err := s.DB.Hosts(ctx); err == nil {
		for _, h := range hosts {
			names[h.ID] = h.Name
		}
	}
	// Every address of the report at once, by notice, in each notice's
	// order.
	all, err := s.DB.ReportTakedowns(ctx, id)
	if err != nil {
		return nil, err
	}
	byNotice := map[string][]store.SealedTakedown{}
	for _, it := range all {
		byNotice[it.NoticeID] = append(byNotice[it.NoticeID], it)
	}
	p := &Plan{}
	noticed := map[string]bool{}
	for _, n := range notices {
		items := byNotice[n.ID]
		v := NoticeView{Notice: n, HostName: names[n.Host]}
		if v.HostName == "" {
			v.HostName = n.Host
		}
		for _, it := range items {
			t := it.Takedown
			if dk != nil {
				u, err := dk.Open(it.SealedURL, urlContext(id, it.ID))
				if err != nil {
					return nil, fmt.Errorf("takedown: open address of %s: %w", id, err)
				}
				t.URL = string(u)
				noticed[t.URL] = true
				if it.SealedReason != nil {
					r, err := dk.Open(it.SealedReason, reasonContext(id, it.ID))
					if err != nil {
						return nil, fmt.Errorf("takedown: open a refusal of %s: %w", id, err)
					}
					t.Reason = string(r)
				}
			}
			v.Items = append(v.Items, t)
		}
		p.Notices = append(p.Notices, v)
	}
	for _, pl := range placed {
		switch {
		case noticed[pl.URL]:
		case pl.Here && pl.Host == "":
			p.Unplaced = append(p.Unplaced, pl)
		case !pl.Here:
			p.Abroad = append(p.Abroad, pl)
		}
	}
	return p, nil
}

var errNothingToSend = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.takedown.nothing_to_send"}

// Send sends every draft notice of a report, in one action: they are
// queued in one transaction and delivered at once by the node's sender,
// which retries while a host's server is down. It returns how many were
// queued.
func (s *Service) Send(ctx context.Context, who *canopy.Account, id string) (int, error) {
	if _, err := s.Triage.Authorize(ctx, who, access.ReportTakedown, id); err != nil {
		return 0, err
	}
	now := s.now()
	var queued []string
	err := s.DB.Update(ctx, func(tx *store.Tx) error {
		queued = queued[:0]
		notices, err := s.DB.ReportNotices(ctx, id)
		if err != nil {
			return err
		}
		for _, n := range notices {
			if n.Status != canopy.NoticeDraft && n.Status != canopy.NoticeFailed {
				continue
			}
			locked, _, err := tx.LockNotice(n.ID)
			if err != nil {
				return err
			}
			if locked.Status != canopy.NoticeDraft && locked.Status != canopy.NoticeFailed {
				continue
			}
			locked.Status, locked.Queued, locked.By, locked.Next, locked.Error = canopy.NoticeQueued, now, who.ID, now, ""
			if err := tx.PutNotice(locked); err != nil {
				return err
			}
			queued = append(queued, n.ID)
		}
		if len(queued) == 0 {
			return errNothingToSend
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := s.audit(ctx, audit.Staff(who.ID), audit.ActionNoticeSend, id, audit.OK,
		map[string]string{"notices": fmt.Sprint(len(queued))}); err != nil {
		return 0, err
	}
	s.Wake()
	return len(queued), nil
}

// Wake tells the sender there is something to deliver.
func (s *Service) Wake() {
	select {
	case s.doorbell() <- struct{}{}:
	default:
	}
}

func (s *Service) doorbell() chan struct{} {
	s.bellOnce.Do(func() { s.bell = make(chan struct{}, 1) })
	return s.bell
}
