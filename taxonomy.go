package canopy

// The harmonised taxonomy (shared TAXONOMY.md). Codes are stored on disk and
// sent on the wire: add new ones at the end of each list, never rename,
// reorder or reuse one. Names and plain-language descriptions live in the
// translation catalogs under "category.<code>.name" and ".desc".

// Category is what a report is about.
type Category struct {
	Code string
	// CyberTipline is the NCMEC CyberTipline incident type the category maps
	// to, for platforms and partners that speak that scheme.
	CyberTipline string
}

// Categories in the order the portal offers them.
var Categories = []Category{
	{"csam", "Child Pornography (possession, manufacture, and distribution)"},
	{"grooming", "Online Enticement of Children for Sexual Acts"},
	{"sextortion", "Online Enticement of Children for Sexual Acts"},
	{"livestream", "Child Pornography (possession, manufacture, and distribution)"},
	{"shared_without_consent", "Child Pornography (possession, manufacture, and distribution)"},
	{"trafficking", "Child Sex Trafficking"},
	{"obscene_to_child", "Unsolicited Obscene Material Sent to a Child"},
	{"misleading_content", "Misleading Words or Digital Images"},
	{"other", ""},
}

// Flags that may accompany any category.
const (
	FlagUrgent       = "urgent"
	FlagSadistic     = "sadistic"
	FlagAIGenerated  = "ai_generated"
	FlagMinorToMinor = "minor_to_minor"
	FlagFinancial    = "financial"
)

// Flags in display order.
var Flags = []string{FlagUrgent, FlagSadistic, FlagAIGenerated, FlagMinorToMinor, FlagFinancial}

// Reporter kinds: who sent a report.
const (
	ReporterChild        = "child"
	ReporterCaregiver    = "caregiver"
	ReporterProfessional = "professional"
	ReporterPlatform     = "platform"
	ReporterPartner      = "partner"
	ReporterOther        = "other"
)

// Reporters lists every reporter kind. The public portal offers only
// PublicReporters; platform and partner reports arrive through their own
// channels.
var Reporters = []string{ReporterChild, ReporterCaregiver, ReporterProfessional, ReporterPlatform, ReporterPartner, ReporterOther}

// PublicReporters are the kinds a person may choose on the portal or a
// partner app may send on a person's behalf.
var PublicReporters = []string{ReporterChild, ReporterCaregiver, ReporterProfessional, ReporterOther}

// Statuses as the reporter sees them.
const (
	StatusReceived        = "received"
	StatusInReview        = "in_review"
	StatusReferred        = "referred"
	StatusActionTaken     = "action_taken"
	StatusContentRemoved  = "content_removed"
	StatusNoFurtherAction = "no_further_action"
)

// Statuses in lifecycle order.
var Statuses = []string{StatusReceived, StatusInReview, StatusReferred, StatusActionTaken, StatusContentRemoved, StatusNoFurtherAction}

// IsCategory reports whether code is a known category code.
func IsCategory(code string) bool {
	for _, c := range Categories {
		if c.Code == code {
			return true
		}
	}
	return false
}

// IsFlag reports whether code is a known flag.
func IsFlag(code string) bool { return contains(Flags, code) }

// IsPublicReporter reports whether code is a reporter kind a person may
// choose.
func IsPublicReporter(code string) bool { return contains(PublicReporters, code) }

// IsReporter reports whether code is any reporter kind.
func IsReporter(code string) bool { return contains(Reporters, code) }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Imagery decisions of the INHOPE ICCAM scheme.
const (
	ImageryBaseline   = "baseline"    // illegal everywhere by INTERPOL's baseline criteria
	ImageryNational   = "national"    // illegal under the assessing jurisdiction's law only
	ImageryNotIllegal = "not_illegal" // not illegal material
)

// ImageryDecisions lists the ICCAM decisions.
var ImageryDecisions = []string{ImageryBaseline, ImageryNational, ImageryNotIllegal}

// IndustryClasses are the classes used in CyberTipline reports.
var IndustryClasses = []string{"A1", "A2", "B1", "B2"}

// AgeBands are the apparent age bands of a child.
var AgeBands = []string{"0-2", "3-6", "7-10", "11-13", "14-17", "unknown"}

// Outcomes an analyst records for a report.
const (
	OutcomeRefer           = "refer"             // to police or a peer abroad
	OutcomeTakedown        = "takedown"          // notify the host
	OutcomeSupport         = "support"           // support the child
	OutcomeNoFurtherAction = "no_further_action" // nothing more to do
)

// Outcomes in display order.
var Outcomes = []string{OutcomeRefer, OutcomeTakedown, OutcomeSupport, OutcomeNoFurtherAction}
