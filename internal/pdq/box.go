package pdq

// The box filters follow the reference's running sum exactly: four phases,
// a window that shrinks at the edges instead of padding, one float32 add
// and one subtract per step. A direct sum would be as cheap but would round
// differently, and the hash should not depend on which was used.
//
// Phases for window w over n values, half = (w+2)/2:
//  1. add the first half-1 values, no output;
//  2. w-half+1 times: add the next value, output sum/count;
//  3. n-w times: add the next, subtract the oldest, output sum/w;
//  4. half-1 times: subtract the oldest, output sum/count.

// recip returns 1/w and whether multiplying by it is exactly dividing by
// w, which holds for powers of two (the 512-pixel case, w = 4). Division is
// several times slower than multiplication and phase 3 is nearly all of
// the work.
func recip(w int) (float32, bool) {
	return 1 / float32(w), w&(w-1) == 0
}

// boxRows filters each row of the rows×cols image in with window w. Rows
// are done four at a time because a running sum is one long chain of
// dependent adds; four independent chains keep the FPU busy.
func boxRows(in, out []float32, rows, cols, w int) {
	r := 0
	for ; r+4 <= rows; r += 4 {
		box1Dx4(in[r*cols:(r+4)*cols], out[r*cols:(r+4)*cols], cols, w)
	}
	for ; r < rows; r++ {
		box1D(in[r*cols:(r+1)*cols], out[r*cols:(r+1)*cols], w)
	}
}

func box1D(in, out []float32, w int) {
	n := len(in)
	out = out[:n]
	half := (w + 2) / 2
	var sum float32
	r, o, old := 0, 0, 0
	for ; r < half-1; r++ {
		sum += in[r]
	}
	count := half - 1
	for range w - half + 1 {
		sum += in[r]
		r++
		count++
		out[o] = sum / float32(count)
		o++
	}
	inv, exact := recip(w)
	fw := float32(w)
	// Phase 3 as equal-length slices, so that the compiler can drop the
	// bounds checks.
	add, sub, dst := in[r:n], in[:n-r], out[o:o+n-r]
	sub = sub[:len(add)]
	dst = dst[:len(add)]
	for k, v := range add {
		sum += v
		sum -= sub[k]
		if exact {
			dst[k] = sum * inv
		} else {
			dst[k] = sum / fw
		}
	}
	old, o = n-r, o+n-r
	for range half - 1 {
		sum -= in[old]
		old++
		count--
		out[o] = sum / float32(count)
		o++
	}
}

// box1Dx4 is box1D on four consecutive rows of length n at once.
func box1Dx4(in, out []float32, n, w int) {
	a0, a1, a2, a3 := in[:n], in[n:2*n], in[2*n:3*n], in[3*n:4*n]
	b0, b1, b2, b3 := out[:n], out[n:2*n], out[2*n:3*n], out[3*n:4*n]
	half := (w + 2) / 2
	var s0, s1, s2, s3 float32
	r, o, old := 0, 0, 0
	for ; r < half-1; r++ {
		s0 += a0[r]
		s1 += a1[r]
		s2 += a2[r]
		s3 += a3[r]
	}
	count := half - 1
	for range w - half + 1 {
		s0 += a0[r]
		s1 += a1[r]
		s2 += a2[r]
		s3 += a3[r]
		r++
		count++
		c := float32(count)
		b0[o], b1[o], b2[o], b3[o] = s0/c, s1/c, s2/c, s3/c
		o++
	}
	inv, exact := recip(w)
	fw := float32(w)
	// Phase 3 as equal-length slices, so that the compiler can drop the
	// bounds checks.
	m := n - r
	add0, add1, add2, add3 := a0[r:n], a1[r:n], a2[r:n], a3[r:n]
	sub0, sub1, sub2, sub3 := a0[:m], a1[:m], a2[:m], a3[:m]
	dst0, dst1, dst2, dst3 := b0[o:o+m], b1[o:o+m], b2[o:o+m], b3[o:o+m]
	add1, add2, add3 = add1[:len(add0)], add2[:len(add0)], add3[:len(add0)]
	sub0, sub1, sub2, sub3 = sub0[:len(add0)], sub1[:len(add0)], sub2[:len(add0)], sub3[:len(add0)]
	dst0, dst1, dst2, dst3 = dst0[:len(add0)], dst1[:len(add0)], dst2[:len(add0)], dst3[:len(add0)]
	if exact {
		for k, v := range add0 {
			s0 += v
			s1 += add1[k]
			s2 += add2[k]
			s3 += add3[k]
			s0 -= sub0[k]
			s1 -= sub1[k]
			s2 -= sub2[k]
			s3 -= sub3[k]
			dst0[k], dst1[k], dst2[k], dst3[k] = s0*inv, s1*inv, s2*inv, s3*inv
		}
	} else {
		for k, v := range add0 {
			s0 += v
			s1 += add1[k]
			s2 += add2[k]
			s3 += add3[k]
			s0 -= sub0[k]
			s1 -= sub1[k]
			s2 -= sub2[k]
			s3 -= sub3[k]
			dst0[k], dst1[k], dst2[k], dst3[k] = s0/fw, s1/fw, s2/fw, s3/fw
		}
	}
	old, o = m, o+m
	for range half - 1 {
		s0 -= a0[old]
		s1 -= a1[old]
		s2 -= a2[old]
		s3 -= a3[old]
		old++
		count--
		c := float32(count)
		b0[o], b1[o], b2[o], b3[o] = s0/c, s1/c, s2/c, s3/c
		o++
	}
}

// boxCols filters each column of the rows×cols image in with window w. It
// walks the image a row at a time with one running sum per column, which
// does the same arithmetic per column as walking down it but reads memory
// in order.
func boxCols(in, out []float32, rows, cols, w int, sums []float32) {
	sums = sums[:cols]
	clear(sums)
	row := func(i int) []float32 { return in[i*cols : (i+1)*cols] }
	half := (w + 2) / 2
	r, o, old := 0, 0, 0
	for ; r < half-1; r++ {
		addRow(sums, row(r))
	}
	count := half - 1
	for range w - half + 1 {
		addRow(sums, row(r))
		r++
		count++
		divRow(out[o*cols:(o+1)*cols], sums, count)
		o++
	}
	inv, exact := recip(w)
	for ; r < rows; r++ {
		a, s := row(r), row(old)
		dst := out[o*cols : (o+1)*cols]
		old++
		o++
		if exact {
			for c := range sums {
				v := sums[c] + a[c]
				v -= s[c]
				sums[c] = v
				dst[c] = v * inv
			}
		} else {
			addRow(sums, a)
			subRow(sums, s)
			divRow(dst, sums, w)
		}
	}
	for range half - 1 {
		subRow(sums, row(old))
		old++
		count--
		divRow(out[o*cols:(o+1)*cols], sums, count)
		o++
	}
}

// boxColsSampled is boxCols restricted to the columns ci and to output
// rows ri, writing the 64×64 decimated result. Every row still has to be
// summed, but only 64 columns of each.
func boxColsSampled(in []float32, rows, cols, w int, ri, ci *[bufSide]int, out *[bufSide * bufSide]float32) {
	var sums [bufSide]float32
	add := func(i int) {
		row := in[i*cols : (i+1)*cols]
		for j, c := range ci {
			sums[j] += row[c]
		}
	}
	sub := func(i int) {
		row := in[i*cols : (i+1)*cols]
		for j, c := range ci {
			sums[j] -= row[c]
		}
	}
	next := 0 // next output row of out to fill; ri is non-decreasing
	emit := func(o, count int) {
		for next < bufSide && ri[next] == o {
			dst := out[next*bufSide : (next+1)*bufSide]
			c := float32(count)
			for j, v := range sums {
				dst[j] = v / c
			}
			next++
		}
	}
	half := (w + 2) / 2
	r, o, old := 0, 0, 0
	for ; r < half-1; r++ {
		add(r)
	}
	count := half - 1
	for range w - half + 1 {
		add(r)
		r++
		count++
		emit(o, count)
		o++
	}
	for ; r < rows; r++ {
		add(r)
		sub(old)
		old++
		emit(o, w)
		o++
	}
	for range half - 1 {
		sub(old)
		old++
		count--
		emit(o, count)
		o++
	}
}

func addRow(sums, a []float32) {
	a = a[:len(sums)]
	for c := range sums {
		sums[c] += a[c]
	}
}

func subRow(sums, a []float32) {
	a = a[:len(sums)]
	for c := range sums {
		sums[c] -= a[c]
	}
}

func divRow(dst, sums []float32, n int) {
	dst = dst[:len(sums)]
	d := float32(n)
	for c, v := range sums {
		dst[c] = v / d
	}
}
