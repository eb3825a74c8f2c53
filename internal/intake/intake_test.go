package intake_test

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

func newService(t testing.TB, db *store.DB) *intake.Service {
	keys, err := seal.New(bytes.Repeat([]byte{42}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	log := audittest.Open(t, db)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	return &intake.Service{DB: db, Keys: keys, Audit: log, Now: func() time.Time { now = now.Add(time.Second); return now }}
}

func valid() intake.Submission {
	return intake.Submission{
		Reporter:     "child",
		Category:     "sextortion",
		Flags:        []string{"urgent"},
		Description:  "Someone says they will share my photos.",
		URLs:         []string{"https://Example.COM/u/someone"},
		Platform:     "ChatApp",
		Accounts:     []string{"@someone"},
		ChildCountry: "fr",
		Language:     "fr",
	}
}

func TestSubmitAndFollowup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		rc, err := s.Submit(ctx, valid())
		if err != nil {
			t.Fatal(err)
		}
		if rc.ReportID == "" || len(rc.Code) != 19 {
			t.Fatalf("receipt %+v", rc)
		}
		// The stored report keeps the triage fields in the clear and the
		// rest sealed.
		sr, err := db.Report(ctx, rc.ReportID)
		if err != nil {
			t.Fatal(err)
		}
		if sr.Report.ChildCountry != "FR" || !sr.Report.HasFlag("urgent") || sr.Report.Channel != canopy.ChannelPortal {
			t.Fatalf("stored report %+v", sr.Report)
		}
		if bytes.Contains(sr.Content, []byte("photos")) || bytes.Contains(sr.Content, []byte("example.com")) {
			t.Fatal("content stored in the clear")
		}

		// The code opens the follow-up however it is typed.
		for _, typed := range []string{rc.Code, strings.ToLower(rc.Code), strings.ReplaceAll(rc.Code, "-", " ")} {
			f, err := s.Followup(ctx, typed)
			if err != nil {
				t.Fatalf("Followup(%q): %v", typed, err)
			}
			if f.Status != canopy.StatusReceived || f.ReportID != rc.ReportID || f.Language != "fr" {
				t.Fatalf("followup %+v", f)
			}
		}

		if err := s.AddMessage(ctx, rc.Code, "  I remembered more.\r\nHe used two accounts.  "); err != nil {
			t.Fatal(err)
		}
		// Acceptance, each opening and the message are in the audit log,
		// by report id only.
		entries, err := s.Audit.Entries(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			if e.ID != rc.ReportID || e.Actor != audit.Public {
				t.Fatalf("audit entry %+v", e)
			}
			actions = append(actions, string(e.Action))
		}
		if got := strings.Join(actions, " "); got != "report.create report.view report.view report.view report.message" {
			t.Fatalf("audit actions %q", got)
		}
		f, err := s.Followup(ctx, rc.Code)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Messages) != 1 || f.Messages[0].Body != "I remembered more.\nHe used two accounts." || !f.Messages[0].FromReporter {
			t.Fatalf("messages %+v", f.Messages)
		}

		// Once the data key is destroyed, the status remains but no words.
		if err := db.DestroyReportKey(ctx, rc.ReportID); err != nil {
			t.Fatal(err)
		}
		f, err = s.Followup(ctx, rc.Code)
		if err != nil || len(f.Messages) != 0 || f.Status != canopy.StatusReceived {
			t.Fatalf("after erasure: %+v, %v", f, err)
		}
		if err := s.AddMessage(ctx, rc.Code, "hello"); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("message to an erased report: %v", err)
		}
	})
}

func TestUnknownAndWrongReceiptsLookAlike(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	s := newService(t, db)
	ctx := context.Background()
	rc, err := s.Submit(ctx, valid())
	if err != nil {
		t.Fatal(err)
	}
	wrong := []byte(rc.Code)
	if wrong[0] == 'A' {
		wrong[0] = 'B'
	} else {
		wrong[0] = 'A'
	}
	for _, code := range []string{string(wrong), "0000-0000-0000-0000", "not a code", "", strings.Repeat("x", 1000)} {
		_, err := s.Followup(ctx, code)
		e := canopy.AsError(err)
		if e.Code != canopy.ENOTFOUND || e.Key != intake.KeyReceipt {
			t.Errorf("Followup(%q) = %v; want the one not-found answer", code, err)
		}
		err = s.AddMessage(ctx, code, "hi")
		e = canopy.AsError(err)
		if e.Code != canopy.ENOTFOUND || e.Key != intake.KeyReceipt {
			t.Errorf("AddMessage(%q) = %v; want the one not-found answer", code, err)
		}
	}
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("a", intake.MaxDescription+1)
	tests := []struct {
		name  string
		edit  func(*intake.Submission)
		field string
		key   string
	}{
		{"missing reporter", func(s *intake.Submission) { s.Reporter = "" }, "reporter", intake.KeyRequired},
		{"platform is not a public reporter", func(s *intake.Submission) { s.Reporter = "platform" }, "reporter", intake.KeyUnknownCode},
		{"unknown category", func(s *intake.Submission) { s.Category = "child_pornography" }, "category", intake.KeyUnknownCode},
		{"unknown flag", func(s *intake.Submission) { s.Flags = []string{"urgent", "nope"} }, "flags[1]", intake.KeyUnknownCode},
		{"duplicate flag", func(s *intake.Submission) { s.Flags = []string{"urgent", "urgent"} }, "flags[1]", intake.KeyDuplicate},
		{"description too long", func(s *intake.Submission) { s.Description = long }, "description", intake.KeyTooLong},
		{"invalid UTF-8", func(s *intake.Submission) { s.Description = "bad \xff byte" }, "description", intake.KeyInvalidUTF8},
		{"control character", func(s *intake.Submission) { s.Description = "bell\a" }, "description", intake.KeyControlChars},
		{"bidi override", func(s *intake.Submission) { s.Platform = "app\u202e" }, "platform", intake.KeyControlChars},
		{"javascript URL", func(s *intake.Submission) { s.URLs = []string{"javascript:alert(1)"} }, "urls[0]", intake.KeyURLScheme},
		{"ftp URL", func(s *intake.Submission) { s.URLs = []string{"ftp://example.com/x"} }, "urls[0]", intake.KeyURLScheme},
		{"URL without a host", func(s *intake.Submission) { s.URLs = []string{"https:///path"} }, "urls[0]", intake.KeyURLInvalid},
		{"URL single label", func(s *intake.Submission) { s.URLs = []string{"localhost"} }, "urls[0]", intake.KeyURLInvalid},
		{"URL with space", func(s *intake.Submission) { s.URLs = []string{"https://exa mple.com"} }, "urls[0]", intake.KeyURLInvalid},
		{"URL bad port", func(s *intake.Submission) { s.URLs = []string{"https://example.com:99999/"} }, "urls[0]", intake.KeyURLInvalid},
		{"too many URLs", func(s *intake.Submission) {
			s.URLs = nil
			for i := range intake.MaxURLs + 1 {
				s.URLs = append(s.URLs, "https://example.com/"+strings.Repeat("x", i))
			}
		}, "urls", intake.KeyTooMany},
		{"duplicate URL", func(s *intake.Submission) { s.URLs = []string{"example.com/a", "https://EXAMPLE.com/a"} }, "urls[1]", intake.KeyDuplicate},
		{"unknown country", func(s *intake.Submission) { s.ChildCountry = "XX" }, "child_country", intake.KeyCountry},
		{"unsupported language", func(s *intake.Submission) { s.Language = "tlh" }, "language", intake.KeyLanguage},
		{"bad email", func(s *intake.Submission) { s.Contact = &canopy.Contact{Email: "me@"} }, "contact.email", intake.KeyEmailInvalid},
		{"email with display name", func(s *intake.Submission) { s.Contact = &canopy.Contact{Email: "Me <me@example.com>"} }, "contact.email", intake.KeyEmailInvalid},
		{"bad phone", func(s *intake.Submission) { s.Contact = &canopy.Contact{Phone: "call me"} }, "contact.phone", intake.KeyPhoneInvalid},
		{"hash algorithm", func(s *intake.Submission) { s.Hashes = []canopy.ContentHash{{Algorithm: "crc32", Value: "00"}} }, "hashes[0].algorithm", intake.KeyHashAlgorithm},
		{"hash length", func(s *intake.Submission) { s.Hashes = []canopy.ContentHash{{Algorithm: "md5", Value: "abc"}} }, "hashes[0].value", intake.KeyHashValue},
		{"nothing to act on", func(s *intake.Submission) { s.Description, s.URLs, s.Accounts = "", nil, nil }, "description", intake.KeyEmpty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := valid()
			tc.edit(&s)
			err := intake.Validate(&s)
			e := canopy.AsError(err)
			if e.Code != canopy.EINVALID {
				t.Fatalf("Validate = %v, want invalid", err)
			}
			for _, f := range e.Fields {
				if f.Field == tc.field && f.Key == tc.key {
					return
				}
			}
			t.Fatalf("errors %+v lack %s: %s", e.Fields, tc.field, tc.key)
		})
	}
}

func TestNormalise(t *testing.T) {
	s := valid()
	s.URLs = []string{"  Example.com/Path?q=1 ", "", "http://user:pw@[2001:db8::1]:8080/x", "https://пример.рф/страница"}
	s.Contact = &canopy.Contact{Name: " ", Email: "", Phone: ""}
	s.Hashes = []canopy.ContentHash{{Algorithm: "SHA256", Value: strings.Repeat("AB", 32)}}
	if err := intake.Validate(&s); err != nil {
		t.Fatal(err)
	}
	want := []string{"https://example.com/Path?q=1", "http://[2001:db8::1]:8080/x", "https://xn--e1afmkfd.xn--p1ai/%D1%81%D1%82%D1%80%D0%B0%D0%BD%D0%B8%D1%86%D0%B0"}
	if strings.Join(s.URLs, " ") != strings.Join(want, " ") {
		t.Fatalf("URLs = %q, want %q", s.URLs, want)
	}
	if s.Contact != nil {
		t.Fatalf("blank contact kept: %+v", s.Contact)
	}
	if s.ChildCountry != "FR" || s.Hashes[0].Algorithm != "sha256" || s.Hashes[0].Value != strings.Repeat("ab", 32) {
		t.Fatalf("not normalised: %+v", s)
	}
}

func TestInvalidSubmissionStoresNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newService(t, db)
		bad := valid()
		bad.Category = "nope"
		if _, err := s.Submit(context.Background(), bad); canopy.ErrorCode(err) != canopy.EINVALID {
			t.Fatalf("Submit = %v", err)
		}
		if n, _ := db.CountReports(context.Background()); n != 0 {
			t.Fatalf("%d reports stored after an invalid submission", n)
		}
	})
}
