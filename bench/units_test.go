package bench

import (
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"2300", 2300, false},
		{"4KiB", 4096, false},
		{"4kib", 4096, false},
		{"64MB", 64000000, false},
		{"64MiB", 64 << 20, false},
		{" 1 KiB ", 1024, false},
		{"0", 0, false},
		{"", 0, true},
		{"-5", 0, true},
		{"abc", 0, true},
		{"4XB", 0, true},
		{"99999999999EiB", 0, true},
	} {
		got, err := ParseSize(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("ParseSize(%q) error = %v, want error %v", tc.in, err, tc.bad)
			continue
		}
		if !tc.bad && got != tc.want {
			t.Errorf("ParseSize(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

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
	} {
		got, err := ParseRate(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("ParseRate(%q) error = %v, want error %v", tc.in, err, tc.bad)
			continue
		}
		if !tc.bad && got != tc.want {
			t.Errorf("ParseRate(%q) = %g, want %g", tc.in, got, tc.want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"2300", "4KiB", "64MB", "1.5GiB", "-1", "", "9e99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d without error", s, n)
		}
	})
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"500", "500/s", "60/m", "2/ms", "-1", "", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseRate(s)
		if err == nil && (v < 0 || v != v) {
			t.Fatalf("ParseRate(%q) = %g without error", s, v)
		}
	})
}
