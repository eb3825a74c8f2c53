package bundle

import (
	"bytes"
	"fmt"
	"io/fs"
	"strings"
	"unicode"
	"unicode/utf8"
)

// sumEntry is one line of SHA256SUMS.
type sumEntry struct {
	Hex  string // 64 lowercase hex digits
	Path string // slash-separated, relative to the bundle directory
}

// formatSums renders entries in the exact text format of GNU sha256sum
// ("<hex>  <path>\n"), in the order given; callers sort by path.
func formatSums(entries []sumEntry) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		b.WriteString(e.Hex)
		b.WriteString("  ")
		b.WriteString(e.Path)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// parseSums reads SHA256SUMS strictly: only the form formatSums writes is
// accepted (lowercase hex, two spaces, a valid name, every line ending in
// a newline, paths in strictly increasing byte order), so one list of
// files has exactly one encoding and the signature covers it.
// sha256sum's other forms (binary marker '*', backslash-escaped names,
// BSD-style "SHA256 (x) = ...") are refused.
func parseSums(data []byte) ([]sumEntry, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("empty")
	}
	if data[len(data)-1] != '\n' {
		return nil, fmt.Errorf("last line has no newline")
	}
	lines := strings.Split(string(data[:len(data)-1]), "\n")
	entries := make([]sumEntry, 0, len(lines))
	for i, line := range lines {
		n := i + 1
		if len(line) < 67 {
			return nil, fmt.Errorf("line %d: too short", n)
		}
		h := line[:64]
		if !isHex(h, 64) {
			return nil, fmt.Errorf("line %d: hash is not 64 lowercase hex digits", n)
		}
		if line[64:66] != "  " {
			return nil, fmt.Errorf("line %d: hash and path not separated by two spaces", n)
		}
		p := line[66:]
		if err := checkName(p); err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		if len(entries) > 0 && p <= entries[len(entries)-1].Path {
			return nil, fmt.Errorf("line %d: %q is out of order or repeated", n, p)
		}
		entries = append(entries, sumEntry{Hex: h, Path: p})
	}
	return entries, nil
}

// checkName accepts a slash-separated relative name with no "." or ".."
// elements, no empty elements, and no backslash or control character, so
// it means the same on every system the bundle may be copied to and needs
// no escaping in SHA256SUMS.
func checkName(name string) error {
	if !utf8.ValidString(name) {
		return fmt.Errorf("name %q is not UTF-8", name)
	}
	if name == "." || !fs.ValidPath(name) {
		return fmt.Errorf("name %q is not a relative path without . or .. elements", name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '\\' || r == utf8.RuneError {
			return fmt.Errorf("name %q holds a control character or backslash", name)
		}
	}
	return nil
}

// isHex reports whether s is n lowercase hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
