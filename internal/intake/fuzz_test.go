package intake_test

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/intake"
)

// FuzzNormaliseURL feeds arbitrary text to the web-address check. Whatever
// it accepts must be an absolute http(s) URL that parses, with a host,
// within the length limit, and stable: normalising it again changes
// nothing.
func FuzzNormaliseURL(f *testing.F) {
	for _, s := range []string{"example.com", "https://Example.COM/a?b=c#d", "javascript:alert(1)", "http://[::1]:8080/",
		"https://пример.рф/страница", "//host.example/x", "https://user:pw@host.example", "http://a..b/", "https://ex ample.com",
		"data:text/html,hi", "https://example.com:0/", "\x00", "https://xn--e1afmkfd.xn--p1ai/", "HTTP://EXAMPLE.COM"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, key := intake.NormaliseURL(raw)
		if key != "" {
			if got != "" {
				t.Fatalf("error %s with a value %q", key, got)
			}
			return
		}
		if got == "" {
			if strings.TrimSpace(raw) != "" {
				t.Fatalf("%q accepted as empty", raw)
			}
			return
		}
		if !utf8.ValidString(got) || len(got) > intake.MaxURL {
			t.Fatalf("accepted %q", got)
		}
		u, err := url.Parse(got)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			t.Fatalf("accepted %q: %+v %v", got, u, err)
		}
		again, key := intake.NormaliseURL(got)
		if key != "" || again != got {
			t.Fatalf("not stable: %q -> %q -> %q (%s)", raw, got, again, key)
		}
	})
}

// FuzzValidate runs arbitrary field values through Validate: it must never
// panic, and what it accepts must be valid UTF-8 within the limits.
func FuzzValidate(f *testing.F) {
	f.Add("child", "grooming", "urgent", "what happened", "example.com/x", "FR", "en", "me@example.org", "+33 1 23")
	f.Add("", "", "", "", "", "", "", "", "")
	f.Add("platform", "csam", "nope nope", "\xff", "javascript:x", "zz", "tlh", "@", "x")
	f.Fuzz(func(t *testing.T, reporter, category, flags, desc, urls, country, lang, email, phone string) {
		s := intake.Submission{Reporter: reporter, Category: category, Flags: strings.Fields(flags), Description: desc,
			URLs: strings.Split(urls, "\n"), ChildCountry: country, Language: lang}
		if email != "" || phone != "" {
			s.Contact = &canopy.Contact{Email: email, Phone: phone}
		}
		if intake.Validate(&s) != nil {
			return
		}
		for _, v := range append([]string{s.Description, s.Platform}, s.URLs...) {
			if !utf8.ValidString(v) {
				t.Fatalf("accepted invalid UTF-8 %q", v)
			}
		}
		if utf8.RuneCountInString(s.Description) > intake.MaxDescription || len(s.URLs) > intake.MaxURLs {
			t.Fatal("accepted past the limits")
		}
	})
}
