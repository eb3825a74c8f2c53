package web

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/canopy-org/canopy"
	"github.com/canopy-org/canopy/internal/i18n"
)

// A child reads the portal. The English catalog is held to a reading age:
// the Flesch–Kincaid grade of all child-facing text together must be 6 or
// lower (about age 11–12), and no single message may be above grade 9.
// The other catalogs are translated from it by people who write for
// children; the formula is for English only.

const (
	maxGradeOverall = 6.0
	maxGradeMessage = 9.0
	// Flesch–Kincaid says little about a label of a few words ("Your
	// report code" scores high only because "report" has two syllables),
	// so the per-message limit applies to messages of at least this many
	// words. Short labels still count in the overall grade.
	minWordsForMessageGrade = 8
)

// technicalKeys are messages only the API or partners see; a child never
// reads them, so they are not held to the reading age.
func technicalKey(key string) bool {
	switch {
	case strings.HasPrefix(key, "error.json."), strings.HasPrefix(key, "error.hash."):
		return true
	}
	switch key {
	case "error.unsupported_media_type", "error.method_not_allowed", "error.language.unsupported",
		"reporter.platform.name", "reporter.partner.name":
		return true
	}
	return false
}

// childFacing reports whether a child may read the message: the portal's
// own strings and every name, description and error the portal can show.
// A new key under these prefixes is child-facing unless it is listed as
// technical.
func childFacing(key string) bool {
	for _, p := range []string{"portal.", "category.", "flag.", "reporter.", "status.", "error.", "help.", "info.", "transparency."} {
		if strings.HasPrefix(key, p) {
			return !technicalKey(key) && !notProse(key)
		}
	}
	return false
}

// notProse are keys that are not sentences: a date pattern, month names,
// a language's own name.
func notProse(key string) bool {
	return key == "portal.date" || key == "portal.lang.self" || strings.HasPrefix(key, "portal.month.") ||
		key == "help.list.sep" || key == "help.result.where" ||
		strings.HasPrefix(key, "transparency.fmt.") || strings.HasPrefix(key, "transparency.period.")
}

var (
	placeholderRE = regexp.MustCompile(`\{\d+\}`)
	sentenceEndRE = regexp.MustCompile(`[.!?]+(\s|$)`)
)

// textStats counts the words, sentences and syllables of a message. A
// message with no full stop is one sentence (a label or a heading).
func textStats(msg string) (words, sentences, syllables int) {
	msg = placeholderRE.ReplaceAllString(msg, "five")
	sentences = len(sentenceEndRE.FindAllString(msg, -1))
	for _, w := range strings.FieldsFunc(msg, func(r rune) bool {
		return unicode.IsSpace(r) || r == '/' || r == '—' || r == '–'
	}) {
		w = strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if w == "" {
			continue
		}
		words++
		syllables += syllableCount(w)
	}
	if sentences == 0 && words > 0 {
		sentences = 1
	}
	return words, sentences, syllables
}

// syllableCount estimates the syllables of an English word: groups of
// vowels, less a silent final e, plus the endings that add a syllable.
// Numbers and initialisms count one syllable per group of digits or
// letters read out ("AI" is two: A, I).
func syllableCount(word string) int {
	if isInitialism(word) {
		return len(word)
	}
	w := strings.ToLower(word)
	w = strings.TrimSuffix(strings.TrimSuffix(w, "'s"), "’s")
	w = strings.NewReplacer("'", "", "’", "").Replace(w) // "don't" is one syllable
	if parts := strings.Split(word, "-"); len(parts) > 1 {
		n := 0
		for _, p := range parts {
			n += syllableCount(p)
		}
		return n
	}
	// Compounds whose first part ends in a silent e: "someone", "sometimes".
	for _, pre := range []string{"some", "there", "where", "one"} {
		if len(w) > len(pre)+2 && strings.HasPrefix(w, pre) {
			return syllableCount(pre) + syllableCount(w[len(pre):])
		}
	}
	if w == "" {
		return 0
	}
	if strings.IndexFunc(w, unicode.IsLetter) < 0 {
		return 1 // a number: "20" is read as a word or two; one is kind enough
	}
	isVowel := func(r rune) bool { return strings.ContainsRune("aeiouy", r) }
	runes := []rune(w)
	n := 0
	prev := false
	for i, r := range runes {
		v := isVowel(r)
		// "y" at the start of a word is a consonant ("you", "yes").
		if r == 'y' && i == 0 {
			v = false
		}
		if v && !prev {
			n++
		}
		prev = v
	}
	last := len(runes) - 1
	switch {
	// A final silent e: "make", "safe", "site" (but not "the", "be",
	// and "-le" after a consonant is its own syllable: "little", "table").
	case runes[last] == 'e' && n > 1 && !(last >= 2 && runes[last-1] == 'l' && !isVowel(runes[last-2])):
		if !(last >= 1 && isVowel(runes[last-1])) { // "free", "see" keep it
			n--
		}
	// "-ed" is silent except after t or d: "asked", "called" but "wanted".
	case strings.HasSuffix(w, "ed") && n > 1 && !strings.HasSuffix(w, "ted") && !strings.HasSuffix(w, "ded"):
		if last >= 2 && !isVowel(runes[last-2]) {
			n--
		}
	// "-es" is silent after most consonants: "makes", "sites", but not
	// after s, x, z, ch, sh, ge, ce: "boxes", "pages", "places".
	case strings.HasSuffix(w, "es") && n > 1 && last >= 2 && !isVowel(runes[last-2]):
		if !strings.ContainsRune("sxzgc", runes[last-2]) && !strings.HasSuffix(w, "ches") && !strings.HasSuffix(w, "shes") {
			n--
		}
	}
	// Vowel pairs that are two sounds: "video", "radio", "area", "being".
	for _, pair := range []string{"io", "eo", "ia", "ua", "iu", "uo"} {
		n += strings.Count(w, pair)
	}
	if strings.Contains(w, "ion") {
		n -= strings.Count(w, "ion") // "-tion", "-sion" are one: "action", "question"
	}
	if strings.Contains(w, "eing") || strings.Contains(w, "ying") {
		n++ // "being", "trying"
	}
	return max(n, 1)
}

func isInitialism(w string) bool {
	if len(w) < 2 || len(w) > 4 {
		return false
	}
	for _, r := range w {
		if !unicode.IsUpper(r) {
			return false
		}
	}
	return true
}

// fleschKincaid is the Flesch–Kincaid grade level.
func fleschKincaid(words, sentences, syllables int) float64 {
	if words == 0 || sentences == 0 {
		return 0
	}
	return 0.39*float64(words)/float64(sentences) + 11.8*float64(syllables)/float64(words) - 15.59
}

func TestSyllableCount(t *testing.T) {
	known := map[string]int{
		"cat": 1, "the": 1, "you": 1, "yes": 1, "safe": 1, "make": 1, "free": 1, "child": 1, "friend": 1,
		"report": 2, "table": 2, "little": 2, "children": 2, "happened": 2, "asked": 1, "wanted": 2,
		"someone": 2, "pages": 2, "places": 2, "sites": 1, "boxes": 2, "danger": 2,
		"computer": 3, "video": 3, "radio": 3, "sometimes": 2, "everyone": 3, "being": 2, "anything": 3, "together": 3,
		"action": 2, "question": 2, "education": 4, "information": 4, "anonymous": 4,
		"AI": 2, "OK": 2, "AI-made": 3, "don't": 1, "website": 2, "helpline": 2, "20": 1,
	}
	for w, want := range known {
		if got := syllableCount(w); got != want {
			t.Errorf("syllableCount(%q) = %d, want %d", w, got, want)
		}
	}
	// And the formula on known text: a simple primer sentence is below
	// grade 2; a dense legal sentence is far above 12.
	if g := fleschKincaid(textStats("The cat sat on the mat. It was a fat cat.")); g > 2 {
		t.Errorf("primer text scores grade %.1f", g)
	}
	legal := "Notwithstanding the aforementioned considerations, the organisation's jurisdictional " +
		"responsibilities necessitate comprehensive institutional documentation of international communications."
	if g := fleschKincaid(textStats(legal)); g < 12 {
		t.Errorf("legal text scores grade %.1f", g)
	}
}

func TestTextStats(t *testing.T) {
	for msg, want := range map[string][3]int{
		"Leave this site":                           {3, 1, 3},
		"We got your report. Thank you!":            {6, 2, 7},
		"Line {0}: {1}":                             {3, 1, 3},
		"Please use at most {0} characters.":        {6, 1, 8},
		"It should look like example.com/page.":     {6, 1, 9},
		"Choose “Something else”. Or ask an adult.": {7, 2, 9},
	} {
		w, s, y := textStats(msg)
		if [3]int{w, s, y} != want {
			t.Errorf("textStats(%q) = %d words, %d sentences, %d syllables; want %v", msg, w, s, y, want)
		}
	}
}

func TestReadability(t *testing.T) {
	en := i18n.Get("en")
	keys := en.Keys()
	sort.Strings(keys)
	var all, prose [3]int // words, sentences, syllables
	n := 0
	type scored struct {
		key   string
		grade float64
	}
	var hardest []scored
	for _, k := range keys {
		if !childFacing(k) {
			continue
		}
		w, s, y := textStats(en.T(k))
		all = [3]int{all[0] + w, all[1] + s, all[2] + y}
		n++
		if w < minWordsForMessageGrade {
			continue
		}
		prose = [3]int{prose[0] + w, prose[1] + s, prose[2] + y}
		g := fleschKincaid(w, s, y)
		hardest = append(hardest, scored{k, g})
		if g > maxGradeMessage {
			t.Errorf("%s scores grade %.1f (over %.0f): %q", k, g, maxGradeMessage, en.T(k))
		}
	}
	grade := fleschKincaid(all[0], all[1], all[2])
	t.Logf("%d child-facing messages: %d words, %d sentences, %d syllables: Flesch–Kincaid grade %.2f",
		n, all[0], all[1], all[2], grade)
	if grade > maxGradeOverall {
		t.Errorf("child-facing English scores grade %.2f, over %.0f", grade, maxGradeOverall)
	}
	// Labels pull the grade down; the sentences alone must pass too.
	proseGrade := fleschKincaid(prose[0], prose[1], prose[2])
	t.Logf("%d messages of %d words or more: grade %.2f", len(hardest), minWordsForMessageGrade, proseGrade)
	if proseGrade > maxGradeOverall {
		t.Errorf("child-facing sentences score grade %.2f, over %.0f", proseGrade, maxGradeOverall)
	}
	slices.SortFunc(hardest, func(a, b scored) int {
		switch {
		case a.grade > b.grade:
			return -1
		case a.grade < b.grade:
			return 1
		}
		return strings.Compare(a.key, b.key)
	})
	for _, h := range hardest[:min(5, len(hardest))] {
		t.Logf("hardest: %.1f %s", h.grade, h.key)
	}
	// The set is not empty by accident.
	for _, k := range []string{"portal.form.notice.body", "category.csam.desc", "status.referred.desc", "error.required", "flag.urgent.name"} {
		if !childFacing(k) {
			t.Errorf("%s is not counted as child-facing", k)
		}
	}
	for _, c := range canopy.Categories {
		if !childFacing("category." + c.Code + ".desc") {
			t.Errorf("category %s is not counted", c.Code)
		}
	}
}

// TestReadabilityOfHelp holds "Find help" and the information pages to a
// lower grade than the rest: a child reads them at a hard moment, often
// alone, and they explain what happens next, rights and consent. The
// grade of their English, all together, must be 5 or lower (about age
// 10–11), and every sentence of eight words or more 8 or lower.
func TestReadabilityOfHelp(t *testing.T) {
	en := i18n.Get("en")
	var all [3]int
	n := 0
	for _, k := range en.Keys() {
		if !childFacing(k) || !(strings.HasPrefix(k, "help.") || strings.HasPrefix(k, "info.")) {
			continue
		}
		n++
		w, s, y := textStats(en.T(k))
		all = [3]int{all[0] + w, all[1] + s, all[2] + y}
		if g := fleschKincaid(w, s, y); w >= minWordsForMessageGrade && g > 8 {
			t.Errorf("%s scores grade %.1f (over 8): %q", k, g, en.T(k))
		}
	}
	if n < 100 {
		t.Fatalf("only %d messages of help and info", n)
	}
	grade := fleschKincaid(all[0], all[1], all[2])
	t.Logf("%d messages of help and info: %d words, Flesch–Kincaid grade %.2f", n, all[0], grade)
	if grade > 5 {
		t.Errorf("help and info pages score grade %.2f, over 5", grade)
	}
}

// Nothing a child reads may blame them, shame them, or doubt them. The
// phrases are matched in lower case, anywhere in a message.
var blaming = []string{
	"your fault", "you should have", "you shouldn't have", "you should not have", "why did you",
	"why didn't you", "you were wrong", "blame", "you let ", "you allowed", "you chose to", "you caused",
	"careless", "stupid", "shame", "ashamed", "naughty", "you are in trouble", "you will be in trouble",
	"get you in trouble", "you must have", "are you sure this happened", "lying", "lie about",
	"make sure it really", "if it really happened", "punish", "your own fault", "you asked for it",
}

// Terms the Luxembourg Guidelines retire, in every language the portal
// speaks.
var retiredTerms = map[string][]string{
	"en": {"child porn", "kiddie porn", "child prostitut", "child sex tourism", "juvenile prostitut", "paedophile material"},
	"fr": {"pornographie infantile", "pornographie enfantine", "pédopornographie", "pedopornographie", "prostitution infantile", "tourisme sexuel"},
	"es": {"pornografía infantil", "pornografia infantil", "prostitución infantil", "turismo sexual infantil"},
	"ar": {"إباحية الأطفال", "المواد الإباحية للأطفال", "دعارة الأطفال", "السياحة الجنسية"},
}

func TestNoBlame(t *testing.T) {
	en := i18n.Get("en")
	for _, k := range en.Keys() {
		msg := strings.ToLower(strings.ReplaceAll(en.T(k), "’", "'"))
		for _, p := range blaming {
			if strings.Contains(msg, p) {
				t.Errorf("%s blames or doubts the reader (%q): %q", k, p, en.T(k))
			}
		}
	}
}

func TestRetiredTerms(t *testing.T) {
	for _, lang := range canopy.Languages {
		c := i18n.Get(lang)
		for _, k := range c.Keys() {
			msg := strings.ToLower(c.T(k))
			for _, term := range retiredTerms[lang] {
				if strings.Contains(msg, term) {
					t.Errorf("%s %s uses %q, retired by the Luxembourg Guidelines", lang, k, term)
				}
			}
		}
	}
}

// TestReadabilityOfTransparency holds the public figures' page to the
// portal's level: the people it is for, children and parents among
// them, read why numbers are hidden and what each figure counts before
// any figure. The intro and the legend together, and every indicator's
// definition, score grade 6 or lower overall, and no message of eight
// words or more above 9.
func TestReadabilityOfTransparency(t *testing.T) {
	en := i18n.Get("en")
	var intro, defs [3]int
	n := 0
	for _, k := range en.Keys() {
		if !childFacing(k) || !strings.HasPrefix(k, "transparency.") {
			continue
		}
		n++
		w, s, y := textStats(en.T(k))
		if g := fleschKincaid(w, s, y); w >= minWordsForMessageGrade && g > maxGradeMessage {
			t.Errorf("%s scores grade %.1f (over %.0f): %q", k, g, maxGradeMessage, en.T(k))
		}
		switch {
		case k == "transparency.lead", strings.HasPrefix(k, "transparency.intro."), strings.HasPrefix(k, "transparency.hidden."),
			strings.HasPrefix(k, "transparency.legend."):
			intro = [3]int{intro[0] + w, intro[1] + s, intro[2] + y}
		case strings.HasPrefix(k, "transparency.ind.") && strings.HasSuffix(k, ".def"):
			defs = [3]int{defs[0] + w, defs[1] + s, defs[2] + y}
		}
	}
	if n < 60 || intro[0] < 150 || defs[0] < 150 {
		t.Fatalf("only %d messages (%d words of intro, %d of definitions)", n, intro[0], defs[0])
	}
	for name, c := range map[string][3]int{"the intro and legend": intro, "the definitions": defs} {
		g := fleschKincaid(c[0], c[1], c[2])
		t.Logf("%s: %d words, Flesch–Kincaid grade %.2f", name, c[0], g)
		if g > maxGradeOverall {
			t.Errorf("%s score grade %.2f, over %.0f", name, g, maxGradeOverall)
		}
	}
}
