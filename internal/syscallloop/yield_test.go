package syscallloop

import (
	"testing"
	"time"
)

// A loop yields at its first iteration, then at the first one Every or more
// after the last yield, and never twice within Every.
func TestYielderEvery(t *testing.T) {
	n := 0
	y := Yielder{Gosched: func() { n++ }}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		at   time.Duration
		want int
	}{
		{0, 1},
		{Every - 1, 1},
		{Every, 2},
		{Every + time.Millisecond, 2},
		{2*Every - 1, 2},
		{3 * Every, 3},
	} {
		y.Maybe(t0.Add(c.at))
		if n != c.want {
			t.Fatalf("at %v: %d yields, want %d", c.at, n, c.want)
		}
	}
}
