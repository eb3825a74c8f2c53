package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/intake"
)

// reportForm is the report form as typed. It is kept exactly as the person
// wrote it, so a page that asks for a change shows every answer again.
type reportForm struct {
	Reporter    string
	Category    string
	Flags       []string
	URLs        string
	Platform    string
	Accounts    string
	Description string
	Country     string
	Contact     bool // chose to give contact details
	Name        string
	Email       string
	Phone       string
}

// Form field names; the ids in form.html follow them.
const (
	fReporter    = "reporter"
	fCategory    = "category"
	fFlags       = "flags"
	fURLs        = "urls"
	fPlatform    = "platform"
	fAccounts    = "accounts"
	fDescription = "description"
	fCountry     = "country"
	fName        = "name"
	fEmail       = "email"
	fPhone       = "phone"
	fReceipt     = "receipt" // on the follow-up pages
	fBody        = "body"
	// "Find help": the search's fields have names of their own here, so
	// its country is not the report's.
	fHelpCountry  = "help_country"
	fHelpRegion   = "help_region"
	fHelpLanguage = "help_language"
	fHelpAge      = "help_age"
	fHelpNeed     = "help_need"
)

// fieldOrder is the order of the fields on the page, which the error
// summary follows.
var fieldOrder = []string{fReporter, fCategory, fFlags, fURLs, fPlatform, fAccounts, fDescription, fCountry, fName, fEmail, fPhone, fReceipt, fBody,
	fHelpCountry, fHelpRegion, fHelpLanguage, fHelpAge, fHelpNeed}

// fieldTarget is the id the error summary links to for each field: the
// control itself, or the first choice of a group.
var fieldTarget = map[string]string{
	fReporter:     "reporter-" + canopy.PublicReporters[0],
	fCategory:     "category-" + canopy.Categories[0].Code,
	fFlags:        "flag-" + canopy.Flags[1],
	fURLs:         "urls",
	fPlatform:     "platform",
	fAccounts:     "accounts",
	fDescription:  "description",
	fCountry:      "country",
	fName:         "contact-name",
	fEmail:        "contact-email",
	fPhone:        "contact-phone",
	fReceipt:      "receipt",
	fBody:         "body",
	fHelpCountry:  "help-country",
	fHelpRegion:   "help-region",
	fHelpLanguage: "help-language",
	fHelpAge:      "help-age",
	fHelpNeed:     "help-need-" + canopy.ServiceNeeds[0],
}

// fieldLabel names each field in the error summary.
var fieldLabel = map[string]string{
	fReporter:     "portal.form.reporter.legend",
	fCategory:     "portal.form.category.legend",
	fFlags:        "portal.form.flags.legend",
	fURLs:         "portal.form.urls.label",
	fPlatform:     "portal.form.platform.label",
	fAccounts:     "portal.form.accounts.label",
	fDescription:  "portal.form.description.label",
	fCountry:      "portal.form.country.label",
	fName:         "portal.form.name.label",
	fEmail:        "portal.form.email.label",
	fPhone:        "portal.form.phone.label",
	fReceipt:      "portal.followup.code.label",
	fBody:         "portal.followup.message.label",
	fHelpCountry:  "help.form.country.label",
	fHelpRegion:   "help.form.region.label",
	fHelpLanguage: "help.form.language.label",
	fHelpAge:      "help.form.age.label",
	fHelpNeed:     "help.form.need.legend",
}

func parseReportForm(p *postRequest) *reportForm {
	f := &reportForm{
		Reporter:    p.get("reporter"),
		Category:    p.get("category"),
		URLs:        p.get("urls"),
		Platform:    p.get("platform"),
		Accounts:    p.get("accounts"),
		Description: p.get("description"),
		Country:     p.get("country"),
		Contact:     p.get("contact") == "yes",
		Name:        p.get("name"),
		Email:       p.get("email"),
		Phone:       p.get("phone"),
	}
	// Checkboxes are a set: a value sent twice is still one choice.
	for _, v := range p.form["flags"] {
		if !slices.Contains(f.Flags, v) {
			f.Flags = append(f.Flags, v)
		}
	}
	return f
}

// HasFlag reports whether the flag's box was ticked.
func (f *reportForm) HasFlag(code string) bool { return slices.Contains(f.Flags, code) }

// lines splits a one-per-line textarea, dropping blank lines but
// remembering each kept value's line number for error messages.
func lines(s string) (values []string, lineNo []int) {
	for i, l := range strings.Split(s, "\n") {
		l = strings.TrimSuffix(l, "\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		values = append(values, l)
		lineNo = append(lineNo, i+1)
	}
	return values, lineNo
}

// submission turns the form into what intake accepts, with the line
// numbers of the URL and username lists for mapping errors back.
func (f *reportForm) submission(lang string) (sub intake.Submission, urlLines, accountLines []int) {
	sub = intake.Submission{
		Channel:      canopy.ChannelPortal,
		Reporter:     f.Reporter,
		Category:     f.Category,
		Flags:        f.Flags,
		Description:  f.Description,
		Platform:     f.Platform,
		ChildCountry: f.Country,
		Language:     lang,
	}
	sub.URLs, urlLines = lines(f.URLs)
	sub.Accounts, accountLines = lines(f.Accounts)
	if f.Contact {
		// Only when they chose to: the fields are sent even when hidden.
		sub.Contact = &canopy.Contact{Name: f.Name, Email: f.Email, Phone: f.Phone}
	}
	return sub, urlLines, accountLines
}

// formErrors are the problems intake found, translated and tied to the
// form's fields.
type formErrors struct {
	Intro   string              // what the summary says first
	ByField map[string][]string // field -> messages
	General []string            // problems no field on the form owns
}

// summaryItem is one line of the error summary, linked to its field.
type summaryItem struct{ Href, Label, Message string }

// Summary lists the problems in the order of the form.
func (e *formErrors) Summary(c *i18n.Catalog) []summaryItem {
	var items []summaryItem
	for _, f := range fieldOrder {
		for _, m := range e.ByField[f] {
			items = append(items, summaryItem{Href: "#" + fieldTarget[f], Label: c.T(fieldLabel[f]), Message: m})
		}
	}
	for _, m := range e.General {
		items = append(items, summaryItem{Message: m})
	}
	return items
}

// mapErrors translates intake's field errors onto the form. Intake names
// fields as the API does ("urls[2]", "contact.email"); the form has one
// textarea for all the URLs, so an indexed error says which line.
func mapErrors(c *i18n.Catalog, e *canopy.Error, urlLines, accountLines []int) *formErrors {
	fe := &formErrors{Intro: c.T(e.Key), ByField: map[string][]string{}}
	if e.Key == "" {
		fe.Intro = c.T(intake.KeyInvalid)
	}
	for _, f := range e.Fields {
		msg := c.T(f.Key, f.Args...)
		name, idx := splitField(f.Field)
		var field string
		switch name {
		case "reporter":
			field = fReporter
		case "category":
			field = fCategory
		case "flags":
			field = fFlags
		case "description":
			field = fDescription
		case "platform":
			field = fPlatform
		case "child_country":
			field = fCountry
		case "contact.name":
			field = fName
		case "contact.email":
			field = fEmail
		case "contact.phone":
			field = fPhone
		case "body":
			field = fBody
		case "urls":
			field = fURLs
			if idx >= 0 && idx < len(urlLines) {
				msg = c.T("portal.form.line", urlLines[idx], msg)
			}
		case "accounts":
			field = fAccounts
			if idx >= 0 && idx < len(accountLines) {
				msg = c.T("portal.form.line", accountLines[idx], msg)
			}
		}
		if field == "" {
			fe.General = append(fe.General, msg)
			continue
		}
		if !slices.Contains(fe.ByField[field], msg) {
			fe.ByField[field] = append(fe.ByField[field], msg)
		}
	}
	return fe
}

// splitField splits "urls[2]" into "urls", 2; a field without an index
// gives -1.
func splitField(field string) (string, int) {
	open := strings.IndexByte(field, '[')
	if open < 0 || !strings.HasSuffix(field, "]") {
		return field, -1
	}
	n, err := strconv.Atoi(field[open+1 : len(field)-1])
	if err != nil {
		return field, -1
	}
	return field[:open], n
}

// choice is one radio button or checkbox.
type choice struct {
	ID, Name, Value, Label, Desc string
	Checked                      bool
}

func (s *server) reportPage(w http.ResponseWriter, r *http.Request, lang string, f *reportForm) *page {
	p := s.newPage(w, r, lang, "form", "/", "portal.form.title")
	s.withForm(w, r, p)
	c := p.cat
	if f == nil {
		f = &reportForm{}
	}
	p.Form = f
	for _, code := range canopy.PublicReporters {
		p.Reporters = append(p.Reporters, choice{ID: "reporter-" + code, Name: "reporter", Value: code,
			Label: c.T("reporter." + code + ".name"), Checked: f.Reporter == code})
	}
	for _, cat := range canopy.Categories {
		p.Cats = append(p.Cats, choice{ID: "category-" + cat.Code, Name: "category", Value: cat.Code,
			Label: c.T("category." + cat.Code + ".name"), Desc: c.T("category." + cat.Code + ".desc"), Checked: f.Category == cat.Code})
	}
	p.Urgent = choice{ID: "flag-" + canopy.FlagUrgent, Name: "flags", Value: canopy.FlagUrgent,
		Label: c.T("portal.form.urgent.label"), Checked: f.HasFlag(canopy.FlagUrgent)}
	for _, code := range canopy.Flags {
		if code == canopy.FlagUrgent {
			continue
		}
		p.Flags = append(p.Flags, choice{ID: "flag-" + code, Name: "flags", Value: code,
			Label: c.T("flag." + code + ".name"), Checked: f.HasFlag(code)})
	}
	p.Countries = countrySelect(c.Lang, f.Country)
	return p
}

// Invalid reports whether a field has an error, for aria-invalid.
func (p *page) Invalid(field string) bool {
	return p.Errors != nil && len(p.Errors.ByField[field]) > 0
}

// FieldErrors returns a field's translated errors.
func (p *page) FieldErrors(field string) []string {
	if p.Errors == nil {
		return nil
	}
	return p.Errors.ByField[field]
}

// Describe returns the ids for a control's aria-describedby: its hint,
// when it has one, and its error, when there is one.
func (p *page) Describe(field string, hint bool) string {
	var ids []string
	if hint {
		ids = append(ids, field+"-hint")
	}
	if p.Invalid(field) {
		ids = append(ids, field+"-error")
	}
	return strings.Join(ids, " ")
}

// Summary is the error summary of the page.
func (p *page) Summary() []summaryItem {
	if p.Errors == nil {
		return nil
	}
	return p.Errors.Summary(p.cat)
}

func (s *server) reportForm(w http.ResponseWriter, r *http.Request) {
	lang := s.lang(w, r, nil)
	s.render(w, r, http.StatusOK, s.reportPage(w, r, lang, nil))
}

// submitReport stores a report and shows its receipt. The receipt is
// rendered in the POST's own response and never put in a URL, where it
// would stay in the browser's history.
func (s *server) submitReport(w http.ResponseWriter, r *http.Request, req *postRequest) {
	f := parseReportForm(req)
	if req.failure != 0 {
		p := s.reportPage(w, r, req.lang, f)
		p.problem(req.failureKey)
		s.render(w, r, req.failure, p)
		return
	}
	sub, urlLines, accountLines := f.submission(req.lang)
	rc, err := s.intake.Submit(r.Context(), sub)
	if err != nil {
		e := canopy.AsError(err)
		p := s.reportPage(w, r, req.lang, f)
		status := statusOf(e.Code)
		if e.Code == canopy.EINVALID {
			p.Errors = mapErrors(p.cat, e, urlLines, accountLines)
		} else {
			if status >= 500 {
				s.log.Error("portal: submit report", "err", err)
			}
			p.problem(bannerKey(e))
		}
		s.render(w, r, status, p)
		return
	}
	p := s.newPage(w, r, req.lang, "receipt", "/", "portal.receipt.title")
	p.Receipt = newReceiptView(rc.Code)
	s.render(w, r, http.StatusOK, p)
}

// statusOf maps the node's error codes to HTTP statuses, for pages.
func statusOf(code string) int {
	switch code {
	case canopy.EINVALID:
		return http.StatusUnprocessableEntity
	case canopy.ENOTFOUND:
		return http.StatusNotFound
	case canopy.ECONFLICT:
		return http.StatusConflict
	case canopy.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case canopy.EFORBIDDEN:
		return http.StatusForbidden
	case canopy.ETOOMANY:
		return http.StatusTooManyRequests
	case canopy.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case canopy.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// bannerKey is the message shown for an error that no field owns. An
// internal error's own key is for the log; the person gets the kind one.
func bannerKey(e *canopy.Error) string {
	if e.Code != canopy.EINTERNAL {
		if knownKey(e.Key) {
			return e.Key
		}
		if knownKey("error." + e.Code) {
			return "error." + e.Code
		}
	}
	return "error.internal"
}

func knownKey(k string) bool { return i18n.Get("en").Has(k) }

// receiptView is a receipt code laid out to be copied and read aloud.
type receiptView struct {
	Code    string   // as issued, for the copy button
	Groups  []string // "K7QM", "3XPA", …
	Spelled string   // "K 7 Q M, 3 X P A, …" for screen readers
}

func newReceiptView(code string) *receiptView {
	v := &receiptView{Code: code, Groups: strings.Split(code, "-")}
	spelled := make([]string, len(v.Groups))
	for i, g := range v.Groups {
		spelled[i] = strings.Join(strings.Split(g, ""), " ")
	}
	v.Spelled = strings.Join(spelled, ", ")
	return v
}
