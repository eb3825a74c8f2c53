package evidence_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/audit/audittest"
	"github.com/canopy-org/canopy/internal/blob"
	"github.com/canopy-org/canopy/internal/bundle"
	"github.com/canopy-org/canopy/internal/clocktest"
	"github.com/canopy-org/canopy/internal/evidence"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

var (
	liaison    = &canopy.Account{ID: "li1", Role: canopy.RoleLiaison}
	frLiaison  = &canopy.Account{ID: "lifr", Role: canopy.RoleLiaison, Jurisdictions: []string{"FR"}}
	beLiaison  = &canopy.Account{ID: "libe", Role: canopy.RoleLiaison, Jurisdictions: []string{"BE"}}
	caseworker = &canopy.Account{ID: "cw1", Role: canopy.RoleCaseworker}
)

type env struct {
	svc  *evidence.Service
	log  *audit.Log
	dir  string
	blob *blob.Dir
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	master := make([]byte, seal.KeySize)
	rand.Read(master)
	keys, err := seal.New(master)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	d, err := blob.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Nanoseconds the store does not keep: what is sealed against a time
	// must open against the time read back.
	c := clocktest.New(time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.UTC))
	log := audittest.Open(t, db)
	log.Now = c.Now
	return &env{svc: &evidence.Service{DB: db, Keys: keys, Audit: log, Blobs: d, Now: c.Now}, log: log, dir: dir, blob: d}
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.SetGray(x, y, color.Gray{Y: uint8((x*4 + y*2) % 256)})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestAcquireReadDestroy: a file is stored encrypted with its three
// hashes, read back only after a check, every access lands in its chain
// of custody and the audit log (with the hash, never the name or the
// reason), a changed file is caught, and destruction leaves hashes and
// custody but no bytes.
func TestAcquireReadDestroy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		inv, err := e.svc.Open(ctx, frLiaison, "Operation Lantern-secret", "")
		if err != nil {
			t.Fatal(err)
		}
		if inv.Jurisdiction != "FR" {
			t.Errorf("jurisdiction %q", inv.Jurisdiction)
		}
		if _, err := e.svc.Open(ctx, caseworker, "x", ""); canopy.ErrorCode(err) != canopy.EFORBIDDEN {
			t.Fatalf("a caseworker opened an investigation: %v", err)
		}
		file := pngBytes(t)
		item, err := e.svc.Acquire(ctx, frLiaison, inv.ID, "seized-photo-secret.png", bytes.NewReader(file), "seized from device 3-secret")
		if err != nil {
			t.Fatal(err)
		}
		sum, m := sha256.Sum256(file), md5.Sum(file)
		if item.SHA256 != hex.EncodeToString(sum[:]) || item.MD5 != hex.EncodeToString(m[:]) || item.Size != int64(len(file)) ||
			item.MediaType != "image/png" || len(item.PDQ) != 64 {
			t.Fatalf("item %+v", item)
		}
		// At rest: neither the bytes nor the name in the clear.
		filepath.WalkDir(e.dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(path)
				if bytes.Contains(b, file[:64]) || bytes.Contains(b, []byte("secret")) {
					t.Errorf("%s holds the file in the clear", path)
				}
			}
			return nil
		})

		if err := e.svc.Read(ctx, beLiaison, item.ID, "review", io.Discard); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("another jurisdiction read it: %v", err)
		}
		var got bytes.Buffer
		if err := e.svc.Read(ctx, liaison, item.ID, "review for the prosecutor", &got); err != nil || !bytes.Equal(got.Bytes(), file) {
			t.Fatalf("read: %v (%d bytes)", err, got.Len())
		}
		if err := e.svc.Verify(ctx, frLiaison, item.ID); err != nil {
			t.Fatal(err)
		}

		// Someone changes the file at rest: the next access says so,
		// writes nothing, and the custody records the mismatch.
		tamperFile(t, e.dir, item.ID)
		got.Reset()
		if err := e.svc.Read(ctx, liaison, item.ID, "second look", &got); !errors.Is(err, evidence.ErrTampered) || got.Len() != 0 {
			t.Fatalf("a changed file: %v, %d bytes written", err, got.Len())
		}

		if err := e.svc.Destroy(ctx, liaison, item.ID, "court order 12-secret"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Read(ctx, liaison, item.ID, "after", io.Discard); canopy.AsError(err).Key != "error.evidence.destroyed" {
			t.Fatalf("read after destruction: %v", err)
		}
		items, err := e.svc.Items(ctx, frLiaison, inv.ID)
		if err != nil || len(items) != 1 {
			t.Fatalf("items %+v %v", items, err)
		}
		it := items[0]
		if it.Name != "" || it.Destroyed.IsZero() || it.SHA256 != item.SHA256 {
			t.Errorf("destroyed item %+v", it)
		}
		var actions []string
		for _, c := range it.Custody {
			actions = append(actions, c.Action+":"+c.Actor)
		}
		want := []string{"acquired:lifr", "viewed:li1", "verified:lifr", "viewed:li1", "destroyed:li1"}
		if !slices.Equal(actions, want) {
			t.Errorf("custody %v, want %v", actions, want)
		}
		if it.Custody[3].SHA256 != "mismatch" || it.Custody[0].Why != "seized from device 3-secret" {
			t.Errorf("custody details %+v", it.Custody)
		}
		stored, err := db.Evidence(ctx, item.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.blob.Stat(ctx, stored.BlobKey); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("the bytes outlived their destruction: %v", err)
		}

		// The audit log repeats every step with the hash, and never a
		// name, a title or a reason.
		all, err := e.log.Entries(ctx, 0, 100_000)
		if err != nil {
			t.Fatal(err)
		}
		steps := 0
		for _, en := range all {
			if en.Action == audit.ActionEvidenceCustody {
				steps++
			}
			for k, v := range en.Details {
				if strings.Contains(v, "secret") || strings.Contains(k, "secret") {
					t.Errorf("the audit log holds %s=%s", k, v)
				}
			}
		}
		if steps != 5 {
			t.Errorf("%d custody steps audited, want 5", steps)
		}
	})
}

// TestExport: an investigation's bundle verifies offline with the node's
// key, carries each live item with its custody, leaves out what was
// destroyed, and adds an "exported" step to each item sent.
func TestExport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		id := signer(t)
		inv, err := e.svc.Open(ctx, liaison, "Operation Lantern", "FR")
		if err != nil {
			t.Fatal(err)
		}
		kept, err := e.svc.Acquire(ctx, liaison, inv.ID, "photo one.png", bytes.NewReader(pngBytes(t)), "seized")
		if err != nil {
			t.Fatal(err)
		}
		gone, err := e.svc.Acquire(ctx, liaison, inv.ID, "chat.txt", strings.NewReader("a chat log"), "seized")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Destroy(ctx, liaison, gone.ID, "not relevant"); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "bundle")
		if err := e.svc.Export(ctx, caseworker, inv.ID, dir, "hotline-fr", id); canopy.ErrorCode(err) != canopy.EFORBIDDEN {
			t.Fatalf("a caseworker exported: %v", err)
		}
		if err := e.svc.Export(ctx, liaison, inv.ID, dir, "hotline-fr", id); err != nil {
			t.Fatal(err)
		}
		rep, err := bundle.Verify(dir, id.PublicKey())
		if err != nil || !rep.OK() {
			t.Fatalf("verify: %+v %v", rep, err)
		}
		sums, err := os.ReadFile(filepath.Join(dir, bundle.SumsFile))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(sums), kept.SHA256+"  files/evidence/"+kept.ID+"-photo_one.png") || strings.Contains(string(sums), gone.ID) {
			t.Errorf("SHA256SUMS:\n%s", sums)
		}
		items, err := e.svc.Items(ctx, liaison, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			last := it.Custody[len(it.Custody)-1].Action
			if it.ID == kept.ID && last != canopy.CustodyExported || it.ID == gone.ID && last != canopy.CustodyDestroyed {
				t.Errorf("%s ends its custody with %s", it.ID, last)
			}
		}
	})
}
