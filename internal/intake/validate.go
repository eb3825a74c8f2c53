package intake

import (
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/canopy-org/canopy"
)

// Limits on what one report may carry. They are generous for a person and
// tight enough that no single request can make the node do much work.
const (
	MaxDescription = 5000 // characters
	MaxMessage     = 5000 // characters
	MaxURLs        = 20
	MaxURL         = 2048 // bytes
	MaxAccounts    = 20
	MaxShort       = 200 // characters: platform, account, name
	MaxEmail       = 254
	MaxPhone       = 32
	MaxHashes      = 100
)

// Message keys of the field errors intake returns. The portal and the API
// translate them from the catalogs; TestCatalogsCoverIntakeKeys in the web
// package keeps the two in step.
const (
	KeyInvalid       = "error.invalid"         // the request as a whole is invalid
	KeyRequired      = "error.required"        // a required field is empty
	KeyEmpty         = "error.report.empty"    // nothing to act on: no description, URL, account or hash
	KeyTooLong       = "error.too_long"        // {0} = maximum length
	KeyTooMany       = "error.too_many"        // {0} = maximum count
	KeyInvalidUTF8   = "error.invalid_utf8"    // bytes that are not UTF-8
	KeyControlChars  = "error.control_chars"   // invisible control characters
	KeyUnknownCode   = "error.unknown_code"    // a category, flag or reporter kind we do not know
	KeyDuplicate     = "error.duplicate"       // the same value twice in a list
	KeyURLInvalid    = "error.url.invalid"     // not a web address
	KeyURLScheme     = "error.url.scheme"      // not http or https
	KeyEmailInvalid  = "error.email.invalid"   // not an email address
	KeyPhoneInvalid  = "error.phone.invalid"   // not a phone number
	KeyCountry       = "error.country.unknown" // not an ISO 3166-1 alpha-2 code
	KeyLanguage      = "error.language.unsupported"
	KeyHashAlgorithm = "error.hash.algorithm" // not md5, sha1, sha256 or pdq
	KeyHashValue     = "error.hash.value"     // not the right number of hex digits
	KeyReceipt       = "error.receipt.unknown"
	KeyErased        = "error.report.erased" // the report's content was deleted
)

// FieldKeys lists every message key Validate and the service may return, so
// the catalogs can be checked for them.
var FieldKeys = []string{KeyInvalid, KeyRequired, KeyEmpty, KeyTooLong, KeyTooMany, KeyInvalidUTF8,
	KeyControlChars, KeyUnknownCode, KeyDuplicate, KeyURLInvalid, KeyURLScheme, KeyEmailInvalid,
	KeyPhoneInvalid, KeyCountry, KeyLanguage, KeyHashAlgorithm, KeyHashValue, KeyReceipt, KeyErased}

// Submission is a report as a person or a partner app sends it, before the
// node accepts it.
type Submission struct {
	// ID, when set, is the report's id instead of a new random one. A
	// platform's bulk submission derives it from its idempotency key, so a
	// retried submission finds the report it already stored.
	ID           string
	Channel      string
	Reporter     string
	Category     string
	Flags        []string
	Description  string
	URLs         []string
	Platform     string
	Accounts     []string
	ChildCountry string
	Language     string
	Contact      *canopy.Contact
	Hashes       []canopy.ContentHash
}

type validator struct{ errs []canopy.FieldError }

func (v *validator) add(field, key string, args ...any) {
	v.errs = append(v.errs, canopy.FieldError{Field: field, Key: key, Args: args})
}

// text checks a free-text field: valid UTF-8, no control characters except
// line breaks and tabs where multiline is allowed, at most max characters.
// It returns the value with surrounding space trimmed and line endings
// made \n.
func (v *validator) text(field, s string, max int, multiline bool) string {
	if !utf8.ValidString(s) {
		v.add(field, KeyInvalidUTF8)
		return s
	}
	if multiline {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	s = strings.TrimSpace(s)
	for _, r := range s {
		if isControl(r) && !(multiline && (r == '\n' || r == '\t')) {
			v.add(field, KeyControlChars)
			return s
		}
	}
	if utf8.RuneCountInString(s) > max {
		v.add(field, KeyTooLong, max)
	}
	return s
}

func isControl(r rune) bool { return canopy.IsControlRune(r) }

// Validate checks a submission and normalises it in place (trimmed text,
// upper-case country, lower-case hashes, web addresses with a scheme). It
// returns an *canopy.Error with code EINVALID and one FieldError per
// problem, so a form can show every problem at once.
func Validate(s *Submission) error {
	v := &validator{}
	switch {
	case s.Reporter == "":
		v.add("reporter", KeyRequired)
	case s.Channel == canopy.ChannelPeer:
		// Another hotline relays what its reporter was, or "partner".
		if !canopy.IsReporter(s.Reporter) {
			v.add("reporter", KeyUnknownCode)
		}
	case s.Channel == canopy.ChannelPlatform:
		// An online service reports as itself, whatever person it relays.
		if s.Reporter != canopy.ReporterPlatform {
			v.add("reporter", KeyUnknownCode)
		}
	case !canopy.IsPublicReporter(s.Reporter):
		v.add("reporter", KeyUnknownCode)
	}
	if s.Category == "" {
		v.add("category", KeyRequired)
	} else if !canopy.IsCategory(s.Category) {
		v.add("category", KeyUnknownCode)
	}
	for i, f := range s.Flags {
		field := "flags[" + strconv.Itoa(i) + "]"
		if !canopy.IsFlag(f) {
			v.add(field, KeyUnknownCode)
		} else if slices.Index(s.Flags, f) < i {
			v.add(field, KeyDuplicate)
		}
	}
	if len(s.Flags) > len(canopy.Flags) {
		v.add("flags", KeyTooMany, len(canopy.Flags))
	}
	s.Description = v.text("description", s.Description, MaxDescription, true)
	s.Platform = v.text("platform", s.Platform, MaxShort, false)

	if len(s.URLs) > MaxURLs {
		v.add("urls", KeyTooMany, MaxURLs)
	} else {
		var urls []string
		for i, raw := range s.URLs {
			field := "urls[" + strconv.Itoa(i) + "]"
			u, key := NormaliseURL(raw)
			switch {
			case key != "":
				v.add(field, key)
			case u == "":
				continue // blank lines in a form are not an error
			case slices.Contains(urls, u):
				v.add(field, KeyDuplicate)
			}
			urls = append(urls, u)
		}
		s.URLs = slices.DeleteFunc(urls, func(u string) bool { return u == "" })
	}

	if len(s.Accounts) > MaxAccounts {
		v.add("accounts", KeyTooMany, MaxAccounts)
	} else {
		var accounts []string
		for i, a := range s.Accounts {
			a = v.text("accounts["+strconv.Itoa(i)+"]", a, MaxShort, false)
			if a != "" {
				accounts = append(accounts, a)
			}
		}
		s.Accounts = accounts
	}

	if s.ChildCountry != "" {
		s.ChildCountry = strings.ToUpper(strings.TrimSpace(s.ChildCountry))
		if !canopy.IsCountry(s.ChildCountry) {
			v.add("child_country", KeyCountry)
		}
	}
	if s.Language == "" {
		s.Language = "en"
	} else if !canopy.IsLanguage(s.Language) {
		v.add("language", KeyLanguage)
	}

	if c := s.Contact; c != nil {
		c.Name = v.text("contact.name", c.Name, MaxShort, false)
		c.Email = v.text("contact.email", c.Email, MaxEmail, false)
		if c.Email != "" && !validEmail(c.Email) {
			v.add("contact.email", KeyEmailInvalid)
		}
		c.Phone = v.text("contact.phone", c.Phone, MaxPhone, false)
		if c.Phone != "" && !validPhone(c.Phone) {
			v.add("contact.phone", KeyPhoneInvalid)
		}
		if c.Empty() {
			s.Contact = nil
		}
	}

	if len(s.Hashes) > MaxHashes {
		v.add("hashes", KeyTooMany, MaxHashes)
	} else {
		for i := range s.Hashes {
			h := &s.Hashes[i]
			field := "hashes[" + strconv.Itoa(i) + "]"
			h.Algorithm = strings.ToLower(strings.TrimSpace(h.Algorithm))
			h.Value = strings.TrimSpace(h.Value)
			n, ok := canopy.HashAlgorithms[h.Algorithm]
			switch {
			case !ok:
				v.add(field+".algorithm", KeyHashAlgorithm)
			case n == 0: // opaque: printable ASCII, bounded
				if h.Value == "" || len(h.Value) > 4096 || strings.IndexFunc(h.Value, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
					v.add(field+".value", KeyHashValue, 4096)
				}
			default:
				h.Value = strings.ToLower(h.Value)
				if len(h.Value) != n || !isHex(h.Value) {
					v.add(field+".value", KeyHashValue, n)
				}
			}
		}
	}

	// A referral from a peer may carry only its classification and
	// hashes: the peer's data-sharing profile decides what else comes.
	if len(v.errs) == 0 && s.Channel != canopy.ChannelPeer && s.Description == "" && len(s.URLs) == 0 && len(s.Accounts) == 0 && len(s.Hashes) == 0 {
		v.add("description", KeyEmpty)
	}
	if len(v.errs) > 0 {
		return &canopy.Error{Code: canopy.EINVALID, Key: KeyInvalid, Fields: v.errs}
	}
	return nil
}

// NormaliseURL checks a web address a reporter gave and returns it in the
// form the node keeps: trimmed, with https:// added when no scheme was
// typed, and the host in lower case. It returns a message key when the
// address cannot be a web page; an empty input returns "", "".
func NormaliseURL(raw string) (string, string) {
	if !utf8.ValidString(raw) {
		return "", KeyInvalidUTF8
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", ""
	}
	if len(s) > MaxURL {
		return "", KeyTooLong
	}
	for _, r := range s {
		if isControl(r) || unicode.IsSpace(r) {
			return "", KeyURLInvalid
		}
	}
	if !strings.Contains(s, "://") {
		lower := strings.ToLower(s)
		for _, bad := range []string{"javascript:", "data:", "file:", "vbscript:", "blob:", "about:"} {
			if strings.HasPrefix(lower, bad) {
				return "", KeyURLScheme
			}
		}
		s = "https://" + strings.TrimPrefix(s, "//")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", KeyURLInvalid
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", KeyURLScheme
	}
	host := strings.ToLower(u.Hostname())
	if !validHost(host) {
		return "", KeyURLInvalid
	}
	if net.ParseIP(host) == nil {
		// Keep international names in their DNS form, so the same host is
		// the same string however it was typed.
		ascii, err := idna.Lookup.ToASCII(host)
		if err != nil {
			return "", KeyURLInvalid
		}
		host = ascii
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", KeyURLInvalid
		}
		host = net.JoinHostPort(host, p)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	u.Host = host
	u.User = nil // credentials in a reported address are not ours to keep
	out := u.String()
	if len(out) > MaxURL {
		return "", KeyTooLong
	}
	return out, ""
}

// validHost accepts an IP address or a DNS name of at least two labels
// (international names in Unicode or punycode).
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	h = strings.TrimSuffix(h, ".")
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)) {
				return false
			}
		}
	}
	return true
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	_, domain, ok := strings.Cut(s, "@")
	return ok && validHost(domain)
}

func validPhone(s string) bool {
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

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
