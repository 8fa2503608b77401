package report

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry shared by every metric: values are nanoseconds, from
// 1 ns to 1 h, with 3 significant digits: a value is known to within 0.1%
// over the whole range (a lowest trackable value of 1 us would count in
// units of 512 ns, 5% of a 10 us write).
const (
	HistogramLowestNs  int64 = 1
	HistogramHighestNs int64 = 3_600_000_000_000
	HistogramSigFigs         = 3
)

// Thresholds that translate latency into etcd consequences.
const (
	HeartbeatInterval = 100 * time.Millisecond // etcd's default heartbeat
	SlowFdatasync     = time.Second            // etcd logs "slow fdatasync"; default election timeout
)

// NewHistogram returns an empty histogram with etcdisk's geometry. Values are
// recorded in nanoseconds. It is not safe for concurrent use.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(HistogramLowestNs, HistogramHighestNs, HistogramSigFigs)
}

// EncodeHistogram returns h in hdrhistogram-go's V2 compressed encoding
// (base64 text), the form stored in Metric.Histogram.
func EncodeHistogram(h *hdrhistogram.Histogram) (string, error) {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// DecodeHistogram is the inverse of EncodeHistogram. An empty string decodes
// to an empty histogram.
func DecodeHistogram(s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return NewHistogram(), nil
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	return h, nil
}

// NewMetric summarises h: every field of Metric is filled, including the
// 95% confidence intervals of p99 and p99.9 and the p99 etcd's dashboard
// would show. h is not modified.
func NewMetric(h *hdrhistogram.Histogram) *Metric {
	m := &Metric{Count: h.TotalCount()}
	enc, err := EncodeHistogram(h)
	if err == nil { // Encode fails only for an unknown cookie
		m.Histogram = enc
	}
	if m.Count == 0 {
		return m
	}
	r := newRanks(h)
	m.MinNs = h.Min()
	m.MeanNs = int64(math.Round(h.Mean()))
	m.StddevNs = int64(math.Round(h.StdDev()))
	m.P50Ns = h.ValueAtQuantile(50)
	m.P90Ns = h.ValueAtQuantile(90)
	m.P99Ns = h.ValueAtQuantile(99)
	m.P999Ns = h.ValueAtQuantile(99.9)
	m.MaxNs = h.Max()
	m.P99CI = r.interval(0.99)
	m.P999CI = r.interval(0.999)
	m.PromP99Ns = int64(PromQuantile(h, 0.99))
	m.Over100ms = r.countAbove(int64(HeartbeatInterval))
	m.Over1s = r.countAbove(int64(SlowFdatasync))
	return m
}

// Hist decodes the metric's histogram.
func (m *Metric) Hist() (*hdrhistogram.Histogram, error) {
	return DecodeHistogram(m.Histogram)
}

// NewIntervalMetric summarises one interval's histogram.
func NewIntervalMetric(h *hdrhistogram.Histogram) IntervalMetric {
	im := IntervalMetric{Count: h.TotalCount()}
	if enc, err := EncodeHistogram(h); err == nil {
		im.Histogram = enc
	}
	if im.Count == 0 {
		return im
	}
	im.P50Ns = h.ValueAtQuantile(50)
	im.P99Ns = h.ValueAtQuantile(99)
	im.MaxNs = h.Max()
	return im
}

// Hist decodes the interval metric's histogram (empty when none was stored).
func (im IntervalMetric) Hist() (*hdrhistogram.Histogram, error) {
	return DecodeHistogram(im.Histogram)
}

// validate checks that a decoded metric is self-consistent: its histogram
// decodes and holds Count values.
func (m *Metric) validate() error {
	if m == nil {
		return errors.New("metric is null")
	}
	if m.Count < 0 {
		return fmt.Errorf("negative count %d", m.Count)
	}
	if m.Histogram == "" {
		return nil // summary only (e.g. written by a tool that drops histograms)
	}
	h, err := m.Hist()
	if err != nil {
		return err
	}
	if h.TotalCount() != m.Count {
		return fmt.Errorf("histogram holds %d values, count says %d", h.TotalCount(), m.Count)
	}
	return nil
}

// ranks answers "what is the k-th smallest recorded value" from a histogram.
// HDR records a value as the range of values equivalent to it (within 0.1%);
// lowest and highest give either end of that range, so callers can round a
// bound in the conservative direction.
type ranks struct {
	n    int64
	cum  []int64 // cumulative count up to and including bar i
	from []int64 // lowest value equivalent to bar i
	to   []int64 // highest value equivalent to bar i
}

func newRanks(h *hdrhistogram.Histogram) *ranks {
	r := &ranks{n: h.TotalCount()}
	var c int64
	for _, b := range h.Distribution() {
		if b.Count == 0 {
			continue
		}
		c += b.Count
		r.cum = append(r.cum, c)
		r.from = append(r.from, b.From)
		r.to = append(r.to, b.To)
	}
	return r
}

// bar returns the index of the bar holding the k-th smallest value (1-based).
func (r *ranks) bar(k int64) int {
	return sort.Search(len(r.cum), func(i int) bool { return r.cum[i] >= k })
}

// lowest returns the lowest value equivalent to the k-th smallest value.
func (r *ranks) lowest(k int64) int64 { return r.from[r.bar(k)] }

// highest returns the highest value equivalent to the k-th smallest value.
func (r *ranks) highest(k int64) int64 { return r.to[r.bar(k)] }

// countAbove counts values surely greater than limit: bars whose lowest
// equivalent value exceeds it.
func (r *ranks) countAbove(limit int64) int64 {
	var below int64
	for i := range r.cum {
		if r.from[i] > limit {
			break
		}
		below = r.cum[i]
	}
	return r.n - below
}

// atMost counts values at or under limit: all but countAbove's.
func (r *ranks) atMost(limit int64) int64 {
	i := sort.Search(len(r.from), func(i int) bool { return r.from[i] > limit })
	if i == 0 {
		return 0
	}
	return r.cum[i-1]
}

// interval returns the 95% confidence interval of quantile q (0 < q < 1)
// as values of the histogram, see QuantileRanks for the ranks.
func (r *ranks) interval(q float64) Interval95 {
	if r.n == 0 {
		return Interval95{}
	}
	var iv Interval95
	iv.LowNs, iv.HighNs, iv.Bounded = r.intervalTail(q, CITailProbability)
	return iv
}

// intervalTail is the binomial interval leaving tail in each tail. The lower
// bound is the lowest value equivalent to the lower rank and the upper bound
// the highest value equivalent to the upper rank: the interval is widened by
// the histogram's resolution, never narrowed. Without an upper rank, hi is
// the maximum observed (no real bound).
func (r *ranks) intervalTail(q, tail float64) (lo, hi int64, bounded bool) {
	l, u, ok := quantileRanksTail(r.n, q, tail)
	if l >= 1 {
		lo = r.lowest(l)
	}
	if ok {
		return lo, r.highest(u), true
	}
	return lo, r.highest(r.n), false
}

// QuantileCI returns the 95% confidence interval of quantile q (0 < q < 1)
// of the values recorded in h. See QuantileRanks.
func QuantileCI(h *hdrhistogram.Histogram, q float64) Interval95 {
	return newRanks(h).interval(q)
}
