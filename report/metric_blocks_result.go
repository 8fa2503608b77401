package report

import (
	"math"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// The burst-aware interval (metric_blocks.go) over a result's interval
// series: each interval's histogram is one slice of the run, whatever its
// duration.

// histBatch is a stretch of the interval series: the merged histogram of
// its intervals (nil while empty) and their duration.
type histBatch struct {
	h     *hdrhistogram.Histogram
	secs  float64
	ranks *ranks // built on first use, dropped by merge
}

func (b *histBatch) count() int64 {
	if b.h == nil {
		return 0
	}
	return b.h.TotalCount()
}

func (b *histBatch) seconds() float64 { return b.secs }

func (b *histBatch) atMost(x float64) int64 {
	if b.h == nil {
		return 0
	}
	if b.ranks == nil {
		b.ranks = newRanks(b.h)
	}
	return b.ranks.n - b.ranks.countAbove(int64(x))
}

func (b *histBatch) merge(o batch) batch {
	ob := o.(*histBatch)
	b.secs += ob.secs
	switch {
	case b.h == nil:
		b.h = ob.h
	case ob.h != nil:
		b.h.Merge(ob.h)
	}
	b.ranks = nil
	return b
}

// rankStats reads the order statistics of a whole-run histogram.
type rankStats struct{ r *ranks }

func (s rankStats) size() int64             { return s.r.n }
func (s rankStats) lowest(k int64) float64  { return float64(s.r.lowest(k)) }
func (s rankStats) highest(k int64) float64 { return float64(s.r.highest(k)) }

// seriesParts returns metric name's slices of r's interval series with
// their durations (up to the next interval's start; the last one up to the
// end of the run), or false when an interval that counted samples stored
// no histogram.
func seriesParts(r *Result, name string) ([]batch, bool) {
	parts := make([]batch, 0, len(r.Intervals))
	for i, iv := range r.Intervals {
		end := r.DurationNs
		if i+1 < len(r.Intervals) {
			end = r.Intervals[i+1].StartNs
		}
		p := &histBatch{secs: max(0, float64(end-iv.StartNs)/1e9)}
		if im, ok := iv.Metrics[name]; ok && im.Count > 0 {
			if im.Histogram == "" {
				return nil, false
			}
			h, err := im.Hist()
			if err != nil {
				return nil, false
			}
			p.h = h
		}
		parts = append(parts, p)
	}
	return parts, len(parts) > 0
}

// burstInterval returns the interval of metric name's pct-th percentile
// (whole-run histogram h) leaving tail in each tail, and the sectioning
// behind it. Without a per-interval series it falls back to the binomial
// interval (Method "binomial"), which assumes independent samples.
func burstInterval(r *Result, name string, h *hdrhistogram.Histogram, pct, tail float64) (Interval95, blockEstimate) {
	q := pct / 100
	rk := newRanks(h)
	iv := Interval95{Confidence: 1 - 2*tail, Method: MethodBinomial}
	if rk.n == 0 {
		return iv, blockEstimate{}
	}
	parts, ok := seriesParts(r, name)
	if !ok {
		lo, hi, bounded := rk.intervalTail(q, tail)
		iv.LowNs, iv.HighNs, iv.Bounded = lo, hi, bounded
		return iv, blockEstimate{}
	}
	lo, hi, bounded, e := blockInterval(parts, rankStats{rk}, q, tail)
	iv.Method, iv.Blocks = MethodBlocks, e.blocks
	iv.BlockSeconds = math.Round(e.batchSeconds*10) / 10
	iv.LowNs, iv.HighNs, iv.Bounded = int64(math.Floor(lo)), int64(math.Ceil(hi)), bounded
	return iv, e
}

// Interval methods (Interval95.Method).
const (
	MethodBlocks   = "blocks"   // burst-aware: sectioning over time, with the binomial floor
	MethodBinomial = "binomial" // order statistics of independent samples
)
