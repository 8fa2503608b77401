// Package etcdbuckets holds etcd's disk-latency histograms as Prometheus
// exposes them: the metric names, the bucket bounds, the bucketing of an HDR
// histogram into them, and Prometheus' histogram_quantile over them, so the
// report, calibrate and livesafe compute the same p99 an etcd dashboard
// shows.
package etcdbuckets

import (
	"math"
	"sort"
)

// Bucket is one cumulative bucket of a Prometheus histogram: Count
// observations were <= UpperBound (seconds for etcd's metrics; Quantile
// works in whatever unit the bounds are in). The last bucket of a complete
// histogram has UpperBound +Inf and holds the total count.
type Bucket struct {
	UpperBound float64 `json:"le"`
	Count      uint64  `json:"count"`
}

// Quantile estimates the q-quantile (0 <= q <= 1) of a histogram from
// its cumulative buckets exactly as Prometheus' histogram_quantile does
// (promql/quantile.go, bucketQuantile): it finds the bucket holding rank
// q*total and interpolates linearly inside it, the lower bound of the first
// bucket being 0. A quantile that falls into the +Inf bucket is the upper
// bound of the highest finite bucket. It returns NaN when there is no +Inf
// bucket, fewer than two buckets or no observation, -Inf for q < 0 and +Inf
// for q > 1. Buckets need not be sorted; the input is not modified.
//
// NB: Prometheus also forces the cumulative counts to be monotonic (they can
// dip when rate() of a counter reset is summed); so does this function.
func Quantile(q float64, buckets []Bucket) float64 {
	switch {
	case math.IsNaN(q):
		return math.NaN()
	case q < 0:
		return math.Inf(-1)
	case q > 1:
		return math.Inf(+1)
	}
	if len(buckets) == 0 {
		return math.NaN()
	}
	bs := make([]Bucket, len(buckets))
	copy(bs, buckets)
	sort.SliceStable(bs, func(i, j int) bool { return bs[i].UpperBound < bs[j].UpperBound })
	if !math.IsInf(bs[len(bs)-1].UpperBound, +1) {
		return math.NaN()
	}
	// Coalesce buckets with the same upper bound (Prometheus sums them).
	out := bs[:1]
	for _, b := range bs[1:] {
		if b.UpperBound == out[len(out)-1].UpperBound {
			out[len(out)-1].Count += b.Count
			continue
		}
		out = append(out, b)
	}
	bs = out
	for i := 1; i < len(bs); i++ {
		if bs[i].Count < bs[i-1].Count {
			bs[i].Count = bs[i-1].Count
		}
	}
	if len(bs) < 2 {
		return math.NaN()
	}
	observations := float64(bs[len(bs)-1].Count)
	if observations == 0 {
		return math.NaN()
	}
	rank := q * observations
	b := sort.Search(len(bs)-1, func(i int) bool { return float64(bs[i].Count) >= rank })
	if b == len(bs)-1 {
		return bs[len(bs)-2].UpperBound
	}
	if b == 0 && bs[0].UpperBound <= 0 {
		return bs[0].UpperBound
	}
	var (
		start = 0.0
		end   = bs[b].UpperBound
		count = float64(bs[b].Count)
	)
	if b > 0 {
		start = bs[b-1].UpperBound
		count -= float64(bs[b-1].Count)
		rank -= float64(bs[b-1].Count)
	}
	return start + (end-start)*(rank/count)
}

// Delta is the histogram between two scrapes of the same cumulative
// buckets: cur minus base, bucket by bucket, matched by upper bound. A count
// that went down (the process restarted) is taken as zero, not negative.
func Delta(base, cur []Bucket) []Bucket {
	out := make([]Bucket, len(cur))
	for i, b := range cur {
		out[i] = b
		for _, o := range base {
			if o.UpperBound == b.UpperBound {
				out[i].Count -= min(o.Count, b.Count)
				break
			}
		}
	}
	return out
}
