// Package support is the caseworker's side of a node: the directory of
// services that help children and young people (and its public finder),
// support cases with their service referrals, safety plans and well-being
// check-ins, and the consent that the survivor controls. Cases are
// pseudonymous by default; what identifies a child is sealed with the
// case's own data key, and deleting a case destroys that key unless a
// legal hold stands. Every opening and every change is audited.
package support

import (
	"log/slog"
	"time"

	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
)

// Service is the support capability of a node.
type Service struct {
	DB     *store.DB
	Keys   *seal.Keyring
	Audit  *audit.Log
	Now    func() time.Time
	Logger *slog.Logger
}

func (s *Service) now() time.Time { return s.Now().UTC() }
