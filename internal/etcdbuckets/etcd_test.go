package etcdbuckets

import (
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func record(t *testing.T, h *hdrhistogram.Histogram, d time.Duration, n int64) {
	t.Helper()
	if err := h.RecordValues(int64(d), n); err != nil {
		t.Fatal(err)
	}
}

func TestBounds(t *testing.T) {
	b := Bounds()
	if len(b) != 14 || b[0] != time.Millisecond || b[13] != 8192*time.Millisecond {
		t.Fatalf("%v", b)
	}
}

func TestCountsAndHDRQuantile(t *testing.T) {
	h := hdrhistogram.New(1, int64(time.Minute), 3)
	if got := HDRQuantile(h, 0.99); got != 0 {
		t.Fatalf("empty: %v", got)
	}
	record(t, h, 500*time.Microsecond, 900)
	record(t, h, 1500*time.Microsecond, 90)
	record(t, h, 3*time.Millisecond, 10)
	c := Counts(h)
	if len(c) != 15 || c[0] != 900 || c[1] != 990 || c[2] != 1000 || c[14] != 1000 {
		t.Fatalf("counts %v", c)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 555556 * time.Nanosecond}, // 450 of 900 in (0, 1 ms]
		{0.99, 2 * time.Millisecond},    // the top of (1, 2] ms
		{1, 4 * time.Millisecond},
		{2, 4 * time.Millisecond}, // q is clamped
		{0, 0},
	} {
		if got := HDRQuantile(h, tc.q); got != tc.want {
			t.Errorf("HDRQuantile(%g) = %v, want %v", tc.q, got, tc.want)
		}
	}
	record(t, h, 20*time.Second, 1000)
	if got := HDRQuantile(h, 0.99); got != 8192*time.Millisecond {
		t.Fatalf("+Inf bucket: %v", got)
	}
}
