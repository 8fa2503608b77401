package etcdbuckets

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// etcdBuckets builds etcd's disk-metric buckets (1 ms * 2^i, i < 14, and
// +Inf) from per-bucket (non-cumulative) counts.
func etcdBuckets(counts ...uint64) []Bucket {
	bs := make([]Bucket, 15)
	var cum uint64
	for i := range bs {
		if i < len(counts) {
			cum += counts[i]
		}
		bs[i] = Bucket{UpperBound: 0.001 * math.Pow(2, float64(i)), Count: cum}
	}
	bs[14].UpperBound = math.Inf(+1)
	return bs
}

func TestQuantile(t *testing.T) {
	inf := math.Inf(+1)
	for _, tc := range []struct {
		name    string
		q       float64
		buckets []Bucket
		want    float64
	}{
		// The first bucket interpolates from 0.
		{"all in first bucket, median", 0.5, etcdBuckets(100), 0.0005},
		{"all in first bucket, p99", 0.99, etcdBuckets(100), 0.00099},
		// rank 99 of 100: 90 in (0,1ms], 10 in (1ms,2ms] -> 1ms + 1ms*9/10.
		{"p99 in second bucket", 0.99, etcdBuckets(90, 10), 0.0019},
		// rank 50: exactly the count of the first bucket -> its upper bound.
		{"rank on a bucket edge", 0.5, etcdBuckets(50, 50), 0.001},
		// rank 75 of 100: 50 in first, 50 in (2ms,4ms] (second empty) ->
		// Search finds the third bucket: 2ms + 2ms*25/50.
		{"skips empty bucket", 0.75, etcdBuckets(50, 0, 50), 0.003},
		// rank 99: 98 finite, 2 beyond 8.192 s -> highest finite bound.
		{"in the +Inf bucket", 0.99, append(etcdBuckets(98)[:14], Bucket{inf, 100}), 8.192},
		{"q=0", 0, etcdBuckets(0, 10), 0.001},
		{"q=1", 1, etcdBuckets(10, 10), 0.002},
		{"no observations", 0.99, etcdBuckets(), math.NaN()},
		{"no +Inf bucket", 0.5, []Bucket{{0.001, 1}, {0.002, 2}}, math.NaN()},
		{"only +Inf", 0.5, []Bucket{{inf, 3}}, math.NaN()},
		{"q<0", -0.1, etcdBuckets(1), math.Inf(-1)},
		{"q>1", 1.1, etcdBuckets(1), math.Inf(+1)},
		{"unsorted input", 0.99, []Bucket{{inf, 100}, {0.002, 100}, {0.001, 90}}, 0.0019},
		// Prometheus forces cumulative counts to be monotonic.
		{"non-monotonic", 0.5, []Bucket{{0.001, 10}, {0.002, 5}, {0.004, 20}, {inf, 20}}, 0.001},
		// A bucket with a non-positive upper bound is returned as is.
		{"negative first bound", 0.1, []Bucket{{-1, 5}, {1, 10}, {inf, 10}}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Quantile(tc.q, tc.buckets)
			if math.IsNaN(tc.want) {
				if !math.IsNaN(got) {
					t.Fatalf("got %v, want NaN", got)
				}
				return
			}
			if math.Abs(got-tc.want) > 1e-12 && got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestQuantileKeepsInput(t *testing.T) {
	in := []Bucket{{math.Inf(+1), 100}, {0.001, 90}}
	Quantile(0.5, in)
	if in[0].UpperBound != math.Inf(+1) || in[1].Count != 90 {
		t.Fatalf("input modified: %v", in)
	}
}

func ExampleQuantile() {
	// 1000 WAL fsyncs: 900 under 1 ms, 90 in (1,2] ms, 10 in (2,4] ms.
	bs := etcdBuckets(900, 90, 10)
	fmt.Println(time.Duration(Quantile(0.5, bs) * float64(time.Second)).Round(time.Microsecond))
	fmt.Println(time.Duration(Quantile(0.99, bs) * float64(time.Second)).Round(time.Microsecond))
	// Output:
	// 556µs
	// 2ms
}

// Delta subtracts by upper bound, and a count that went down (a restart)
// reads as zero.
func TestDelta(t *testing.T) {
	base := []Bucket{{UpperBound: 0.001, Count: 5}, {UpperBound: 0.002, Count: 9}}
	cur := []Bucket{{UpperBound: 0.001, Count: 3}, {UpperBound: 0.002, Count: 20}, {UpperBound: 0.004, Count: 21}}
	got := Delta(base, cur)
	want := []uint64{0, 11, 21}
	for i, b := range got {
		if uint64(b.Count) != want[i] || b.UpperBound != cur[i].UpperBound {
			t.Fatalf("Delta = %+v, want counts %v", got, want)
		}
	}
}
