// Package platform is the node's side of working with online services:
// registering a platform, issuing it API keys (stored as keyed hashes,
// scoped to submit, match or sync, revocable), authenticating its calls,
// and accepting its bulk incident reports in the shape platforms already
// send to the CyberTipline, mapped to the harmonised taxonomy, exactly once
// per client-supplied idempotency key.
package platform

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
)

// Service manages platforms and their keys, and takes their reports.
type Service struct {
	DB     *store.DB
	Keys   *seal.Keyring
	Audit  *audit.Log
	Intake *intake.Service
	Now    func() time.Time
}

func (s *Service) log(ctx context.Context, by audit.Actor, action audit.Action, id string, details map[string]string) error {
	if s.Audit == nil {
		return fmt.Errorf("platform: no audit log")
	}
	if _, err := s.Audit.Append(ctx, audit.Entry{Actor: by, Action: action, Kind: audit.KindPlatform, ID: id, Outcome: audit.OK, Details: details}); err != nil {
		return fmt.Errorf("platform: audit: %w", err)
	}
	return nil
}

func invalid(field, key string) error {
	return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: []canopy.FieldError{{Field: field, Key: key}}}
}

// Register records a new platform.
func (s *Service) Register(ctx context.Context, by audit.Actor, name, contact string) (*canopy.Platform, error) {
	name, contact = strings.TrimSpace(name), strings.TrimSpace(contact)
	if name == "" || len(name) > 100 || strings.ContainsAny(name, "\r\n\t") {
		return nil, invalid("name", "error.required")
	}
	if len(contact) > 254 {
		return nil, invalid("contact", "error.too_long")
	}
	p := &canopy.Platform{ID: canopy.NewID(), Name: name, Contact: contact, Created: s.Now().UTC(), CreatedBy: string(by)}
	if err := s.DB.CreatePlatform(ctx, p); err != nil {
		return nil, err
	}
	return p, s.log(ctx, by, audit.ActionPlatformCreate, p.ID, nil)
}

// keyPrefix marks Canopy API keys, so secret scanners can find leaked ones.
const keyPrefix = "cnp_"

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewKey issues a key to a platform with the given scopes and returns it
// with its secret, which is shown this once and never stored.
func (s *Service) NewKey(ctx context.Context, by audit.Actor, platformName, name string, scopes []string) (*canopy.APIKey, string, error) {
	p, err := s.DB.PlatformByName(ctx, platformName)
	if err != nil {
		return nil, "", err
	}
	if len(scopes) == 0 {
		return nil, "", invalid("scopes", "error.required")
	}
	for _, sc := range scopes {
		if !slices.Contains(canopy.Scopes, sc) {
			return nil, "", invalid("scopes", "error.unknown_code")
		}
	}
	scopes = slices.Compact(slices.Sorted(slices.Values(scopes))) // a copy: the caller's slice is theirs
	raw := make([]byte, 32)
	rand.Read(raw)
	secret := keyPrefix + strings.ToLower(keyEncoding.EncodeToString(raw))
	k := &canopy.APIKey{ID: canopy.NewID(), PlatformID: p.ID, Name: strings.TrimSpace(name), Scopes: scopes, Created: s.Now().UTC(), CreatedBy: string(by)}
	if err := s.DB.CreateAPIKey(ctx, k, s.Keys.Hash("apikey", secret)); err != nil {
		return nil, "", err
	}
	if err := s.log(ctx, by, audit.ActionAPIKeyCreate, p.ID, map[string]string{"key": k.ID, "scopes": strings.Join(scopes, "+")}); err != nil {
		return nil, "", err
	}
	return k, secret, nil
}

// Revoke ends a key at once.
func (s *Service) Revoke(ctx context.Context, by audit.Actor, platformName, keyID string) error {
	p, err := s.DB.PlatformByName(ctx, platformName)
	if err != nil {
		return err
	}
	if err := s.DB.RevokeAPIKey(ctx, p.ID, keyID, s.Now().UTC()); err != nil {
		return err
	}
	return s.log(ctx, by, audit.ActionAPIKeyRevoke, p.ID, map[string]string{"key": keyID})
}

var errKey = &canopy.Error{Code: canopy.EUNAUTHORIZED, Key: "error.apikey.invalid"}

// Authenticate checks a key's secret and that it carries scope. Unknown,
// revoked and disabled keys get one answer; a valid key without the scope
// is EFORBIDDEN.
func (s *Service) Authenticate(ctx context.Context, secret, scope string) (*canopy.APIKey, error) {
	if !strings.HasPrefix(secret, keyPrefix) || len(secret) > 128 {
		return nil, errKey
	}
	k, disabled, err := s.DB.APIKeyBySecret(ctx, s.Keys.Hash("apikey", secret))
	if canopy.ErrorCode(err) == canopy.EUNAUTHORIZED {
		return nil, errKey
	}
	if err != nil {
		return nil, err
	}
	if !k.Revoked.IsZero() || disabled {
		return nil, errKey
	}
	if !k.Allows(scope) {
		return nil, &canopy.Error{Code: canopy.EFORBIDDEN, Key: "error.apikey.scope"}
	}
	if now := s.Now(); now.Sub(k.LastUsed) > time.Minute {
		if err := s.DB.TouchAPIKey(ctx, k.ID, now); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// reportID derives the id of item i of a submission from the platform and
// its idempotency key, so that a retry after a lost answer finds the
// reports the first attempt stored instead of storing them again.
func reportID(platformID, idemKey string, i int) string {
	h := sha256.New()
	h.Write([]byte("canopy platform report\x00" + platformID + "\x00" + idemKey + "\x00"))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	h.Write(b[:])
	return canopy.IDFromBytes(h.Sum(nil)[:16])
}

// ItemResult is the outcome of one incident of a bulk submission.
type ItemResult struct {
	Index    int                 `json:"index"`
	Status   string              `json:"status"` // created, duplicate, invalid, failed
	ReportID string              `json:"report_id,omitempty"`
	Errors   []canopy.FieldError `json:"errors,omitempty"`
}

// SubmitResult is the answer to a bulk submission. Replayed is true when
// it is the stored answer to an earlier submission with the same key.
type SubmitResult struct {
	Items    []ItemResult
	Replayed bool
}

// MaxIncidents bounds one bulk submission.
const MaxIncidents = 1000

// Submit accepts a platform's incidents, each independently: valid ones
// are stored durably, invalid ones are reported with their field errors,
// and the answer is kept under the idempotency key so that a retry gets
// the same answer and stores nothing twice.
func (s *Service) Submit(ctx context.Context, k *canopy.APIKey, idemKey string, incidents []Incident) (*SubmitResult, error) {
	idemKey = strings.TrimSpace(idemKey)
	if idemKey == "" || len(idemKey) > 200 || strings.ContainsAny(idemKey, "\r\n\t ") {
		return nil, invalid("Idempotency-Key", "error.required")
	}
	if len(incidents) == 0 {
		return nil, invalid("incidents", "error.required")
	}
	if len(incidents) > MaxIncidents {
		return nil, &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: []canopy.FieldError{{Field: "incidents", Key: "error.too_many", Args: []any{MaxIncidents}}}}
	}
	if stored, err := s.DB.SubmissionResponse(ctx, k.PlatformID, idemKey); err == nil {
		var items []ItemResult
		if err := json.Unmarshal(stored, &items); err != nil {
			return nil, fmt.Errorf("platform: stored answer: %w", err)
		}
		return &SubmitResult{Items: items, Replayed: true}, nil
	} else if canopy.ErrorCode(err) != canopy.ENOTFOUND {
		return nil, err
	}
	p, err := s.DB.Platform(ctx, k.PlatformID)
	if err != nil {
		return nil, err
	}
	res := &SubmitResult{Items: make([]ItemResult, len(incidents))}
	for i, inc := range incidents {
		it := &res.Items[i]
		it.Index = i
		sub, fields := inc.submission(p.Name)
		if len(fields) > 0 {
			it.Status, it.Errors = "invalid", fields
			continue
		}
		sub.ID = reportID(k.PlatformID, idemKey, i)
		rc, err := s.Intake.Submit(ctx, sub)
		switch {
		case err == nil:
			it.Status, it.ReportID = "created", rc.ReportID
		case canopy.ErrorCode(err) == canopy.ECONFLICT:
			it.Status, it.ReportID = "duplicate", sub.ID // stored by an earlier attempt
		case canopy.ErrorCode(err) == canopy.EINVALID:
			it.Status, it.Errors = "invalid", canopy.AsError(err).Fields
		default:
			return nil, fmt.Errorf("platform: submit item %d: %w", i, err)
		}
	}
	for i := range res.Items {
		// Field names are relative to the incident; make them whole paths.
		for j := range res.Items[i].Errors {
			res.Items[i].Errors[j].Field = "incidents[" + strconv.Itoa(i) + "]." + res.Items[i].Errors[j].Field
		}
	}
	stored, _ := json.Marshal(res.Items)
	if err := s.DB.SaveSubmissionResponse(ctx, k.PlatformID, idemKey, stored, s.Now().UTC()); err != nil {
		return nil, err
	}
	return res, nil
}
