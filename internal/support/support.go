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
	// Jurisdictions are the ISO 3166-1 codes the node serves; a
	// service in another country is abroad, and referring a child there
	// needs consent to cross-border sharing.
	Jurisdictions []string
	// Sharing tells peers of a withdrawal; nil on a node without
	// federation, where nothing is ever shared.
	Sharing Sharing
}

func (s *Service) now() time.Time { return s.Now().UTC() }

// Sharing is what support needs of federation: telling the peers a
// report was referred to that the child's consent to share it abroad no
// longer stands. Withdraw runs inside the transaction that makes the
// change, so the notice is as durable as the change itself; after, which
// may be nil, is called once that transaction has committed.
type Sharing interface {
	Withdraw(tx *store.Tx, reportIDs []string, reason string, at time.Time) (after func(), err error)
}
