package workspace

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/chart"
	"github.com/canopy-org/canopy/internal/indicators"
)

// The indicators dashboard: every indicator of docs/indicators.md by
// month over a period, for the whole node or one breakdown, each as a
// chart drawn on the server and as a table of the same numbers. Staff
// see the node's own figures, unprotected; the public page shows the
// protected publication.

func init() {
	pageNames = append(pageNames, "dashboard")
	messageSets = append(messageSets, map[string]string{
		"error.dashboard.month":  "Give a month as 2026-08.",
		"error.dashboard.order":  "The last month must not be before the first.",
		"error.dashboard.period": "Choose ten years or less: from the first month to the last, at most 120 months.",
	})
}

// indicatorNames name the indicators for staff, with a sentence each
// from docs/indicators.md.
var indicatorNames = map[string][2]string{
	indicators.FirstLook:          {"Time to first look", "From a report's arrival to the first time staff opened it."},
	indicators.Assessment:         {"Time to assessment", "From a report's arrival to its first assessment."},
	indicators.ReferralAcceptance: {"Referral latency", "From a report's referral to a peer to the peer accepting it."},
	indicators.ReportToNotice:     {"Report to takedown notice", "From a report's arrival to the first notice a host received."},
	indicators.Takedown:           {"Takedown time", "From a host's receipt of a notice to the address's removal."},
	indicators.HostResponse:       {"Host response time", "From a host's receipt of a notice to its first answer about the address."},
	indicators.CaseResolution:     {"Case resolution", "Support cases opened, and how many were closed with the child's needs met or by their choice."},
	indicators.FirstSupport:       {"Time to first support", "From the first report about a child (or the case's opening) to a service's first contact."},
	indicators.ServiceCompletion:  {"Service-referral completion", "Referrals to services sent, and how many the service completed."},
	indicators.WellBeing:          {"Well-being trend", "Cases with two check-ins or more: the change from the first score to the latest, on 0 to 100."},
}

// dashRow is one month of an indicator as the table shows it.
type dashRow struct {
	Month                      string
	Members, Reached           int64
	Share, Median, P90         string
	Within24, Within72, Change string
}

// dashSection is one indicator on the page.
type dashSection struct {
	ID, Name, Definition string
	Chart                template.HTML
	Rows                 []dashRow
	Total                dashRow
	Windows, WellBeing   bool
}

type dashboardView struct {
	From, To, View string
	Views          []dashChoice
	Sections       []dashSection
	Support        []dashSection
}

type dashChoice struct {
	Group  string
	Value  string // dim:value
	Label  string
	Chosen bool
}

func share(n, d int64) string {
	if d == 0 {
		return "not known"
	}
	return strconv.FormatFloat(100*float64(n)/float64(d), 'f', 1, 64) + "%"
}

func hours(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return indicators.Format(int64(d / time.Second))
}

func dashRowOf(month string, f indicators.Figure, windows bool) dashRow {
	r := dashRow{Month: month, Members: f.Members, Reached: f.Reached, Share: share(f.Reached, f.Members), Median: hours(f.Median), P90: hours(f.P90)}
	if f.Reached == 0 {
		r.Median, r.P90 = "—", "—"
	}
	if windows {
		r.Within24, r.Within72 = share(f.Within24, f.Members), share(f.Within72, f.Members)
	}
	return r
}

func medianChart(id, name string, months []string, median func(string) (time.Duration, bool)) template.HTML {
	c := &chart.Bars{ID: id, Title: name + ": median by month", Unit: " h",
		Format: func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }}
	var desc []string
	for _, m := range months {
		d, ok := median(m)
		if !ok {
			c.Bars = append(c.Bars, chart.Bar{Label: m, Mark: "none"})
			desc = append(desc, m+": none")
			continue
		}
		h := d.Hours()
		c.Bars = append(c.Bars, chart.Bar{Label: m, Value: h})
		desc = append(desc, m+": "+hours(d))
	}
	c.Desc = "Median in hours, by month. " + strings.Join(desc, "; ") + "."
	return c.SVG()
}

// dashboard shows the indicators over a period of months.
func (s *server) dashboard(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.IndicatorsView) {
		return
	}
	q := r.URL.Query()
	now := s.now().UTC()
	v := dashboardView{From: q.Get("from"), To: q.Get("to"), View: q.Get("view")}
	if v.To == "" {
		v.To = now.Format("2006-01")
	}
	if v.From == "" {
		v.From = now.AddDate(0, -11, 0).Format("2006-01")
	}
	var bad []canopy.FieldError
	for _, f := range []struct{ name, value string }{{"from", v.From}, {"to", v.To}} {
		if _, err := time.Parse("2006-01", f.value); err != nil {
			bad = append(bad, canopy.FieldError{Field: f.name, Key: "error.dashboard.month"})
		}
	}
	var months []string
	if len(bad) == 0 && v.From > v.To {
		bad = append(bad, canopy.FieldError{Field: "to", Key: "error.dashboard.order"})
	} else if len(bad) == 0 {
		var err error
		if months, err = indicators.Months(v.From, v.To); err != nil {
			bad = append(bad, canopy.FieldError{Field: "from", Key: "error.dashboard.period"})
		}
	}
	dim, value := indicators.DimAll, indicators.DimAll
	if d, val, ok := strings.Cut(v.View, ":"); ok && d != indicators.DimAll {
		dim, value = d, val
	}
	p := s.newPage(r, "dashboard", "Indicators", m)
	if len(bad) > 0 {
		p.Errors = newFormErrors(bad, dashboardLabels, nil)
		p.Data = v
		s.render(w, r, http.StatusUnprocessableEntity, p)
		return
	}
	v.Views = append(v.Views, dashChoice{Group: "", Value: "all:all", Label: "The whole node", Chosen: dim == indicators.DimAll})
	for _, d := range []struct{ dim, group string }{{indicators.DimCategory, "Category"}, {indicators.DimChannel, "Channel"},
		{indicators.DimJurisdiction, "Jurisdiction"}} {
		values, err := s.indicators.Values(r.Context(), m.account, d.dim, v.From, v.To)
		if err != nil {
			s.fail(w, r, m, err)
			return
		}
		for _, val := range values {
			label := val
			if d.dim == indicators.DimCategory {
				label = categoryName(val)
			}
			v.Views = append(v.Views, dashChoice{Group: d.group, Value: d.dim + ":" + val, Label: label, Chosen: dim == d.dim && value == val})
		}
	}
	rolled, support, err := s.indicators.Dashboard(r.Context(), m.account, dim, value, v.From, v.To)
	if err != nil {
		s.fail(w, r, m, err)
		return
	}
	for _, series := range rolled {
		name := indicatorNames[series.Indicator]
		sec := dashSection{ID: series.Indicator, Name: name[0], Definition: name[1], Windows: series.Indicator == indicators.Takedown}
		byMonth := map[string]indicators.Figure{}
		for _, f := range series.Months {
			byMonth[f.Month] = f.Figure
			sec.Rows = append(sec.Rows, dashRowOf(f.Month, f.Figure, sec.Windows))
		}
		sec.Total = dashRowOf("All months", series.Total, sec.Windows)
		sec.Chart = medianChart("chart-"+series.Indicator, name[0], months, func(m string) (time.Duration, bool) {
			f, ok := byMonth[m]
			return f.Median, ok && f.Reached > 0
		})
		v.Sections = append(v.Sections, sec)
	}
	for _, series := range support {
		name := indicatorNames[series.Indicator]
		sec := dashSection{ID: series.Indicator, Name: name[0], Definition: name[1], WellBeing: series.Indicator == indicators.WellBeing}
		byMonth := map[string]indicators.SupportFigure{}
		for _, f := range series.Months {
			byMonth[f.Month] = f.SupportFigure
			row := dashRowOf(f.Month, f.Figure, false)
			if sec.WellBeing {
				row.Change = strconv.FormatFloat(f.MeanChange(), 'f', 1, 64)
				row.Reached, row.Share = f.Improved, share(f.Improved, f.Members)
			}
			sec.Rows = append(sec.Rows, row)
		}
		sec.Total = dashRowOf("All months", series.Total.Figure, false)
		if sec.WellBeing {
			sec.Total.Change = strconv.FormatFloat(series.Total.MeanChange(), 'f', 1, 64)
			sec.Total.Reached, sec.Total.Share = series.Total.Improved, share(series.Total.Improved, series.Total.Members)
		} else {
			sec.Chart = medianChart("chart-"+series.Indicator, name[0], months, func(m string) (time.Duration, bool) {
				f, ok := byMonth[m]
				return f.Median, ok && f.Reached > 0
			})
		}
		v.Support = append(v.Support, sec)
	}
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

var dashboardLabels = map[string]string{"from": "First month", "to": "Last month"}
