package pace

import (
	"testing"
	"time"
)

func TestConstantSchedule(t *testing.T) {
	s := &constant{rate: 150}
	for i := 0; i < 1000; i++ {
		got := s.Next()
		want := time.Duration(float64(i) * float64(time.Second) / 150)
		if got != want {
			t.Fatalf("arrival %d at %s, want %s", i, got, want)
		}
	}
}

func TestPoissonScheduleMeanRate(t *testing.T) {
	s := newPoisson(1000, 1)
	var last time.Duration
	const n = 200000
	for i := 0; i < n; i++ {
		d := s.Next()
		if d < last {
			t.Fatalf("arrival %d goes back in time: %s < %s", i, d, last)
		}
		last = d
	}
	// n arrivals at 1000/s take n/1000 s; the sample mean of 200k
	// exponential gaps is within 1% with overwhelming probability.
	got := last.Seconds()
	if got < 0.99*n/1000 || got > 1.01*n/1000 {
		t.Fatalf("%d Poisson arrivals took %.2fs, want ~%.0fs", n, got, float64(n)/1000)
	}
	// Same seed, same schedule.
	a, b := newPoisson(50, 7), newPoisson(50, 7)
	for i := 0; i < 100; i++ {
		if x, y := a.Next(), b.Next(); x != y {
			t.Fatalf("seeded schedules differ at %d: %s vs %s", i, x, y)
		}
	}
}

// TestBatcher drives the raft-like batching with a fake clock: a loop whose
// Save takes `sync` at arrival rate `rate` takes every proposal that arrived
// during the previous Save.
func TestBatcher(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rate      float64
		sync      time.Duration
		wantBatch []int // batch sizes of the first Saves
	}{
		// 100/s, 1 ms Saves: every proposal has its own Save.
		{"idle disk", 100, time.Millisecond, []int{1, 1, 1, 1, 1}},
		// 1000/s (one every 1 ms), 5 ms Saves: the first Save takes the
		// proposal at 0; during it 5 more arrive (1..5 ms), and so on.
		{"slow sync", 1000, 5 * time.Millisecond, []int{1, 5, 5, 5, 5}},
		// 1000/s, 2.5 ms Saves: batches alternate as arrivals fall.
		{"fractional", 1000, 2500 * time.Microsecond, []int{1, 2, 3, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBatcher(&constant{rate: tc.rate}, 1000)
			var now time.Duration
			buf := make([]time.Duration, 0, 1000)
			for i, want := range tc.wantBatch {
				now += b.Wait(now) // idle until something arrives
				got := b.Take(now, buf[:0])
				if len(got) != want {
					t.Fatalf("Save %d at %s carried %d proposals, want %d", i, now, len(got), want)
				}
				now += tc.sync
			}
		})
	}
}

func TestBatcherCap(t *testing.T) {
	b := NewBatcher(&constant{rate: 1e6}, 10)
	got := b.Take(time.Second, make([]time.Duration, 0, 10))
	if len(got) != 10 {
		t.Fatalf("took %d proposals, want the cap of 10", len(got))
	}
	// The rest stay pending for the next Save, in order.
	next := b.Take(time.Second, nil)
	if next[0] != 10*time.Microsecond {
		t.Fatalf("next batch starts at %s, want 10us", next[0])
	}
}

func TestBatcherAllocs(t *testing.T) {
	b := NewBatcher(&constant{rate: 1000}, 64)
	buf := make([]time.Duration, 0, 64)
	var now time.Duration
	allocs := testing.AllocsPerRun(1000, func() {
		now += 3 * time.Millisecond
		buf = b.Take(now, buf[:0])
	})
	if allocs != 0 {
		t.Fatalf("take allocates %.1f times per call", allocs)
	}
}

// After delays every arrival by the same offset and keeps the spacing.
func TestAfter(t *testing.T) {
	s := After(time.Second, &constant{rate: 100})
	for i := 0; i < 5; i++ {
		if got, want := s.Next(), time.Second+time.Duration(i)*10*time.Millisecond; got != want {
			t.Fatalf("arrival %d at %s, want %s", i, got, want)
		}
	}
}
