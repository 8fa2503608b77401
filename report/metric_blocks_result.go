package report

import (
	"math"
	"slices"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// The burst-aware interval (metric_blocks.go) over a result's interval
// series: each interval's histogram is one slice of the run, whatever its
// duration.

// histBatch is a stretch of the interval series: the order statistics of
// its intervals (shared, never modified) and their duration.
type histBatch struct {
	members []*ranks
	n       int64
	secs    float64
}

func (b *histBatch) count() int64     { return b.n }
func (b *histBatch) seconds() float64 { return b.secs }

func (b *histBatch) atMost(x float64) int64 {
	var c int64
	for _, r := range b.members {
		c += r.atMost(int64(x))
	}
	return c
}

func (b *histBatch) merge(o batch) batch {
	ob := o.(*histBatch)
	b.members = append(b.members, ob.members...)
	b.n += ob.n
	b.secs += ob.secs
	return b
}

// rankStats reads the order statistics of a whole-run histogram.
type rankStats struct{ r *ranks }

func (s rankStats) size() int64             { return s.r.n }
func (s rankStats) lowest(k int64) float64  { return float64(s.r.lowest(k)) }
func (s rankStats) highest(k int64) float64 { return float64(s.r.highest(k)) }

// seriesCache holds a result's interval series decoded once per metric:
// every interval's order statistics and duration, shared by the intervals
// of every quantile and confidence Judge asks for.
type seriesCache struct {
	r     *Result
	parts map[string][]histBatch
	ok    map[string]bool
}

func newSeriesCache(r *Result) *seriesCache {
	return &seriesCache{r: r, parts: map[string][]histBatch{}, ok: map[string]bool{}}
}

// batches returns metric name's slices of the series in time order, as
// fresh batches (sectioning consumes them), or false when an interval that
// counted samples stored no readable histogram.
func (sc *seriesCache) batches(name string) ([]batch, bool) {
	if _, done := sc.ok[name]; !done {
		sc.parts[name], sc.ok[name] = seriesParts(sc.r, name)
	}
	if !sc.ok[name] {
		return nil, false
	}
	out := make([]batch, len(sc.parts[name]))
	for i, p := range sc.parts[name] {
		out[i] = &histBatch{members: slices.Clip(p.members), n: p.n, secs: p.secs}
	}
	return out, len(out) > 0
}

// seriesParts decodes metric name's intervals of r, each lasting up to the
// next interval's start (the last one up to the end of the run), so
// intervals of unequal duration are fine.
func seriesParts(r *Result, name string) ([]histBatch, bool) {
	parts := make([]histBatch, 0, len(r.Intervals))
	for i, iv := range r.Intervals {
		end := r.DurationNs
		if i+1 < len(r.Intervals) {
			end = r.Intervals[i+1].StartNs
		}
		p := histBatch{secs: max(0, float64(end-iv.StartNs)/1e9)}
		if im, ok := iv.Metrics[name]; ok && im.Count > 0 {
			if im.Histogram == "" {
				return nil, false
			}
			h, err := im.Hist()
			if err != nil {
				return nil, false
			}
			rk := newRanks(h)
			p.members, p.n = []*ranks{rk}, rk.n
		}
		parts = append(parts, p)
	}
	return parts, true
}

// burstInterval returns the interval of metric name's pct-th percentile
// (whole-run histogram h) leaving tail in each tail, and the sectioning
// behind it. Without a per-interval series it falls back to the binomial
// interval (Method "binomial"), which assumes independent samples.
func burstInterval(sc *seriesCache, name string, h *hdrhistogram.Histogram, pct, tail float64) (Interval95, blockEstimate) {
	q := pct / 100
	rk := newRanks(h)
	iv := Interval95{Confidence: 1 - 2*tail, Method: MethodBinomial}
	if rk.n == 0 {
		return iv, blockEstimate{}
	}
	parts, ok := sc.batches(name)
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
