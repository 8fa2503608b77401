package report

import (
	"math"
	"testing"
)

// Critical values from the standard tables.
func TestTQuantile(t *testing.T) {
	for _, c := range []struct {
		p    float64
		df   int
		want float64
	}{
		{0.975, 1, 12.706}, {0.975, 4, 2.776}, {0.975, 9, 2.262}, {0.975, 19, 2.093},
		{0.9875, 9, 2.685}, {0.995, 4, 4.604}, {0.95, 29, 1.699}, {0.975, 1000, 1.962},
	} {
		if got := TQuantile(c.p, c.df); math.Abs(got-c.want) > 0.001 {
			t.Errorf("TQuantile(%g, %d) = %.4f, want %.3f", c.p, c.df, got, c.want)
		}
	}
}
