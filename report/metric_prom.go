package report

import (
	"math"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// etcd's disk metrics use prometheus.ExponentialBuckets(0.001, 2, 14):
// upper bounds 1 ms, 2 ms, 4 ms, ..., 8192 ms, then +Inf.
const (
	etcdBucketStart = time.Millisecond
	etcdBucketCount = 14
)

// EtcdBuckets returns the finite upper bounds of etcd's disk histograms
// (etcd_disk_wal_fsync_duration_seconds, ..._backend_commit_...): 1 ms to
// 8192 ms doubling; a +Inf bucket follows them.
func EtcdBuckets() []time.Duration {
	b := make([]time.Duration, etcdBucketCount)
	for i := range b {
		b[i] = etcdBucketStart << i
	}
	return b
}

// PromBucketCounts returns the cumulative counts of h in etcd's buckets, as
// Prometheus would expose them: element i counts the values <= EtcdBuckets()[i],
// the last element (index 14) is the +Inf bucket, the total.
//
// NB: HDR keeps each value only to within 0.1%; a recorded value is placed
// by the lowest value equivalent to it, so a value recorded as exactly 1 ms
// lands in the 1 ms bucket as Prometheus would put it. Values within 0.1%
// above a bound may be counted in the bucket below it.
func PromBucketCounts(h *hdrhistogram.Histogram) []int64 {
	bounds := EtcdBuckets()
	counts := make([]int64, len(bounds)+1)
	var c int64
	i := 0
	for _, bar := range h.Distribution() {
		if bar.Count == 0 {
			continue
		}
		for i < len(bounds) && bar.From > int64(bounds[i]) {
			counts[i] = c
			i++
		}
		c += bar.Count
	}
	for ; i < len(counts); i++ {
		counts[i] = c
	}
	return counts
}

// PromQuantile returns the q-quantile (0 <= q <= 1) that Prometheus'
// histogram_quantile would compute from h bucketed as etcd buckets it: the
// p99 an etcd dashboard would show. It follows histogram_quantile exactly:
// rank = q*count; find the first bucket whose cumulative count reaches the
// rank; interpolate linearly between the bucket's lower bound (0 for the
// first bucket) and its upper bound; a rank in the +Inf bucket returns the
// highest finite bound (8.192 s). An empty histogram returns 0 (Prometheus:
// NaN).
func PromQuantile(h *hdrhistogram.Histogram, q float64) time.Duration {
	return promQuantile(EtcdBuckets(), PromBucketCounts(h), q)
}

// promQuantile is histogram_quantile over cumulative counts: counts has one
// more element than bounds, the +Inf bucket.
func promQuantile(bounds []time.Duration, counts []int64, q float64) time.Duration {
	total := counts[len(counts)-1]
	if total == 0 || len(bounds) == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := q * float64(total)
	b := 0
	for b < len(bounds) && float64(counts[b]) < rank {
		b++
	}
	if b == len(bounds) { // in the +Inf bucket
		return bounds[len(bounds)-1]
	}
	start, count := 0.0, float64(counts[b])
	if b > 0 {
		start = float64(bounds[b-1])
		count -= float64(counts[b-1])
		rank -= float64(counts[b-1])
	}
	end := float64(bounds[b])
	if count <= 0 { // q = 0 over an empty first bucket (Prometheus: NaN)
		return time.Duration(start)
	}
	return time.Duration(math.Round(start + (end-start)*(rank/count)))
}
