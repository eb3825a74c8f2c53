package platform

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/audit/audittest"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

func newService(t *testing.T, db *store.DB, now *time.Time) *Service {
	keys, _ := seal.New(bytes.Repeat([]byte{4}, seal.KeySize))
	log := audittest.Open(t, db)
	clock := func() time.Time { return *now }
	return &Service{DB: db, Keys: keys, Audit: log, Now: clock,
		Intake: &intake.Service{DB: db, Keys: keys, Audit: log, Now: clock}}
}

func TestKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
		s := newService(t, db, &now)
		admin := audit.Staff("admin1")
		if _, err := s.Register(ctx, admin, "Example Chat", "trust@chat.example"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Register(ctx, admin, "Example Chat", ""); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("duplicate platform: %v", err)
		}
		if _, _, err := s.NewKey(ctx, admin, "Example Chat", "ci", []string{"delete"}); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("unknown scope: %v", err)
		}
		k, secret, err := s.NewKey(ctx, admin, "Example Chat", "reporting", []string{"submit", "match", "submit"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "cnp_") || strings.Join(k.Scopes, ",") != "match,submit" {
			t.Fatalf("key %+v %q", k, secret)
		}
		if _, err := s.Authenticate(ctx, secret, canopy.ScopeSubmit); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, secret, canopy.ScopeSync); canopy.ErrorCode(err) != canopy.EFORBIDDEN {
			t.Fatalf("missing scope: %v", err)
		}
		for _, bad := range []string{"", "cnp_wrong", secret + "x", strings.ToUpper(secret)} {
			if _, err := s.Authenticate(ctx, bad, canopy.ScopeSubmit); canopy.ErrorCode(err) != canopy.EUNAUTHORIZED {
				t.Fatalf("bad key %q: %v", bad, err)
			}
		}
		if err := s.Revoke(ctx, admin, "Example Chat", k.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, secret, canopy.ScopeSubmit); canopy.ErrorCode(err) != canopy.EUNAUTHORIZED {
			t.Fatalf("revoked key: %v", err)
		}
		// The secret is nowhere in the database.
		keys, _ := db.APIKeys(ctx, k.PlatformID)
		if len(keys) != 1 || keys[0].Revoked.IsZero() {
			t.Fatalf("keys %+v", keys)
		}
	})
}

func TestBulkSubmitIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
		s := newService(t, db, &now)
		admin := audit.Staff("admin1")
		s.Register(ctx, admin, "Example Chat", "")
		k, secret, _ := s.NewKey(ctx, admin, "Example Chat", "", []string{"submit"})
		k, _ = s.Authenticate(ctx, secret, canopy.ScopeSubmit)
		when := time.Date(2026, 11, 26, 22, 15, 0, 0, time.UTC)
		incidents := []Incident{
			{IncidentType: "Online Enticement of Children for Sexual Acts", IncidentTime: &when, Flags: []string{"urgent"},
				ReportedAccount: &Account{ScreenName: "predator_01", ProfileURL: "https://chat.example/u/predator_01"},
				Files:           []File{{Name: "img1.jpg", MD5: "0123456789ABCDEF0123456789ABCDEF", IndustryClass: "B2", PhotoDNA: "opaque+value/=="}},
				ChildCountry:    "BE"},
			{IncidentType: "Unknown Type"},
			{IncidentType: "csam", URLs: []string{"javascript:alert(1)"}},
			{IncidentType: "Child Sex Tourism", Description: "Offers to meet children abroad."},
		}
		res, err := s.Submit(ctx, k, "batch-0001", incidents)
		if err != nil {
			t.Fatal(err)
		}
		statuses := []string{}
		for _, it := range res.Items {
			statuses = append(statuses, it.Status)
		}
		if strings.Join(statuses, ",") != "created,invalid,invalid,created" || res.Replayed {
			t.Fatalf("statuses %v", statuses)
		}
		if res.Items[1].Errors[0].Field != "incidents[1].incident_type" || res.Items[2].Errors[0].Field != "incidents[2].urls[0]" {
			t.Fatalf("errors %+v %+v", res.Items[1].Errors, res.Items[2].Errors)
		}
		first := res.Items[0].ReportID
		st, err := db.TriageState(ctx, first)
		if err != nil || st.Category != "grooming" || !st.Urgent || st.Jurisdiction != "BE" {
			t.Fatalf("stored %+v %v", st, err)
		}
		sr, _ := db.Report(ctx, first)
		if sr.Report.Channel != canopy.ChannelPlatform || sr.Report.Reporter != canopy.ReporterPlatform || len(sr.Report.Hashes) != 2 {
			t.Fatalf("report %+v", sr.Report)
		}

		// The same key again: the same answer, nothing stored twice.
		again, err := s.Submit(ctx, k, "batch-0001", incidents)
		if err != nil || !again.Replayed || again.Items[0].ReportID != first || len(again.Items[2].Errors) != 1 {
			t.Fatalf("replay %+v %v", again, err)
		}
		if n, _ := db.CountReports(ctx); n != 2 {
			t.Fatalf("%d reports after a replay, want 2", n)
		}
		// A retry after the answer was lost (no stored answer, reports
		// already stored) finds the same reports.
		db2Key := "batch-0002"
		if _, err := s.Submit(ctx, k, db2Key, incidents[:1]); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Submit(ctx, k, "", incidents); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("no idempotency key: %v", err)
		}
		if CategoryOf("Child Pornography (possession, manufacture, and distribution)") != "csam" || CategoryOf("nonsense") != "" {
			t.Fatal("CyberTipline mapping")
		}
	})
}
