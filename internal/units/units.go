// Package units parses the byte sizes of every etcdisk flag and neighbour
// spec, so "4k" means the same thing everywhere.
//
// The convention is fio's for bare prefixes and the standards' for explicit
// units:
//
//	4k, 4K, 1m, 1g, 1t  powers of 1024, as fio reads them (4k = 4096)
//	4KiB, 1MiB, 1GiB    powers of 1024 (IEC)
//	4KB, 4kB, 1MB, 1GB  powers of 1000 (SI)
//
// NB: fio's default (kb_base=1024) reads 4KB as 4096 and even 4KiB as 4000
// for compatibility with old job files; etcdisk reads explicit units as their
// standards define them, as fio does with kb_base=1000. A bare prefix is the
// one form both read the same.
package units

import (
	"fmt"
	"math"
	"strings"

	"github.com/dustin/go-humanize"
)

// fioPrefixes are the bare one-letter prefixes fio reads as powers of 1024;
// humanize reads them as powers of 1000, so they are rewritten to IEC units
// before it sees them.
var fioPrefixes = map[byte]string{'k': "KiB", 'm': "MiB", 'g': "GiB", 't': "TiB", 'p': "PiB"}

// ParseSize parses a byte size: "2300", "4k", "4KiB", "64MB", "1.5GiB".
// Negative sizes, fractional byte counts that do not come out whole and sizes
// of 4 EiB or more are errors; zero is allowed (callers that need a positive
// size say so in their own words).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty size")
	}
	if strings.HasPrefix(t, "-") {
		return 0, fmt.Errorf("size %q is negative", s)
	}
	n, err := humanize.ParseBytes(fioToIEC(t))
	if err != nil || strings.HasPrefix(t, "+") {
		return 0, fmt.Errorf("bad size %q (want e.g. 2300, 4k, 4KiB, 64MB)", s)
	}
	if n > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return int64(n), nil
}

// fioToIEC rewrites a trailing bare prefix ("4k", "1 M") to its IEC unit.
func fioToIEC(t string) string {
	last := t[len(t)-1]
	unit, ok := fioPrefixes[last|0x20] // ASCII lower case
	if !ok || len(t) < 2 {
		return t
	}
	if prev := t[len(t)-2]; prev != ' ' && prev != '.' && (prev < '0' || prev > '9') {
		return t // part of a longer unit ("4XK"): humanize decides
	}
	return t[:len(t)-1] + unit
}

var formatUnits = []struct {
	n    int64
	name string
}{
	{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"},
	{1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "kB"},
}

// FormatSize renders n exactly, with the unit that divides it into the
// smallest number (64MB rather than 62500KiB); ParseSize reads it back.
func FormatSize(n int64) string {
	best, unit := n, ""
	for _, u := range formatUnits {
		if n >= u.n && n%u.n == 0 && n/u.n < best {
			best, unit = n/u.n, u.name
		}
	}
	return fmt.Sprintf("%d%s", best, unit)
}
