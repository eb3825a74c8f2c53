package workspace

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/support"
)

// The service directory: administrators and caseworkers keep the list of
// providers and their services that the portal's "Find help" page
// searches and that caseworkers refer children to. internal/support takes
// an actor, not an account, so these handlers check access.ServiceManage
// themselves (s.require, which audits a refusal). Nothing is deleted:
// a provider or a service that closed is deactivated, and the finder no
// longer shows it.

func init() {
	pageNames = append(pageNames, "services", "services_provider", "services_service")
	messageSets = append(messageSets, serviceMessages)
	for name, fn := range serviceFuncs {
		funcs[name] = fn
	}
}

// serviceRoutes registers the pages of the support directory.
func (s *server) serviceRoutes(handle func(string, http.HandlerFunc)) {
	// The forms the directory's pages share (services_form.html): a
	// provider's fields, contact details, and a service.
	for _, name := range []string{"services", "services_provider", "services_service"} {
		template.Must(s.pages.t[name].ParseFS(templateFiles, "templates/services_form.html"))
	}
	handle("GET /staff/services", s.signedIn(s.servicesHome))
	handle("GET /staff/services/export", s.signedIn(s.exportServices))
	handle("POST /staff/services/import", s.upload(s.signedIn(s.importServices)))
	handle("POST /staff/services/providers", s.post(s.signedIn(s.addProvider)))
	handle("GET /staff/services/providers/{id}", s.signedIn(s.providerPage))
	handle("POST /staff/services/providers/{id}", s.post(s.signedIn(s.changeProvider)))
	handle("POST /staff/services/providers/{id}/state", s.post(s.signedIn(s.setProviderState)))
	handle("POST /staff/services/providers/{id}/services", s.post(s.signedIn(s.addService)))
	handle("GET /staff/services/providers/{id}/services/{service}", s.signedIn(s.servicePage))
	handle("POST /staff/services/providers/{id}/services/{service}", s.post(s.signedIn(s.changeService)))
	handle("POST /staff/services/providers/{id}/services/{service}/state", s.post(s.signedIn(s.setServiceState)))
}

// serviceMessages are the directory's messages for staff.
var serviceMessages = map[string]string{
	support.KeyDirectoryID:          "Use 1 to 64 lower-case letters, digits, dots, hyphens or underscores, starting with a letter or a digit, such as ngo-lyon. Leave it empty for the node to make one.",
	support.KeyDirectoryAges:        "Give whole years from 0 to 99, the youngest age first.",
	support.KeyDirectoryLanguage:    "Use ISO 639 language codes separated by spaces, such as fr ar fsl.",
	support.KeyProviderNotFound:     "There is no such provider.",
	support.KeyProviderExists:       "There is already a provider with this id.",
	support.KeyServiceOfferNotFound: "There is no such service.",
	support.KeyServiceOfferExists:   "There is already a service with this id.",
	support.KeyImportInvalid:        "Nothing was imported: the file has the problems listed below. Correct them and import the whole file again.",
	support.KeyImportSyntax:         "This line is not valid CSV: a quotation mark is out of place, or a quoted cell does not end.",
	support.KeyImportColumns:        "The first line lacks a column the directory needs.",
	support.KeyImportColumn:         "The first line has a column the directory does not have.",
	support.KeyImportFields:         "This line has more or fewer cells than the first line.",
	support.KeyImportBool:           "Use yes or no.",
	support.KeyImportNumber:         "Use a whole number, such as 12.",
	support.KeyImportEmpty:          "The file has no line after the first.",
	support.KeyImportTooMany:        "The file has too many lines. Split it and import each part.",
	support.KeyImportDuplicate:      "This service id is on an earlier line too.",
	support.KeyImportDiffers:        "This provider's details differ from those on an earlier line with the same provider_id.",
	support.KeyImportNoService:      "This line has a service's details but no service_id.",
	"error.directory.file":          "Choose a CSV file, or paste the directory below.",
	"error.directory.age_number":    "Use a whole number of years, such as 12.",
}

var serviceFuncs = template.FuncMap{
	"dirkind":     func(code string) string { return word(dirKindNames, code) },
	"diraccess":   func(code string) string { return word(dirAccessNames, code) },
	"dircapacity": func(code string) string { return word(dirCapacityNames, code) },
	"dirlang":     dirLanguageName,
	"dirstate": func(active bool) string {
		if active {
			return "Active"
		}
		return "Inactive"
	},
}

// dirKindNames name the kinds of service for staff.
var dirKindNames = map[string]string{
	canopy.ServiceMedical:     "Medical examination and care",
	canopy.ServiceCounselling: "Trauma-informed counselling",
	canopy.ServiceLegal:       "Legal aid",
	canopy.ServiceShelter:     "Shelter",
	canopy.ServiceHelpline:    "Helpline",
	canopy.ServiceEducation:   "Education and reintegration",
}

var dirAccessNames = map[string]string{
	canopy.AccessStepFree:     "Step-free access",
	canopy.AccessHearingLoop:  "Hearing loop",
	canopy.AccessSignLanguage: "Sign language",
	canopy.AccessInterpreter:  "Interpreters on request",
	canopy.AccessEasyRead:     "Easy-read information",
	canopy.AccessTextChat:     "Text message or chat",
	canopy.AccessRemote:       "By phone or video",
}

var dirCapacityNames = map[string]string{
	"":                      "Not known",
	canopy.CapacityOpen:     "Taking new people",
	canopy.CapacityWaitlist: "Waiting list",
	canopy.CapacityFull:     "Full for now",
}

// dirLanguageName is a language's English name, with its code.
func dirLanguageName(code string) string {
	if tag, err := language.Parse(code); err == nil {
		if n := display.English.Languages().Name(tag); n != "" {
			return n + " (" + code + ")"
		}
	}
	return code
}

var serviceNotices = map[string]string{
	"provider_added":   "The provider is added. Add its services below.",
	"provider_changed": "The provider is changed.",
	"provider_off":     "The provider is deactivated: the finder shows none of its services until it is activated again.",
	"provider_on":      "The provider is active again. Its active services are shown in the finder.",
	"service_added":    "The service is added. The finder shows it from now on.",
	"service_changed":  "The service is changed.",
	"service_off":      "The service is deactivated: the finder no longer shows it.",
	"service_on":       "The service is active again.",
}

// providerForm is the provider form as typed.
type providerForm struct {
	ID, Name, Website, Phone, Email string
}

func readProviderForm(r *http.Request) providerForm {
	g := r.PostForm.Get
	return providerForm{ID: g("id"), Name: g("name"), Website: g("website"), Phone: g("phone"), Email: g("email")}
}

func (f providerForm) provider() canopy.Provider {
	return canopy.Provider{ID: f.ID, Name: f.Name, Website: f.Website, Phone: f.Phone, Email: f.Email}
}

func providerFormOf(p *canopy.Provider) providerForm {
	return providerForm{ID: p.ID, Name: p.Name, Website: p.Website, Phone: p.Phone, Email: p.Email}
}

// serviceForm is the service form as typed.
type serviceForm struct {
	ID, Name, Description, Country, Regions, Languages string
	MinAge, MaxAge, Hours, Phone, Website, Email       string
	Capacity                                           string
	Needs, Access                                      []string
	AlwaysOpen, Free, Confidential                     bool
}

// Has reports whether a box of the needs or access groups is ticked.
func (f serviceForm) Has(code string) bool {
	return slices.Contains(f.Needs, code) || slices.Contains(f.Access, code)
}

func readServiceForm(r *http.Request) serviceForm {
	g := r.PostForm.Get
	return serviceForm{ID: g("id"), Name: g("name"), Description: g("description"), Country: g("country"), Regions: g("regions"),
		Languages: g("languages"), MinAge: g("min_age"), MaxAge: g("max_age"), Hours: g("hours"), Phone: g("phone"),
		Website: g("website"), Email: g("email"), Capacity: g("capacity"), Needs: r.PostForm["needs"], Access: r.PostForm["access"],
		AlwaysOpen: g("always_open") == "yes", Free: g("free") == "yes", Confidential: g("confidential") == "yes"}
}

// offer turns the form into a service, with the problems only the form
// can have (an age that is not a number).
func (f serviceForm) offer(providerID string) (canopy.ServiceOffer, []canopy.FieldError) {
	var bad []canopy.FieldError
	age := func(field, v string) int {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			key := "error.directory.age_number"
			if strings.TrimSpace(v) == "" {
				key = "error.required"
			}
			bad = append(bad, canopy.FieldError{Field: field, Key: key})
		}
		return n
	}
	o := canopy.ServiceOffer{ID: f.ID, ProviderID: providerID, Name: f.Name, Needs: f.Needs, Description: f.Description,
		Country: f.Country, Regions: support.DirectoryRegions(f.Regions), Languages: support.DirectoryCodes(f.Languages),
		Ages: canopy.AgeRange{Min: age("min_age", f.MinAge), Max: age("max_age", f.MaxAge)}, Access: f.Access, Hours: f.Hours,
		AlwaysOpen: f.AlwaysOpen, Phone: f.Phone, Website: f.Website, Email: f.Email, Free: f.Free, Confidential: f.Confidential,
		Capacity: f.Capacity}
	return o, bad
}

func serviceFormOf(o *canopy.ServiceOffer) serviceForm {
	return serviceForm{ID: o.ID, Name: o.Name, Description: o.Description, Country: o.Country, Regions: strings.Join(o.Regions, "\n"),
		Languages: strings.Join(o.Languages, " "), MinAge: strconv.Itoa(o.Ages.Min), MaxAge: strconv.Itoa(o.Ages.Max), Hours: o.Hours,
		Phone: o.Phone, Website: o.Website, Email: o.Email, Capacity: o.Capacity, Needs: o.Needs, Access: o.Access,
		AlwaysOpen: o.AlwaysOpen, Free: o.Free, Confidential: o.Confidential}
}

var serviceLabels = map[string]string{
	"id": "Id", "name": "Name", "website": "Web address", "phone": "Phone number", "email": "Email address",
	"provider_id": "Provider", "needs": "Kinds of help", "description": "Description", "country": "Country", "regions": "Regions",
	"languages": "Languages", "min_age": "Youngest age", "max_age": "Oldest age", "access": "Accessibility", "hours": "Opening hours",
	"capacity": "Capacity",
}

var serviceTargets = map[string]string{"needs": "needs-" + canopy.ServiceNeeds[0], "access": "access-" + canopy.Accessibility[0]}

// dirFormErrors are a form's errors under the names its controls have on
// the page: the field's name after the form's prefix x.
func dirFormErrors(x string, fields []canopy.FieldError) *formErrors {
	labels, targets := map[string]string{}, map[string]string{}
	out := make([]canopy.FieldError, len(fields))
	for i, f := range fields {
		out[i] = f
		out[i].Field = x + f.Field
		labels[x+f.Field] = serviceLabels[f.Field]
		targets[x+f.Field] = x + f.Field
		if t, ok := serviceTargets[f.Field]; ok {
			targets[x+f.Field] = x + t
		}
	}
	return newFormErrors(out, labels, targets)
}

// servicesView is the directory's front page.
type servicesView struct {
	Entries  []support.DirectoryEntry
	Services int // how many services in all
	Active   int // of them, how many the finder may show
	Add      providerForm
	// The outcome of an import, shown once on the page that answers it.
	Imported *support.ImportResult
	Lines    []importLine
	More     bool
	Pasted   string
}

// importLine is one problem of an import, in words.
type importLine struct {
	Line           int
	Column, Detail string
}

func (s *server) servicesPage(w http.ResponseWriter, r *http.Request, m *member) (*page, *servicesView, bool) {
	if !s.require(w, r, m, access.ServiceManage) {
		return nil, nil, false
	}
	entries, err := s.support.Directory(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return nil, nil, false
	}
	v := &servicesView{Entries: entries}
	for _, e := range entries {
		v.Services += len(e.Services)
		for _, o := range e.Services {
			if o.Active && e.Provider.Active {
				v.Active++
			}
		}
	}
	p := s.newPage(r, "services", "Services", m)
	s.withForm(w, r, p)
	return p, v, true
}

func (s *server) servicesHome(w http.ResponseWriter, r *http.Request, m *member) {
	p, v, ok := s.servicesPage(w, r, m)
	if !ok {
		return
	}
	p.Notice = serviceNotices[r.URL.Query().Get("done")]
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

// exportServices sends the whole directory as the CSV file the import
// reads: a backup, a template to fill in, or a list for another node.
func (s *server) exportServices(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.ServiceManage) {
		return
	}
	var buf bytes.Buffer
	if err := s.support.ExportDirectory(r.Context(), &buf); err != nil {
		s.internalError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{
		"filename": "directory-" + s.now().UTC().Format("2006-01-02") + ".csv"}))
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

// maxUpload bounds an import's request: the largest file the directory
// takes, and room for the form around it.
const maxUpload = support.MaxImportBytes + 64<<10

// upload wraps the import: the one form of the workspace that sends a
// file, as multipart/form-data, which s.post does not read. It caps the
// body, reads the parts in memory (a directory is not worth a temporary
// file), checks the form token like every POST, and leaves the file's
// content in r.PostForm under "file", beside a pasted directory's "csv".
func (s *server) upload(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxUpload)
		var err error
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
			err = readUpload(r)
		} else {
			err = r.ParseForm()
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				s.message(w, r, http.StatusRequestEntityTooLarge, "Too much at once",
					fmt.Sprintf("The file is larger than the %d MiB an import takes. Split it and import each part.", support.MaxImportBytes>>20))
				return
			}
			s.message(w, r, http.StatusBadRequest, "Could not read the form", "Please go back and try again.")
			return
		}
		if !s.validToken(r, r.PostForm.Get("csrf")) {
			s.message(w, r, http.StatusForbidden, "This form has expired", "Nothing was changed. Please go back, reload the page and try again.")
			return
		}
		h(w, r)
	}
}

// readUpload reads a multipart form's fields, the chosen file's content
// under "file" among them, into r.PostForm.
func readUpload(r *http.Request) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return err
	}
	r.PostForm = map[string][]string{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		b, err := io.ReadAll(part)
		part.Close()
		if err != nil {
			return err
		}
		r.PostForm[part.FormName()] = append(r.PostForm[part.FormName()], string(b))
	}
}

func (s *server) importServices(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.ServiceManage) {
		return
	}
	data, pasted := r.PostForm.Get("file"), false
	if strings.TrimSpace(data) == "" {
		data, pasted = r.PostForm.Get("csv"), true
	}
	if strings.TrimSpace(data) == "" {
		p, v, ok := s.servicesPage(w, r, m)
		if !ok {
			return
		}
		p.Errors = newFormErrors([]canopy.FieldError{{Field: "file", Key: "error.directory.file"}}, map[string]string{"file": "File"}, nil)
		p.Data = v
		s.render(w, r, http.StatusUnprocessableEntity, p)
		return
	}
	res, err := s.support.ImportDirectory(r.Context(), audit.Staff(m.account.ID), strings.NewReader(data))
	if err != nil && canopy.ErrorCode(err) != canopy.EINVALID {
		if canopy.ErrorCode(err) == canopy.ETOOLARGE {
			s.messageFor(w, r, http.StatusRequestEntityTooLarge, m, messageView{Heading: "Too much at once",
				Detail: fmt.Sprintf("The file is larger than the %d MiB an import takes. Split it and import each part.", support.MaxImportBytes>>20),
				Link:   "/staff/services", LinkLabel: "Back to the services"})
			return
		}
		s.fail(w, r, m, err)
		return
	}
	p, v, ok := s.servicesPage(w, r, m)
	if !ok {
		return
	}
	p.Data = v
	if err != nil {
		v.Lines, v.More = importLines(res), res.More
		if pasted && len(data) <= 64<<10 {
			v.Pasted = data // what was pasted stays, to be corrected
		}
		p.Errors = formError(messageOf(support.KeyImportInvalid))
		s.render(w, r, http.StatusUnprocessableEntity, p)
		return
	}
	v.Imported = res
	p.Notice = fmt.Sprintf("Imported. Providers: %d added, %d changed, %d unchanged. Services: %d added, %d changed, %d unchanged.",
		res.ProvidersAdded, res.ProvidersChanged, res.ProvidersUnchanged, res.ServicesAdded, res.ServicesChanged, res.ServicesUnchanged)
	s.render(w, r, http.StatusOK, p)
}

// importLines puts an import's problems in words, with the values the
// message refers to.
func importLines(res *support.ImportResult) []importLine {
	var out []importLine
	for _, e := range res.Errors {
		msg := messageOf(e.Key, e.Args...)
		switch e.Key {
		case support.KeyImportColumns:
			msg = fmt.Sprintf("The first line lacks the column %v.", e.Args[0])
		case support.KeyImportColumn:
			msg = fmt.Sprintf("The first line has a column the directory does not have: %q.", e.Args[0])
		case support.KeyImportDuplicate, support.KeyImportDiffers:
			msg += fmt.Sprintf(" (line %v)", e.Args[0])
		case "error.too_long", "error.too_many":
			msg = strings.TrimSuffix(msg, ".") + fmt.Sprintf(": at most %v.", e.Args[0])
		}
		out = append(out, importLine{Line: e.Line, Column: e.Field, Detail: msg})
	}
	return out
}

func (s *server) addProvider(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.ServiceManage) {
		return
	}
	f := readProviderForm(r)
	p, err := s.support.AddProvider(r.Context(), audit.Staff(m.account.ID), f.provider())
	if err != nil {
		e := canopy.AsError(err)
		if e.Code == canopy.ECONFLICT {
			e = &canopy.Error{Code: canopy.EINVALID, Fields: []canopy.FieldError{{Field: "id", Key: e.Key}}}
		}
		if e.Code != canopy.EINVALID {
			s.fail(w, r, m, err)
			return
		}
		pg, v, ok := s.servicesPage(w, r, m)
		if !ok {
			return
		}
		v.Add = f
		pg.Errors = dirFormErrors("", e.Fields)
		pg.Data = v
		s.render(w, r, http.StatusUnprocessableEntity, pg)
		return
	}
	http.Redirect(w, r, "/staff/services/providers/"+p.ID+"?done=provider_added", http.StatusSeeOther)
}

// providerView is a provider's page.
type providerView struct {
	Provider *canopy.Provider
	Services []*canopy.ServiceOffer
	Form     providerForm
	Add      serviceForm
}

func (s *server) providerPageData(w http.ResponseWriter, r *http.Request, m *member) (*page, *providerView, bool) {
	if !s.require(w, r, m, access.ServiceManage) {
		return nil, nil, false
	}
	p, err := s.support.Provider(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, m, err)
		return nil, nil, false
	}
	entries, err := s.support.Directory(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return nil, nil, false
	}
	v := &providerView{Provider: p, Form: providerFormOf(p), Add: serviceForm{MinAge: "0", MaxAge: "17"}}
	for _, e := range entries {
		if e.Provider.ID == p.ID {
			v.Services = e.Services
		}
	}
	pg := s.newPage(r, "services_provider", p.Name, m)
	s.withForm(w, r, pg)
	return pg, v, true
}

func (s *server) providerPage(w http.ResponseWriter, r *http.Request, m *member) {
	p, v, ok := s.providerPageData(w, r, m)
	if !ok {
		return
	}
	p.Notice = serviceNotices[r.URL.Query().Get("done")]
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

func (s *server) changeProvider(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.ServiceManage) {
		return
	}
	f := readProviderForm(r)
	id := r.PathValue("id")
	_, err := s.support.UpdateProvider(r.Context(), audit.Staff(m.account.ID), id, func(p *canopy.Provider) {
		p.Name, p.Website, p.Phone, p.Email = f.Name, f.Website, f.Phone, f.Email
	})
	if e := canopy.AsError(err); err != nil && e.Code == canopy.EINVALID {
		p, v, ok := s.providerPageData(w, r, m)
		if !ok {
			return
		}
		f.ID = id
		v.Form = f
		p.Errors = dirFormErrors("p-", e.Fields)
		p.Data = v
		s.render(w, r, http.StatusUnprocessableEntity, p)
		return
	} else if err != nil {
		s.fail(w, r, m, err)
		return
	}
	http.Redirect(w, r, "/staff/services/providers/"+id+"?done=provider_changed", http.StatusSeeOther)
}

func (s *server) setProviderState(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.ServiceManage) {
		return
	}
	active := r.PostForm.Get("active") == "yes"
	id := r.PathValue("id")
	if _, err := s.support.SetProviderActive(r.Context(), audit.Staff(m.account.ID), id, active); err != nil {
		s.fail(w, r, m, err)
		return
	}
	done := map[bool]string{true: "provider_on", false: "provider_off"}[active]
	http.Redirect(w, r, "/staff/services/providers/"+id+"?done="+done, http.StatusSeeOther)
}

func (s *server) addService(w http.ResponseWriter, r *http.Request, m *member) {
	if !s.require(w, r, m, access.ServiceManage) {
		return
	}
	f := readServiceForm(r)
	id := r.PathValue("id")
	o, bad := f.offer(id)
	var err error
	var added *canopy.ServiceOffer
	if len(bad) == 0 {
		added, err = s.support.AddServiceOffer(r.Context(), audit.Staff(m.account.ID), o)
	}
	if e := canopy.AsError(err); len(bad) > 0 || (err != nil && (e.Code == canopy.EINVALID || e.Code == canopy.ECONFLICT)) {
		if err != nil && e.Code == canopy.ECONFLICT {
			e = &canopy.Error{Code: canopy.EINVALID, Fields: []canopy.FieldError{{Field: "id", Key: e.Key}}}
		}
		p, v, ok := s.providerPageData(w, r, m)
		if !ok {
			return
		}
		v.Add = f
		p.Errors = dirFormErrors("s-", serviceFieldErrors(bad, err, e))
		p.Data = v
		s.render(w, r, http.StatusUnprocessableEntity, p)
		return
	} else if err != nil {
		s.fail(w, r, m, err)
		return
	}
	http.Redirect(w, r, "/staff/services/providers/"+id+"/services/"+added.ID+"?done=service_added", http.StatusSeeOther)
}

// serviceFieldErrors joins the form's own problems to the service's,
// one message a field.
func serviceFieldErrors(bad []canopy.FieldError, err error, e *canopy.Error) []canopy.FieldError {
	out := slices.Clone(bad)
	if err != nil {
		for _, f := range e.Fields {
			if !slices.ContainsFunc(out, func(x canopy.FieldError) bool { return x.Field == f.Field }) {
				out = append(out, f)
			}
		}
	}
	return out
}

// serviceView is a service's page.
type serviceView struct {
	Provider *canopy.Provider
	Service  *canopy.ServiceOffer
	Form     serviceForm
}

func (s *server) servicePageData(w http.ResponseWriter, r *http.Request, m *member) (*page, *serviceView, bool) {
	if !s.require(w, r, m, access.ServiceManage) {
		return nil, nil, false
	}
	o, err := s.support.ServiceOffer(r.Context(), r.PathValue("service"))
	if err == nil && o.ProviderID != r.PathValue("id") {
		err = &canopy.Error{Code: canopy.ENOTFOUND, Key: support.KeyServiceOfferNotFound}
	}
	if err != nil {
		s.fail(w, r, m, err)
		return nil, nil, false
	}
	prov, err := s.support.Provider(r.Context(), o.ProviderID)
	if err != nil {
		s.fail(w, r, m, err)
		return nil, nil, false
	}
	name := o.Name
	if name == "" {
		name = prov.Name
	}
	p := s.newPage(r, "services_service", name, m)
	s.withForm(w, r, p)
	return p, &serviceView{Provider: prov, Service: o, Form: serviceFormOf(o)}, true
}

func (s *server) servicePage(w http.ResponseWriter, r *http.Request, m *member) {
	p, v, ok := s.servicePageData(w, r, m)
	if !ok {
		return
	}
	p.Notice = serviceNotices[r.URL.Query().Get("done")]
	p.Data = v
	s.render(w, r, http.StatusOK, p)
}

func (s *server) changeService(w http.ResponseWriter, r *http.Request, m *member) {
	p, v, ok := s.servicePageData(w, r, m)
	if !ok {
		return
	}
	f := readServiceForm(r)
	f.ID = v.Service.ID
	o, bad := f.offer(v.Service.ProviderID)
	var err error
	if len(bad) == 0 {
		_, err = s.support.UpdateServiceOffer(r.Context(), audit.Staff(m.account.ID), v.Service.ID, func(x *canopy.ServiceOffer) {
			active := x.Active
			*x = o
			x.Active = active
		})
	}
	if e := canopy.AsError(err); len(bad) > 0 || (err != nil && e.Code == canopy.EINVALID) {
		v.Form = f
		p.Errors = dirFormErrors("", serviceFieldErrors(bad, err, e))
		p.Data = v
		s.render(w, r, http.StatusUnprocessableEntity, p)
		return
	} else if err != nil {
		s.fail(w, r, m, err)
		return
	}
	http.Redirect(w, r, "/staff/services/providers/"+v.Provider.ID+"/services/"+v.Service.ID+"?done=service_changed", http.StatusSeeOther)
}

func (s *server) setServiceState(w http.ResponseWriter, r *http.Request, m *member) {
	_, v, ok := s.servicePageData(w, r, m)
	if !ok {
		return
	}
	active := r.PostForm.Get("active") == "yes"
	if _, err := s.support.SetServiceOfferActive(r.Context(), audit.Staff(m.account.ID), v.Service.ID, active); err != nil {
		s.fail(w, r, m, err)
		return
	}
	done := map[bool]string{true: "service_on", false: "service_off"}[active]
	http.Redirect(w, r, "/staff/services/providers/"+v.Provider.ID+"/services/"+v.Service.ID+"?done="+done, http.StatusSeeOther)
}

// The choices the service form offers, for its templates.
func (p *page) ServiceNeeds() []string      { return canopy.ServiceNeeds }
func (p *page) ServiceAccess() []string     { return canopy.Accessibility }
func (p *page) ServiceCapacities() []string { return append([]string{""}, canopy.Capacities...) }

// ServiceFormOf is what the "serviceform" template needs: the form as
// typed, where it posts, and whether it adds a service. x is as for
// ProviderFields.
func (p *page) ServiceFormOf(x string, f serviceForm, action string, add bool) serviceFormView {
	return serviceFormView{P: p, X: x, F: f, Action: action, Add: add}
}

// ProviderFields is what the "providerfields" template needs. x
// prefixes the ids of a form's controls and the names its errors are
// kept under, where one page has two forms with fields of one name.
func (p *page) ProviderFields(x string, f providerForm) providerFieldsView {
	return providerFieldsView{P: p, X: x, F: f}
}

type providerFieldsView struct {
	P *page
	X string
	F providerForm
}

// ContactFields is what the "contactfields" template needs: the values,
// and what the hint says of whose contact it is.
func (p *page) ContactFields(x, website, phone, email, hint string) contactFieldsView {
	return contactFieldsView{P: p, X: x, Website: website, Phone: phone, Email: email, Hint: hint}
}

type contactFieldsView struct {
	P                              *page
	X, Website, Phone, Email, Hint string
}

// serviceFormView is what services_form.html needs.
type serviceFormView struct {
	P      *page
	X      string
	F      serviceForm
	Action string
	Add    bool // a new service: its id may be chosen
}
