package support_test

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/audit/audittest"
	"github.com/canopy-org/canopy/internal/intake"
	"github.com/canopy-org/canopy/internal/seal"
	"github.com/canopy-org/canopy/internal/store"
	"github.com/canopy-org/canopy/internal/store/storetest"
	"github.com/canopy-org/canopy/internal/support"
)

var (
	caseworker  = &canopy.Account{ID: "cw1", Role: canopy.RoleCaseworker}
	caseworker2 = &canopy.Account{ID: "cw2", Role: canopy.RoleCaseworker}
	analyst     = &canopy.Account{ID: "an1", Role: canopy.RoleAnalyst}
	frAnalyst   = &canopy.Account{ID: "anfr", Role: canopy.RoleAnalyst, Jurisdictions: []string{"FR"}}
	liaison     = &canopy.Account{ID: "li1", Role: canopy.RoleLiaison}
	admin       = &canopy.Account{ID: "ad1", Role: canopy.RoleAdministrator}
	auditor     = &canopy.Account{ID: "au1", Role: canopy.RoleAuditor}
)

// The words a test writes into sealed fields: they must never appear in
// the database in the clear.
const (
	childName  = "Amira Benali-secret"
	planLine   = "Call Aunt Salma-secret"
	noteText   = "slept badly-secret"
	holdReason = "Court order 2026/17-secret"
)

type caseEnv struct {
	t      *testing.T
	db     *store.DB
	keys   *seal.Keyring
	log    *audit.Log
	svc    *support.Service
	intake *intake.Service

	mu  sync.Mutex
	now time.Time
}

func newCaseEnv(t *testing.T, db *store.DB) *caseEnv {
	t.Helper()
	keys, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	e := &caseEnv{t: t, db: db, keys: keys, log: audittest.Open(t, db), now: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	e.log.Now = e.clock
	e.svc = &support.Service{DB: db, Keys: keys, Audit: e.log, Now: e.clock}
	e.intake = &intake.Service{DB: db, Keys: keys, Audit: e.log, Now: e.clock}
	return e
}

func (e *caseEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *caseEnv) add(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// report files a report about a child in country.
func (e *caseEnv) report(country string) string {
	e.t.Helper()
	rc, err := e.intake.Submit(context.Background(), intake.Submission{Channel: canopy.ChannelPortal, Reporter: "child",
		Category: "sextortion", ChildCountry: country, Description: "someone threatens me"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.add(time.Hour)
	return rc.ReportID
}

// open opens a case with a name among its details.
func (e *caseEnv) open() string {
	e.t.Helper()
	c, err := e.svc.OpenCase(context.Background(), caseworker, support.NewCase{
		Profile: support.Profile{Alias: "Robin", AgeBand: "14-17", Languages: []string{"ar", "fr"}, Region: "FR-IDF"},
		Needs:   []string{canopy.NeedEmotional, canopy.NeedSafety},
		Details: canopy.CaseDetails{Name: childName, BirthDate: "2011-03-04", Notes: noteText},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c.ID
}

func (e *caseEnv) consent(id, purpose string) {
	e.t.Helper()
	if _, err := e.svc.GiveConsent(context.Background(), caseworker, id, support.NewConsent{Purpose: purpose,
		GivenBy: canopy.ConsentByChild, Method: canopy.ConsentVerbal}); err != nil {
		e.t.Fatal(err)
	}
}

// directory adds one active and one inactive service.
func (e *caseEnv) directory() {
	e.t.Helper()
	at := e.clock()
	err := e.db.PutDirectory(context.Background(), []*canopy.Provider{
		{ID: "maison", Name: "Maison des enfants", Active: true, Updated: at, UpdatedBy: "system"},
	}, []*canopy.ServiceOffer{
		{ID: "maison-ecoute", ProviderID: "maison", Name: "Écoute", Needs: []string{canopy.ServiceCounselling}, Country: "FR",
			Ages: canopy.AgeRange{Min: 6, Max: 21}, Active: true, Updated: at, UpdatedBy: "system"},
		{ID: "maison-old", ProviderID: "maison", Name: "Closed", Needs: []string{canopy.ServiceShelter}, Country: "FR",
			Ages: canopy.AgeRange{Max: 17}, Active: false, Updated: at, UpdatedBy: "system"},
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// entries returns the audit entries of action.
func (e *caseEnv) entries(action audit.Action) []audit.Entry {
	e.t.Helper()
	es, err := e.log.Entries(context.Background(), 0, 100_000)
	if err != nil {
		e.t.Fatal(err)
	}
	return slices.DeleteFunc(es, func(x audit.Entry) bool { return x.Action != action })
}

// sealedAtRest fails the test if a secret is in the database in the clear.
func (e *caseEnv) sealedAtRest(secrets ...string) {
	e.t.Helper()
	ctx := context.Background()
	var blobs [][]byte
	ids, _, err := e.db.Cases(ctx, store.CaseFilter{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range ids {
		sc, err := e.db.Case(ctx, c.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		blobs = append(blobs, sc.Details, []byte(sc.Alias), []byte(sc.Region))
		if p, err := e.db.CasePlan(ctx, c.ID); err == nil {
			blobs = append(blobs, p.Content)
		}
		checkIns, _ := e.db.CaseCheckIns(ctx, c.ID)
		for _, ci := range checkIns {
			blobs = append(blobs, ci.SealedNote)
		}
		holds, _ := e.db.CaseHolds(ctx, c.ID)
		for _, h := range holds {
			blobs = append(blobs, h.SealedReason, h.SealedLiftReason)
		}
	}
	for _, b := range blobs {
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				e.t.Errorf("%q is stored in the clear", s)
			}
		}
	}
}

func fieldsOf(err error) []string {
	var out []string
	for _, f := range canopy.AsError(err).Fields {
		out = append(out, f.Field+":"+f.Key)
	}
	return out
}

func TestOpenCaseValidation(t *testing.T) {
	e := newCaseEnv(t, storetest.Open(t, store.SQLite))
	good := support.NewCase{Profile: support.Profile{Alias: "Robin", AgeBand: "7-10"}}
	for _, c := range []struct {
		name string
		mod  func(*support.NewCase)
		want []string
	}{
		{"no alias", func(n *support.NewCase) { n.Alias = "  " }, []string{"alias:error.required"}},
		{"long alias", func(n *support.NewCase) { n.Alias = strings.Repeat("a", 65) }, []string{"alias:error.too_long"}},
		{"alias with a control character", func(n *support.NewCase) { n.Alias = "Ro\x07bin" }, []string{"alias:error.control_chars"}},
		{"alias with a right-to-left override", func(n *support.NewCase) { n.Alias = "Ro\u202ebin" }, []string{"alias:error.control_chars"}},
		{"unknown age band", func(n *support.NewCase) { n.AgeBand = "12" }, []string{"age_band:error.unknown_code"}},
		{"bad language", func(n *support.NewCase) { n.Languages = []string{"French"} }, []string{"languages:error.case.language"}},
		{"too many languages", func(n *support.NewCase) {
			n.Languages = []string{"aa", "ab", "ac", "ad", "ae", "af", "ag", "ah", "ai"}
		}, []string{"languages:error.too_many"}},
		{"long region", func(n *support.NewCase) { n.Region = strings.Repeat("r", 65) }, []string{"region:error.too_long"}},
		{"unknown need", func(n *support.NewCase) { n.Needs = []string{"pony"} }, []string{"needs:error.unknown_code"}},
		{"birth date in the future", func(n *support.NewCase) { n.Details.BirthDate = "2030-01-01" }, []string{"birth_date:error.case.date"}},
		{"not a date", func(n *support.NewCase) { n.Details.BirthDate = "4 March" }, []string{"birth_date:error.case.date"}},
		{"long notes", func(n *support.NewCase) { n.Details.Notes = strings.Repeat("n", 5001) }, []string{"notes:error.too_long"}},
		{"all good", nil, nil},
	} {
		in := good
		if c.mod != nil {
			c.mod(&in)
		}
		_, err := e.svc.OpenCase(context.Background(), caseworker, in)
		if got := fieldsOf(err); !slices.Equal(got, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestOnlyCaseworkers: every other role is refused every case action, and
// each refusal is audited. Legal holds are the administrator's.
func TestOnlyCaseworkers(t *testing.T) {
	e := newCaseEnv(t, storetest.Open(t, store.SQLite))
	id := e.open()
	ctx := context.Background()
	calls := map[string]func(who *canopy.Account) error{
		"open": func(w *canopy.Account) error {
			_, err := e.svc.OpenCase(ctx, w, support.NewCase{Profile: support.Profile{Alias: "A", AgeBand: "7-10"}})
			return err
		},
		"list":    func(w *canopy.Account) error { _, _, err := e.svc.Cases(ctx, w, 10, 0); return err },
		"read":    func(w *canopy.Account) error { _, err := e.svc.Case(ctx, w, id); return err },
		"details": func(w *canopy.Account) error { _, err := e.svc.Details(ctx, w, id); return err },
		"needs":   func(w *canopy.Account) error { return e.svc.SetNeeds(ctx, w, id, nil) },
		"plan":    func(w *canopy.Account) error { _, _, err := e.svc.Plan(ctx, w, id); return err },
		"consent": func(w *canopy.Account) error {
			_, err := e.svc.GiveConsent(ctx, w, id, support.NewConsent{Purpose: canopy.PurposeSupport, GivenBy: "child", Method: "verbal"})
			return err
		},
		"statistics": func(w *canopy.Account) error { _, err := e.svc.Statistics(ctx, w); return err },
		"erase": func(w *canopy.Account) error {
			_, err := e.svc.Erase(ctx, w, id, support.ErasureRequest{Kind: canopy.ErasureDelete, AskedBy: "child", Carry: true, Reason: canopy.ReasonChildWishes})
			return err
		},
	}
	holds := map[string]func(who *canopy.Account) error{
		"place hold": func(w *canopy.Account) error { return e.svc.PlaceHold(ctx, w, id, holdReason) },
		"list holds": func(w *canopy.Account) error { _, err := e.svc.Holds(ctx, w); return err },
	}
	before := len(e.entries(audit.ActionPermissionDenied))
	refused := 0
	for _, who := range []*canopy.Account{analyst, liaison, admin, auditor} {
		for name, call := range calls {
			if err := call(who); canopy.ErrorCode(err) != canopy.EFORBIDDEN {
				t.Errorf("%s as %s: %v, want forbidden", name, who.Role, err)
			}
			refused++
		}
	}
	for _, who := range []*canopy.Account{caseworker, analyst, auditor} {
		for name, call := range holds {
			if err := call(who); canopy.ErrorCode(err) != canopy.EFORBIDDEN {
				t.Errorf("%s as %s: %v, want forbidden", name, who.Role, err)
			}
			refused++
		}
	}
	if got := len(e.entries(audit.ActionPermissionDenied)) - before; got != refused {
		t.Errorf("%d refusals audited, want %d", got, refused)
	}
	for name, call := range holds {
		if err := call(admin); err != nil {
			t.Errorf("%s as administrator: %v", name, err)
		}
	}
}

// TestCaseFile: a case is pseudonymous at rest; its page is an audited
// opening, and its identifying details a second one.
func TestCaseFile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newCaseEnv(t, db)
		ctx := context.Background()
		id := e.open()
		e.sealedAtRest(childName, noteText)
		if es := e.entries(audit.ActionCaseCreate); len(es) != 1 || es[0].ID != id || es[0].Details["details"] != "yes" {
			t.Fatalf("creation audited as %+v", es)
		}

		list, total, err := e.svc.Cases(ctx, caseworker, 10, 0)
		if err != nil || total != 1 || list[0].Alias != "Robin" || !slices.Equal(list[0].Needs, []string{canopy.NeedSafety, canopy.NeedEmotional}) {
			t.Fatalf("list %+v %v", list, err)
		}
		f, err := e.svc.Case(ctx, caseworker2, id)
		if err != nil || !f.HasDetails || f.Case.Alias != "Robin" || f.Plan != nil || len(f.CheckIns) != 0 {
			t.Fatalf("file %+v %v", f, err)
		}
		d, err := e.svc.Details(ctx, caseworker2, id)
		if err != nil || d.Name != childName || d.BirthDate != "2011-03-04" || d.Notes != noteText {
			t.Fatalf("details %+v %v", d, err)
		}
		views := e.entries(audit.ActionCaseView)
		if len(views) != 3 || views[0].Details["part"] != "list" || views[0].Details["rows"] != "1" ||
			views[1].Details["part"] != "case" || views[2].Details["part"] != "details" ||
			views[2].Actor != audit.Staff(caseworker2.ID) || views[2].ID != id {
			t.Fatalf("openings audited as %+v", views)
		}
		for _, v := range views {
			for k, val := range v.Details {
				if strings.Contains(val, "Amira") || strings.Contains(k, "Amira") {
					t.Fatalf("the audit log names the child: %+v", v)
				}
			}
		}

		// Profile, needs and details change; details may be removed.
		if err := e.svc.SetProfile(ctx, caseworker, id, support.Profile{Alias: "Sky", AgeBand: "11-13", Languages: []string{"FR", "fr", "es"}}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SetNeeds(ctx, caseworker, id, []string{canopy.NeedLegal, canopy.NeedSafety}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.SetDetails(ctx, caseworker, id, canopy.CaseDetails{}); err != nil {
			t.Fatal(err)
		}
		f, _ = e.svc.Case(ctx, caseworker, id)
		if f.Case.Alias != "Sky" || f.Case.AgeBand != "11-13" || !slices.Equal(f.Case.Languages, []string{"fr", "es"}) || f.Case.Region != "" ||
			!slices.Equal(f.Case.Needs, []string{canopy.NeedSafety, canopy.NeedLegal}) || f.HasDetails {
			t.Fatalf("after changes %+v", f)
		}
		if _, err := e.svc.Case(ctx, caseworker, "nope"); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("unknown case: %v", err)
		}
		if err := e.svc.SetNeeds(ctx, caseworker, "nope", nil); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("change to an unknown case: %v", err)
		}
	})
}

// TestReferrals: a referral needs the child's consent to support and an
// active service of the directory; its steps give the time from the
// report to the first support.
func TestReferrals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newCaseEnv(t, db)
		ctx := context.Background()
		e.directory()
		rep := e.report("FR")
		id := e.open()
		refer := func(service string) error {
			_, err := e.svc.Refer(ctx, caseworker, id, service, canopy.NeedEmotional)
			return err
		}
		if err := refer("maison-ecoute"); canopy.AsError(err).Key != "error.case.consent_support" {
			t.Fatalf("referral without consent: %v", err)
		}
		e.consent(id, canopy.PurposeSupport)
		for _, c := range []struct{ service, want string }{
			{"", "service:error.required"}, {"nope", "service:error.case.service"}, {"maison-old", "service:error.case.service"},
		} {
			if got := fieldsOf(refer(c.service)); !slices.Equal(got, []string{c.want}) {
				t.Errorf("refer to %q: %v, want %s", c.service, got, c.want)
			}
		}
		if _, err := e.svc.Refer(ctx, caseworker, id, "maison-ecoute", "pony"); !slices.Equal(fieldsOf(err), []string{"need:error.unknown_code"}) {
			t.Fatalf("unknown need: %v", err)
		}
		r, err := e.svc.Refer(ctx, caseworker, id, "maison-ecoute", canopy.NeedEmotional)
		if err != nil {
			t.Fatal(err)
		}
		e.consent(id, canopy.PurposeInvestigation)
		if err := e.svc.LinkReport(ctx, caseworker, id, rep); err != nil {
			t.Fatal(err)
		}
		e.add(24 * time.Hour)
		if err := e.svc.AdvanceReferral(ctx, caseworker, id, r.ID, canopy.ServiceReferralAccepted, e.clock().Add(-3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.AdvanceReferral(ctx, caseworker, id, r.ID, canopy.ServiceReferralFirstContact, e.clock().Add(time.Hour)); !slices.Equal(fieldsOf(err), []string{"on:error.case.date"}) {
			t.Fatalf("a step in the future: %v", err)
		}
		contact := e.clock().Add(-time.Hour)
		if err := e.svc.AdvanceReferral(ctx, caseworker, id, r.ID, canopy.ServiceReferralFirstContact, contact); err != nil {
			t.Fatal(err)
		}
		// The step is in the audit log by its own code.
		entries, err := e.log.Entries(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(entries, func(a audit.Entry) bool {
			return a.Action == audit.ActionCaseUpdate && slices.Contains(slices.Collect(maps.Values(a.Details)), canopy.ServiceReferralFirstContact)
		}) {
			t.Errorf("no audit entry names the step %s", canopy.ServiceReferralFirstContact)
		}
		if err := e.svc.AdvanceReferral(ctx, caseworker, id, r.ID, canopy.ServiceReferralAccepted, time.Time{}); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("backwards: %v", err)
		}
		if err := e.svc.AdvanceReferral(ctx, caseworker, id, "nope", canopy.ServiceReferralAccepted, time.Time{}); canopy.ErrorCode(err) != canopy.ENOTFOUND {
			t.Fatalf("unknown referral: %v", err)
		}
		f, err := e.svc.Case(ctx, caseworker, id)
		if err != nil || len(f.Referrals) != 1 || f.Referrals[0].ServiceName != "Maison des enfants: Écoute" ||
			f.Referrals[0].Status != canopy.ServiceReferralFirstContact || !f.FirstSupport.Equal(contact) || f.FirstReport.IsZero() ||
			f.FirstSupport.Sub(f.FirstReport) != 24*time.Hour {
			t.Fatalf("file %+v %v (from %v to %v)", f.Referrals, err, f.FirstReport, f.FirstSupport)
		}
		choices, err := e.svc.ServiceChoices(ctx, caseworker)
		if err != nil || len(choices) != 1 || choices[0].ID != "maison-ecoute" {
			t.Fatalf("choices %+v %v", choices, err)
		}

		// Withdrawing consent to support stops new referrals at once.
		if err := e.svc.WithdrawConsent(ctx, caseworker, id, canopy.PurposeSupport); err != nil {
			t.Fatal(err)
		}
		if err := refer("maison-ecoute"); canopy.AsError(err).Key != "error.case.consent_support" {
			t.Fatalf("referral after withdrawal: %v", err)
		}
		if err := e.svc.WithdrawConsent(ctx, caseworker, id, canopy.PurposeSupport); canopy.ErrorCode(err) != canopy.ECONFLICT {
			t.Fatalf("withdrawal of nothing: %v", err)
		}
	})
}

// TestPlanAndCheckIns: the safety plan and check-in notes are sealed; the
// plan keeps its language; check-ins are scored on their scale.
func TestPlanAndCheckIns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newCaseEnv(t, db)
		ctx := context.Background()
		id := e.open()
		e.consent(id, canopy.PurposeSupport)
		plan := canopy.SafetyPlan{Language: "ar", WarningSigns: []string{" I feel sick \r\n\r\n My phone buzzes at night "},
			TrustedAdults: []string{planLine}, Emergency: []string{"112"}}
		if err := e.svc.SavePlan(ctx, caseworker, id, plan); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			mod  func(*canopy.SafetyPlan)
			want string
		}{
			{"unknown language", func(p *canopy.SafetyPlan) { p.Language = "xx" }, "language:error.unknown_code"},
			{"too many lines", func(p *canopy.SafetyPlan) { p.SafePlaces = slices.Repeat([]string{"x"}, 21) }, "safe_places:error.too_many"},
			{"long line", func(p *canopy.SafetyPlan) { p.Online = []string{strings.Repeat("x", 501)} }, "online:error.too_long"},
		} {
			p := plan
			c.mod(&p)
			if got := fieldsOf(e.svc.SavePlan(ctx, caseworker, id, p)); !slices.Equal(got, []string{c.want}) {
				t.Errorf("%s: %v, want %s", c.name, got, c.want)
			}
		}
		got, c, err := e.svc.Plan(ctx, caseworker, id)
		if err != nil || got.Language != "ar" || !slices.Equal(got.WarningSigns, []string{"I feel sick", "My phone buzzes at night"}) ||
			!slices.Equal(got.TrustedAdults, []string{planLine}) || c.AgeBand != "14-17" || got.UpdatedBy != caseworker.ID {
			t.Fatalf("plan %+v %v", got, err)
		}
		if support.PlanLanguage(c) != "ar" || support.PlanLanguage(&canopy.Case{Languages: []string{"de"}}) != "en" {
			t.Fatalf("plan language of %v", c.Languages)
		}

		for _, in := range []support.NewCheckIn{
			{Scale: canopy.ScaleWHO5, Items: []int{2, 2, 2, 2, 2}, Note: noteText},
			{Scale: canopy.ScaleWHO5, Items: []int{4, 4, 3, 3, 4}},
		} {
			if _, err := e.svc.RecordCheckIn(ctx, caseworker, id, in); err != nil {
				t.Fatal(err)
			}
			e.add(7 * 24 * time.Hour)
		}
		if _, err := e.svc.RecordCheckIn(ctx, caseworker, id, support.NewCheckIn{Scale: canopy.ScaleFaces, Items: []int{9}}); !slices.Equal(fieldsOf(err), []string{"items:error.unknown_code"}) {
			t.Fatalf("bad face: %v", err)
		}
		f, err := e.svc.Case(ctx, caseworker, id)
		if err != nil || len(f.CheckIns) != 2 || f.CheckIns[0].Percent() != 40 || !f.CheckIns[0].Low() || f.CheckIns[0].Note != noteText ||
			f.CheckIns[1].Percent() != 72 || f.CheckIns[1].N != 2 || f.Plan == nil || f.Plan.Language != "ar" {
			t.Fatalf("file %+v %v", f, err)
		}
		e.sealedAtRest(planLine, noteText)
	})
}
