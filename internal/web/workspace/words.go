package workspace

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/i18n"
)

// The workspace speaks English to staff. Taxonomy and status names come
// from the English catalog, the same words the portal gives reporters, so
// that staff and reporters name things alike; the words only staff read
// are here.

var en = i18n.Get("en")

var funcs = template.FuncMap{
	"category": categoryName,
	"flag":     func(code string) string { return en.T("flag." + code + ".name") },
	"status":   func(code string) string { return en.T("status." + code + ".name") },
	"reporter": func(code string) string { return en.T("reporter." + code + ".name") },
	"outcome":  func(code string) string { return word(outcomeNames, code) },
	"stage":    func(code string) string { return word(stageNames, code) },
	"role":     func(r canopy.Role) string { return word(roleNames, string(r)) },
	"event":    func(code string) string { return word(eventNames, code) },
	"imagery":  func(code string) string { return word(imageryNames, code) },
	"industry": func(code string) string { return word(industryNames, code) },
	"ageband":  func(code string) string { return word(ageBandNames, code) },
	"linkkind": func(code string) string { return word(linkKindNames, code) },
	"channel":  func(code string) string { return word(channelNames, code) },
	"action":   func(code string) string { return word(actionNames, code) },
	"when":     when,
	"dur":      dur,
	"country": func(code string) string {
		if code == "" {
			return "Unknown"
		}
		return code
	},
	"join": strings.Join,
	"add":  func(a, b int) int { return a + b },
}

// categoryTerms are the professional terms for the categories, in the
// Luxembourg Guidelines' words; the portal's plain-language names, written
// for children, follow them where space allows.
var categoryTerms = map[string]string{
	"csam":                   "Child sexual abuse material",
	"grooming":               "Grooming",
	"sextortion":             "Sexual extortion",
	"livestream":             "Live-streamed abuse",
	"shared_without_consent": "Self-generated imagery shared without consent",
	"trafficking":            "Trafficking, incl. in travel and tourism",
	"obscene_to_child":       "Obscene material sent to a child",
	"misleading_content":     "Misleading names, words or images",
	"other":                  "Other",
}

func categoryName(code string) string {
	if code == "" {
		return "Not given"
	}
	if t, ok := categoryTerms[code]; ok {
		return t
	}
	return en.T("category." + code + ".name")
}

func word(m map[string]string, code string) string {
	if w, ok := m[code]; ok {
		return w
	}
	return code
}

var outcomeNames = map[string]string{
	canopy.OutcomeRefer:           "Refer to police or a peer hotline",
	canopy.OutcomeTakedown:        "Notify the host for takedown",
	canopy.OutcomeSupport:         "Support the child",
	canopy.OutcomeNoFurtherAction: "No further action",
}

var stageNames = map[string]string{
	canopy.StageNew:      "New",
	canopy.StageClaimed:  "Claimed",
	canopy.StageReopened: "Reopened",
	canopy.StageDecided:  "Decided",
	canopy.StageMerged:   "Merged",
}

var roleNames = map[string]string{
	string(canopy.RoleAdministrator): "Administrator",
	string(canopy.RoleAnalyst):       "Analyst",
	string(canopy.RoleSupervisor):    "Supervisor",
	string(canopy.RoleLiaison):       "Law-enforcement liaison",
	string(canopy.RoleCaseworker):    "Caseworker",
	string(canopy.RoleAuditor):       "Auditor",
}

var eventNames = map[string]string{
	canopy.EventReceived:        "Report received",
	canopy.EventReporterMessage: "Message from the reporter",
	canopy.EventStaffMessage:    "Message to the reporter",
	canopy.EventFirstLook:       "First look (content opened)",
	canopy.EventAssessed:        "Assessed",
	canopy.EventReferred:        "Decision: referred",
	canopy.EventActionTaken:     "Decision: action taken",
	canopy.EventContentRemoved:  "Content removed",
	canopy.EventNoFurtherAction: "Decision: no further action",
	canopy.EventReopened:        "Reopened by a supervisor",
	canopy.EventClaimed:         "Claimed",
	canopy.EventReviewed:        "Decision confirmed by a supervisor",
	canopy.EventMerged:          "Merged into another report",
	canopy.EventMergedFrom:      "A duplicate was merged into this report",
	// Written as text: the hash-bank matcher that adds this kind is being
	// built beside this package.
	"matched": "A hash matched known content",
}

var imageryNames = map[string]string{
	canopy.ImageryBaseline:   "Baseline: illegal everywhere (INTERPOL baseline)",
	canopy.ImageryNational:   "National: illegal under this jurisdiction's law only",
	canopy.ImageryNotIllegal: "Not illegal",
}

var industryNames = map[string]string{
	"A1": "A1: prepubescent, sex act",
	"A2": "A2: prepubescent, lascivious exhibition",
	"B1": "B1: pubescent, sex act",
	"B2": "B2: pubescent, lascivious exhibition",
}

var ageBandNames = map[string]string{
	"0-2":     "0 to 2 years",
	"3-6":     "3 to 6 years",
	"7-10":    "7 to 10 years",
	"11-13":   "11 to 13 years",
	"14-17":   "14 to 17 years",
	"unknown": "Unknown",
}

var linkKindNames = map[string]string{
	"url":     "same web address",
	"host":    "same website",
	"account": "same username",
	"hash":    "same file hash",
}

var channelNames = map[string]string{
	canopy.ChannelPortal:   "Public portal",
	canopy.ChannelAPI:      "Partner app (API)",
	canopy.ChannelPlatform: "Online service",
	canopy.ChannelPeer:     "Peer hotline",
}

var actionNames = map[string]string{
	"login":             "Signed in",
	"login.failed":      "Sign-in refused",
	"logout":            "Signed out",
	"permission.denied": "Refused by permissions",
	"report.create":     "Report accepted",
	"report.view":       "Report opened",
	"report.message":    "Message added",
	"report.assess":     "Triage action",
	"report.refer":      "Referred to a peer",
	"report.destroy":    "Report data destroyed",
	"account.create":    "Account created",
	"account.update":    "Account changed",
	"audit.verify":      "Audit log verified",
}

// when writes a time for staff across time zones: day, month in words,
// and UTC, so nobody misreads 02/03 or guesses a zone.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

// dur writes a duration the way the queue shows ages and clocks: "3 h 12
// min", "2 d 4 h", "45 min".
func dur(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return "under 1 min"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 24*time.Hour:
		h := int(d / time.Hour)
		m := int(d%time.Hour) / int(time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	days := int(d / (24 * time.Hour))
	h := int(d%(24*time.Hour)) / int(time.Hour)
	if h == 0 {
		return fmt.Sprintf("%d d", days)
	}
	return fmt.Sprintf("%d d %d h", days, h)
}

// staffMessages are the messages of error keys the services return that
// the portal's catalog does not have, or words better for staff.
var staffMessages = map[string]string{
	"error.login.failed":        "The email, password or code was not right. Please try again.",
	"error.login.locked":        "Too many failed attempts. Sign-in is paused for this account: please wait a few minutes and try again.",
	"error.password.short":      "Use at least 12 characters.",
	"error.password.long":       "Use at most 256 characters.",
	"error.password.is_email":   "The password must not be your email address.",
	"error.password.mismatch":   "The two passwords are not the same.",
	"error.totp.wrong":          "That code did not match. Check the time on your device and type the newest code.",
	"error.totp.expired":        "This enrolment took too long. A new key is shown below: add it to your app again.",
	"error.passkey.expired":     "This took too long. Please try again.",
	"error.passkey.invalid":     "The passkey could not be checked. Please try again.",
	"error.passkey.last":        "This is your only second factor. Add another before removing it.",
	"error.passkey.none":        "This account has no passkey.",
	"error.passkey.not_found":   "There is no such passkey on your account.",
	"error.passkey.taken":       "This passkey is already registered.",
	"error.passkey.too_many":    "You have as many passkeys as an account may hold. Remove one first.",
	"error.session.complete":    "This step is already done.",
	"error.session.expired":     "Your session has ended. Please sign in again.",
	"error.session.none":        "Please sign in.",
	"error.setup.done":          "This node already has an administrator. Sign in instead.",
	"error.token.invalid":       "This link is not valid: it may have been used already or have expired.",
	"error.account.email_taken": "There is already an account with this email address.",
	"error.account.not_found":   "There is no such account.",
	"error.account.self":        "You cannot disable your own account.",
	"error.report.claimed":      "Someone else has claimed this report. A supervisor can take it over.",
	"error.report.closed":       "This report is no longer open: it has been decided or merged.",
	"error.report.claim_first":  "Claim the report before you assess it.",
	"error.report.not_decided":  "Only a decided report can be reviewed.",
	"error.report.merged":       "This report has already been merged into another.",
	"error.report.erased":       "This report's content was erased, so nothing new can be added to it.",
	"error.report.not_found":    "There is no report with this id that you can see.",
	"error.too_long":            "This is too long.",
	"error.too_many":            "There are too many of these.",
	"error.required":            "Please fill this in.",
	"error.unknown_code":        "Please pick one of the choices.",
	"error.duplicate":           "A report cannot be merged into itself.",
	"error.country.unknown":     "Use two-letter ISO country codes, such as FR or DE, separated by spaces.",
	"error.forbidden":           "Your role does not allow this.",
}

// messageOf returns the English message of an error key.
func messageOf(key string, args ...any) string {
	if m, ok := staffMessages[key]; ok {
		return m
	}
	if en.Has(key) {
		msg := en.T(key, args...)
		if !strings.Contains(msg, "{") {
			return msg
		}
	}
	return "Please check this."
}
