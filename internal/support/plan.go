package support

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
)

// PlanLanguage is the language a case's safety plan is written in by
// default: the first of the child's languages the node can print in,
// English otherwise.
func PlanLanguage(c *canopy.Case) string {
	for _, l := range c.Languages {
		if canopy.IsLanguage(l) {
			return l
		}
	}
	return "en"
}

// normalisePlan trims each line, drops empty ones and checks the lengths.
func normalisePlan(p *canopy.SafetyPlan) []canopy.FieldError {
	var fields []canopy.FieldError
	if !canopy.IsLanguage(p.Language) {
		fields = append(fields, canopy.FieldError{Field: "language", Key: "error.unknown_code"})
	}
	for _, code := range canopy.PlanSections {
		var lines []string
		for _, l := range p.Section(code) {
			for _, part := range strings.Split(strings.ReplaceAll(l, "\r\n", "\n"), "\n") {
				if part = strings.TrimSpace(part); part != "" {
					lines = append(lines, part)
				}
			}
		}
		switch {
		case len(lines) > maxLines:
			fields = append(fields, canopy.FieldError{Field: code, Key: "error.too_many"})
		case slices.ContainsFunc(lines, func(l string) bool { return len([]rune(l)) > maxShort }):
			fields = append(fields, canopy.FieldError{Field: code, Key: "error.too_long"})
		case slices.ContainsFunc(lines, func(l string) bool { return hasControl(l, false) }):
			fields = append(fields, canopy.FieldError{Field: code, Key: "error.control_chars"})
		}
		p.SetSection(code, lines)
	}
	return fields
}

// SavePlan writes a case's safety plan, in place of the one before. Its
// words are sealed; its language is plain, so it prints in it.
func (s *Service) SavePlan(ctx context.Context, who *canopy.Account, id string, p canopy.SafetyPlan) error {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return err
	}
	if err := invalid(normalisePlan(&p)); err != nil {
		return err
	}
	b, err := json.Marshal(&p)
	if err != nil {
		return fmt.Errorf("support: seal plan of %s: %w", id, err)
	}
	return s.update(ctx, who, id, map[string]string{"step": "plan", "language": p.Language},
		func(tx *store.Tx, _ *store.SealedCase, dk *seal.DataKey, now time.Time) error {
			if err := requireSupport(tx, id, now); err != nil {
				return err
			}
			return tx.PutPlan(&store.SealedPlan{CaseID: id, Content: dk.Seal(b, planContext(id)),
				SafetyPlan: canopy.SafetyPlan{Language: p.Language, Updated: now, UpdatedBy: who.ID}})
		})
}

// plan reads and opens a case's safety plan; ENOTFOUND when there is
// none. A redacted plan, or one whose key is destroyed, has no words.
func (s *Service) plan(ctx context.Context, c *store.SealedCase, dk *seal.DataKey) (*canopy.SafetyPlan, error) {
	sp, err := s.DB.CasePlan(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	p := sp.SafetyPlan
	if sp.Content == nil || dk == nil {
		return &p, nil
	}
	b, err := dk.Open(sp.Content, planContext(c.ID))
	if err != nil {
		return nil, fmt.Errorf("support: open plan of %s: %w", c.ID, err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("support: open plan of %s: %w", c.ID, err)
	}
	return &p, nil
}

// Plan opens a case's safety plan to print it, with the case it belongs
// to (for its age band). The opening is audited first.
func (s *Service) Plan(ctx context.Context, who *canopy.Account, id string) (*canopy.SafetyPlan, *canopy.Case, error) {
	if err := s.allow(ctx, who, access.CaseManage, id); err != nil {
		return nil, nil, err
	}
	c, err := s.DB.Case(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if c.IsDeleted() {
		return nil, nil, errDeleted
	}
	if err := s.audit(ctx, who, audit.ActionCaseView, id, audit.OK, map[string]string{"part": "plan"}); err != nil {
		return nil, nil, err
	}
	dk, err := s.dataKey(c)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.plan(ctx, c, dk)
	if err != nil {
		return nil, nil, err
	}
	return p, &c.Case, nil
}
