package workspace

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"slices"
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
	"category":  categoryName,
	"flag":      func(code string) string { return en.T("flag." + code + ".name") },
	"status":    func(code string) string { return en.T("status." + code + ".name") },
	"reporter":  func(code string) string { return en.T("reporter." + code + ".name") },
	"outcome":   func(code string) string { return word(outcomeNames, code) },
	"stage":     func(code string) string { return word(stageNames, code) },
	"role":      func(r canopy.Role) string { return word(roleNames, string(r)) },
	"event":     func(code string) string { return word(eventNames, code) },
	"imagery":   func(code string) string { return word(imageryNames, code) },
	"industry":  func(code string) string { return word(industryNames, code) },
	"ageband":   func(code string) string { return word(ageBandNames, code) },
	"linkkind":  func(code string) string { return word(linkKindNames, code) },
	"channel":   func(code string) string { return word(channelNames, code) },
	"action":    func(code string) string { return word(actionNames, code) },
	"share":     func(code string) string { return word(shareNames, code) },
	"shares":    sharesOf,
	"basisfrom": func(code string) string { return word(basisFrom, code) },
	"peerstate": func(code string) string { return word(peerStateNames, code) },
	"refstatus": func(code string) string { return word(referralStatusNames, code) },
	"receives":  receives,
	"b64":       base64.RawURLEncoding.EncodeToString, // a key as federation.NodeInfo writes it
	"when":      when,
	"dur":       dur,
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
	canopy.EventReceived:         "Report received",
	canopy.EventReporterMessage:  "Message from the reporter",
	canopy.EventStaffMessage:     "Message to the reporter",
	canopy.EventFirstLook:        "First look (content opened)",
	canopy.EventAssessed:         "Assessed",
	canopy.EventReferred:         "Decision: referred",
	canopy.EventActionTaken:      "Decision: action taken",
	canopy.EventContentRemoved:   "Content removed",
	canopy.EventNoFurtherAction:  "Decision: no further action",
	canopy.EventReopened:         "Reopened by a supervisor",
	canopy.EventClaimed:          "Claimed",
	canopy.EventReviewed:         "Decision confirmed by a supervisor",
	canopy.EventMerged:           "Merged into another report",
	canopy.EventMergedFrom:       "A duplicate was merged into this report",
	canopy.EventMatched:          "A hash matched known content",
	canopy.EventRouted:           "Routed",
	canopy.EventReferralReceived: "Referred to this node by a peer",
	canopy.EventReferralStatus:   "Referral status",
	canopy.EventSharingWithdrawn: "Sharing abroad withdrawn",
	canopy.EventNoticeSent:       "Takedown notice delivered",
	canopy.EventTakedownEscalate: "Takedown escalated to law enforcement",
	canopy.EventTakedownStatus:   "Takedown step",
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
	"login":                "Signed in",
	"login.failed":         "Sign-in refused",
	"logout":               "Signed out",
	"permission.denied":    "Refused by permissions",
	"report.create":        "Report accepted",
	"report.view":          "Report opened",
	"report.message":       "Message added",
	"report.assess":        "Triage action",
	"report.refer":         "Referred to a peer",
	"report.destroy":       "Report data destroyed",
	"account.create":       "Account created",
	"account.update":       "Account changed",
	"audit.verify":         "Audit log verified",
	"bank.create":          "Hash bank created",
	"bank.change":          "Hash bank changed",
	"bank.subscribe":       "Hash bank subscribed to",
	"platform.create":      "Online service registered",
	"apikey.create":        "API key issued",
	"apikey.revoke":        "API key revoked",
	"peer.add":             "Peer added",
	"peer.update":          "Peer changed",
	"route.set":            "Routing rule set or removed",
	"report.route":         "Report routed",
	"referral.receive":     "Referral received from a peer",
	"referral.status":      "Referral status sent or received",
	"federation.refused":   "Message from another node refused",
	"service.change":       "Support directory changed",
	"case.create":          "Support case opened",
	"case.view":            "Support case read",
	"case.update":          "Support case changed",
	"case.destroy":         "Support case deleted (key destroyed)",
	"case.redact":          "Part of a support case redacted",
	"case.hold":            "Legal hold placed or lifted",
	"consent.give":         "Consent recorded",
	"consent.withdraw":     "Consent withdrawn",
	"notice.prepare":       "Takedown notices prepared",
	"notice.send":          "Takedown notices sent",
	"notice.deliver":       "Takedown notice delivered, or its delivery failed",
	"takedown.update":      "Takedown step recorded",
	"takedown.escalate":    "Takedown escalated to law enforcement",
	"host.change":          "Takedown host list changed",
	"referral.withdrawn":   "A peer told to remove a child's details, or told this node",
	"indicators.share":     "Indicators shared with peers, or received from one",
	"investigation.create": "Investigation opened",
	"investigation.view":   "Investigation opened, with its evidence",
	"investigation.list":   "List of investigations opened",
	"investigation.change": "Investigation changed (note, task, report link, closing, legal hold, handover)",
	"evidence.custody":     "Evidence custody step (acquired, viewed, verified, exported, destroyed)",
	"retention.set":        "Retention policy set",
	"retention.purge":      "Record purged under its retention policy",
}

// shareNames say what each field of a data-sharing profile sends.
var shareNames = map[string]string{
	canopy.ShareURLs:         "Web addresses reported",
	canopy.SharePlatform:     "The app, game or website named",
	canopy.ShareAccounts:     "Usernames reported",
	canopy.ShareDescription:  "The reporter's own words",
	canopy.ShareChildCountry: "The child's country",
	canopy.ShareReporter:     "The kind of reporter (child, parent…), never who",
	canopy.ShareLanguage:     "The language the reporter used",
}

// shareShort are the same, for lists.
var shareShort = map[string]string{
	canopy.ShareURLs:         "web addresses",
	canopy.SharePlatform:     "the service named",
	canopy.ShareAccounts:     "usernames",
	canopy.ShareDescription:  "the reporter's words",
	canopy.ShareChildCountry: "the child's country",
	canopy.ShareReporter:     "the kind of reporter",
	canopy.ShareLanguage:     "the reporter's language",
}

// sharesOf says in a phrase what of a report's content a profile sends,
// in the order of canopy.Shareable.
func sharesOf(share []string) string {
	var out []string
	for _, f := range canopy.Shareable {
		if slices.Contains(share, f) {
			out = append(out, shareShort[f])
		}
	}
	if len(out) == 0 {
		return "nothing of the content"
	}
	return strings.Join(out, ", ")
}

// receives says in a sentence what a peer receives of a referred report.
func receives(share []string) string {
	if !slices.ContainsFunc(share, canopy.IsShareable) {
		return "Receives the classification and the hashes, and nothing of the content."
	}
	return "Receives the classification and the hashes, and " + sharesOf(share) + "."
}

var peerStateNames = map[string]string{
	canopy.PeerActive:    "Active",
	canopy.PeerSuspended: "Suspended: its messages are refused, ours to it wait",
	canopy.PeerRemoved:   "Removed",
}

// basisNames say how a responsible jurisdiction was found.
var basisNames = map[string]string{
	canopy.BasisHosting: "found from where the web address is hosted",
	canopy.BasisChild:   "the child's country, from the report",
	canopy.BasisAnalyst: "chosen by a member of staff",
}

// basisFrom are the same, for a table's column.
var basisFrom = map[string]string{
	canopy.BasisHosting: "Where the web address is hosted",
	canopy.BasisChild:   "The child's country, from the report",
	canopy.BasisAnalyst: "A member of staff's choice",
}

var referralStatusNames = map[string]string{
	canopy.ReferralReceived:       "received",
	canopy.ReferralAccepted:       "accepted",
	canopy.ReferralActioned:       "actioned",
	canopy.ReferralContentRemoved: "content removed",
	canopy.ReferralRejected:       "rejected",
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
	"error.peer.not_found":      "There is no such peer.",
	"error.peer.exists":         "There is already a peer with this id or this signing key.",
	"error.peer.url":            "Use the peer's base address, starting with https:// (http:// only on this machine), such as https://hotline.example.",
	"error.peer.id":             "Use 1 to 32 lower-case letters, digits or hyphens, starting with a letter or digit, such as be.",
	"error.peer.key":            "This is not the right public key. Copy it whole from the peer's node information: the signing key starts with ed25519:, the encryption key with x25519:.",
	"error.peer.self":           "This is this node's own signing key. Use the key of the peer's node.",
	"error.peer.removed":        "This peer is removed. Removal is final: it cannot be resumed or routed to.",
	"error.peer.inactive":       "This peer is suspended or removed, so nothing can be sent to it now.",
	"error.route.not_found":     "There is no routing rule for this jurisdiction.",
	"error.referral.exists":     "This report is already referred to this peer, and the peer has not sent it back.",
	"error.referral.not_found":  "This report was not referred to this node by a peer, so there is nobody to send a status to.",
	"error.referral.closed":     "This referral is closed: the content is removed or the report was sent back, so no further status can be sent.",
	"error.report.routed":       "A member of staff has already chosen this report's jurisdiction.",
	"error.country":             "Use two-letter ISO country codes, such as BE or FR.",
	"error.bank.name":           "Use 1 to 63 lower-case letters, digits, hyphens or underscores, such as hotline-hashes.",
	"error.bank.not_found":      "There is no hash bank with this name on this node.",
	"error.bank.exists":         "This node has a bank of its own with the name the subscription's local bank would take (the peer's id, an underscore and the bank's name).",
}

// messageSets are where messageOf looks, in order: staffMessages, then
// the sets other files of the workspace add for their own pages.
var messageSets = []map[string]string{staffMessages}

// messageOf returns the English message of an error key.
func messageOf(key string, args ...any) string {
	for _, set := range messageSets {
		if m, ok := set[key]; ok {
			return m
		}
	}
	if en.Has(key) {
		msg := en.T(key, args...)
		if !strings.Contains(msg, "{") {
			return msg
		}
	}
	return "Please check this."
}
