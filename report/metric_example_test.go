package report_test

import (
	"fmt"
	"time"

	"github.com/etcdisk/etcdisk/report"
)

// How many samples a quantile needs before its 95% confidence interval has
// an upper bound, and which order statistics bound it.
func ExampleQuantileRanks() {
	fmt.Println("p99 needs", report.SamplesNeeded(0.99), "samples; p99.9 needs", report.SamplesNeeded(0.999))
	lo, hi, bounded := report.QuantileRanks(1000, 0.99)
	fmt.Printf("p99 of 1000 sorted samples: between number %d and number %d (bounded: %v)\n", lo, hi, bounded)
	// Output:
	// p99 needs 368 samples; p99.9 needs 3688
	// p99 of 1000 sorted samples: between number 983 and number 997 (bounded: true)
}

// etcd's dashboards interpolate inside coarse buckets: 90 fdatasyncs of
// 0.5 ms and 10 of 3 ms show a p99 of 3.8 ms, whatever the exact values.
func ExamplePromQuantile() {
	h := report.NewHistogram()
	h.RecordValues(int64(500*time.Microsecond), 90)
	h.RecordValues(int64(3*time.Millisecond), 10)
	fmt.Println(report.FormatDuration(report.PromQuantile(h, 0.99)))
	// Output: 3.8ms
}

func ExampleFormatDuration() {
	for _, d := range []time.Duration{812 * time.Microsecond, 1944 * time.Microsecond, 2100 * time.Millisecond} {
		fmt.Println(report.FormatDuration(d))
	}
	// Output:
	// 812us
	// 1.94ms
	// 2.1s
}
