package main

import (
	"math"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		bad  bool
	}{
		{"500", 500, false},
		{"500/s", 500, false},
		{"1.5", 1.5, false},
		{"60/m", 1, false},
		{"2/ms", 2000, false},
		{"", 0, true},
		{"fast", 0, true},
		{"-1", 0, true},
		{"5/fortnight", 0, true},
		{"NaN", 0, true},
		{"Inf", 0, true},
		{"1e308/ms", 0, true},
	} {
		got, err := parseRate(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("parseRate(%q) error = %v, want error %v", tc.in, err, tc.bad)
			continue
		}
		if !tc.bad && got != tc.want {
			t.Errorf("parseRate(%q) = %g, want %g", tc.in, got, tc.want)
		}
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"500", "500/s", "60/m", "2/ms", "-1", "", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseRate(s)
		if err == nil && (v < 0 || v != v || math.IsInf(v, 0)) {
			t.Fatalf("parseRate(%q) = %g without error", s, v)
		}
	})
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in        string
		allowZero bool
		want      time.Duration
		bad       bool
	}{
		{"30s", false, 30 * time.Second, false},
		{" 10ms ", false, 10 * time.Millisecond, false},
		{"1m30s", false, 90 * time.Second, false},
		{"0s", true, 0, false},
		{"0s", false, 0, true},
		{"-1s", true, 0, true},
		{"10", false, 0, true},
		{"ten", false, 0, true},
		{"", true, 0, true},
	} {
		got, err := parseDuration(tc.in, tc.allowZero)
		if (err != nil) != tc.bad || (!tc.bad && got != tc.want) {
			t.Errorf("parseDuration(%q, %v) = %v, %v", tc.in, tc.allowZero, got, err)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30s", "10ms", "1h2m3s", "-1s", "0", "", "9999999999h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s, true)
		if err == nil && d < 0 {
			t.Fatalf("parseDuration(%q) = %v without error", s, d)
		}
	})
}
