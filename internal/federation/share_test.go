package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
)

// TestDataSharingProfile refers the same report to be under three
// profiles and looks at what be can read: the payload as be opens it, and
// the report be makes of it. The classification and hashes always go;
// content only as the profile allows; the reporter's contact never.
func TestDataSharingProfile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := newPair(t, db, nil, nil)
		fr, be := p.fr, p.be
		full := content{Description: "Pictures of my daughter on this page", Platform: "ExampleShare", ChildCountry: "FR",
			Reporter: canopy.ReporterCaregiver, Language: "fr", URLs: []string{"https://be-host.example/gallery/1"}, Accounts: []string{"@uploader"}}
		cases := []struct {
			name  string
			share []string
			want  content // as be keeps it
		}{
			{"nothing", []string{}, content{Reporter: canopy.ReporterPartner, Language: "en"}},
			{"the default", canopy.DefaultShare, content{Reporter: canopy.ReporterPartner, Language: "en", Platform: full.Platform, URLs: full.URLs}},
			{"everything", canopy.Shareable, full},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				// UpdatePeer sorts the profile in place: give it a copy, not
				// the package's lists.
				if _, err := fr.svc.UpdatePeer(ctx, audit.System, "be", func(peer *canopy.Peer) { peer.Share = slices.Clone(c.share) }); err != nil {
					t.Fatal(err)
				}
				rc := fr.submit(nil)
				ref, err := fr.svc.Refer(ctx, analyst, rc.ReportID, "be")
				if err != nil {
					t.Fatal(err)
				}
				var msg *store.OutboxMessage
				for _, m := range fr.outbox("be") {
					if m.Thread == ref.ID {
						msg = &m
					}
				}
				// The payload as be opens it.
				plain := open(t, fr, be, *msg)
				for _, secret := range []string{contact.Name, contact.Email, contact.Phone, "contact"} {
					if bytes.Contains(plain, []byte(secret)) {
						t.Errorf("the payload holds %q: %s", secret, plain)
					}
				}
				var got ReferralPayload
				if err := json.Unmarshal(plain, &got); err != nil {
					t.Fatal(err)
				}
				if got.Referral != ref.ID || got.Category != "csam" || !slices.Equal(got.Flags, []string{canopy.FlagUrgent}) ||
					!slices.Equal(got.Hashes, []canopy.ContentHash{sha256ab}) || got.Received == "" {
					t.Errorf("the classification and hashes did not all go: %+v", got)
				}
				sent := content{Description: got.Description, Platform: got.Platform, ChildCountry: got.ChildCountry,
					Reporter: got.Reporter, Language: got.Language, URLs: got.URLs, Accounts: got.Accounts}
				wantSent := c.want
				if !slices.Contains(c.share, canopy.ShareReporter) {
					wantSent.Reporter = ""
				}
				if !slices.Contains(c.share, canopy.ShareLanguage) {
					wantSent.Language = ""
				}
				if !sameContent(sent, wantSent) {
					t.Errorf("sent %+v, want %+v", sent, wantSent)
				}

				// The report be makes of it.
				pump(t, fr, "be", be)
				in := be.referral("fr", ref.ID, false)
				if in == nil {
					t.Fatal("be did not take the referral")
				}
				sr, c2, err := be.svc.content(ctx, in.ReportID)
				if err != nil {
					t.Fatal(err)
				}
				if c2.Contact != nil {
					t.Errorf("be holds the reporter's contact: %+v", c2.Contact)
				}
				kept := content{Description: c2.Description, Platform: c2.Platform, ChildCountry: sr.Report.ChildCountry,
					Reporter: sr.Report.Reporter, Language: sr.Report.Language, URLs: c2.URLs, Accounts: c2.Accounts}
				if !sameContent(kept, c.want) {
					t.Errorf("be keeps %+v, want %+v", kept, c.want)
				}
				if sr.Report.Category != "csam" || !slices.Equal(sr.Report.Hashes, []canopy.ContentHash{sha256ab}) ||
					!slices.Equal(sr.Report.Flags, []string{canopy.FlagUrgent}) {
					t.Errorf("be's report = %+v", sr.Report)
				}
				// Nor does anything be stores in the clear name the reporter.
				evs, _ := be.db.Events(ctx, in.ReportID)
				for _, e := range evs {
					for k, v := range e.Data {
						if strings.Contains(v, contact.Email) || strings.Contains(v, contact.Name) {
							t.Errorf("event %s data %s = %q", e.Kind, k, v)
						}
					}
				}
			})
		}
	})
}

// content is what a profile governs, wherever it is kept.
type content struct {
	Description, Platform, ChildCountry, Reporter, Language string
	URLs, Accounts                                          []string
}

func sameContent(a, b content) bool {
	return a.Description == b.Description && a.Platform == b.Platform && a.ChildCountry == b.ChildCountry &&
		a.Reporter == b.Reporter && a.Language == b.Language && slices.Equal(a.URLs, b.URLs) && slices.Equal(a.Accounts, b.Accounts)
}
