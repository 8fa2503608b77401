package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// parseRate parses a rate flag, per second: "500", "500/s"; "1.5k/s" is not
// accepted (keep it plain), "30/m" and "2/ms" are.
func parseRate(s string) (float64, error) {
	t := strings.TrimSpace(s)
	num, unit, found := strings.Cut(t, "/")
	per := 1.0
	if found {
		switch strings.TrimSpace(unit) {
		case "s", "1s", "sec":
			per = 1
		case "ms":
			per = 1e-3
		case "m", "min":
			per = 60
		case "h":
			per = 3600
		default:
			return 0, fmt.Errorf("bad rate %q: unknown unit %q (want /s, /ms, /m or /h)", s, unit)
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("bad rate %q (want e.g. 500 or 500/s)", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("rate %q is negative", s)
	}
	if r := v / per; !math.IsInf(r, 0) {
		return r, nil
	}
	return 0, fmt.Errorf("rate %q is too large", s)
}

// parseDuration parses a duration in Go syntax ("30s", "10ms", "1m30s").
// Negative durations are errors; zero is one unless allowZero.
func parseDuration(s string, allowZero bool) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("bad duration %q (want e.g. 30s, 10ms, 2m)", s)
	}
	if d < 0 || (d == 0 && !allowZero) {
		return 0, fmt.Errorf("duration %q must be positive", s)
	}
	return d, nil
}
