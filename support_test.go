package canopy_test

import (
	"testing"
	"time"

	"github.com/canopy-org/canopy"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func TestConsentsAllows(t *testing.T) {
	support := func(mod func(*canopy.Consent)) canopy.Consent {
		c := canopy.Consent{Purpose: canopy.PurposeSupport, GivenBy: canopy.ConsentByChild, Method: canopy.ConsentVerbal, Given: t0}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	for _, c := range []struct {
		name     string
		consents canopy.Consents
		purpose  string
		at       time.Time
		want     bool
	}{
		{"none", nil, canopy.PurposeSupport, t0, false},
		{"given", canopy.Consents{support(nil)}, canopy.PurposeSupport, t0, true},
		{"other purpose", canopy.Consents{support(nil)}, canopy.PurposeInvestigation, t0, false},
		{"before it was given", canopy.Consents{support(nil)}, canopy.PurposeSupport, t0.Add(-time.Second), false},
		{"withdrawn: at once", canopy.Consents{support(func(c *canopy.Consent) { c.Withdrawn = t0.Add(time.Hour) })}, canopy.PurposeSupport, t0.Add(time.Hour), false},
		{"before withdrawal", canopy.Consents{support(func(c *canopy.Consent) { c.Withdrawn = t0.Add(time.Hour) })}, canopy.PurposeSupport, t0.Add(time.Minute), true},
		{"expired", canopy.Consents{support(func(c *canopy.Consent) { c.Expires = t0.Add(time.Hour) })}, canopy.PurposeSupport, t0.Add(time.Hour), false},
		{"before expiry", canopy.Consents{support(func(c *canopy.Consent) { c.Expires = t0.Add(time.Hour) })}, canopy.PurposeSupport, t0.Add(59 * time.Minute), true},
		{"one withdrawn, another stands", canopy.Consents{
			support(func(c *canopy.Consent) { c.Withdrawn = t0.Add(time.Minute) }),
			support(func(c *canopy.Consent) { c.GivenBy = canopy.ConsentByGuardian }),
		}, canopy.PurposeSupport, t0.Add(time.Hour), true},
	} {
		if got := c.consents.Allows(c.purpose, c.at); got != c.want {
			t.Errorf("%s: Allows = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestScoreCheckIn(t *testing.T) {
	for _, c := range []struct {
		scale   string
		items   []int
		score   int
		percent int
		low     bool
		field   string // the field an error names, "" for none
	}{
		{canopy.ScaleWHO5, []int{5, 5, 5, 5, 5}, 25, 100, false, ""},
		{canopy.ScaleWHO5, []int{0, 0, 0, 0, 0}, 0, 0, true, ""},
		{canopy.ScaleWHO5, []int{3, 3, 2, 2, 2}, 12, 48, true, ""},
		{canopy.ScaleWHO5, []int{3, 3, 3, 2, 2}, 13, 52, false, ""},
		{canopy.ScaleWHO5, []int{3, 3, 3, 2}, 0, 0, false, "items"},
		{canopy.ScaleWHO5, []int{6, 3, 3, 2, 2}, 0, 0, false, "items"},
		{canopy.ScaleWHO5, []int{-1, 3, 3, 2, 2}, 0, 0, false, "items"},
		{canopy.ScaleFaces, []int{1}, 1, 0, true, ""},
		{canopy.ScaleFaces, []int{3}, 3, 50, false, ""},
		{canopy.ScaleFaces, []int{5}, 5, 100, false, ""},
		{canopy.ScaleFaces, []int{0}, 0, 0, false, "items"},
		{canopy.ScaleFaces, []int{2, 3}, 0, 0, false, "items"},
		{"mood", []int{2}, 0, 0, false, "scale"},
	} {
		score, err := canopy.ScoreCheckIn(c.scale, c.items)
		if c.field != "" {
			e := canopy.AsError(err)
			if e.Code != canopy.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != c.field {
				t.Errorf("%s %v: err %v, want invalid %s", c.scale, c.items, err, c.field)
			}
			continue
		}
		ci := canopy.CheckIn{Scale: c.scale, Items: c.items, Score: score}
		if err != nil || score != c.score || ci.Percent() != c.percent || ci.Low() != c.low {
			t.Errorf("%s %v: score %d (%d%%, low %v), %v; want %d (%d%%, low %v)", c.scale, c.items, score, ci.Percent(), ci.Low(), err, c.score, c.percent, c.low)
		}
	}
}

func TestServiceReferralAdvance(t *testing.T) {
	day := 24 * time.Hour
	for _, c := range []struct {
		name  string
		steps []string // statuses applied one a day
		want  string   // the error code of the last step, "" for none
	}{
		{"all the way", []string{canopy.ServiceReferralAccepted, canopy.ServiceReferralFirstContact, canopy.ServiceReferralCompleted}, ""},
		{"skip acceptance", []string{canopy.ServiceReferralFirstContact}, ""},
		{"declined after acceptance", []string{canopy.ServiceReferralAccepted, canopy.ServiceReferralDeclined}, ""},
		{"backwards", []string{canopy.ServiceReferralFirstContact, canopy.ServiceReferralAccepted}, canopy.ECONFLICT},
		{"same step twice", []string{canopy.ServiceReferralAccepted, canopy.ServiceReferralAccepted}, canopy.ECONFLICT},
		{"after completion", []string{canopy.ServiceReferralCompleted, canopy.ServiceReferralDeclined}, canopy.ECONFLICT},
		{"after a refusal", []string{canopy.ServiceReferralDeclined, canopy.ServiceReferralAccepted}, canopy.ECONFLICT},
		{"sent again", []string{canopy.ServiceReferralSent}, canopy.EINVALID},
		{"unknown", []string{"lost"}, canopy.EINVALID},
	} {
		r := canopy.ServiceReferral{Status: canopy.ServiceReferralSent, Sent: t0}
		var err error
		for i, s := range c.steps {
			if err = r.Advance(s, t0.Add(time.Duration(i+1)*day)); err != nil && i < len(c.steps)-1 {
				t.Fatalf("%s: step %d: %v", c.name, i, err)
			}
		}
		if canopy.ErrorCode(err) != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	// A step dated before the one it follows is refused.
	r := canopy.ServiceReferral{Status: canopy.ServiceReferralSent, Sent: t0}
	if err := r.Advance(canopy.ServiceReferralAccepted, t0.Add(-time.Hour)); canopy.ErrorCode(err) != canopy.EINVALID {
		t.Errorf("accepted before it was sent: %v", err)
	}
	// The first support is the earliest first contact.
	refs := []canopy.ServiceReferral{{FirstContact: t0.Add(3 * day)}, {}, {FirstContact: t0.Add(2 * day)}}
	if got := canopy.FirstSupport(refs); !got.Equal(t0.Add(2 * day)) {
		t.Errorf("FirstSupport = %v", got)
	}
	if got := canopy.FirstSupport(nil); !got.IsZero() {
		t.Errorf("FirstSupport of none = %v", got)
	}
}

func TestCaseCodes(t *testing.T) {
	for _, band := range canopy.CaseAgeBands {
		want := canopy.ScaleFaces
		if band == "14-17" || band == "18-24" || band == "25+" {
			want = canopy.ScaleWHO5
		}
		if got := canopy.CheckInScaleFor(band); got != want {
			t.Errorf("scale for %s: %s, want %s", band, got, want)
		}
	}
	for _, band := range canopy.AgeBands {
		found := false
		for _, b := range canopy.CaseAgeBands {
			found = found || b == band
		}
		if !found {
			t.Errorf("report age band %s is not a case age band", band)
		}
	}
	for _, need := range canopy.CaseNeeds {
		for _, kind := range canopy.ServicesFor(need) {
			if !canopy.IsServiceNeed(kind) {
				t.Errorf("need %s leads to %s, which is no kind of service", need, kind)
			}
		}
	}
	var d canopy.CaseDetails
	for _, f := range canopy.DetailFields {
		if !d.Empty() {
			t.Fatal("details not empty")
		}
		switch f {
		case "name":
			d.Name = "x"
		case "birth_date":
			d.BirthDate = "x"
		case "contact":
			d.Contact = "x"
		case "guardian":
			d.Guardian = "x"
		case "notes":
			d.Notes = "x"
		}
		if d.Field(f) != "x" {
			t.Errorf("Field(%s) = %q", f, d.Field(f))
		}
		d.Clear(f)
		if d.Field(f) != "" {
			t.Errorf("Clear(%s) left %q", f, d.Field(f))
		}
	}
	var p canopy.SafetyPlan
	for _, s := range canopy.PlanSections {
		p.SetSection(s, []string{s})
		if got := p.Section(s); len(got) != 1 || got[0] != s {
			t.Errorf("section %s: %v", s, got)
		}
	}
	if p.Empty() {
		t.Error("a full plan is empty")
	}
}
