package support

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
)

// ErasureRequest is what a survivor or guardian asked for (or what the
// caseworker found to be wrong), and what the caseworker decided.
type ErasureRequest struct {
	Kind    string // canopy.ErasureRedact or canopy.ErasureDelete
	Target  string // for a redaction: a detail field, "plan" or "checkin:N"
	AskedBy string
	// Carry out or refuse; the reason is a code either way.
	Carry  bool
	Reason string
	// Note is the caseworker's own words, sealed with the case. A
	// deletion keeps none: the key it would be sealed with is destroyed.
	Note string
}

// ErrHeld is what Erase returns when a legal hold stopped a deletion: the
// request is recorded as held, and the case is untouched.
var ErrHeld = store.ErrCaseHeld

func (r *ErasureRequest) validate() []canopy.FieldError {
	var fields []canopy.FieldError
	bad := func(f, key string) { fields = append(fields, canopy.FieldError{Field: f, Key: key}) }
	switch r.Kind {
	case canopy.ErasureDelete:
		r.Target, r.Note = "", ""
	case canopy.ErasureRedact:
		if !validTarget(r.Target) {
			bad("target", "error.unknown_code")
		}
	default:
		bad("kind", "error.unknown_code")
	}
	if !slices.Contains(canopy.Askers, r.AskedBy) {
		bad("asked_by", "error.unknown_code")
	}
	if !slices.Contains(canopy.ErasureReasons, r.Reason) {
		bad("reason", "error.unknown_code")
	}
	r.Note = strings.TrimSpace(strings.ReplaceAll(r.Note, "\r\n", "\n"))
	switch {
	case len([]rune(r.Note)) > maxLong:
		bad("note", "error.too_long")
	case hasControl(r.Note, true):
		bad("note", "error.control_chars")
	}
	return fields
}

func validTarget(t string) bool {
	if t == "plan" || slices.Contains(canopy.DetailFields, t) {
		return true
	}
	n, ok := strings.CutPrefix(t, "checkin:")
	v, err := strconv.Atoi(n)
	return ok && err == nil && v > 0 && strconv.Itoa(v) == n
}

// Erase records a decision on a request to redact part of a case or to
// delete it, and carries it out when the caseworker so decides. A
// redaction replaces the sealed value with nothing; a deletion destroys
// the case's data key, unless a legal hold stands: then the request is
// recorded as held, the refusal audited, and ErrHeld returned.
func (s *Service) Erase(ctx context.Context, who *canopy.Account, id string, r ErasureRequest) (*canopy.Erasure, error) {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return nil, err
	}
	if err := invalid(r.validate()); err != nil {
		return nil, err
	}
	e := &store.SealedErasure{Erasure: canopy.Erasure{ID: canopy.NewID(), CaseID: id, Kind: r.Kind, Target: r.Target,
		AskedBy: r.AskedBy, Reason: r.Reason, By: who.ID}}
	now := s.now()
	var after func()
	err := s.DB.UpdateCase(ctx, id, func(tx *store.Tx, c *store.SealedCase) error {
		after = nil
		if c.IsDeleted() {
			return errDeleted
		}
		dk, err := s.dataKey(c)
		if err != nil {
			return err
		}
		e.At, e.Decision, e.SealedNote = now, canopy.ErasureRefused, nil
		if r.Note != "" {
			e.SealedNote = dk.Seal([]byte(r.Note), erasureContext(id, e.ID))
		}
		if r.Carry {
			e.Decision = canopy.ErasureDone
			switch {
			case r.Kind == canopy.ErasureDelete:
				held, err := tx.Held(id)
				if err != nil {
					return err
				}
				if held {
					e.Decision = canopy.ErasureHeld
					break
				}
				// The links go with the case: read them first, so the
				// peers the reports went to are told.
				reports, err := tx.CaseReportIDs(id)
				if err != nil {
					return err
				}
				if err := tx.DestroyCase(id, now); err != nil {
					return err
				}
				if after, err = s.withdraw(tx, reports, canopy.WithdrawalDeleted, now); err != nil {
					return err
				}
			case r.Target == "plan":
				if err := tx.RedactPlan(id, now); err != nil {
					return err
				}
			case strings.HasPrefix(r.Target, "checkin:"):
				n, _ := strconv.Atoi(strings.TrimPrefix(r.Target, "checkin:"))
				if err := tx.RedactCheckInNote(id, n, now); err != nil {
					return err
				}
			default:
				d, err := openDetails(dk, id, c.Details)
				if err != nil {
					return err
				}
				d.Clear(r.Target)
				if c.Details, err = sealDetails(dk, id, d); err != nil {
					return err
				}
				c.Updated = now
				if err := tx.PutCase(c); err != nil {
					return err
				}
			}
		}
		return tx.AddErasure(e)
	})
	if err != nil {
		var ce *canopy.Error
		if errors.As(err, &ce) && ce.Code == canopy.ENOTFOUND && ce.Key != "error.case.not_found" {
			// The plan or check-in named does not exist.
			return nil, invalid([]canopy.FieldError{{Field: "target", Key: ce.Key}})
		}
		return nil, err
	}
	if after != nil {
		after()
	}
	action, outcome := audit.ActionCaseRedact, audit.OK
	details := map[string]string{"decision": e.Decision, "reason": e.Reason, "asked_by": e.AskedBy}
	if r.Kind == canopy.ErasureDelete {
		action = audit.ActionCaseDestroy
	} else {
		details["target"] = e.Target
	}
	if e.Decision == canopy.ErasureHeld {
		outcome, details["blocked_by"] = audit.Denied, "legal_hold"
	}
	if err := s.audit(ctx, who, action, id, outcome, details); err != nil {
		return nil, err
	}
	out := e.Erasure
	out.Note = r.Note
	if e.Decision == canopy.ErasureHeld {
		return &out, ErrHeld
	}
	return &out, nil
}

// PlaceHold places a legal hold on a case, which stops its deletion until
// lifted. Only an administrator may; the reason is sealed with the case.
func (s *Service) PlaceHold(ctx context.Context, who *canopy.Account, id, reason string) error {
	if err := s.allow(ctx, who, access.CaseHold, id); err != nil {
		return err
	}
	reason, err := holdReason(reason)
	if err != nil {
		return err
	}
	var n int
	err = s.DB.UpdateCase(ctx, id, func(tx *store.Tx, c *store.SealedCase) error {
		if c.IsDeleted() {
			return errDeleted
		}
		if held, err := tx.Held(id); err != nil || held {
			if err == nil {
				err = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.case.already_held"}
			}
			return err
		}
		dk, err := s.dataKey(c)
		if err != nil {
			return err
		}
		if n, err = tx.NextHold(id); err != nil {
			return err
		}
		return tx.PlaceHold(&store.SealedHold{LegalHold: canopy.LegalHold{CaseID: id, N: n, Placed: s.now(), PlacedBy: who.ID},
			SealedReason: dk.Seal([]byte(reason), holdContext(id, n))})
	})
	if err != nil {
		return err
	}
	return s.audit(ctx, who, audit.ActionCaseHold, id, audit.OK, map[string]string{"step": "place", "hold": strconv.Itoa(n)})
}

// LiftHold lifts the legal hold that stands on a case.
func (s *Service) LiftHold(ctx context.Context, who *canopy.Account, id, reason string) error {
	if err := s.allow(ctx, who, access.CaseHold, id); err != nil {
		return err
	}
	reason, err := holdReason(reason)
	if err != nil {
		return err
	}
	var n int
	err = s.DB.UpdateCase(ctx, id, func(tx *store.Tx, c *store.SealedCase) error {
		var err error
		if n, err = tx.StandingHold(id); err != nil {
			return err
		}
		if n == 0 {
			return &canopy.Error{Code: canopy.ECONFLICT, Key: "error.case.not_held"}
		}
		dk, err := s.dataKey(c)
		if err != nil {
			return err
		}
		var sealed []byte
		if dk != nil {
			sealed = dk.Seal([]byte(reason), liftContext(id, n))
		}
		return tx.LiftHold(id, n, s.now(), who.ID, sealed)
	})
	if err != nil {
		return err
	}
	return s.audit(ctx, who, audit.ActionCaseHold, id, audit.OK, map[string]string{"step": "lift", "hold": strconv.Itoa(n)})
}

func holdReason(reason string) (string, error) {
	reason = strings.TrimSpace(strings.ReplaceAll(reason, "\r\n", "\n"))
	switch {
	case reason == "":
		return "", invalid([]canopy.FieldError{{Field: "reason", Key: "error.required"}})
	case len([]rune(reason)) > maxShort:
		return "", invalid([]canopy.FieldError{{Field: "reason", Key: "error.too_long"}})
	case hasControl(reason, true):
		return "", invalid([]canopy.FieldError{{Field: "reason", Key: "error.control_chars"}})
	}
	return reason, nil
}

// Hold is a legal hold as an administrator's list shows it.
type Hold struct {
	canopy.LegalHold
	CaseDeleted bool
}

// Holds lists the node's legal holds, standing ones first, with their
// reasons: an administrator's own words. Nothing of the cases is shown.
func (s *Service) Holds(ctx context.Context, who *canopy.Account) ([]Hold, error) {
	if err := s.allow(ctx, who, access.CaseHold, ""); err != nil {
		return nil, err
	}
	sealed, err := s.DB.Holds(ctx, 500)
	if err != nil {
		return nil, err
	}
	keys := map[string]*store.SealedCase{}
	out := make([]Hold, len(sealed))
	for i, h := range sealed {
		c, ok := keys[h.CaseID]
		if !ok {
			if c, err = s.DB.Case(ctx, h.CaseID); err != nil {
				return nil, err
			}
			keys[h.CaseID] = c
		}
		dk, err := s.dataKey(c)
		if err != nil {
			return nil, err
		}
		out[i] = Hold{LegalHold: h.LegalHold, CaseDeleted: c.IsDeleted()}
		if out[i].Reason, err = openText(dk, h.SealedReason, holdContext(h.CaseID, h.N)); err != nil {
			return nil, err
		}
		if out[i].LiftReason, err = openText(dk, h.SealedLiftReason, liftContext(h.CaseID, h.N)); err != nil {
			return nil, err
		}
	}
	return out, nil
}
