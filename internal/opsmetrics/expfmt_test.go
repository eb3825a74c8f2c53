package opsmetrics_test

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A strict reader of the text exposition format 0.0.4, for the tests: it
// refuses anything the format does not allow and some things it allows
// but this package must never write (comments other than HELP and TYPE,
// a family split in two, a sample before its TYPE, a repeated series,
// timestamps, unsorted families).

type sample struct {
	name   string // with a histogram's suffix
	labels map[string]string
	value  float64
}

type parsedFamily struct {
	name, help, typ string
	samples         []sample
}

type exposition struct {
	families map[string]*parsedFamily
	order    []string
}

var (
	nameRE  = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// parse reads an exposition and checks it.
func parse(text string) (*exposition, error) {
	e := &exposition{families: map[string]*parsedFamily{}}
	if text == "" {
		return e, nil
	}
	if !strings.HasSuffix(text, "\n") {
		return nil, fmt.Errorf("does not end in a line feed")
	}
	var cur *parsedFamily
	seen := map[string]bool{}
	for n, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fail := func(format string, a ...any) error {
			return fmt.Errorf("line %d %q: %s", n+1, line, fmt.Sprintf(format, a...))
		}
		switch {
		case line == "":
			return nil, fail("empty line")
		case strings.HasPrefix(line, "# HELP "):
			name, help, ok := strings.Cut(line[len("# HELP "):], " ")
			if !ok || !nameRE.MatchString(name) {
				return nil, fail("bad HELP")
			}
			if _, dup := e.families[name]; dup {
				return nil, fail("family %s again", name)
			}
			h, err := unescape(help, false)
			if err != nil {
				return nil, fail("%v", err)
			}
			cur = &parsedFamily{name: name, help: h}
			e.families[name] = cur
			e.order = append(e.order, name)
		case strings.HasPrefix(line, "# TYPE "):
			name, typ, ok := strings.Cut(line[len("# TYPE "):], " ")
			if !ok || cur == nil || name != cur.name || cur.typ != "" || len(cur.samples) > 0 {
				return nil, fail("TYPE not right after its HELP")
			}
			switch typ {
			case "counter", "gauge", "histogram":
			default:
				return nil, fail("type %q", typ)
			}
			cur.typ = typ
		case strings.HasPrefix(line, "#"):
			return nil, fail("a comment")
		default:
			if cur == nil || cur.typ == "" {
				return nil, fail("sample before TYPE")
			}
			s, rest, err := parseSample(line)
			if err != nil {
				return nil, fail("%v", err)
			}
			if rest != "" {
				return nil, fail("trailing %q (timestamps are not written)", rest)
			}
			want := []string{cur.name}
			if cur.typ == "histogram" {
				want = []string{cur.name + "_bucket", cur.name + "_sum", cur.name + "_count"}
			}
			if !contains(want, s.name) {
				return nil, fail("sample %s in family %s", s.name, cur.name)
			}
			if _, le := s.labels["le"]; le != (s.name == cur.name+"_bucket") {
				return nil, fail("le on a sample that is not a bucket, or a bucket without le")
			}
			if cur.typ == "counter" && (s.value < 0 || math.IsNaN(s.value)) {
				return nil, fail("counter below 0")
			}
			key := s.name + "{" + canonical(s.labels) + "}"
			if seen[key] {
				return nil, fail("series again")
			}
			seen[key] = true
			cur.samples = append(cur.samples, s)
		}
	}
	for _, f := range e.families {
		if f.typ == "" {
			return nil, fmt.Errorf("family %s has no TYPE", f.name)
		}
		if f.typ == "histogram" {
			if err := checkHistogram(f); err != nil {
				return nil, err
			}
		}
	}
	for i := 1; i < len(e.order); i++ {
		if e.order[i-1] >= e.order[i] {
			return nil, fmt.Errorf("families out of order: %s before %s", e.order[i-1], e.order[i])
		}
	}
	return e, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// parseSample reads name{labels} value and returns what follows.
func parseSample(line string) (sample, string, error) {
	s := sample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i < 0 {
		return s, "", fmt.Errorf("no value")
	}
	s.name = line[:i]
	if !nameRE.MatchString(s.name) {
		return s, "", fmt.Errorf("metric name %q", s.name)
	}
	rest := line[i:]
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			eq := strings.Index(rest, `="`)
			if eq < 0 {
				return s, "", fmt.Errorf("label without =\"")
			}
			name := rest[:eq]
			if !labelRE.MatchString(name) || strings.HasPrefix(name, "__") {
				return s, "", fmt.Errorf("label name %q", name)
			}
			if _, dup := s.labels[name]; dup {
				return s, "", fmt.Errorf("label %s twice", name)
			}
			rest = rest[eq+2:]
			// The value ends at the first quote not escaped.
			end := -1
			for j := 0; j < len(rest); j++ {
				if rest[j] == '\\' {
					j++
					continue
				}
				if rest[j] == '"' {
					end = j
					break
				}
			}
			if end < 0 {
				return s, "", fmt.Errorf("label value not closed")
			}
			v, err := unescape(rest[:end], true)
			if err != nil {
				return s, "", err
			}
			s.labels[name] = v
			rest = rest[end+1:]
			if strings.HasPrefix(rest, ",") {
				rest = rest[1:]
				if strings.HasPrefix(rest, "}") {
					return s, "", fmt.Errorf("trailing comma")
				}
				continue
			}
			if !strings.HasPrefix(rest, "}") {
				return s, "", fmt.Errorf("expected , or }")
			}
			rest = rest[1:]
			break
		}
	}
	if !strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "  ") {
		return s, "", fmt.Errorf("expected one space before the value")
	}
	value, after, _ := strings.Cut(rest[1:], " ")
	v, err := parseValue(value)
	if err != nil {
		return s, "", err
	}
	s.value = v
	return s, after, nil
}

func parseValue(s string) (float64, error) {
	switch s {
	case "+Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	case "NaN":
		return math.NaN(), nil
	}
	if strings.ContainsAny(s, "_xXpP") || strings.EqualFold(s, "inf") || strings.EqualFold(s, "infinity") {
		return 0, fmt.Errorf("value %q", s)
	}
	return strconv.ParseFloat(s, 64)
}

// unescape undoes the format's escapes: \\ and \n, and in label values
// \"; any other backslash is an error, as is a raw quote or line feed in a
// label value.
func unescape(s string, label bool) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 == len(s) {
				return "", fmt.Errorf("dangling backslash in %q", s)
			}
			i++
			switch s[i] {
			case '\\':
				b.WriteByte('\\')
			case 'n':
				b.WriteByte('\n')
			case '"':
				if !label {
					return "", fmt.Errorf(`\" in HELP`)
				}
				b.WriteByte('"')
			default:
				return "", fmt.Errorf("unknown escape \\%c", s[i])
			}
		case c == '\n', c == '"' && label:
			return "", fmt.Errorf("raw %q in %q", c, s)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// canonical writes labels sorted by name, for comparing label sets.
func canonical(labels map[string]string) string {
	var names []string
	for n := range labels {
		names = append(names, n)
	}
	sortStrings(names)
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", n, labels[n])
	}
	return b.String()
}

func sortStrings(xs []string) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// without returns labels without one of them.
func without(labels map[string]string, drop string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		if k != drop {
			out[k] = v
		}
	}
	return out
}

// checkHistogram checks each series of a histogram: buckets ascending by
// le and cumulative, the last +Inf, and _count equal to it, with a _sum.
func checkHistogram(f *parsedFamily) error {
	type series struct {
		les, counts []float64
		sum, count  *float64
	}
	all := map[string]*series{}
	get := func(labels map[string]string) *series {
		k := canonical(without(labels, "le"))
		if all[k] == nil {
			all[k] = &series{}
		}
		return all[k]
	}
	for _, s := range f.samples {
		sr := get(s.labels)
		switch s.name {
		case f.name + "_bucket":
			if sr.sum != nil || sr.count != nil {
				return fmt.Errorf("%s: bucket after _sum or _count", f.name)
			}
			le, err := parseValue(s.labels["le"])
			if err != nil {
				return fmt.Errorf("%s: le %q: %v", f.name, s.labels["le"], err)
			}
			if n := len(sr.les); n > 0 && (le <= sr.les[n-1] || s.value < sr.counts[n-1]) {
				return fmt.Errorf("%s: bucket le=%v (%v) after le=%v (%v): not ascending and cumulative",
					f.name, le, s.value, sr.les[n-1], sr.counts[n-1])
			}
			sr.les, sr.counts = append(sr.les, le), append(sr.counts, s.value)
		case f.name + "_sum":
			v := s.value
			sr.sum = &v
		case f.name + "_count":
			v := s.value
			sr.count = &v
		}
	}
	for k, sr := range all {
		n := len(sr.les)
		if n == 0 || !math.IsInf(sr.les[n-1], 1) {
			return fmt.Errorf("%s{%s}: no +Inf bucket", f.name, k)
		}
		if sr.sum == nil || sr.count == nil || *sr.count != sr.counts[n-1] {
			return fmt.Errorf("%s{%s}: _count and _sum missing or _count not the +Inf bucket", f.name, k)
		}
	}
	return nil
}

// value returns the value of the sample of name with exactly these labels.
func (e *exposition) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	v, ok := e.lookup(name, labels...)
	if !ok {
		t.Fatalf("no sample %s%v", name, labels)
	}
	return v
}

func (e *exposition) lookup(name string, labels ...string) (float64, bool) {
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	fam := name
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if f, ok := e.families[strings.TrimSuffix(name, suf)]; ok && f.typ == "histogram" {
			fam = f.name
		}
	}
	f := e.families[fam]
	if f == nil {
		return 0, false
	}
	for _, s := range f.samples {
		if s.name == name && canonical(s.labels) == canonical(want) {
			return s.value, true
		}
	}
	return 0, false
}

// TestParserRefuses checks that the test's parser is strict: each of these
// breaks the format or this package's promises, and must be refused.
func TestParserRefuses(t *testing.T) {
	head := "# HELP a_total A.\n# TYPE a_total counter\n"
	hist := "# HELP h H.\n# TYPE h histogram\n"
	for name, text := range map[string]string{
		"no final line feed":      head + "a_total 1",
		"raw quote in value":      head + `a_total{x="a"b"} 1` + "\n",
		"unknown escape":          head + `a_total{x="a\tb"} 1` + "\n",
		"trailing comma":          head + `a_total{x="a",} 1` + "\n",
		"sample before TYPE":      "a_total 1\n",
		"repeated series":         head + "a_total 1\na_total 2\n",
		"family twice":            head + head,
		"wrong family":            head + "b_total 1\n",
		"bad value":               head + "a_total one\n",
		"timestamp":               head + "a_total 1 1700000000\n",
		"unsorted families":       "# HELP b B.\n# TYPE b gauge\nb 1\n# HELP a A.\n# TYPE a gauge\na 1\n",
		"bucket not cumulative":   hist + "h_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
		"no +Inf bucket":          hist + "h_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
		"count is not +Inf":       hist + "h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
		"le descending":           hist + "h_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
		"a comment":               "# hello\n",
		"quote escaped in HELP":   "# HELP a A\\\".\n# TYPE a gauge\n",
		"two spaces before value": head + "a_total  1\n",
	} {
		if _, err := parse(text); err == nil {
			t.Errorf("%s: parsed %q", name, text)
		}
	}
}
