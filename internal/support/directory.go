package support

import (
	"context"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/audit"
	"github.com/canopy-org/canopy/internal/store"
)

// The service directory: who helps children after harm, what they offer,
// where, to whom and how to reach them. Administrators and caseworkers
// keep it (access.ServiceManage, checked by the workspace); every change
// is audited with the ids of what changed and the names of the fields,
// never their values. The public finder (directory_find.go) reads only
// what is active.

// Limits on the directory's fields, in characters.
const (
	maxDirName        = 200
	maxDirDescription = 1000
	maxDirHours       = 200
	maxDirRegion      = 100
	maxDirRegions     = 50
	maxDirLanguages   = 40
	maxDirURL         = 500
	maxDirEmail       = 254
	maxDirPhone       = 40
)

// directoryID is the form of provider and service ids: short, lower-case,
// safe in URLs, file names and the audit log.
var directoryID = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Message keys the directory returns beyond the portal's own. The
// workspace words them for staff; `canopy services import` prints them.
const (
	KeyDirectoryID          = "error.directory.id"                 // not a valid id
	KeyDirectoryAges        = "error.directory.ages"               // not 0 ≤ min ≤ max ≤ 99
	KeyDirectoryLanguage    = "error.directory.language"           // not an ISO 639 code
	KeyProviderNotFound     = "error.directory.provider_not_found" // no such provider
	KeyProviderExists       = "error.directory.provider_exists"    // the id is taken
	KeyServiceOfferNotFound = "error.directory.service_not_found"  // no such service
	KeyServiceOfferExists   = "error.directory.service_exists"     // the id is taken
	dirRequired             = "error.required"
	dirTooLong              = "error.too_long"
	dirTooMany              = "error.too_many"
	dirUnknownCode          = "error.unknown_code"
	dirInvalidUTF8          = "error.invalid_utf8"
	dirControlChars         = "error.control_chars"
	dirDuplicate            = "error.duplicate"
	dirCountry              = "error.country.unknown"
	dirURL                  = "error.url.invalid"
	dirURLScheme            = "error.url.scheme"
	dirEmail                = "error.email.invalid"
	dirPhone                = "error.phone.invalid"
	dirInvalid              = "error.invalid"
	dirSeparators           = ",; \t\n\r"
)

// dirCheck gathers a record's problems, so a form or a CSV line shows
// them all at once.
type dirCheck struct{ errs []canopy.FieldError }

func (c *dirCheck) add(field, key string, args ...any) {
	c.errs = append(c.errs, canopy.FieldError{Field: field, Key: key, Args: args})
}

func (c *dirCheck) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return &canopy.Error{Code: canopy.EINVALID, Key: dirInvalid, Fields: c.errs}
}

// text trims a free-text field and checks it: UTF-8, no control
// characters (line breaks only where multiline), at most max characters.
func (c *dirCheck) text(field, s string, max int, required, multiline bool) string {
	if !utf8.ValidString(s) {
		c.add(field, dirInvalidUTF8)
		return s
	}
	if multiline {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	s = strings.TrimSpace(s)
	for _, r := range s {
		if canopy.IsControlRune(r) && !(multiline && r == '\n') {
			c.add(field, dirControlChars)
			return s
		}
	}
	switch {
	case s == "" && required:
		c.add(field, dirRequired)
	case utf8.RuneCountInString(s) > max:
		c.add(field, dirTooLong, max)
	}
	return s
}

func (c *dirCheck) id(field, s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		c.add(field, dirRequired)
	case !directoryID.MatchString(s):
		c.add(field, KeyDirectoryID)
	}
	return s
}

// contact checks the three ways to reach a provider or a service; all are
// optional.
func (c *dirCheck) contact(website, phone, email *string) {
	*website = c.website("website", *website)
	*phone = strings.TrimSpace(*phone)
	if *phone != "" && (len(*phone) > maxDirPhone || !validDirPhone(*phone)) {
		c.add("phone", dirPhone)
	}
	*email = strings.TrimSpace(*email)
	if *email != "" && (len(*email) > maxDirEmail || !validDirEmail(*email)) {
		c.add("email", dirEmail)
	}
}

// website returns an http or https address with its scheme: a bare
// "example.org/help" gets https://. The portal links to it, so nothing
// else (javascript:, data:) may pass.
func (c *dirCheck) website(field, s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if len(s) > maxDirURL {
		c.add(field, dirTooLong, maxDirURL)
		return s
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || canopy.IsControlRune(r) }) {
		c.add(field, dirURL)
		return s
	}
	if !strings.Contains(s, "://") {
		if i := strings.IndexByte(s, ':'); i >= 0 && !strings.ContainsAny(s[:i], "./") {
			c.add(field, dirURLScheme) // mailto:, javascript:, tel:…
			return s
		}
		s = "https://" + strings.TrimPrefix(s, "//")
	}
	u, err := url.Parse(s)
	if err != nil {
		c.add(field, dirURL)
		return s
	}
	if u.Scheme = strings.ToLower(u.Scheme); u.Scheme != "http" && u.Scheme != "https" {
		c.add(field, dirURLScheme)
		return s
	}
	host := u.Hostname()
	if u.User != nil || host == "" || !strings.Contains(strings.Trim(host, "."), ".") || strings.ContainsAny(host, "_*%") {
		c.add(field, dirURL)
		return s
	}
	u.Host = strings.ToLower(u.Host)
	return u.String()
}

func validDirPhone(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')', r == '.':
		default:
			return false
		}
	}
	return digits >= 3 && digits <= 17
}

func validDirEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	_, domain, ok := strings.Cut(s, "@")
	return ok && strings.Contains(domain, ".")
}

// codes checks a list of codes against a vocabulary, dropping repeats and
// keeping the vocabulary's order.
func (c *dirCheck) codes(field string, list []string, vocabulary []string, required bool) []string {
	var out []string
	for _, v := range list {
		v = strings.ToLower(strings.TrimSpace(v))
		if v == "" {
			continue
		}
		if !slices.Contains(vocabulary, v) {
			c.add(field, dirUnknownCode)
			return list
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		if required {
			c.add(field, dirRequired)
		}
		return nil
	}
	var ordered []string
	for _, v := range vocabulary {
		if slices.Contains(out, v) {
			ordered = append(ordered, v)
		}
	}
	return ordered
}

// languages checks ISO 639 codes and writes each in its shortest form
// (so "fre" and "fra" are "fr"), keeping the order given: staff list
// first the language most spoken.
func (c *dirCheck) languages(field string, list []string) []string {
	var out []string
	for _, v := range list {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		code, ok := DirectoryLanguage(v)
		if !ok {
			c.add(field, KeyDirectoryLanguage)
			return list
		}
		if slices.Contains(out, code) {
			continue
		}
		if len(out) == maxDirLanguages {
			c.add(field, dirTooMany, maxDirLanguages)
			return out
		}
		out = append(out, code)
	}
	if len(out) == 0 {
		c.add(field, dirRequired)
	}
	return out
}

// DirectoryLanguage returns the shortest ISO 639 code of a language given
// as a two- or three-letter code ("fra", "fre" and "fr" are all "fr"), and
// whether it names one language. Codes for no language in particular
// (und, mul, zxx, mis) and the private-use range qaa–qtz are refused: a
// finder cannot match them.
func DirectoryLanguage(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) < 2 || len(s) > 3 || strings.IndexFunc(s, func(r rune) bool { return r < 'a' || r > 'z' }) >= 0 {
		return "", false
	}
	if t, ok := bibliographic[s]; ok {
		s = t
	}
	if s == "und" || s == "mul" || s == "zxx" || s == "mis" || (len(s) == 3 && s[0] == 'q' && s[1] <= 't') {
		return "", false
	}
	b, err := language.ParseBase(s)
	if err != nil {
		return "", false
	}
	return b.String(), true
}

// bibliographic maps the ISO 639-2/B codes, which librarians and some
// spreadsheets use, to the terminology codes BCP 47 knows.
var bibliographic = map[string]string{
	"alb": "sqi", "arm": "hye", "baq": "eus", "bur": "mya", "chi": "zho", "cze": "ces", "dut": "nld", "fre": "fra",
	"geo": "kat", "ger": "deu", "gre": "ell", "ice": "isl", "mac": "mkd", "mao": "mri", "may": "msa", "per": "fas",
	"rum": "ron", "slo": "slk", "tib": "bod", "wel": "cym",
}

// checkProvider validates and normalises a provider's editable fields.
func checkProvider(p *canopy.Provider) error {
	c := &dirCheck{}
	p.ID = c.id("id", p.ID)
	p.Name = c.text("name", p.Name, maxDirName, true, false)
	c.contact(&p.Website, &p.Phone, &p.Email)
	return c.err()
}

// checkOffer validates and normalises a service's editable fields.
func checkOffer(o *canopy.ServiceOffer) error {
	c := &dirCheck{}
	o.ID = c.id("id", o.ID)
	o.ProviderID = c.id("provider_id", o.ProviderID)
	o.Name = c.text("name", o.Name, maxDirName, false, false)
	o.Needs = c.codes("needs", o.Needs, canopy.ServiceNeeds, true)
	o.Description = c.text("description", o.Description, maxDirDescription, false, true)
	o.Country = strings.ToUpper(strings.TrimSpace(o.Country))
	if o.Country == "" {
		c.add("country", dirRequired)
	} else if !canopy.IsCountry(o.Country) {
		c.add("country", dirCountry)
	}
	var regions []string
	seen := map[string]bool{}
	for _, r := range o.Regions {
		r = strings.Join(strings.Fields(c.text("regions", r, maxDirRegion, false, false)), " ")
		if r == "" || seen[foldRegion(r)] {
			continue
		}
		if len(regions) == maxDirRegions {
			c.add("regions", dirTooMany, maxDirRegions)
			break
		}
		seen[foldRegion(r)] = true
		regions = append(regions, r)
	}
	o.Regions = regions
	o.Languages = c.languages("languages", o.Languages)
	if o.Ages.Min < 0 || o.Ages.Min > canopy.MaxServiceAge {
		c.add("min_age", KeyDirectoryAges)
	}
	if o.Ages.Max < 0 || o.Ages.Max > canopy.MaxServiceAge || o.Ages.Max < o.Ages.Min {
		c.add("max_age", KeyDirectoryAges)
	}
	o.Access = c.codes("access", o.Access, canopy.Accessibility, false)
	o.Hours = c.text("hours", o.Hours, maxDirHours, false, false)
	c.contact(&o.Website, &o.Phone, &o.Email)
	if o.Capacity = strings.ToLower(strings.TrimSpace(o.Capacity)); o.Capacity != "" && !canopy.IsCapacity(o.Capacity) {
		c.add("capacity", dirUnknownCode)
	}
	return c.err()
}

// DirectoryCodes reads a list of codes typed with spaces, commas or
// semicolons.
func DirectoryCodes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(dirSeparators, r) })
}

// DirectoryRegions reads regions typed one a line or separated by
// semicolons; commas belong to names ("Washington, D.C.").
func DirectoryRegions(s string) []string {
	var out []string
	for _, r := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' || r == '\r' }) {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}

// logDirectory writes a directory change to the audit log.
func (s *Service) logDirectory(ctx context.Context, by audit.Actor, id string, details map[string]string) error {
	e := audit.Entry{Actor: by, Action: audit.ActionServiceChange, Outcome: audit.OK, Details: details}
	if id != "" {
		e.Kind, e.ID = audit.KindService, id
	}
	// The change is written: its entry must be too, even if the caller
	// has gone.
	if _, err := s.Audit.Append(context.WithoutCancel(ctx), e); err != nil {
		return fmt.Errorf("support: audit directory change: %w", err)
	}
	return nil
}

// dirChangedFields names, for the audit log, the fields a change touched:
// codes, not values.
func dirChangedFields(names ...string) string {
	out := strings.Join(names, ",")
	if len(out) > 128 {
		return "many"
	}
	if out == "" {
		return "none"
	}
	return out
}

func providerDiff(a, b *canopy.Provider) []string {
	var f []string
	add := func(name string, same bool) {
		if !same {
			f = append(f, name)
		}
	}
	add("name", a.Name == b.Name)
	add("website", a.Website == b.Website)
	add("phone", a.Phone == b.Phone)
	add("email", a.Email == b.Email)
	add("active", a.Active == b.Active)
	return f
}

func offerDiff(a, b *canopy.ServiceOffer) []string {
	var f []string
	add := func(name string, same bool) {
		if !same {
			f = append(f, name)
		}
	}
	add("provider", a.ProviderID == b.ProviderID)
	add("name", a.Name == b.Name)
	add("needs", slices.Equal(a.Needs, b.Needs))
	add("description", a.Description == b.Description)
	add("country", a.Country == b.Country)
	add("regions", slices.Equal(a.Regions, b.Regions))
	add("languages", slices.Equal(a.Languages, b.Languages))
	add("ages", a.Ages == b.Ages)
	add("access", slices.Equal(a.Access, b.Access))
	add("hours", a.Hours == b.Hours && a.AlwaysOpen == b.AlwaysOpen)
	add("contact", a.Phone == b.Phone && a.Website == b.Website && a.Email == b.Email)
	add("free", a.Free == b.Free && a.Confidential == b.Confidential)
	add("capacity", a.Capacity == b.Capacity)
	add("active", a.Active == b.Active)
	return f
}

// AddProvider adds a provider to the directory. An empty id gets a new
// one; a given id must be free.
func (s *Service) AddProvider(ctx context.Context, by audit.Actor, p canopy.Provider) (*canopy.Provider, error) {
	if strings.TrimSpace(p.ID) == "" {
		p.ID = canopy.NewID()
	}
	if err := checkProvider(&p); err != nil {
		return nil, err
	}
	p.Active, p.Updated, p.UpdatedBy = true, s.now(), string(by)
	if err := s.DB.CreateProvider(ctx, &p); err != nil {
		return nil, err
	}
	if err := s.logDirectory(ctx, by, p.ID, map[string]string{"record": "provider", "op": "create"}); err != nil {
		return nil, err
	}
	return &p, nil
}

// UpdateProvider changes a provider through change and records which
// fields changed. Its id never changes.
func (s *Service) UpdateProvider(ctx context.Context, by audit.Actor, id string, change func(*canopy.Provider)) (*canopy.Provider, error) {
	before, err := s.DB.Provider(ctx, id)
	if err != nil {
		return nil, err
	}
	p := *before
	change(&p)
	p.ID = before.ID
	if err := checkProvider(&p); err != nil {
		return nil, err
	}
	diff := providerDiff(before, &p)
	if len(diff) == 0 {
		return before, nil
	}
	p.Updated, p.UpdatedBy = s.now(), string(by)
	if err := s.DB.UpdateProvider(ctx, &p); err != nil {
		return nil, err
	}
	op := "update"
	if len(diff) == 1 && diff[0] == "active" {
		op = map[bool]string{true: "activate", false: "deactivate"}[p.Active]
	}
	if err := s.logDirectory(ctx, by, p.ID, map[string]string{"record": "provider", "op": op, "fields": dirChangedFields(diff...)}); err != nil {
		return nil, err
	}
	return &p, nil
}

// SetProviderActive shows or hides a provider and, with it, all its
// services; the services keep their own state for when it returns.
func (s *Service) SetProviderActive(ctx context.Context, by audit.Actor, id string, active bool) (*canopy.Provider, error) {
	return s.UpdateProvider(ctx, by, id, func(p *canopy.Provider) { p.Active = active })
}

// AddServiceOffer adds a service to an existing provider's (an unknown
// provider is not found). An empty id gets a new one.
func (s *Service) AddServiceOffer(ctx context.Context, by audit.Actor, o canopy.ServiceOffer) (*canopy.ServiceOffer, error) {
	if strings.TrimSpace(o.ID) == "" {
		o.ID = canopy.NewID()
	}
	if err := checkOffer(&o); err != nil {
		return nil, err
	}
	o.Active, o.Updated, o.UpdatedBy = true, s.now(), string(by)
	if err := s.DB.CreateServiceOffer(ctx, &o); err != nil {
		return nil, err
	}
	if err := s.logDirectory(ctx, by, o.ID, map[string]string{"record": "service", "op": "create", "provider": o.ProviderID,
		"needs": strings.Join(o.Needs, ","), "country": o.Country}); err != nil {
		return nil, err
	}
	return &o, nil
}

// UpdateServiceOffer changes a service through change and records which
// fields changed. Its id never changes.
func (s *Service) UpdateServiceOffer(ctx context.Context, by audit.Actor, id string, change func(*canopy.ServiceOffer)) (*canopy.ServiceOffer, error) {
	before, err := s.DB.ServiceOffer(ctx, id)
	if err != nil {
		return nil, err
	}
	o := *before
	o.Needs, o.Regions, o.Languages, o.Access = slices.Clone(o.Needs), slices.Clone(o.Regions), slices.Clone(o.Languages), slices.Clone(o.Access)
	change(&o)
	o.ID = before.ID
	if err := checkOffer(&o); err != nil {
		return nil, err
	}
	diff := offerDiff(before, &o)
	if len(diff) == 0 {
		return before, nil
	}
	o.Updated, o.UpdatedBy = s.now(), string(by)
	if err := s.DB.UpdateServiceOffer(ctx, &o); err != nil {
		return nil, err
	}
	op := "update"
	if len(diff) == 1 && diff[0] == "active" {
		op = map[bool]string{true: "activate", false: "deactivate"}[o.Active]
	}
	if err := s.logDirectory(ctx, by, o.ID, map[string]string{"record": "service", "op": op, "provider": o.ProviderID,
		"fields": dirChangedFields(diff...)}); err != nil {
		return nil, err
	}
	return &o, nil
}

// SetServiceOfferActive shows or hides a service.
func (s *Service) SetServiceOfferActive(ctx context.Context, by audit.Actor, id string, active bool) (*canopy.ServiceOffer, error) {
	return s.UpdateServiceOffer(ctx, by, id, func(o *canopy.ServiceOffer) { o.Active = active })
}

// Provider returns a provider of the directory.
func (s *Service) Provider(ctx context.Context, id string) (*canopy.Provider, error) {
	return s.DB.Provider(ctx, id)
}

// ServiceOffer returns a service of the directory.
func (s *Service) ServiceOffer(ctx context.Context, id string) (*canopy.ServiceOffer, error) {
	return s.DB.ServiceOffer(ctx, id)
}

// DirectoryEntry is a provider with its services, as staff see them.
type DirectoryEntry struct {
	Provider *canopy.Provider
	Services []*canopy.ServiceOffer
}

// Directory returns every provider, by name, each with its services,
// inactive ones included.
func (s *Service) Directory(ctx context.Context) ([]DirectoryEntry, error) {
	providers, err := s.DB.Providers(ctx)
	if err != nil {
		return nil, err
	}
	offers, err := s.DB.ServiceOffers(ctx, store.OfferFilter{})
	if err != nil {
		return nil, err
	}
	byProvider := map[string][]*canopy.ServiceOffer{}
	for _, o := range offers {
		byProvider[o.ProviderID] = append(byProvider[o.ProviderID], o)
	}
	out := make([]DirectoryEntry, 0, len(providers))
	for _, p := range providers {
		out = append(out, DirectoryEntry{Provider: p, Services: byProvider[p.ID]})
	}
	return out, nil
}
