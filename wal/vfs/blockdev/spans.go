package blockdev

// spans is a sorted set of disjoint, non-adjacent byte ranges [lo, hi):
// the parts of a file whose bytes on the device are its contents. Bytes
// outside read as zeros (never written, truncated away, or a hole), whatever
// the device holds there. A WAL segment is one span from 0 to its end.
type spans []span

type span struct{ lo, hi int64 }

// end returns the end of the last span (the high-water mark), 0 if empty.
func (s spans) end() int64 {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1].hi
}

// add inserts [lo, hi), merging overlapping and adjacent spans.
func (s *spans) add(lo, hi int64) {
	if lo >= hi {
		return
	}
	v := *s
	// Fast path: appending at or after the end (the WAL's case).
	if n := len(v); n == 0 || lo > v[n-1].hi {
		*s = append(v, span{lo, hi})
		return
	} else if lo >= v[n-1].lo {
		v[n-1].hi = max(v[n-1].hi, hi)
		return
	}
	out := make(spans, 0, len(v)+1)
	i := 0
	for ; i < len(v) && v[i].hi < lo; i++ {
		out = append(out, v[i])
	}
	for ; i < len(v) && v[i].lo <= hi; i++ {
		lo, hi = min(lo, v[i].lo), max(hi, v[i].hi)
	}
	out = append(out, span{lo, hi})
	out = append(out, v[i:]...)
	*s = out
}

// cut drops everything at or past size.
func (s *spans) cut(size int64) {
	v := *s
	for len(v) > 0 && v[len(v)-1].lo >= size {
		v = v[:len(v)-1]
	}
	if n := len(v); n > 0 && v[n-1].hi > size {
		v[n-1].hi = size
	}
	*s = v
}

// overlaps reports whether any span intersects [lo, hi).
func (s spans) overlaps(lo, hi int64) bool {
	for _, x := range s {
		if x.lo < hi && lo < x.hi {
			return true
		}
	}
	return false
}

// zeroOutside zeroes the bytes of p (file bytes [off, off+len(p))) that no
// span covers.
func (s spans) zeroOutside(p []byte, off int64) {
	pos := off
	end := off + int64(len(p))
	for _, x := range s {
		if x.hi <= pos {
			continue
		}
		if x.lo >= end {
			break
		}
		if x.lo > pos {
			clear(p[pos-off : x.lo-off])
		}
		pos = min(x.hi, end)
	}
	if pos < end {
		clear(p[pos-off:])
	}
}
