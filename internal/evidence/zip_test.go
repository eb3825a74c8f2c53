package evidence_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/bundle"
	"github.com/canopy-org/canopy/internal/evidence"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// TestExportZip: the downloaded archive unpacks to a bundle that verifies
// offline and holds the file's exact bytes; the export is in the item's
// custody; a caseworker is refused; and when a file was altered at rest
// not one byte of an archive is written.
func TestExportZip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		id := signer(t)
		inv, err := e.svc.Open(ctx, liaison, "Operation Lantern", "FR")
		if err != nil {
			t.Fatal(err)
		}
		file := pngBytes(t)
		item, err := e.svc.Acquire(ctx, liaison, inv.ID, "photo one.png", bytes.NewReader(file), "seized")
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := e.svc.ExportZip(ctx, caseworker, inv.ID, &buf, "hotline-fr", id); canopy.ErrorCode(err) != canopy.EFORBIDDEN || buf.Len() != 0 {
			t.Fatalf("a caseworker exported: %v", err)
		}
		if err := e.svc.ExportZip(ctx, liaison, inv.ID, &buf, "hotline-fr", id); err != nil {
			t.Fatal(err)
		}
		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		for _, f := range zr.File {
			if !strings.HasPrefix(f.Name, evidence.ZipFolder(inv.ID)+"/") {
				t.Fatalf("entry %q", f.Name)
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(out, filepath.FromSlash(f.Name))
			os.MkdirAll(filepath.Dir(dst), 0o700)
			if err := os.WriteFile(dst, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		dir := filepath.Join(out, evidence.ZipFolder(inv.ID))
		if rep, err := bundle.Verify(dir, id.PublicKey()); err != nil || !rep.OK() || rep.Files != 1 {
			t.Fatalf("verify: %+v %v", rep, err)
		}
		got, err := os.ReadFile(filepath.Join(dir, "files", "evidence", item.ID+"-photo_one.png"))
		if err != nil || !bytes.Equal(got, file) {
			t.Fatalf("the file in the archive differs (%v)", err)
		}
		items, err := e.svc.Items(ctx, liaison, inv.ID)
		if err != nil || items[0].Custody[len(items[0].Custody)-1].Action != canopy.CustodyExported {
			t.Fatalf("custody %+v %v", items, err)
		}
		steps := len(items[0].Custody)

		// Altered at rest: refused before a byte, no export recorded,
		// and the mismatch in the custody.
		tamperFile(t, e.dir, item.ID)
		buf.Reset()
		if err := e.svc.ExportZip(ctx, liaison, inv.ID, &buf, "hotline-fr", id); !errors.Is(err, evidence.ErrTampered) || buf.Len() != 0 {
			t.Fatalf("an altered file: %v, %d bytes written", err, buf.Len())
		}
		items, err = e.svc.Items(ctx, liaison, inv.ID)
		if err != nil || len(items[0].Custody) != steps+1 {
			t.Fatalf("custody after the refusal: %+v %v", items, err)
		}
		if last := items[0].Custody[steps]; last.Action != canopy.CustodyVerified || last.SHA256 != "mismatch" {
			t.Errorf("the refusal's step: %+v", last)
		}
	})
}
