package takedown

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/i18n"
	"github.com/canopy-org/canopy/internal/mail"
)

// What a notice says, built once per delivery from the notice, its host,
// the report's classification and the addresses still up.
type letter struct {
	notice    *canopy.Notice
	host      *canopy.Host
	category  string // a TAXONOMY.md code
	imagery   string // an ICCAM decision, or ""
	items     []canopy.Takedown
	reminder  int // 0 for the notice itself
	escalate  time.Duration
	node      string
	baseURL   string
	countries []string
}

// text is the e-mail's subject and body, in the host's language.
func (l *letter) text() (subject, body string) {
	c := i18n.Get(l.host.Language)
	ref := l.notice.Reference
	subject = c.T("notice.subject", ref)
	if l.reminder > 0 {
		subject = c.T("notice.subject.reminder", ref, l.reminder)
	}
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteString("\n") }
	line(c.T("notice.greeting", l.host.Name))
	line("")
	if l.reminder > 0 {
		line(c.T("notice.intro.reminder", ref, l.notice.Sent.UTC().Format("2006-01-02 15:04 UTC")))
	} else {
		line(c.T("notice.intro", l.node, strings.Join(l.countries, ", ")))
	}
	line("")
	line(c.T("notice.reference", ref))
	line(c.T("notice.classification", c.T("category."+l.category+".name")))
	if l.imagery != "" {
		line(c.T("notice.imagery", c.T("notice.imagery."+l.imagery)))
	}
	line("")
	line(c.T("notice.urls", len(l.items)))
	for i, t := range l.items {
		line(c.T("notice.url", i+1, t.URL, t.ID))
	}
	line("")
	if l.host.Platform != "" && l.baseURL != "" {
		line(c.T("notice.confirm.api", l.baseURL))
	} else {
		line(c.T("notice.confirm.reply"))
	}
	line(c.T("notice.deadline", int(l.escalate.Hours())))
	line("")
	line(c.T("notice.warning"))
	line("")
	line(c.T("notice.signature", l.node))
	return subject, b.String()
}

// email is the notice as an e-mail.
func (l *letter) email(from string) *mail.Message {
	subject, body := l.text()
	return &mail.Message{From: from, To: []string{l.host.Email}, Subject: subject, Text: body,
		Headers: map[string]string{"X-Canopy-Notice": l.notice.Reference, "Auto-Submitted": "auto-generated"}}
}

// WebhookNotice is the body of a notice delivered by webhook
// (docs/takedown.md).
type WebhookNotice struct {
	Version   int               `json:"version"` // 1
	Notice    string            `json:"notice"`
	Reference string            `json:"reference"`
	Node      string            `json:"node"`
	Reminder  int               `json:"reminder"` // 0 for the notice, then 1, 2…
	Sent      string            `json:"sent"`     // RFC 3339, when this delivery was made
	Category  string            `json:"category"`
	Imagery   string            `json:"imagery,omitempty"`
	Countries []string          `json:"jurisdictions"`
	Escalate  string            `json:"escalate_after"` // RFC 3339: when what is still up goes to law enforcement
	Confirm   string            `json:"confirm_url,omitempty"`
	Items     []WebhookTakedown `json:"items"`
}

// WebhookTakedown is one address of a webhook notice.
type WebhookTakedown struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// webhook is the notice as a webhook body.
func (l *letter) webhook(at time.Time) []byte {
	w := WebhookNotice{Version: 1, Notice: l.notice.ID, Reference: l.notice.Reference, Node: l.node, Reminder: l.reminder,
		Sent: at.UTC().Format(time.RFC3339), Category: l.category, Imagery: l.imagery, Countries: l.countries}
	start := l.notice.Sent
	if start.IsZero() {
		start = at
	}
	w.Escalate = start.Add(l.escalate).UTC().Format(time.RFC3339)
	if l.host.Platform != "" && l.baseURL != "" {
		w.Confirm = l.baseURL + "/api/v1/platform/takedowns/{id}"
	}
	for _, t := range l.items {
		w.Items = append(w.Items, WebhookTakedown{ID: t.ID, URL: t.URL})
	}
	b, err := json.Marshal(&w)
	if err != nil {
		panic(fmt.Sprintf("takedown: webhook body: %v", err)) // only strings and numbers: cannot fail
	}
	return b
}

// SignatureHeader is the header that carries a webhook's signature.
const SignatureHeader = "Canopy-Signature"

// signedBytes are what a webhook's signature covers: a fixed label, the
// time as Unix seconds, and the SHA-256 of the body, each on its own
// line (docs/takedown.md).
func signedBytes(unix int64, body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte("canopy-notice-v1\n" + strconv.FormatInt(unix, 10) + "\n" + base64.RawURLEncoding.EncodeToString(sum[:]) + "\n")
}

// signature is the Canopy-Signature header of a webhook body sent at at.
func (s *Service) signature(at time.Time, body []byte) string {
	unix := at.Unix()
	sig := s.Identity.Sign(signedBytes(unix, body))
	return "keyid=" + base64.RawURLEncoding.EncodeToString(s.Identity.PublicKey()) +
		", t=" + strconv.FormatInt(unix, 10) + ", sig=" + base64.RawURLEncoding.EncodeToString(sig)
}
