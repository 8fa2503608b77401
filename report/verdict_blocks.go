package report

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// checkInterval returns the observed quantile of a check and its
// burst-aware interval. A summary-only metric (no histogram stored) keeps
// its stored p99 or p99.9 interval.
func checkInterval(sc *seriesCache, m *Metric, t Target, tail float64) (int64, Interval95, blockEstimate, error) {
	if m.Histogram == "" {
		switch t.Quantile {
		case 99:
			return m.P99Ns, m.P99CI, blockEstimate{}, nil
		case 99.9:
			return m.P999Ns, m.P999CI, blockEstimate{}, nil
		}
		return 0, Interval95{}, blockEstimate{}, fmt.Errorf("no histogram stored for %s", quantileName(t.Quantile))
	}
	h, err := m.Hist()
	if err != nil {
		return 0, Interval95{}, blockEstimate{}, fmt.Errorf("unreadable histogram: %w", err)
	}
	ci, e := burstInterval(sc, t.Metric, h, t.Quantile, tail)
	return h.ValueAtQuantile(t.Quantile), ci, e, nil
}

// runSeconds is the measured length of r in seconds.
func runSeconds(r *Result) float64 {
	return float64(r.DurationNs) / 1e9
}

// moreSeconds is how many whole seconds longer than secs a run must last
// to reach need seconds (at least one); 0 when it cannot be told.
func moreSeconds(secs, need float64) int64 {
	if secs <= 0 || math.IsNaN(need) || math.IsInf(need, 0) {
		return 0
	}
	return max(1, int64(math.Ceil(need-secs)))
}

// straddleSeconds estimates the run length at which c's interval would
// clear its target: the interval's half-width toward the target shrinks
// as one over the square root of the run length.
func straddleSeconds(secs float64, c Check) float64 {
	obs, target := float64(c.ObservedNs), float64(c.TargetNs)
	var half, gap float64
	if obs < target {
		half, gap = float64(c.Interval.HighNs)-obs, target-obs
	} else {
		half, gap = obs-float64(c.Interval.LowNs), obs-target
	}
	if gap <= 0 {
		return math.Inf(1) // the quantile sits on the target
	}
	return secs * (half / gap) * (half / gap)
}

// runLonger says how much longer to run, e.g. "run 40 s longer".
func runLonger(s int64) string {
	if s <= 0 {
		return "run longer"
	}
	return "run " + strconv.FormatInt(s, 10) + " s longer"
}

// blocksPhrase says what a burst-aware interval rests on, e.g.
// ", 20 blocks of 3s"; nothing for a binomial one.
func blocksPhrase(iv Interval95) string {
	if iv.Method != MethodBlocks || iv.Blocks == 0 {
		return ""
	}
	d := time.Duration(iv.BlockSeconds * float64(time.Second)).Round(100 * time.Millisecond)
	return fmt.Sprintf(", %d blocks of %s", iv.Blocks, FormatDuration(d))
}

// confidenceName renders an interval's confidence, e.g. "95%", "97.5%".
func confidenceName(iv Interval95) string {
	c := iv.Confidence
	if c == 0 {
		c = 1 - 2*CITailProbability
	}
	return strconv.FormatFloat(100*c, 'f', -1, 64) + "%"
}

// rareBursts says what a passing run of secs seconds cannot rule out: no
// method sees a burst the run never contained.
func rareBursts(r *Result, metric string, secs float64) string {
	d := FormatDuration(time.Duration(secs * float64(time.Second)).Round(time.Second))
	stalls := 0
	for _, s := range r.Stalls {
		if s.Metric == metric {
			stalls++
		}
	}
	if stalls == 0 {
		return fmt.Sprintf("no stall in %s: bursts rarer than once every %s are not excluded", d, d)
	}
	return fmt.Sprintf("%d stalls in %s: bursts rarer than once every %s are not excluded", stalls, d, d)
}
