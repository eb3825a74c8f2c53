// Package evidence is investigations and the evidence in them: files
// staff add (never the public), stored encrypted in a blob store and
// streamed in bounded memory, hashed with SHA-256, MD5 and (for images)
// PDQ as they arrive and checked again on every access, each with a chain
// of custody that the audit log repeats.
//
// Keys: an investigation has a data key wrapped by the master key; each
// file has a random key of its own, sealed with the investigation's.
// Destroying the investigation's key makes every file, name and reason
// in it unreadable for good.
package evidence

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/blob"
	"github.com/canopy-org/canopy/internal/bundle"
	"github.com/canopy-org/canopy/internal/pdq"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
)

// Service is the evidence capability of a node.
type Service struct {
	DB    *store.DB
	Keys  *seal.Keyring
	Audit *audit.Log
	Blobs blob.Store
	Now   func() time.Time
	// RevealFor is how long a reveal of an image lasts; DefaultRevealFor
	// when zero.
	RevealFor time.Duration
	// Log takes what goes wrong after a change is done and recorded
	// (a destroyed file's bytes that could not be deleted); nil for none.
	Log *slog.Logger

	reveals reveals
}

// now is the time at the store's precision (microseconds), so what is
// sealed against a time opens against the same time read back.
func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Limits.
const (
	maxTitle   = 200
	maxName    = 255
	maxWhy     = 2000
	maxPDQSize = 32 << 20 // images larger than this are stored and hashed, but get no PDQ
)

var errForbidden = &canopy.Error{Code: canopy.EFORBIDDEN, Key: "error.forbidden"}

func (s *Service) audit(ctx context.Context, who *canopy.Account, action audit.Action, kind audit.Kind, id string, outcome audit.Outcome,
	details map[string]string) error {
	e := audit.Entry{Actor: audit.Staff(who.ID), Action: action, Kind: kind, ID: id, Outcome: outcome, Details: details}
	if _, err := s.Audit.Append(context.WithoutCancel(ctx), e); err != nil {
		return fmt.Errorf("evidence: audit %s: %w", action, err)
	}
	return nil
}

// allow checks a permission, and that the investigation lies in one of
// the account's jurisdictions; a refusal is audited.
func (s *Service) allow(ctx context.Context, who *canopy.Account, id string) (*store.SealedInvestigation, error) {
	if !access.Can(who.Role, access.InvestigationManage) {
		if err := s.audit(ctx, who, audit.ActionPermissionDenied, "", "", audit.Denied,
			map[string]string{"permission": string(access.InvestigationManage)}); err != nil {
			return nil, err
		}
		return nil, errForbidden
	}
	if id == "" {
		return nil, nil
	}
	inv, err := s.DB.Investigation(ctx, id)
	if err != nil {
		return nil, err
	}
	if !access.InJurisdiction(who, inv.Jurisdiction) {
		if err := s.audit(ctx, who, audit.ActionPermissionDenied, audit.KindInvestigation, id, audit.Denied,
			map[string]string{"permission": string(access.InvestigationManage), "scope": "jurisdiction"}); err != nil {
			return nil, err
		}
		return nil, &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.investigation.not_found"}
	}
	return inv, nil
}

func keyID(id string) string        { return "investigation/" + id }
func titleContext(id string) string { return "investigation/" + id + "/title" }
func nameContext(inv, item string) string {
	return "investigation/" + inv + "/evidence/" + item + "/name"
}
func fileKeyContext(inv, item string) string {
	return "investigation/" + inv + "/evidence/" + item + "/key"
}
func whyContext(item string, at time.Time) string {
	return "evidence/" + item + "/custody/" + at.UTC().Format(time.RFC3339Nano)
}
func blobKey(inv, item string) string { return "evidence/" + inv + "/" + item }

// aad binds a file's ciphertext to its investigation and item.
func aad(inv, item string) []byte { return []byte("canopy evidence " + inv + " " + item) }

// text checks one line staff wrote (a title, a file name, a recipient):
// required, at most max characters, no control characters, no line
// break.
func text(field, s string, max int) (string, error) {
	return checkText(field, s, max, false)
}

// block checks words staff wrote that may run over lines: a note, a
// reason.
func block(field, s string, max int) (string, error) {
	return checkText(field, strings.ReplaceAll(s, "\r\n", "\n"), max, true)
}

func checkText(field, s string, max int, lines bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", fieldErr(field, "error.required")
	case !utf8.ValidString(s) || utf8.RuneCountInString(s) > max:
		return "", fieldErr(field, "error.too_long")
	case strings.ContainsFunc(s, func(r rune) bool { return canopy.IsControlRune(r) && (r != '\n' || !lines) }):
		return "", fieldErr(field, "error.control_chars")
	}
	return s, nil
}

func fieldErr(field, key string) error {
	return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: []canopy.FieldError{{Field: field, Key: key}}}
}

// Open opens an investigation: its title is sealed with its own key.
func (s *Service) Open(ctx context.Context, who *canopy.Account, title, jurisdiction string) (*canopy.Investigation, error) {
	if _, err := s.allow(ctx, who, ""); err != nil {
		return nil, err
	}
	title, err := text("title", title, maxTitle)
	if err != nil {
		return nil, err
	}
	jurisdiction = strings.ToUpper(strings.TrimSpace(jurisdiction))
	if jurisdiction != "" && (!canopy.IsCountry(jurisdiction) || !access.InJurisdiction(who, jurisdiction)) {
		return nil, fieldErr("jurisdiction", "error.unknown_code")
	}
	if jurisdiction == "" && len(who.Jurisdictions) == 1 {
		jurisdiction = who.Jurisdictions[0]
	}
	id := canopy.NewID()
	dk, wrapped, err := s.Keys.NewDataKey(keyID(id))
	if err != nil {
		return nil, fmt.Errorf("evidence: open investigation: %w", err)
	}
	inv := &store.SealedInvestigation{Investigation: canopy.Investigation{ID: id, Jurisdiction: jurisdiction,
		Status: canopy.InvestigationOpen, Opened: s.now(), OpenedBy: who.ID},
		Title: dk.Seal([]byte(title), titleContext(id)), WrappedKey: wrapped}
	if err := s.DB.CreateInvestigation(ctx, inv); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, who, audit.ActionInvestigationCreate, audit.KindInvestigation, id, audit.OK, nil); err != nil {
		return nil, err
	}
	return &inv.Investigation, nil
}

func (s *Service) dataKey(inv *store.SealedInvestigation) (*seal.DataKey, error) {
	if inv.WrappedKey == nil {
		return nil, &canopy.Error{Code: canopy.ECONFLICT, Key: "error.investigation.destroyed"}
	}
	dk, err := s.Keys.OpenDataKey(keyID(inv.ID), inv.WrappedKey)
	if err != nil {
		return nil, fmt.Errorf("evidence: key of %s: %w", inv.ID, err)
	}
	return dk, nil
}

// Item is an evidence item with its name and chain of custody opened.
type Item struct {
	canopy.EvidenceItem
	Name    string
	Custody []canopy.CustodyEntry
}

// mediaType sniffs what a file is from its first bytes.
func mediaType(head []byte) string {
	t := http.DetectContentType(head)
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	return t
}

// boundedBuffer keeps what is written to it up to a limit, and then
// nothing: the bytes of an image small enough to hash with PDQ.
type boundedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if !b.over && b.Len()+len(p) <= b.max {
		b.Buffer.Write(p)
	} else {
		b.over = true
		b.Reset()
	}
	return len(p), nil
}

// Acquire adds a file to an investigation: it is streamed once through
// SHA-256 and MD5 while it is encrypted into the blob store with a key of
// its own, and an image is hashed with PDQ. The item and its first
// custody step are stored together; only then is the acquisition
// audited, with the hash.
func (s *Service) Acquire(ctx context.Context, who *canopy.Account, invID, name string, r io.Reader, why string) (*Item, error) {
	inv, err := s.allow(ctx, who, invID)
	if err != nil {
		return nil, err
	}
	if name, err = text("name", name, maxName); err != nil {
		return nil, err
	}
	if why, err = block("why", why, maxWhy); err != nil {
		return nil, err
	}
	if inv.Status != canopy.InvestigationOpen {
		return nil, &canopy.Error{Code: canopy.ECONFLICT, Key: "error.investigation.closed"}
	}
	dk, err := s.dataKey(inv)
	if err != nil {
		return nil, err
	}
	id := canopy.NewID()
	fileKey := make([]byte, 32)
	if _, err := rand.Read(fileKey); err != nil {
		return nil, fmt.Errorf("evidence: file key: %w", err)
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("evidence: read the file of %s: %w", id, err)
	}
	head = head[:n]
	mt := mediaType(head)
	img := &boundedBuffer{max: maxPDQSize}
	var extra []io.Writer
	if strings.HasPrefix(mt, "image/") {
		extra = append(extra, img)
	}
	key := blobKey(invID, id)
	d, err := blob.Acquire(ctx, s.Blobs, key, fileKey, aad(invID, id), io.MultiReader(bytes.NewReader(head), r), extra...)
	if err != nil {
		return nil, fmt.Errorf("evidence: store %s: %w", id, err)
	}
	now := s.now()
	item := &store.SealedEvidence{EvidenceItem: canopy.EvidenceItem{ID: id, InvestigationID: invID, MediaType: mt, Size: d.Size,
		SHA256: d.SHA256, MD5: d.MD5, Acquired: now, AcquiredBy: who.ID},
		Name: dk.Seal([]byte(name), nameContext(invID, id)), BlobKey: key, DataKey: dk.Seal(fileKey, fileKeyContext(invID, id))}
	if len(extra) > 0 && !img.over {
		if im, err := pdq.Decode(bytes.NewReader(img.Bytes()), pdq.DefaultMaxPixels); err == nil {
			if h, _, err := pdq.FromImage(im); err == nil {
				item.PDQ = h.String()
			}
		}
	}
	step := &store.SealedCustody{CustodyEntry: canopy.CustodyEntry{ItemID: id, Action: canopy.CustodyAcquired, At: now, Actor: who.ID,
		SHA256: d.SHA256}, SealedWhy: dk.Seal([]byte(why), whyContext(id, now))}
	// The file is stored: the commit goes on if the member leaves, or an
	// item could be committed while its file is deleted below.
	if err := s.DB.AddEvidence(context.WithoutCancel(ctx), item, step, event(dk, invID, now, who.ID, canopy.InvestigationAcquired, id, "")); err != nil {
		// A refusal (the investigation closed meanwhile) committed
		// nothing, so the file goes; after any other failure the commit
		// may have happened, and SweepOrphans decides later.
		if canopy.ErrorCode(err) != canopy.EINTERNAL {
			s.Blobs.Delete(context.WithoutCancel(ctx), key)
		}
		return nil, err
	}
	if err := s.custodyAudit(ctx, who, step, invID); err != nil {
		return nil, err
	}
	return &Item{EvidenceItem: item.EvidenceItem, Name: name, Custody: []canopy.CustodyEntry{step.CustodyEntry}}, nil
}

// custodyAudit repeats a custody step in the audit log: the item, the
// action and the hash, never the name or the reason.
func (s *Service) custodyAudit(ctx context.Context, who *canopy.Account, c *store.SealedCustody, invID string) error {
	return s.appendCustody(ctx, audit.Staff(who.ID), c, invID, audit.OK)
}

// item loads an item of an investigation the member may work on, with
// the investigation's key.
func (s *Service) item(ctx context.Context, who *canopy.Account, itemID string) (*store.SealedEvidence, *seal.DataKey, error) {
	if !access.Can(who.Role, access.InvestigationManage) {
		_, err := s.allow(ctx, who, "")
		return nil, nil, err
	}
	e, err := s.DB.Evidence(ctx, itemID)
	if err != nil {
		return nil, nil, err
	}
	inv, err := s.allow(ctx, who, e.InvestigationID)
	if canopy.ErrorCode(err) == canopy.ENOTFOUND {
		// The same answer as for an id that is no item: one outside
		// the member's jurisdictions is not there for them.
		return nil, nil, errItemNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	dk, err := s.dataKey(inv)
	if err != nil {
		return nil, nil, err
	}
	return e, dk, nil
}

// Download is what a download's headers say of an item: its name as
// acquired and its size. It opens the name alone, for the caller to name
// the file it then streams with Read, which is the audited step; it does
// not open the investigation.
func (s *Service) Download(ctx context.Context, who *canopy.Account, itemID string) (name string, size int64, err error) {
	e, dk, err := s.item(ctx, who, itemID)
	if err != nil {
		return "", 0, err
	}
	if !e.Destroyed.IsZero() {
		return "", 0, errDestroyed
	}
	b, err := dk.Open(e.Name, nameContext(e.InvestigationID, e.ID))
	if err != nil {
		return "", 0, fmt.Errorf("evidence: name of %s: %w", e.ID, err)
	}
	return string(b), e.Size, nil
}

var (
	errDestroyed    = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.evidence.destroyed"}
	errItemNotFound = &canopy.Error{Code: canopy.ENOTFOUND, Key: "error.evidence.not_found"}
)

// ErrTampered is returned when a file no longer has the hashes it had
// when it was acquired.
var ErrTampered = &canopy.Error{Code: canopy.ECONFLICT, Key: "error.evidence.tampered"}

// Read streams an item's file to w after checking it whole against its
// acquisition hashes, and records the viewing in its custody with why.
// The file is checked before a byte reaches w, so w never holds a file
// that fails; it is read twice to do so.
func (s *Service) Read(ctx context.Context, who *canopy.Account, itemID, why string, w io.Writer) error {
	return s.access(ctx, who, itemID, canopy.CustodyViewed, why, w)
}

// Verify checks an item's file against its acquisition hashes, and
// records the check and its result in the custody.
func (s *Service) Verify(ctx context.Context, who *canopy.Account, itemID string) error {
	return s.access(ctx, who, itemID, canopy.CustodyVerified, "verification", io.Discard)
}

func (s *Service) access(ctx context.Context, who *canopy.Account, itemID, action, why string, w io.Writer) error {
	e, dk, err := s.item(ctx, who, itemID)
	if err != nil {
		return err
	}
	if why, err = block("why", why, maxWhy); err != nil {
		return err
	}
	if !e.Destroyed.IsZero() {
		return errDestroyed
	}
	fileKey, checkErr, err := s.compare(ctx, dk, e)
	if err != nil {
		return err
	}
	now := s.now()
	sum := e.SHA256
	if checkErr != nil {
		sum = "mismatch"
	}
	step := &store.SealedCustody{CustodyEntry: canopy.CustodyEntry{ItemID: e.ID, Action: action, At: now, Actor: who.ID, SHA256: sum},
		SealedWhy: dk.Seal([]byte(why), whyContext(e.ID, now))}
	if err := s.DB.Update(ctx, func(tx *store.Tx) error { return tx.AddCustody(step) }); err != nil {
		return err
	}
	if err := s.custodyAudit(ctx, who, step, e.InvestigationID); err != nil {
		return err
	}
	if checkErr != nil {
		return fmt.Errorf("%w: %v", ErrTampered, checkErr)
	}
	if w == io.Discard {
		return nil
	}
	want := blob.Digest{Size: e.Size, SHA256: e.SHA256, MD5: e.MD5}
	return blob.Verify(ctx, s.Blobs, e.BlobKey, fileKey, aad(e.InvestigationID, e.ID), want, w)
}

// Destroy destroys an item's file (an order, or retention): its name and
// key are forgotten, its bytes deleted, and the step recorded; its hashes
// and custody stay. A legal hold on the investigation refuses it, and the
// refusal is audited.
func (s *Service) Destroy(ctx context.Context, who *canopy.Account, itemID, why string) error {
	e, dk, err := s.item(ctx, who, itemID)
	if err != nil {
		return err
	}
	if why, err = block("why", why, maxWhy); err != nil {
		return err
	}
	now := s.now()
	step := &store.SealedCustody{CustodyEntry: canopy.CustodyEntry{ItemID: e.ID, Action: canopy.CustodyDestroyed, At: now, Actor: who.ID,
		SHA256: e.SHA256}, SealedWhy: dk.Seal([]byte(why), whyContext(e.ID, now))}
	err = s.DB.UpdateInvestigation(ctx, e.InvestigationID, func(tx *store.Tx, inv *store.SealedInvestigation) error {
		if inv.Held {
			return errHeld
		}
		if err := tx.DestroyEvidence(e.ID, now, step); err != nil {
			return err
		}
		return tx.AddInvestigationEvent(e.InvestigationID, event(dk, e.InvestigationID, now, who.ID, canopy.InvestigationDestroyed, e.ID, why))
	})
	if errors.Is(err, errHeld) {
		if aerr := s.audit(ctx, who, audit.ActionEvidenceCustody, audit.KindEvidence, e.ID, audit.Denied,
			map[string]string{"action": canopy.CustodyDestroyed, "investigation": e.InvestigationID, "reason": "legal_hold"}); aerr != nil {
			return aerr
		}
	}
	if err != nil {
		return err
	}
	if err := s.custodyAudit(ctx, who, step, e.InvestigationID); err != nil {
		return err
	}
	s.forget(ctx, e.BlobKey)
	// The file's key, forgotten in the database, may linger in SQLite's
	// log until a checkpoint. (A purge checkpoints once, in retention.)
	if err := s.DB.Checkpoint(context.WithoutCancel(ctx)); err != nil {
		s.logger().Error("evidence: checkpoint after a destruction", "err", err)
	}
	return nil
}

// forget deletes destroyed files' bytes. It is not needed to keep the
// destruction (the keys are gone), so a failure is logged by key, not
// returned: SweepOrphans deletes what is left.
func (s *Service) forget(ctx context.Context, keys ...string) {
	ctx = context.WithoutCancel(ctx)
	for _, key := range keys {
		if err := s.Blobs.Delete(ctx, key); err != nil && !errors.Is(err, blob.ErrNotFound) {
			s.logger().Error("evidence: delete a destroyed file's bytes; the sweep will", "blob", key, "err", err)
		}
	}
}

func (s *Service) logger() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// Items returns an investigation's items with their names and custody
// opened; the opening is audited.
func (s *Service) Items(ctx context.Context, who *canopy.Account, invID string) ([]Item, error) {
	inv, err := s.allow(ctx, who, invID)
	if err != nil {
		return nil, err
	}
	dk, err := s.dataKey(inv)
	if err != nil {
		return nil, err
	}
	if err := s.audit(ctx, who, audit.ActionInvestigationView, audit.KindInvestigation, invID, audit.OK, nil); err != nil {
		return nil, err
	}
	return s.items(ctx, invID, dk)
}

// items reads an investigation's items and their custody, opening names
// and reasons with dk; with dk nil (a purged investigation) they stay "".
func (s *Service) items(ctx context.Context, invID string, dk *seal.DataKey) ([]Item, error) {
	sealed, err := s.DB.InvestigationEvidence(ctx, invID)
	if err != nil {
		return nil, err
	}
	chains, err := s.DB.InvestigationCustody(ctx, invID)
	if err != nil {
		return nil, err
	}
	out := make([]Item, 0, len(sealed))
	for _, e := range sealed {
		it := Item{EvidenceItem: e.EvidenceItem}
		if e.Name != nil && dk != nil {
			b, err := dk.Open(e.Name, nameContext(invID, e.ID))
			if err != nil {
				return nil, fmt.Errorf("evidence: name of %s: %w", e.ID, err)
			}
			it.Name = string(b)
		}
		for _, c := range chains[e.ID] {
			entry := c.CustodyEntry
			if c.SealedWhy != nil && dk != nil {
				b, err := dk.Open(c.SealedWhy, whyContext(e.ID, c.At))
				if err != nil {
					return nil, fmt.Errorf("evidence: custody of %s: %w", e.ID, err)
				}
				entry.Why = string(b)
			}
			it.Custody = append(it.Custody, entry)
		}
		out = append(out, it)
	}
	return out, nil
}

// Export writes an investigation's evidence still held into a bundle at
// dir (docs/evidence.md), signed with the node's key: each file as
// checked against its acquisition hashes, the manifest, and every item's
// chain of custody with its reasons, including the "exported" step this
// export records before it writes a byte. The member must be able to
// work on the investigation.
func (s *Service) Export(ctx context.Context, who *canopy.Account, invID, dir, node string, signer bundle.Signer) error {
	inv, err := s.allow(ctx, who, invID)
	if err != nil {
		return err
	}
	return s.export(ctx, audit.Staff(who.ID), who.ID, inv, node, false, func(b bundle.Bundle) error { return bundle.Write(dir, b, signer) })
}

// ExportAsNode is Export for an operator at the node's own console
// (`canopy evidence export`), who holds its keys already: the custody
// and the audit log name the node.
func (s *Service) ExportAsNode(ctx context.Context, invID, dir, node string, signer bundle.Signer) error {
	inv, err := s.DB.Investigation(ctx, invID)
	if err != nil {
		return err
	}
	return s.export(ctx, audit.System, "system", inv, node, false, func(b bundle.Bundle) error { return bundle.Write(dir, b, signer) })
}

// ExportZip writes the bundle Export makes as a ZIP archive to w, every
// entry in a folder named after the investigation (bundle.WriteZip), for
// a member to download. Every file is checked against its acquisition
// hashes before the first byte goes to w (a file that fails is recorded
// as a mismatch and nothing is sent), and again as it is written.
func (s *Service) ExportZip(ctx context.Context, who *canopy.Account, invID string, w io.Writer, node string, signer bundle.Signer) error {
	inv, err := s.allow(ctx, who, invID)
	if err != nil {
		return err
	}
	return s.export(ctx, audit.Staff(who.ID), who.ID, inv, node, true, func(b bundle.Bundle) error {
		return bundle.WriteZip(w, ZipFolder(invID), b, signer)
	})
}

// WhyPrint is the fingerprint of a custody step's sealed reason that the
// audit log keeps in its place: the first 128 bits of the SHA-256 of the
// sealed bytes, in hex. It says nothing of the words (the sealing is
// randomised), yet ties the log to the reason as sealed: a reason
// changed afterwards, even by someone holding the keys, no longer
// matches the log's entry, which the log's Merkle tree keeps from
// changing in turn.
func WhyPrint(sealed []byte) string {
	sum := sha256.Sum256(sealed)
	return hex.EncodeToString(sum[:16])
}

// ZipFolder is the folder of an investigation's bundle in its archive.
func ZipFolder(invID string) string { return "canopy-evidence-" + invID }

// compare reads an item's file whole and compares it with its
// acquisition hashes. It returns the file's key, and in differs why the
// file is not what was acquired (nil when it is); err is for everything
// else.
func (s *Service) compare(ctx context.Context, dk *seal.DataKey, e *store.SealedEvidence) (fileKey []byte, differs, err error) {
	fileKey, err = dk.Open(e.DataKey, fileKeyContext(e.InvestigationID, e.ID))
	if err != nil {
		return nil, nil, fmt.Errorf("evidence: key of %s: %w", e.ID, err)
	}
	want := blob.Digest{Size: e.Size, SHA256: e.SHA256, MD5: e.MD5}
	return fileKey, blob.Verify(ctx, s.Blobs, e.BlobKey, fileKey, aad(e.InvestigationID, e.ID), want, io.Discard), nil
}

// check compares each item's file with its acquisition hashes before it
// leaves the node (a handover, a download). The first that differs is
// recorded in its custody as a "verified" step with the hash "mismatch",
// audited, and gives ErrTampered naming it.
func (s *Service) check(ctx context.Context, by audit.Actor, actor string, dk *seal.DataKey, items []store.SealedEvidence, why string) error {
	for i := range items {
		e := &items[i]
		_, differs, err := s.compare(ctx, dk, e)
		if err != nil {
			return err
		}
		if differs == nil {
			continue
		}
		now := s.now()
		step := &store.SealedCustody{CustodyEntry: canopy.CustodyEntry{ItemID: e.ID, Action: canopy.CustodyVerified, At: now, Actor: actor,
			SHA256: "mismatch"}, SealedWhy: dk.Seal([]byte(why), whyContext(e.ID, now))}
		if err := s.DB.Update(context.WithoutCancel(ctx), func(tx *store.Tx) error { return tx.AddCustody(step) }); err != nil {
			return err
		}
		if err := s.appendCustody(ctx, by, step, e.InvestigationID, audit.Failed); err != nil {
			return err
		}
		return fmt.Errorf("%w: item %s: %v", ErrTampered, e.ID, differs)
	}
	return nil
}

// appendCustody repeats a custody step in the audit log, by its actor:
// the action, the item, the investigation, the file's hash, the step's
// number and, for its reason, WhyPrint of the sealed reason, never the
// words.
func (s *Service) appendCustody(ctx context.Context, by audit.Actor, c *store.SealedCustody, invID string, outcome audit.Outcome) error {
	details := map[string]string{"action": c.Action, "investigation": invID, "sha256": c.SHA256, "step": strconv.Itoa(c.N)}
	if by == audit.System && c.Action == canopy.CustodyDestroyed {
		details["by"] = "retention"
	}
	if c.SealedWhy != nil {
		details["why"] = WhyPrint(c.SealedWhy)
	}
	_, err := s.Audit.Append(context.WithoutCancel(ctx), audit.Entry{Actor: by, Action: audit.ActionEvidenceCustody,
		Kind: audit.KindEvidence, ID: c.ItemID, Outcome: outcome, Details: details})
	if err != nil {
		return fmt.Errorf("evidence: audit a custody step: %w", err)
	}
	return nil
}

// export records an export of an investigation's evidence still held
// (an "exported" step for each file and a line on the timeline, in one
// transaction, then their audit entries) before write writes the bundle,
// so no byte leaves the node unrecorded. With precheck every file is
// first compared with its hashes. A write that fails is audited as an
// export cut short.
func (s *Service) export(ctx context.Context, by audit.Actor, actor string, inv *store.SealedInvestigation, node string, precheck bool,
	write func(bundle.Bundle) error) error {
	invID := inv.ID
	dk, err := s.dataKey(inv)
	if err != nil {
		return err
	}
	sealed, err := s.DB.InvestigationEvidence(ctx, invID)
	if err != nil {
		return err
	}
	var exported []store.SealedEvidence
	for _, e := range sealed {
		if e.Destroyed.IsZero() { // nothing is left of the others to send; their hashes and custody stay
			exported = append(exported, e)
		}
	}
	if precheck {
		if err := s.check(ctx, by, actor, dk, exported, "check before a download of the bundle"); err != nil {
			return err
		}
	}
	now := s.now()
	ids := make([]string, len(exported))
	steps := make([]*store.SealedCustody, len(exported))
	for i, e := range exported {
		ids[i] = e.ID
		steps[i] = &store.SealedCustody{CustodyEntry: canopy.CustodyEntry{ItemID: e.ID, Action: canopy.CustodyExported, At: now,
			Actor: actor, SHA256: e.SHA256}, SealedWhy: dk.Seal([]byte("evidence bundle"), whyContext(e.ID, now))}
	}
	if err := s.DB.Update(ctx, func(tx *store.Tx) error {
		for _, step := range steps {
			if err := tx.AddCustody(step); err != nil {
				return err
			}
		}
		return tx.AddInvestigationEvent(invID, event(dk, invID, now, actor, canopy.InvestigationExported, strings.Join(ids, " "), ""))
	}); err != nil {
		return err
	}
	for _, step := range steps {
		if err := s.appendCustody(ctx, by, step, invID, audit.OK); err != nil {
			return err
		}
	}

	chains, err := s.DB.InvestigationCustody(ctx, invID)
	if err != nil {
		return err
	}
	b := bundle.Bundle{Case: invID, Node: node, Created: now}
	for _, e := range exported {
		name, err := dk.Open(e.Name, nameContext(invID, e.ID))
		if err != nil {
			return fmt.Errorf("evidence: name of %s: %w", e.ID, err)
		}
		fileKey, err := dk.Open(e.DataKey, fileKeyContext(invID, e.ID))
		if err != nil {
			return fmt.Errorf("evidence: key of %s: %w", e.ID, err)
		}
		file := "evidence/" + e.ID + "-" + cmp.Or(SafeName(string(name)), "file")
		want := blob.Digest{Size: e.Size, SHA256: e.SHA256, MD5: e.MD5}
		b.Files = append(b.Files, bundle.File{Name: file, SHA256: e.SHA256, MD5: e.MD5, PDQ: e.PDQ, Acquired: e.Acquired,
			AcquiredBy: e.AcquiredBy, Open: func() (io.ReadCloser, error) {
				pr, pw := io.Pipe()
				go func() {
					pw.CloseWithError(blob.Verify(ctx, s.Blobs, e.BlobKey, fileKey, aad(invID, e.ID), want, pw))
				}()
				return pr, nil
			}})
		for _, c := range chains[e.ID] {
			why := ""
			if c.SealedWhy != nil {
				w, err := dk.Open(c.SealedWhy, whyContext(e.ID, c.At))
				if err != nil {
					return fmt.Errorf("evidence: custody of %s: %w", e.ID, err)
				}
				why = string(w)
			}
			b.Custody = append(b.Custody, bundle.CustodyEntry{At: c.At, Actor: c.Actor, Action: c.Action, Item: file, Why: why, SHA256: c.SHA256})
		}
	}
	if err := write(b); err != nil {
		if _, aerr := s.Audit.Append(context.WithoutCancel(ctx), audit.Entry{Actor: by, Action: audit.ActionEvidenceCustody,
			Kind: audit.KindInvestigation, ID: invID, Outcome: audit.Failed,
			Details: map[string]string{"action": canopy.CustodyExported, "result": "cut_short"}}); aerr != nil {
			return errors.Join(err, aerr)
		}
		return fmt.Errorf("evidence: write the bundle of %s: %w", invID, err)
	}
	return nil
}

// SafeName keeps the letters, digits, dots, dashes and underscores of a
// file name, each other character turned into "_", no leading dot, and
// the last 100 bytes (so the extension stays): a name safe in a bundle's
// file list and in a Content-Disposition header alike. It is "" when
// nothing is left; the name as given stays sealed with the item.
func SafeName(name string) string {
	out := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, name)
	return strings.TrimLeft(out[max(0, len(out)-100):], ".")
}
