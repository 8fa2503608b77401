package units

import "testing"

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"2300", 2300, false},
		{"0", 0, false},
		// fio's bare prefixes: powers of 1024, either case.
		{"4k", 4096, false},
		{"4K", 4096, false},
		{"1m", 1 << 20, false},
		{"1M", 1 << 20, false},
		{"1g", 1 << 30, false},
		{"2t", 2 << 40, false},
		{"1.5k", 1536, false},
		{"4 k", 4096, false},
		// IEC: powers of 1024.
		{"4KiB", 4096, false},
		{"4kib", 4096, false},
		{"4Ki", 4096, false},
		{"64MiB", 64 << 20, false},
		{" 1 KiB ", 1024, false},
		{"1.5GiB", 3 << 29, false},
		// SI: powers of 1000 (fio's default reads these as 1024: see the package comment).
		{"4KB", 4000, false},
		{"4kB", 4000, false},
		{"4kb", 4000, false},
		{"64MB", 64000000, false},
		{"1GB", 1e9, false},
		{"", 0, true},
		{" ", 0, true},
		{"-5", 0, true},
		{"-4k", 0, true},
		{"+4k", 0, true},
		{"k", 0, true},
		{"abc", 0, true},
		{"4XB", 0, true},
		{"4XK", 0, true},
		{"4kk", 0, true},
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

func TestFormatSizeRoundTrips(t *testing.T) {
	for _, n := range []int64{1, 1000, 1024, 4096, 64e6, 64 << 20, 1 << 30, 1e9, 1536, 3 << 29} {
		s := FormatSize(n)
		got, err := ParseSize(s)
		if err != nil || got != n {
			t.Errorf("ParseSize(FormatSize(%d) = %q) = %d, %v", n, s, got, err)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"4KiB", "1.5GiB", "4k", "64MB", "2300"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d without error", s, n)
		}
	})
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		1: "1", 2300: "2300", 4096: "4KiB", 1000: "1kB", 1 << 20: "1MiB", 64e6: "64MB",
		3 << 29: "1536MiB", 1 << 40: "1TiB", 5e9: "5GB", 4097: "4097",
	} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
		if back, err := ParseSize(want); err != nil || back != n {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", want, back, err, n)
		}
	}
}
