package web

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/support"
)

// "Find help": the public side of the service directory. The search is a
// GET form, so it works without a session, a script or a cookie, and a
// result can be bookmarked or shared; the words of a search go in the
// URL, which the access log never writes (only the route), and which the
// safety page tells people how to clear from their history. The page
// never guesses where the reader is: no address lookup, no location API
// (Permissions-Policy denies it anyway). The country list holds only the
// countries the directory covers, and the language list only the
// languages its services speak, so no choice can only find nothing.

// Form names of the search; the ids on the page add "help-".
const (
	hCountry  = "country"
	hRegion   = "region"
	hLanguage = "language" // not "lang": that is the page's own language
	hAge      = "age"
	hNeed     = "need"
	hPage     = "page" // of the results, from 1
)

// helpFields map the finder's field names to the names errors are kept
// under on the page.
var helpFields = map[string]string{hCountry: fHelpCountry, hRegion: fHelpRegion, hLanguage: fHelpLanguage, hAge: fHelpAge, hNeed: fHelpNeed}

// helpForm is the search as typed.
type helpForm struct {
	Country, Region, Language, Age string
	Needs                          []string
	Page                           int // of the results, from 1
}

// HasNeed reports whether a need's box was ticked.
func (f *helpForm) HasNeed(code string) bool { return slices.Contains(f.Needs, code) }

// option is one <option> of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// helpView is the finder's page: the form, and the results once a search
// was made.
type helpView struct {
	Form      helpForm
	Countries []option
	Languages []option
	Needs     []choice
	Searched  bool
	Results   []helpResult
	Total     int
	// Pages of results: the one shown and how many, with links to the
	// one before and the one after when there are.
	Page, Pages int
	PrevHref    string
	NextHref    string
}

// helpResult is one service found, in the reader's words.
type helpResult struct {
	ID           string // for the heading's id
	Name         string
	Provider     string // shown when the service has a name of its own
	Offers       []string
	Description  string
	Ages         string
	Languages    string
	Where        string
	Hours        string
	Access       []string
	Capacity     string
	Free         bool
	Confidential bool
	Phone        string
	PhoneHref    template.URL // tel:, which html/template would otherwise refuse
	Website      string
	WebsiteLabel string
	Email        string
	EmailHref    string
}

func (s *server) help(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lang := s.lang(w, r, nil)
	route := "/help"
	f := helpForm{Country: q.Get(hCountry), Region: q.Get(hRegion), Language: q.Get(hLanguage), Age: strings.TrimSpace(q.Get(hAge))}
	for _, n := range q[hNeed] {
		if !slices.Contains(f.Needs, n) {
			f.Needs = append(f.Needs, n)
		}
	}
	// A page number that is not one is the first page: it comes from a
	// link of ours, never from the form.
	if n, err := strconv.Atoi(q.Get(hPage)); err == nil && n > 1 && n <= 1000 {
		f.Page = n
	} else {
		f.Page = 1
	}
	// The select always sends its value, so a search was made when the
	// country is in the query, even as "any".
	searched := q.Has(hCountry)
	if searched {
		route = "/help?" + helpQuery(f)
	}
	choices, err := s.support.Choices(r.Context())
	if err != nil {
		s.log.Error("portal: directory choices", "err", err)
		s.message(w, r, lang, statusOf(canopy.ErrorCode(err)), "portal.error.title", "portal.error.internal")
		return
	}
	p := s.helpPage(w, r, lang, route, f, choices)
	v := p.Help
	v.Searched = searched
	if !searched {
		s.render(w, r, http.StatusOK, p)
		return
	}
	query := support.FindQuery{Country: f.Country, Region: f.Region, Language: f.Language, Needs: f.Needs,
		Limit: support.DefaultFindLimit, Offset: (f.Page - 1) * support.DefaultFindLimit}
	if f.Age != "" {
		n, err := strconv.Atoi(f.Age)
		if err != nil {
			n = -1 // the finder says what is wrong
		}
		query.Age, query.HasAge = n, true
	}
	res, err := s.support.Find(r.Context(), query)
	if err != nil {
		e := canopy.AsError(err)
		if e.Code != canopy.EINVALID {
			s.log.Error("portal: find help", "err", err)
			p.problem(bannerKey(e))
			p.Kept = false
			v.Searched = false
			s.render(w, r, statusOf(e.Code), p)
			return
		}
		p.Errors = &formErrors{Intro: p.T("help.errors.intro"), ByField: map[string][]string{}}
		for _, fe := range e.Fields {
			field := helpFields[fe.Field]
			msg := p.T(fe.Key, fe.Args...)
			if field == "" {
				p.Errors.General = append(p.Errors.General, msg)
			} else if !slices.Contains(p.Errors.ByField[field], msg) {
				p.Errors.ByField[field] = append(p.Errors.ByField[field], msg)
			}
		}
		v.Searched = false
		s.render(w, r, http.StatusUnprocessableEntity, p)
		return
	}
	v.Total, v.Page = res.Total, f.Page
	v.Pages = (res.Total + support.DefaultFindLimit - 1) / support.DefaultFindLimit
	if v.Page > 1 {
		prev := f
		prev.Page--
		v.PrevHref = "/help?" + helpQuery(prev) + "&lang=" + lang + "#results"
	}
	if v.Page < v.Pages {
		next := f
		next.Page++
		v.NextHref = "/help?" + helpQuery(next) + "&lang=" + lang + "#results"
	}
	for i := range res.Found {
		v.Results = append(v.Results, newHelpResult(p.cat, &res.Found[i]))
	}
	s.render(w, r, http.StatusOK, p)
}

// helpPage is the finder's page with the form as typed and no results.
func (s *server) helpPage(w http.ResponseWriter, r *http.Request, lang, route string, f helpForm, choices *support.FindChoices) *page {
	p := s.newPage(w, r, lang, "help", route, "help.title")
	v := &helpView{Form: f}
	p.Help = v
	v.Countries = countryChoices(p.cat, choices.Countries, f.Country)
	v.Languages = languageChoices(p.cat, choices.Languages, f.Language)
	for _, code := range canopy.ServiceNeeds {
		v.Needs = append(v.Needs, choice{ID: "help-need-" + code, Name: hNeed, Value: code,
			Label: p.T("help.need." + code + ".name"), Desc: p.T("help.need." + code + ".desc"), Checked: f.HasNeed(code)})
	}
	return p
}

// helpQuery writes a search back as a query string, for the language
// switcher: changing language keeps the search.
func helpQuery(f helpForm) string {
	q := url.Values{hCountry: {f.Country}}
	if f.Region != "" {
		q.Set(hRegion, f.Region)
	}
	if f.Language != "" {
		q.Set(hLanguage, f.Language)
	}
	if f.Age != "" {
		q.Set(hAge, f.Age)
	}
	for _, n := range f.Needs {
		q.Add(hNeed, n)
	}
	if f.Page > 1 {
		q.Set(hPage, strconv.Itoa(f.Page))
	}
	return q.Encode()
}

func newHelpResult(c *i18n.Catalog, f *support.Found) helpResult {
	o := f.Service
	r := helpResult{ID: "service-" + o.ID, Name: f.Name(), Description: o.Description, Free: o.Free, Confidential: o.Confidential}
	if o.Name != "" && o.Name != f.Provider.Name {
		r.Provider = f.Provider.Name
	}
	for _, n := range o.Needs {
		r.Offers = append(r.Offers, c.T("help.need."+n+".name"))
	}
	switch {
	case o.Ages.Min == o.Ages.Max:
		r.Ages = c.T("help.result.age", o.Ages.Min)
	default:
		r.Ages = c.T("help.result.ages", o.Ages.Min, o.Ages.Max)
	}
	var langs []string
	for _, l := range o.Languages {
		langs = append(langs, languageName(c.Lang, l))
	}
	r.Languages = strings.Join(langs, c.T("help.list.sep"))
	r.Where = regionName(c.Lang, o.Country)
	if len(o.Regions) > 0 {
		r.Where = c.T("help.result.where", strings.Join(o.Regions, c.T("help.list.sep")), r.Where)
	}
	switch {
	case o.AlwaysOpen:
		r.Hours = c.T("help.result.always_open")
	default:
		r.Hours = o.Hours
	}
	for _, a := range o.Access {
		r.Access = append(r.Access, c.T("help.access."+a+".name"))
	}
	if o.Capacity == canopy.CapacityWaitlist || o.Capacity == canopy.CapacityFull {
		r.Capacity = c.T("help.result.capacity." + o.Capacity)
	}
	if r.Phone = f.Phone(); r.Phone != "" {
		// Only digits and a leading +: safe to mark as a URL.
		r.PhoneHref = template.URL("tel:" + telDigits(r.Phone))
	}
	if r.Website = f.Website(); r.Website != "" {
		r.WebsiteLabel = websiteLabel(r.Website)
	}
	if r.Email = f.Email(); r.Email != "" {
		r.EmailHref = "mailto:" + r.Email
	}
	return r
}

// telDigits is a number as a tel: link dials it: the digits and a
// leading +, without the spaces and brackets people write.
func telDigits(phone string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(phone) {
		if r >= '0' && r <= '9' || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// websiteLabel shows an address the way people read it: without the
// scheme and a trailing slash.
func websiteLabel(addr string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(addr, "https://"), "http://")
	return strings.TrimSuffix(s, "/")
}

// countryChoices are the countries of the directory, named in the page's
// language and in its order, after "any country".
func countryChoices(c *i18n.Catalog, codes []string, selected string) []option {
	selected = strings.ToUpper(strings.TrimSpace(selected))
	if canopy.IsCountry(selected) && !slices.Contains(codes, selected) {
		codes = append(slices.Clone(codes), selected) // a link may name a country the directory lacks
	}
	opts := []option{{Value: "", Label: c.T("help.form.country.any"), Selected: selected == ""}}
	var named []option
	for _, code := range codes {
		named = append(named, option{Value: code, Label: regionName(c.Lang, code), Selected: code == selected})
	}
	return append(opts, sortOptions(c.Lang, named)...)
}

// languageChoices are the languages the directory's services speak,
// named in the page's language, after "any language". The portal's own
// languages come first, in the switcher's order: they are the ones its
// readers most often look for.
func languageChoices(c *i18n.Catalog, codes []string, selected string) []option {
	if code, ok := support.DirectoryLanguage(selected); ok {
		selected = code
		if !slices.Contains(codes, code) {
			codes = append(slices.Clone(codes), code)
		}
	}
	opts := []option{{Value: "", Label: c.T("help.form.language.any"), Selected: selected == ""}}
	var first, rest []option
	for _, code := range codes {
		o := option{Value: code, Label: languageName(c.Lang, code), Selected: code == selected}
		if canopy.IsLanguage(code) {
			first = append(first, o)
		} else {
			rest = append(rest, o)
		}
	}
	slices.SortFunc(first, func(a, b option) int {
		return slices.Index(canopy.Languages, a.Value) - slices.Index(canopy.Languages, b.Value)
	})
	return append(append(opts, first...), sortOptions(c.Lang, rest)...)
}

func sortOptions(lang string, opts []option) []option {
	coll := collate.New(language.Make(lang), collate.Loose)
	slices.SortStableFunc(opts, func(a, b option) int { return coll.CompareString(a.Label, b.Label) })
	return opts
}

// regionName is a country's name in lang, from CLDR.
func regionName(lang, code string) string {
	if region, err := language.ParseRegion(code); err == nil {
		if n := display.Regions(language.Make(lang)).Name(region); n != "" {
			return n
		}
	}
	return code
}

// languageName is a language's name in lang, from CLDR; its own name, or
// its code, when CLDR has none in lang (some sign languages).
func languageName(lang, code string) string {
	tag, err := language.Parse(code)
	if err != nil {
		return code
	}
	if n := display.Languages(language.Make(lang)).Name(tag); n != "" {
		return n
	}
	if n := display.Self.Name(tag); n != "" {
		return n
	}
	return code
}

// Info pages: what happens after a report, the reader's choices and
// rights, and how consent works. Their words are in the catalogs
// ("info.<page>.…"); infoPages gives each page its parts in order.

// infoSection is one heading and what follows it.
type infoSection struct {
	ID      string
	Heading string   // catalog key
	Paras   []string // catalog keys
	Steps   []string // catalog keys of an ordered list
	Points  []string // catalog keys of a list
}

type infoPage struct {
	Path, Title, Lead string
	Sections          []infoSection
}

// infoPages are the information pages, in the order they link to each
// other.
var infoPages = []infoPage{
	{Path: "/info/after-report", Title: "info.after.title", Lead: "info.after.lead", Sections: []infoSection{
		{ID: "steps", Heading: "info.after.steps.title", Steps: keys("info.after.step", 6)},
		{ID: "time", Heading: "info.after.time.title", Paras: keys("info.after.time.body", 2)},
		{ID: "kept", Heading: "info.after.kept.title", Paras: keys("info.after.kept.body", 3)},
		{ID: "feel", Heading: "info.after.feel.title", Paras: keys("info.after.feel.body", 2)},
	}},
	{Path: "/info/rights", Title: "info.rights.title", Lead: "info.rights.lead", Sections: []infoSection{
		{ID: "choices", Heading: "info.rights.choices.title", Points: keys("info.rights.choice", 5)},
		{ID: "rights", Heading: "info.rights.rights.title", Paras: []string{"info.rights.rights.intro"}, Points: keys("info.rights.right", 5)},
		{ID: "not-on-you", Heading: "info.rights.more.title", Paras: keys("info.rights.more.body", 2)},
	}},
	{Path: "/info/consent", Title: "info.consent.title", Lead: "info.consent.lead", Sections: []infoSection{
		{ID: "what", Heading: "info.consent.what.title", Paras: keys("info.consent.what.body", 2)},
		{ID: "choose", Heading: "info.consent.choose.title", Points: keys("info.consent.choose", 5)},
		{ID: "ask", Heading: "info.consent.ask.title", Paras: []string{"info.consent.ask.intro"}, Points: keys("info.consent.ask", 3)},
		{ID: "danger", Heading: "info.consent.danger.title", Paras: keys("info.consent.danger.body", 3)},
	}},
}

// keys returns prefix.1 … prefix.n.
func keys(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + "." + strconv.Itoa(i+1)
	}
	return out
}

// infoView is an information page with the links to the others.
type infoView struct {
	infoPage
	Others []infoPage
}

func (s *server) info(page infoPage) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := s.newPage(w, r, s.lang(w, r, nil), "info", page.Path, page.Title)
		v := &infoView{infoPage: page}
		for _, o := range infoPages {
			if o.Path != page.Path {
				v.Others = append(v.Others, o)
			}
		}
		p.Info = v
		s.render(w, r, http.StatusOK, p)
	}
}
