package report

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/etcdisk/etcdisk/internal/etcdbuckets"
)

// EtcdBuckets returns the finite upper bounds of etcd's disk histograms
// (etcd_disk_wal_fsync_duration_seconds, ..._backend_commit_...): 1 ms to
// 8192 ms doubling; a +Inf bucket follows them.
func EtcdBuckets() []time.Duration { return etcdbuckets.Bounds() }

// PromBucketCounts returns the cumulative counts of h in etcd's buckets, as
// Prometheus would expose them: element i counts the values <= EtcdBuckets()[i],
// the last element (index 14) is the +Inf bucket, the total.
func PromBucketCounts(h *hdrhistogram.Histogram) []int64 { return etcdbuckets.Counts(h) }

// PromQuantile returns the q-quantile (0 <= q <= 1) that Prometheus'
// histogram_quantile would compute from h bucketed as etcd buckets it: the
// p99 an etcd dashboard would show. An empty histogram returns 0
// (Prometheus: NaN).
func PromQuantile(h *hdrhistogram.Histogram, q float64) time.Duration {
	return etcdbuckets.HDRQuantile(h, q)
}
