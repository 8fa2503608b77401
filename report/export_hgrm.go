package report

import (
	"bufio"
	"fmt"
	"io"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// HgrmTicksPerHalfDistance is the percentile resolution of WriteHgrm, as in
// HdrHistogram's own tools: 5 reporting ticks per halving of the distance
// to 100%.
const HgrmTicksPerHalfDistance = 5

// hgrmUnitRatio scales the saved nanoseconds to the milliseconds an .hgrm
// file is conventionally written in (outputValueUnitScalingRatio).
const hgrmUnitRatio = 1e6

// WriteHgrm writes the latency distribution of one metric of r as
// HdrHistogram's outputPercentileDistribution prints it (the Java reference
// implementation, whose output HdrHistogram's online plotter reads): values
// in milliseconds, 5 ticks per half distance, then the Mean, Max and bucket
// footer.
//
// hdrhistogram-go's PercentilesPrint walks the same percentiles but prints
// its own variant (tab-separated header, 6 decimals, "inf" on the last
// line), so the lines are formatted here from its percentile iteration.
func WriteHgrm(w io.Writer, r *Result, metric string) error {
	h, err := metricHist(r, metric)
	if err != nil {
		return fmt.Errorf("hgrm: %w", err)
	}
	bw := bufio.NewWriter(w)
	writeHgrm(bw, h, hgrmUnitRatio)
	return bw.Flush()
}

// writeHgrm prints h as Java's AbstractHistogram.outputPercentileDistribution
// (non-CSV) does. Errors are left in the bufio.Writer for Flush to report.
func writeHgrm(w *bufio.Writer, h *hdrhistogram.Histogram, scale float64) {
	digits := h.SignificantFigures()
	fmt.Fprintf(w, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)")
	// NB: Java prints no percentile line at all for an empty histogram,
	// while hdrhistogram-go's iterator still yields a 100% step.
	if h.TotalCount() > 0 {
		for _, b := range h.CumulativeDistributionWithTicks(HgrmTicksPerHalfDistance) {
			q := b.Quantile / 100
			if b.Quantile != 100 {
				fmt.Fprintf(w, "%12.*f %2.12f %10d %14.2f\n", digits, float64(b.ValueAt)/scale, q, b.Count, 1/(1-q))
			} else {
				fmt.Fprintf(w, "%12.*f %2.12f %10d\n", digits, float64(b.ValueAt)/scale, q, b.Count)
			}
		}
	}
	fmt.Fprintf(w, "#[Mean    = %12.*f, StdDeviation   = %12.*f]\n", digits, h.Mean()/scale, digits, h.StdDev()/scale)
	maxValue := h.Max()
	if h.TotalCount() == 0 {
		maxValue = 0
	}
	fmt.Fprintf(w, "#[Max     = %12.*f, Total count    = %12d]\n", digits, float64(maxValue)/scale, h.TotalCount())
	buckets, subBuckets := hgrmBucketCounts(h)
	fmt.Fprintf(w, "#[Buckets = %12d, SubBuckets     = %12d]\n", buckets, subBuckets)
}

// hgrmBucketCounts derives the bucket and sub-bucket counts of h's geometry
// (hdrhistogram-go keeps them private) the way every HdrHistogram
// implementation computes them from the lowest discernible value, the
// highest trackable value and the significant figures.
func hgrmBucketCounts(h *hdrhistogram.Histogram) (buckets, subBuckets int64) {
	// Single-unit resolution is needed up to 2*10^digits: round that up to a
	// power of two for the sub-bucket count.
	largest := int64(2)
	for range h.SignificantFigures() {
		largest *= 10
	}
	subBuckets = 1
	for subBuckets < largest {
		subBuckets <<= 1
	}
	unitMagnitude := 0
	for lowest := h.LowestTrackableValue(); lowest > 1; lowest >>= 1 {
		unitMagnitude++
	}
	smallestUntrackable := subBuckets << unitMagnitude
	buckets = 1
	for smallestUntrackable <= h.HighestTrackableValue() {
		if smallestUntrackable > (1<<63-1)/2 {
			return buckets + 1, subBuckets
		}
		smallestUntrackable <<= 1
		buckets++
	}
	return buckets, subBuckets
}
