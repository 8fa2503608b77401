package etcdbuckets

import (
	"math"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// etcd's metric names.
const (
	MetricWALFsync      = "etcd_disk_wal_fsync_duration_seconds"
	MetricBackendCommit = "etcd_disk_backend_commit_duration_seconds"
	MetricWALWriteBytes = "etcd_disk_wal_write_bytes_total"
	MetricDBSize        = "etcd_mvcc_db_total_size_in_bytes"
)

// The p99 targets etcd's documentation (its FAQ) gives for the two disk
// histograms: over them, heartbeats and elections suffer.
const (
	WALFsyncP99Target      = 10 * time.Millisecond
	BackendCommitP99Target = 25 * time.Millisecond
)

// etcd's disk metrics use prometheus.ExponentialBuckets(0.001, 2, 14):
// upper bounds 1 ms, 2 ms, 4 ms, ..., 8192 ms, then +Inf.
const (
	bucketStart = time.Millisecond
	bucketCount = 14
)

// Bounds returns the finite upper bounds of etcd's disk histograms
// (etcd_disk_wal_fsync_duration_seconds, ..._backend_commit_...): 1 ms to
// 8192 ms doubling; a +Inf bucket follows them.
func Bounds() []time.Duration {
	b := make([]time.Duration, bucketCount)
	for i := range b {
		b[i] = bucketStart << i
	}
	return b
}

// Counts returns the cumulative counts of h in etcd's buckets, as
// Prometheus would expose them: element i counts the values <= Bounds()[i],
// the last element (index 14) is the +Inf bucket, the total.
//
// NB: HDR keeps each value only to within 0.1%; a recorded value is placed
// by the lowest value equivalent to it, so a value recorded as exactly 1 ms
// lands in the 1 ms bucket as Prometheus would put it. Values within 0.1%
// above a bound may be counted in the bucket below it.
func Counts(h *hdrhistogram.Histogram) []int64 {
	bounds := Bounds()
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

// HDRQuantile returns the q-quantile that Prometheus' histogram_quantile
// would compute from h (nanosecond values) bucketed as etcd buckets it: the
// p99 an etcd dashboard would show. q is clamped to [0, 1]; a rank in the
// +Inf bucket returns the highest finite bound (8.192 s). Where Prometheus
// returns NaN (an empty histogram; q = 0 over an empty first bucket) it
// returns 0.
func HDRQuantile(h *hdrhistogram.Histogram, q float64) time.Duration {
	bounds, counts := Bounds(), Counts(h)
	// NB: bounds in nanoseconds keep the interpolation in integer-valued
	// floats, so the result rounds to the nanosecond without a unit change.
	bs := make([]Bucket, len(counts))
	for i, c := range counts {
		bs[i] = Bucket{UpperBound: math.Inf(+1), Count: uint64(c)}
		if i < len(bounds) {
			bs[i].UpperBound = float64(bounds[i])
		}
	}
	v := Quantile(min(max(q, 0), 1), bs)
	if math.IsNaN(v) {
		return 0
	}
	return time.Duration(math.Round(v))
}
