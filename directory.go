package canopy

import (
	"slices"
	"time"
)

// The service directory: the organisations that help children and young
// people after harm (Provider) and what each of them offers (ServiceOffer).
// Staff keep it; the portal's "Find help" page searches it for anyone, and
// caseworkers refer children to it.
//
// Codes below are stored, written to the CSV files spreadsheets and other
// nodes read, and named in the translation catalogs ("help.need.<code>.name",
// "help.access.<code>.name"): add new ones at the end of each list, never
// rename, reorder or reuse one.

// Provider is an organisation: a clinic, a counselling service, a legal
// aid office, a shelter, a helpline, a school or youth programme. Its
// contact details are the default for its services.
type Provider struct {
	// ID is stable and chosen by whoever keeps the directory ("ngo-lyon")
	// or made by the node: a CSV import finds the provider by it, so the
	// same file imported twice changes nothing.
	ID      string
	Name    string
	Website string // an http or https address
	Phone   string // digits, spaces, + - ( ) .
	Email   string
	// Active providers are shown; an inactive one hides all its services.
	// Nothing in the directory is deleted: a service that closed is made
	// inactive, so referrals that named it still make sense.
	Active    bool
	Updated   time.Time
	UpdatedBy string // the audit actor of the last change
}

// ServiceOffer is one service of a provider, in one country: whom it
// serves and how to reach it.
type ServiceOffer struct {
	ID         string // stable, like Provider.ID
	ProviderID string
	Name       string   // optional: "Night shelter"; the provider's name stands for it when empty
	Needs      []string // ServiceNeeds codes, at least one
	// Description is a sentence or two, as the provider writes it. The
	// portal shows it as typed, in whatever language it is in.
	Description string
	Country     string   // ISO 3166-1 alpha-2
	Regions     []string // free text ("Lyon", "Rhône"); none means the whole country
	Languages   []string // ISO 639 codes of the languages spoken: "fr", "ar", "fsl"
	Ages        AgeRange
	Access      []string // accessibility codes
	Hours       string   // opening hours as the provider words them
	AlwaysOpen  bool     // day and night, every day
	// Phone, Website and Email override the provider's for this service.
	Phone, Website, Email string
	// Free and Confidential are shown only when set: false means "not
	// recorded", never a promise that the service charges or shares.
	Free, Confidential bool
	Capacity           string // one of the Capacity codes, or "" when unknown
	Active             bool
	Updated            time.Time
	UpdatedBy          string
}

// AgeRange is the ages a service takes, both ends included, in years.
type AgeRange struct{ Min, Max int }

// MaxServiceAge bounds AgeRange: services for young adults reach into
// their twenties; nobody counts beyond this.
const MaxServiceAge = 99

// Includes reports whether age is in the range.
func (a AgeRange) Includes(age int) bool { return a.Min <= age && age <= a.Max }

// Valid reports whether the range is in order and within 0–MaxServiceAge.
func (a AgeRange) Valid() bool { return 0 <= a.Min && a.Min <= a.Max && a.Max <= MaxServiceAge }

// Kinds of service, by the need each meets: the kinds of help of the
// issue "Survivor-centred support", in the order the portal offers them.
// They are the "need" a person searches by on the portal. A support
// case's needs (support.go) are a caseworker's wider vocabulary; several
// of them lead to one of these.
const (
	ServiceMedical     = "medical"     // medical examination and care, sexual health
	ServiceCounselling = "counselling" // trauma-informed counselling and therapy
	ServiceLegal       = "legal"       // legal aid, help with police and court
	ServiceShelter     = "shelter"     // a safe place to stay
	ServiceHelpline    = "helpline"    // someone to talk to now, by phone or chat
	ServiceEducation   = "education"   // school, training and going back to daily life
)

// ServiceNeeds lists every kind of service in display order.
var ServiceNeeds = []string{ServiceMedical, ServiceCounselling, ServiceLegal, ServiceShelter, ServiceHelpline, ServiceEducation}

// IsServiceNeed reports whether code is a kind of service.
func IsServiceNeed(code string) bool { return slices.Contains(ServiceNeeds, code) }

// Accessibility of a service: what makes it usable by more children.
const (
	AccessStepFree     = "step_free"     // no steps: wheelchairs and buggies get in
	AccessHearingLoop  = "hearing_loop"  // an induction loop for hearing aids
	AccessSignLanguage = "sign_language" // staff or interpreters who sign
	AccessInterpreter  = "interpreter"   // interpreters for spoken languages on request
	AccessEasyRead     = "easy_read"     // information in easy-read form
	AccessTextChat     = "text_chat"     // reachable by text message or chat, for those who cannot call
	AccessRemote       = "remote"        // help by phone or video, without travelling
)

// Accessibility lists every accessibility code in display order.
var Accessibility = []string{AccessStepFree, AccessHearingLoop, AccessSignLanguage, AccessInterpreter, AccessEasyRead, AccessTextChat, AccessRemote}

// Capacity of a service, as staff last knew it.
const (
	CapacityOpen     = "open"     // taking new people
	CapacityWaitlist = "waitlist" // taking names for a waiting list
	CapacityFull     = "full"     // not taking anyone for now
)

// Capacities lists every capacity code, from most to least available.
var Capacities = []string{CapacityOpen, CapacityWaitlist, CapacityFull}

// IsCapacity reports whether code is a capacity code ("" is "unknown" and
// is not one).
func IsCapacity(code string) bool { return slices.Contains(Capacities, code) }

// Offers reports whether the service is of the kind that meets need.
func (s *ServiceOffer) Offers(need string) bool { return slices.Contains(s.Needs, need) }

// Speaks reports whether the service's staff speak lang.
func (s *ServiceOffer) Speaks(lang string) bool { return slices.Contains(s.Languages, lang) }
