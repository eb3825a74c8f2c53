package i18n

import "testing"

// TestFill: arguments fill their places once; an argument that looks like
// a place (an address a reporter typed) is written as it is.
func TestFill(t *testing.T) {
	c := &Catalog{Lang: "en", messages: map[string]string{
		"two":    "{0}. {1} (id {2})",
		"braces": "keep {this} and {9} and {-1} and {+0}, fill {0}",
		"open":   "an open {0 brace",
	}}
	for _, tc := range []struct {
		key  string
		args []any
		want string
	}{
		{"two", []any{1, "https://x.example/{2}/{1}", "abc"}, "1. https://x.example/{2}/{1} (id abc)"},
		{"braces", []any{"it"}, "keep {this} and {9} and {-1} and {+0}, fill it"},
		{"open", []any{"x"}, "an open {0 brace"},
		{"two", nil, "{0}. {1} (id {2})"},
		{"missing", []any{"x"}, "missing"},
	} {
		if got := c.T(tc.key, tc.args...); got != tc.want {
			t.Errorf("T(%q, %v) = %q, want %q", tc.key, tc.args, got, tc.want)
		}
	}
}
