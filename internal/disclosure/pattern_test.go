package disclosure

import "strings"

// pattern draws which cells of p are hidden, in the extended layout
// (each dimension's margin last): '.' published, 'P' primary, 'S'
// secondary. Rows are separated by " ", layers of a 3D table by " | ".
func pattern(p *Protected) string {
	t := p.t
	var b strings.Builder
	var c [MaxDims]int
	n := len(t.size)
	for f := range t.counts {
		t.coords(f, &c)
		if f > 0 {
			switch {
			case n == 3 && c[1] == 0 && c[2] == 0:
				b.WriteString(" | ")
			case n >= 2 && c[n-1] == 0:
				b.WriteByte(' ')
			}
		}
		b.WriteByte(".PS"[p.status[f]])
	}
	return b.String()
}
