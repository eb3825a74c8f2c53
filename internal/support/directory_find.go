package support

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/store"
)

// The public finder. Whoever asks is not known and nothing they ask is
// kept: Find reads the directory and answers, and the portal logs only
// that the page was served. A search names a country, a region typed
// freely, a language, an age and the kinds of help wanted; each is
// optional.

// DefaultFindLimit is how many services a search returns when its query
// names no limit: a page of results, enough to choose from on a phone,
// few enough to read, and small enough for the portal's 60 KB a page.
const DefaultFindLimit = 20

// FindQuery is a search of the directory.
type FindQuery struct {
	Country  string // ISO 3166-1 alpha-2, or "" for any
	Region   string // free text: a city, an area, a county
	Language string // an ISO 639 code, or "" for any
	Age      int
	HasAge   bool
	Needs    []string // kinds of service (ServiceNeeds); none for any
	Limit    int      // 0 means DefaultFindLimit
	Offset   int      // how many of the ordered results to skip: the page
}

// Found is one service a search found, with its provider.
type Found struct {
	Provider *canopy.Provider
	Service  *canopy.ServiceOffer
	// Local is set when one of the service's regions matched the region
	// searched for; the others serve the whole country.
	Local bool
}

// Name is what the service is called: its own name, or its provider's.
func (f *Found) Name() string {
	if f.Service.Name != "" {
		return f.Service.Name
	}
	return f.Provider.Name
}

// Phone is the service's number, or its provider's.
func (f *Found) Phone() string { return cmp.Or(f.Service.Phone, f.Provider.Phone) }

// Website is the service's address, or its provider's.
func (f *Found) Website() string { return cmp.Or(f.Service.Website, f.Provider.Website) }

// Email is the service's address, or its provider's.
func (f *Found) Email() string { return cmp.Or(f.Service.Email, f.Provider.Email) }

// FindResult is the answer to a search: Limit services from Offset, in
// the order to show them, and how many matched in all.
type FindResult struct {
	Found []Found
	Total int
}

// checkQuery validates a search and normalises it in place. Field names
// are the portal's form names.
func checkQuery(q *FindQuery) error {
	c := &dirCheck{}
	q.Country = strings.ToUpper(strings.TrimSpace(q.Country))
	if q.Country != "" && !canopy.IsCountry(q.Country) {
		c.add("country", dirCountry)
	}
	q.Region = strings.Join(strings.Fields(c.text("region", q.Region, maxDirRegion, false, false)), " ")
	if q.Language = strings.TrimSpace(q.Language); q.Language != "" {
		code, ok := DirectoryLanguage(q.Language)
		if !ok {
			c.add("language", KeyFindLanguage)
		}
		q.Language = code
	}
	if q.HasAge && (q.Age < 0 || q.Age > canopy.MaxServiceAge) {
		c.add("age", KeyFindAge)
	}
	q.Needs = c.codes("need", q.Needs, canopy.ServiceNeeds, false)
	return c.err()
}

// Keys of the finder's own problems, in the portal's catalogs.
const (
	KeyFindAge      = "help.error.age"      // not a whole number from 0 to 99
	KeyFindLanguage = "help.error.language" // not a language code
)

// Find searches the active part of the directory. A service matches when
// it is in the country, takes the age, speaks the language and offers
// one of the kinds of help asked for. A region narrows further: services
// tied to regions must name one that matches; services for the whole
// country still match, after the local ones.
//
// Results come in the order a person would want them: services in the
// region they named first, then those meeting more of the kinds of help
// they ticked, then those taking people now before those with a waiting
// list or full, then by name (in any case and accent: the portal's
// readers write in four languages, and "Écoute" belongs with the E's).
func (s *Service) Find(ctx context.Context, q FindQuery) (*FindResult, error) {
	if err := checkQuery(&q); err != nil {
		return nil, err
	}
	offers, err := s.DB.ServiceOffers(ctx, store.OfferFilter{Active: true, Country: q.Country, Age: q.Age, HasAge: q.HasAge})
	if err != nil {
		return nil, err
	}
	providers, err := s.activeProviders(ctx)
	if err != nil {
		return nil, err
	}
	region := foldRegion(q.Region)
	var found []Found
	for _, o := range offers {
		p := providers[o.ProviderID]
		if p == nil || (q.Language != "" && !o.Speaks(q.Language)) ||
			(len(q.Needs) > 0 && !slices.ContainsFunc(q.Needs, o.Offers)) {
			continue
		}
		f := Found{Provider: p, Service: o}
		if region != "" && len(o.Regions) > 0 {
			if !slices.ContainsFunc(o.Regions, func(r string) bool { return regionMatches(foldRegion(r), region) }) {
				continue
			}
			f.Local = true
		}
		found = append(found, f)
	}
	// With a region but no country, the services for a whole country are
	// those of the countries where the region was found, if it was found
	// anywhere: a town's name should not bring up every other country's
	// helplines.
	if region != "" && q.Country == "" {
		where := map[string]bool{}
		for _, f := range found {
			if f.Local {
				where[f.Service.Country] = true
			}
		}
		if len(where) > 0 {
			found = slices.DeleteFunc(found, func(f Found) bool { return !f.Local && !where[f.Service.Country] })
		}
	}
	slices.SortStableFunc(found, func(a, b Found) int {
		return cmp.Or(
			dirBoolFirst(a.Local, b.Local),
			cmp.Compare(dirNeedsMet(b.Service, q.Needs), dirNeedsMet(a.Service, q.Needs)),
			cmp.Compare(dirCapacityRank(a.Service.Capacity), dirCapacityRank(b.Service.Capacity)),
			cmp.Compare(foldRegion(a.Name()), foldRegion(b.Name())),
			cmp.Compare(a.Service.ID, b.Service.ID),
		)
	})
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultFindLimit
	}
	res := &FindResult{Total: len(found)}
	from := min(max(q.Offset, 0), len(found))
	res.Found = found[from:min(from+limit, len(found))]
	return res, nil
}

func (s *Service) activeProviders(ctx context.Context) (map[string]*canopy.Provider, error) {
	ps, err := s.DB.Providers(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]*canopy.Provider, len(ps))
	for _, p := range ps {
		if p.Active {
			m[p.ID] = p
		}
	}
	return m, nil
}

func dirBoolFirst(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

func dirNeedsMet(o *canopy.ServiceOffer, needs []string) int {
	n := 0
	for _, need := range needs {
		if o.Offers(need) {
			n++
		}
	}
	return n
}

// dirCapacityRank puts services taking people first and unknown capacity
// next: most directories do not record it, and a missing value must not
// hide a service.
func dirCapacityRank(c string) int {
	switch c {
	case canopy.CapacityOpen:
		return 0
	case canopy.CapacityWaitlist:
		return 2
	case canopy.CapacityFull:
		return 3
	}
	return 1
}

// FindChoices are what a search may usefully name: the countries and the
// languages of the active services, so the portal never offers a choice
// that can only find nothing.
type FindChoices struct {
	Countries []string
	Languages []string
}

// Choices returns the countries and languages of the active directory,
// each once, in code order; the portal sorts them by name in the
// reader's language.
func (s *Service) Choices(ctx context.Context) (*FindChoices, error) {
	offers, err := s.DB.ServiceOffers(ctx, store.OfferFilter{Active: true})
	if err != nil {
		return nil, err
	}
	c := &FindChoices{}
	for _, o := range offers {
		c.Countries = append(c.Countries, o.Country)
		c.Languages = append(c.Languages, o.Languages...)
	}
	slices.Sort(c.Countries)
	slices.Sort(c.Languages)
	c.Countries, c.Languages = slices.Compact(c.Countries), slices.Compact(c.Languages)
	return c, nil
}

// foldRegion puts a region's name in the form searches compare: lower
// case, accents dropped, punctuation and runs of space as one space, so
// "ile de france" finds "Île-de-France" and "SAINT-ÉTIENNE" finds
// "Saint Étienne". SQL's lower() does not fold beyond ASCII in SQLite,
// which is why the finder matches regions in Go.
func foldRegion(s string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
		default:
			space = true
		}
	}
	return b.String()
}

// regionMatches reports whether a service's region (folded) answers a
// region searched for (folded): the search is part of the region's name
// ("lyo" finds "Lyon"), or the search names the region among other words
// ("Lyon 3e" finds "Lyon", but "Saint-Étienne" does not find "Ain").
func regionMatches(region, query string) bool {
	return strings.Contains(region, query) || strings.Contains(" "+query+" ", " "+region+" ")
}
