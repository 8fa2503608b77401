package report

import (
	"strconv"
	"strings"
	"time"
)

// FormatDuration renders d for people with 3 significant digits and the
// largest unit under which it is at least 1: 740ns, 812us, 1.94ms, 25ms,
// 2.1s. Zero is "0". Durations of 1000 s and more use Go's notation (1h2m3s).
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < 0:
		return "-" + FormatDuration(-d)
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	}
	units := []struct {
		size time.Duration
		name string
	}{{time.Microsecond, "us"}, {time.Millisecond, "ms"}, {time.Second, "s"}}
	for i, u := range units {
		s := sig3(float64(d) / float64(u.size))
		if s == "1000" && i+1 < len(units) {
			continue // rounded up into the next unit
		}
		if i+1 < len(units) && d >= units[i+1].size {
			continue
		}
		if u.name == "s" && d >= 1000*time.Second {
			return d.Round(time.Second).String()
		}
		return s + u.name
	}
	return d.String() // not reached
}

// sig3 formats v (1 <= v < 1000 after rounding) with 3 significant digits,
// without trailing zeros.
func sig3(v float64) string {
	prec := 2
	switch {
	case v >= 99.95:
		prec = 0
	case v >= 9.995:
		prec = 1
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
