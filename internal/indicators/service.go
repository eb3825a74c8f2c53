package indicators

import (
	"context"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/store"
)

// Service is the indicators as staff read them, with the permission
// checked. The figures are counts and times by code; staff see them
// unprotected, as the node's own working figures, and the public sees
// the publication.
type Service struct {
	DB  *store.DB
	Now func() time.Time
}

var errForbidden = &canopy.Error{Code: canopy.EFORBIDDEN, Key: "error.forbidden"}

// Dashboard returns the rolled indicators over months [from, to] for one
// breakdown value, and the support indicators for the node (or one
// jurisdiction when dim is DimJurisdiction).
func (s *Service) Dashboard(ctx context.Context, who *canopy.Account, dim, value, from, to string) ([]Series, []SupportSeries, error) {
	if !access.Can(who.Role, access.IndicatorsView) {
		return nil, nil, errForbidden
	}
	rolled, err := Dashboard(ctx, s.DB, dim, value, from, to)
	if err != nil {
		return nil, nil, err
	}
	jurisdiction := ""
	if dim == DimJurisdiction {
		jurisdiction = value
	}
	var support []SupportSeries
	if dim == DimAll || dim == DimJurisdiction {
		if support, err = Support(ctx, s.DB, jurisdiction, from, to, s.Now()); err != nil {
			return nil, nil, err
		}
	}
	return rolled, support, nil
}

// Values lists the values a breakdown takes over months [from, to].
func (s *Service) Values(ctx context.Context, who *canopy.Account, dim, from, to string) ([]string, error) {
	if !access.Can(who.Role, access.IndicatorsView) {
		return nil, errForbidden
	}
	return s.DB.CellValues(ctx, dim, from, to)
}
