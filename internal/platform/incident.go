package platform

import (
	"fmt"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/intake"
)

// Incident is one report from an online service, with the fields
// platforms already send to the CyberTipline.
type Incident struct {
	// IncidentType is a CyberTipline incident type ("Online Enticement of
	// Children for Sexual Acts") or a Canopy category code ("grooming").
	IncidentType string     `json:"incident_type"`
	IncidentTime *time.Time `json:"incident_time,omitempty"`
	Flags        []string   `json:"flags,omitempty"`
	Description  string     `json:"description,omitempty"`
	// Service names the product within the platform ("Example Chat"),
	// when the platform runs several.
	Service         string          `json:"service,omitempty"`
	ReportedAccount *Account        `json:"reported_account,omitempty"`
	URLs            []string        `json:"urls,omitempty"`
	Files           []File          `json:"files,omitempty"`
	ChildCountry    string          `json:"child_country,omitempty"`
	Language        string          `json:"language,omitempty"`
	ReporterContact *canopy.Contact `json:"reporter_contact,omitempty"`
}

// Account is the account an incident is about.
type Account struct {
	ScreenName  string `json:"screen_name,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	ProfileURL  string `json:"profile_url,omitempty"`
}

// File is a file the platform found, by name and hashes only: the node
// never receives the file itself.
type File struct {
	Name          string `json:"name,omitempty"`
	MD5           string `json:"md5,omitempty"`
	SHA1          string `json:"sha1,omitempty"`
	SHA256        string `json:"sha256,omitempty"`
	PDQ           string `json:"pdq,omitempty"`
	PhotoDNA      string `json:"photodna,omitempty"`
	IndustryClass string `json:"industry_class,omitempty"` // A1, A2, B1, B2
}

// cyberTipline maps CyberTipline incident types to categories. Names are
// compared without case.
var cyberTipline = map[string]string{
	"child pornography (possession, manufacture, and distribution)": "csam",
	"child pornography":                                  "csam",
	"child sex trafficking":                              "trafficking",
	"child sex tourism":                                  "trafficking",
	"child sexual molestation":                           "other",
	"misleading domain name":                             "misleading_content",
	"misleading words or digital images on the internet": "misleading_content",
	"misleading words or digital images":                 "misleading_content",
	"online enticement of children for sexual acts":      "grooming",
	"unsolicited obscene material sent to a child":       "obscene_to_child",
}

// CategoryOf maps an incident type to a category code, "" when unknown.
func CategoryOf(incidentType string) string {
	t := strings.ToLower(strings.TrimSpace(incidentType))
	if canopy.IsCategory(t) {
		return t
	}
	return cyberTipline[t]
}

// submission turns an incident into an intake submission, or returns the
// problems that stop it.
func (inc *Incident) submission(platformName string) (intake.Submission, []canopy.FieldError) {
	var fields []canopy.FieldError
	category := CategoryOf(inc.IncidentType)
	if category == "" {
		fields = append(fields, canopy.FieldError{Field: "incident_type", Key: "error.unknown_code"})
	}
	sub := intake.Submission{
		Channel: canopy.ChannelPlatform, Reporter: canopy.ReporterPlatform, Category: category, Flags: inc.Flags,
		URLs: inc.URLs, ChildCountry: inc.ChildCountry, Language: inc.Language, Contact: inc.ReporterContact,
		Platform: platformName,
	}
	if inc.Service != "" {
		sub.Platform = platformName + " / " + inc.Service
	}
	// What has no field of its own in a report goes, sealed like the rest,
	// into its description: when it happened and what the files were.
	var desc []string
	if d := strings.TrimSpace(inc.Description); d != "" {
		desc = append(desc, d)
	}
	if inc.IncidentTime != nil {
		desc = append(desc, "Incident time: "+inc.IncidentTime.UTC().Format(time.RFC3339))
	}
	if a := inc.ReportedAccount; a != nil {
		if a.ScreenName != "" {
			sub.Accounts = append(sub.Accounts, a.ScreenName)
		}
		if a.DisplayName != "" {
			desc = append(desc, "Display name: "+a.DisplayName)
		}
		if a.ProfileURL != "" {
			sub.URLs = append(sub.URLs, a.ProfileURL)
		}
	}
	for i, f := range inc.Files {
		for _, h := range []canopy.ContentHash{{Algorithm: "md5", Value: f.MD5}, {Algorithm: "sha1", Value: f.SHA1},
			{Algorithm: "sha256", Value: f.SHA256}, {Algorithm: "pdq", Value: f.PDQ}, {Algorithm: "photodna", Value: f.PhotoDNA}} {
			if h.Value != "" {
				sub.Hashes = append(sub.Hashes, h)
			}
		}
		if f.IndustryClass != "" {
			switch f.IndustryClass {
			case "A1", "A2", "B1", "B2":
			default:
				fields = append(fields, canopy.FieldError{Field: fmt.Sprintf("files[%d].industry_class", i), Key: "error.unknown_code"})
			}
		}
		if f.Name != "" || f.IndustryClass != "" {
			desc = append(desc, fmt.Sprintf("File %d: %s %s", i+1, f.Name, f.IndustryClass))
		}
	}
	sub.Description = strings.Join(desc, "\n")
	if len(fields) > 0 {
		return sub, fields
	}
	if err := intake.Validate(&sub); err != nil {
		return sub, canopy.AsError(err).Fields
	}
	return sub, nil
}
