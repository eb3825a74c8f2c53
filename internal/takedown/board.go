package takedown

import (
	"context"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
)

// The board: the notices of every report, for the staff who follow them.
// It names hosts, references, states and counts; never an address.

// BoardRow is one notice on the board.
type BoardRow struct {
	canopy.Notice
	HostName string
	// Counts of the notice's addresses: all of them, those still up, those
	// escalated and still up, removed and refused.
	Addresses, Open, Escalated, Removed, Refused int
	// Hidden is true when the notice's report is outside the member's
	// jurisdictions: ReportID is then empty, and the row tells only the
	// host's side.
	Hidden bool
}

// Board returns a page of the notices f selects, newest first, and how
// many there are. Staff who send notices see every state; staff who may
// only read reports (law-enforcement liaisons) see the escalated ones,
// which are theirs to act on.
func (s *Service) Board(ctx context.Context, who *canopy.Account, f store.NoticeFilter) ([]BoardRow, int, error) {
	if !access.Can(who.Role, access.ReportTakedown) && !(f.Escalated && access.Can(who.Role, access.ReportView)) {
		if err := s.audit(ctx, audit.Staff(who.ID), audit.ActionPermissionDenied, "", audit.Denied,
			map[string]string{"permission": string(access.ReportTakedown)}); err != nil {
			return nil, 0, err
		}
		return nil, 0, &canopy.Error{Code: canopy.EFORBIDDEN, Key: "error.forbidden"}
	}
	notices, total, err := s.DB.Notices(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	names := map[string]string{}
	hosts, err := s.DB.Hosts(ctx)
	if err != nil {
		return nil, 0, err
	}
	for _, h := range hosts {
		names[h.ID] = h.Name
	}
	mine := map[string]bool{} // report id -> in the member's jurisdictions
	out := make([]BoardRow, 0, len(notices))
	for _, n := range notices {
		_, items, err := s.DB.Notice(ctx, n.ID)
		if err != nil {
			return nil, 0, err
		}
		row := BoardRow{Notice: n, HostName: names[n.Host], Addresses: len(items)}
		if row.HostName == "" {
			row.HostName = n.Host
		}
		for _, it := range items {
			switch {
			case it.Open() && !it.Escalated.IsZero():
				row.Open++
				row.Escalated++
			case it.Open():
				row.Open++
			case it.Status == canopy.TakedownRemoved:
				row.Removed++
			case it.Status == canopy.TakedownRefused:
				row.Refused++
			}
		}
		if len(who.Jurisdictions) > 0 {
			in, ok := mine[n.ReportID]
			if !ok {
				st, err := s.DB.TriageState(ctx, n.ReportID)
				if err != nil && canopy.ErrorCode(err) != canopy.ENOTFOUND {
					return nil, 0, err
				}
				in = st != nil && access.InJurisdiction(who, st.Jurisdiction)
				mine[n.ReportID] = in
			}
			if !in {
				row.ReportID, row.Hidden = "", true
			}
		}
		out = append(out, row)
	}
	return out, total, nil
}
