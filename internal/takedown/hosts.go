package takedown

import (
	"context"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/access"
	"github.com/canopy-org/canopy/internal/audit"
)

// The list of hosts: who takes notices, and how.

// Limits on a host.
const (
	maxHostName  = 200
	maxDomains   = 200
	maxNetworks  = 200
	minClock     = time.Hour
	maxClock     = 30 * 24 * time.Hour
	maxHostEmail = 254
)

var (
	hostIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	labelPattern  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// validDomain reports whether s is a host name of two labels or more,
// lowercase, ASCII (an IDN in its xn-- form).
func validDomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !labelPattern.MatchString(l) {
			return false
		}
	}
	return true
}

// NormaliseHost tidies a host as typed (case, spaces, duplicates,
// prefixes in canonical form) and returns what is wrong with it, by
// field.
func NormaliseHost(h *canopy.Host) []canopy.FieldError {
	var fields []canopy.FieldError
	bad := func(f, key string) { fields = append(fields, canopy.FieldError{Field: f, Key: key}) }
	h.ID = strings.ToLower(strings.TrimSpace(h.ID))
	h.Name = strings.TrimSpace(h.Name)
	h.Email = strings.TrimSpace(h.Email)
	h.Webhook = strings.TrimSpace(h.Webhook)
	h.Platform = strings.TrimSpace(h.Platform)
	h.Language = strings.ToLower(strings.TrimSpace(h.Language))
	if !hostIDPattern.MatchString(h.ID) {
		bad("id", "error.takedown.host_id")
	}
	switch {
	case h.Name == "":
		bad("name", "error.required")
	case utf8.RuneCountInString(h.Name) > maxHostName:
		bad("name", "error.too_long")
	case strings.ContainsFunc(h.Name, canopy.IsControlRune):
		bad("name", "error.control_chars")
	}
	if !slices.Contains(canopy.HostKinds, h.Kind) {
		bad("kind", "error.unknown_code")
	}
	var juris []string
	for _, j := range h.Jurisdictions {
		j = strings.ToUpper(strings.TrimSpace(j))
		if j == "" || slices.Contains(juris, j) {
			continue
		}
		if !canopy.IsCountry(j) {
			bad("jurisdictions", "error.takedown.country")
			break
		}
		juris = append(juris, j)
	}
	h.Jurisdictions = juris
	if len(juris) == 0 {
		bad("jurisdictions", "error.required")
	}
	var domains []string
	for _, d := range h.Domains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		d = strings.TrimPrefix(d, "*.")
		if d == "" || slices.Contains(domains, d) {
			continue
		}
		if !validDomain(d) {
			bad("domains", "error.takedown.domain")
			break
		}
		domains = append(domains, d)
	}
	h.Domains = domains
	var networks []string
	for _, n := range h.Networks {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		p, err := netip.ParsePrefix(n)
		if err != nil {
			bad("networks", "error.takedown.network")
			break
		}
		if c := p.Masked().String(); !slices.Contains(networks, c) {
			networks = append(networks, c)
		}
	}
	h.Networks = networks
	if len(domains) > maxDomains || len(networks) > maxNetworks {
		bad("domains", "error.too_many")
	}
	if len(domains) == 0 && len(networks) == 0 {
		bad("domains", "error.takedown.no_match")
	}
	switch h.Method {
	case canopy.NoticeByEmail:
		if a, err := mail.ParseAddress(h.Email); err != nil || a.Name != "" || a.Address != h.Email || len(h.Email) > maxHostEmail ||
			strings.ContainsFunc(h.Email, func(r rune) bool { return r > '~' }) {
			bad("email", "error.takedown.email")
		}
	case canopy.NoticeByWebhook:
		if !validWebhook(h.Webhook) {
			bad("webhook", "error.takedown.webhook")
		}
	default:
		bad("method", "error.unknown_code")
	}
	if h.Language == "" {
		h.Language = "en"
	}
	if !slices.Contains(canopy.Languages, h.Language) {
		bad("language", "error.unknown_code")
	}
	for _, c := range []struct {
		field string
		d     time.Duration
	}{{"remind_after", h.RemindAfter}, {"escalate_after", h.EscalateAfter}} {
		if c.d != 0 && (c.d < minClock || c.d > maxClock) {
			bad(c.field, "error.takedown.clock")
		}
	}
	if h.RemindAfter != 0 && h.EscalateAfter != 0 && h.RemindAfter >= h.EscalateAfter {
		bad("remind_after", "error.takedown.remind_before_escalate")
	}
	return fields
}

// validWebhook accepts an https address, or http to this machine (for a
// host's test endpoint), without credentials or a fragment.
func validWebhook(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || len(s) > 2000 {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		if h == "localhost" {
			return true
		}
		a, err := netip.ParseAddr(h)
		return err == nil && a.IsLoopback()
	}
	return false
}

func invalid(fields []canopy.FieldError) error {
	if len(fields) == 0 {
		return nil
	}
	return &canopy.Error{Code: canopy.EINVALID, Key: "error.invalid", Fields: fields}
}

// allowHosts checks that a member of staff may keep the list; a refusal
// is audited.
func (s *Service) allowHosts(ctx context.Context, who *canopy.Account) error {
	if access.Can(who.Role, access.HostManage) {
		return nil
	}
	if err := s.audit(ctx, audit.Staff(who.ID), audit.ActionPermissionDenied, "", audit.Denied,
		map[string]string{"permission": string(access.HostManage)}); err != nil {
		return err
	}
	return &canopy.Error{Code: canopy.EFORBIDDEN, Key: "error.forbidden"}
}

// PutHosts adds hosts to the list or changes them, all or none. Each
// change is audited by the host's id and the fields that changed, never
// their values.
func (s *Service) PutHosts(ctx context.Context, by audit.Actor, hosts []*canopy.Host) error {
	var fields []canopy.FieldError
	for _, h := range hosts {
		fields = append(fields, NormaliseHost(h)...)
		if h.Platform != "" {
			if _, err := s.DB.Platform(ctx, h.Platform); err != nil {
				fields = append(fields, canopy.FieldError{Field: "platform", Key: "error.takedown.platform"})
			}
		}
	}
	if err := invalid(fields); err != nil {
		return err
	}
	now := s.now()
	changes := make([]map[string]string, len(hosts))
	for i, h := range hosts {
		old, err := s.DB.Host(ctx, h.ID)
		if err != nil && canopy.ErrorCode(err) != canopy.ENOTFOUND {
			return err
		}
		changes[i] = map[string]string{"host": h.ID, "fields": strings.Join(changedFields(old, h), ",")}
		if old == nil {
			changes[i]["fields"] = "new"
		}
		h.Updated, h.UpdatedBy = now, string(by)
	}
	if err := s.DB.PutHosts(ctx, hosts); err != nil {
		return err
	}
	for i, h := range hosts {
		if changes[i]["fields"] == "" {
			continue
		}
		e := audit.Entry{Actor: by, Action: audit.ActionHostChange, Kind: audit.KindHost, ID: h.ID, Outcome: audit.OK, Details: changes[i]}
		if _, err := s.Audit.Append(context.WithoutCancel(ctx), e); err != nil {
			return err
		}
	}
	return nil
}

// PutHost adds or changes one host for a member of staff.
func (s *Service) PutHost(ctx context.Context, who *canopy.Account, h *canopy.Host) error {
	if err := s.allowHosts(ctx, who); err != nil {
		return err
	}
	return s.PutHosts(ctx, audit.Staff(who.ID), []*canopy.Host{h})
}

// changedFields names the fields of a host that differ.
func changedFields(old, h *canopy.Host) []string {
	if old == nil {
		return nil
	}
	var out []string
	for _, f := range []struct {
		name string
		same bool
	}{
		{"name", old.Name == h.Name}, {"kind", old.Kind == h.Kind},
		{"jurisdictions", slices.Equal(old.Jurisdictions, h.Jurisdictions)},
		{"domains", slices.Equal(old.Domains, h.Domains)}, {"networks", slices.Equal(old.Networks, h.Networks)},
		{"method", old.Method == h.Method}, {"email", old.Email == h.Email}, {"webhook", old.Webhook == h.Webhook},
		{"language", old.Language == h.Language}, {"remind_after", old.RemindAfter == h.RemindAfter},
		{"escalate_after", old.EscalateAfter == h.EscalateAfter}, {"platform", old.Platform == h.Platform},
		{"active", old.Active == h.Active},
	} {
		if !f.same {
			out = append(out, f.name)
		}
	}
	return out
}

// Hosts lists the hosts for staff who may send notices or keep the list.
func (s *Service) Hosts(ctx context.Context, who *canopy.Account) ([]canopy.Host, error) {
	if !access.Can(who.Role, access.HostManage) && !access.Can(who.Role, access.ReportTakedown) {
		return nil, s.allowHosts(ctx, who)
	}
	return s.DB.Hosts(ctx)
}
