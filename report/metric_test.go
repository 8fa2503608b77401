package report

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestNewHistogramGeometry(t *testing.T) {
	h := NewHistogram()
	if h.LowestTrackableValue() != 1 || h.HighestTrackableValue() != 3_600_000_000_000 || h.SignificantFigures() != 3 {
		t.Fatalf("geometry %d..%d/%d", h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures())
	}
	if err := h.RecordValue(int64(time.Hour)); err != nil {
		t.Errorf("1 h must be recordable: %v", err)
	}
	// 3 significant digits down to microseconds: a 10,123 ns value reads
	// back within 0.1%.
	h.Reset()
	const v = 10_123
	if err := h.RecordValue(v); err != nil {
		t.Fatal(err)
	}
	for _, got := range []int64{h.Min(), h.Max(), h.ValueAtQuantile(50)} {
		if math.Abs(float64(got-v)) > 0.001*v {
			t.Errorf("%d ns recorded, %d read back", v, got)
		}
	}
}

// TestNewMetricFillsEverything records 1..1000 ms and checks every field.
func TestNewMetricFillsEverything(t *testing.T) {
	h := NewHistogram()
	for i := int64(1); i <= 1000; i++ {
		if err := h.RecordValue(i * int64(time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	m := NewMetric(h)
	near := func(name string, got int64, want time.Duration) {
		t.Helper()
		if math.Abs(float64(got)-float64(want)) > 0.001*float64(want)+1 {
			t.Errorf("%s = %d, want %d (within HDR's 0.1%%)", name, got, want)
		}
	}
	if m.Count != 1000 {
		t.Errorf("count %d", m.Count)
	}
	near("min", m.MinNs, time.Millisecond)
	near("mean", m.MeanNs, 500500*time.Microsecond)
	near("stddev", m.StddevNs, time.Duration(288.675*float64(time.Millisecond)))
	near("p50", m.P50Ns, 500*time.Millisecond)
	near("p90", m.P90Ns, 900*time.Millisecond)
	near("p99", m.P99Ns, 990*time.Millisecond)
	near("p99.9", m.P999Ns, 999*time.Millisecond)
	near("max", m.MaxNs, time.Second)
	if m.Over100ms != 900 || m.Over1s != 0 {
		t.Errorf("over 100ms %d (want 900), over 1s %d (want 0)", m.Over100ms, m.Over1s)
	}
	// p99 of 1000 samples: ranks 983..997 (see TestQuantileRanksExact).
	if !m.P99CI.Bounded {
		t.Error("p99 CI of 1000 samples must be bounded")
	}
	near("p99 CI low", m.P99CI.LowNs, 983*time.Millisecond)
	near("p99 CI high", m.P99CI.HighNs, 997*time.Millisecond)
	if m.P999CI.Bounded {
		t.Error("p99.9 CI of 1000 samples must be unbounded")
	}
	if m.PromP99Ns != int64(PromQuantile(h, 0.99)) || m.PromP99Ns == 0 {
		t.Errorf("prom p99 %d", m.PromP99Ns)
	}
	back, err := m.Hist()
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equals(h) {
		t.Error("histogram does not round-trip")
	}
}

func TestNewMetricEmpty(t *testing.T) {
	m := NewMetric(NewHistogram())
	if m.Count != 0 || m.P99Ns != 0 || m.P99CI.Bounded || m.Histogram == "" {
		t.Fatalf("empty metric: %+v", m)
	}
	h, err := m.Hist()
	if err != nil || h.TotalCount() != 0 {
		t.Fatal(h, err)
	}
}

func TestNewIntervalMetric(t *testing.T) {
	h := NewHistogram()
	for i := int64(1); i <= 100; i++ {
		h.RecordValue(i * int64(time.Millisecond))
	}
	im := NewIntervalMetric(h)
	if im.Count != 100 || im.P50Ns < 49e6 || im.P50Ns > 51e6 || im.P99Ns < 98e6 || im.MaxNs < 99.9e6 {
		t.Fatalf("%+v", im)
	}
	back, err := im.Hist()
	if err != nil || !back.Equals(h) {
		t.Fatal("interval histogram does not round-trip", err)
	}
}

// refRanks applies the rank rule with a plain reference: the binomial
// pmf by the multiplicative recurrence in 200-bit big.Float (no underflow,
// no windowing, tails summed from each end).
func refRanks(n int, q float64) (lo, hi int64) {
	const prec = 200
	nf := func(x float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(x) }
	bq, bp := nf(q), nf(1-q)
	pmf := make([]*big.Float, n+1)
	pmf[0] = nf(1)
	for i := 0; i < n; i++ {
		pmf[0].Mul(pmf[0], bp)
	}
	for k := 1; k <= n; k++ {
		v := new(big.Float).SetPrec(prec).Set(pmf[k-1])
		v.Mul(v, nf(float64(n-k+1)))
		v.Quo(v, nf(float64(k)))
		v.Mul(v, bq)
		v.Quo(v, bp)
		pmf[k] = v
	}
	alpha := nf(CITailProbability)
	sum := nf(0)
	for k := 0; k <= n; k++ {
		sum.Add(sum, pmf[k])
		if sum.Cmp(alpha) > 0 {
			break
		}
		lo = int64(k + 1)
	}
	hi = int64(n + 1)
	sum = nf(0)
	for k := n; k >= 0; k-- {
		sum.Add(sum, pmf[k])
		if sum.Cmp(alpha) > 0 {
			break
		}
		hi = int64(k)
	}
	return lo, hi
}

func TestQuantileRanksExact(t *testing.T) {
	// The textbook case: median of 100 samples, 95% CI = [X(40), X(61)].
	if lo, hi, ok := QuantileRanks(100, 0.5); lo != 40 || hi != 61 || !ok {
		t.Errorf("median of 100: ranks %d..%d %v, want 40..61", lo, hi, ok)
	}
	// Checked with exact rational arithmetic (Python fractions).
	if lo, hi, ok := QuantileRanks(1000, 0.99); lo != 983 || hi != 997 || !ok {
		t.Errorf("p99 of 1000: ranks %d..%d %v, want 983..997", lo, hi, ok)
	}
	if lo, hi, ok := QuantileRanks(322, 0.9); lo != 279 || hi != 301 || !ok {
		t.Errorf("p90 of 322: ranks %d..%d %v, want 279..301", lo, hi, ok)
	}
	// Against the plain reference for every n up to 120 and the sizes
	// around SamplesNeeded, for several quantiles.
	sizes := []int{200, 322, 367, 368, 369, 500, 1000, 3687, 3688, 5000}
	for n := 1; n <= 120; n++ {
		sizes = append(sizes, n)
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		for _, n := range sizes {
			lo, hi, ok := QuantileRanks(int64(n), q)
			wlo, whi := refRanks(n, q)
			if lo != wlo || hi != whi || ok != (whi <= int64(n)) {
				t.Fatalf("q=%g n=%d: ranks %d..%d (%v), reference %d..%d", q, n, lo, hi, ok, wlo, whi)
			}
		}
	}
}

// TestQuantileRanksLargeN checks huge runs stay fast and that the normal
// approximation used past exactSDLimit agrees with the exact ranks to a
// small fraction of a standard deviation where both can be computed.
func TestQuantileRanksLargeN(t *testing.T) {
	for _, n := range []int64{10_000, 1_000_000, 100_000_000, 10_000_000_000} {
		for _, q := range []float64{0.99, 0.999} {
			lo, hi, ok := QuantileRanks(n, q)
			alo, ahi, aok := quantileRanksNormal(n, q, CITailProbability)
			sd := math.Sqrt(float64(n) * q * (1 - q))
			tol := 2 + 0.05*sd // the binomial is skewed for q near 1
			if !ok || !aok || math.Abs(float64(lo-alo)) > tol || math.Abs(float64(hi-ahi)) > tol {
				t.Errorf("n=%d q=%g: ranks %d..%d, normal approx %d..%d", n, q, lo, hi, alo, ahi)
			}
		}
	}
	// Past the limit the approximation answers at once, even for absurd n.
	if lo, hi, ok := QuantileRanks(1<<62, 0.99); !ok || lo >= hi {
		t.Errorf("huge n: %d..%d %v", lo, hi, ok)
	}
}

func BenchmarkQuantileRanks(b *testing.B) {
	for _, n := range []int64{1_000, 1_000_000, 100_000_000} {
		b.Run(strconv.FormatInt(n, 10), func(b *testing.B) {
			for b.Loop() {
				QuantileRanks(n, 0.99)
			}
		})
	}
}

func BenchmarkNewMetric(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	h := NewHistogram()
	for i := 0; i < 100_000; i++ {
		h.RecordValue(int64(float64(time.Millisecond) * math.Exp(0.5*rng.NormFloat64())))
	}
	for b.Loop() {
		NewMetric(h)
	}
}

func TestSamplesNeeded(t *testing.T) {
	for _, c := range []struct {
		q    float64
		want int64
	}{{0.99, 368}, {0.999, 3688}, {0.5, 6}, {0.9, 36}} {
		got := SamplesNeeded(c.q)
		if got != c.want {
			t.Errorf("SamplesNeeded(%g) = %d, want %d", c.q, got, c.want)
		}
		// Definition: the first n whose interval has an upper bound.
		if _, _, ok := QuantileRanks(got, c.q); !ok {
			t.Errorf("q=%g: %d samples do not bound the interval", c.q, got)
		}
		if _, _, ok := QuantileRanks(got-1, c.q); ok {
			t.Errorf("q=%g: %d samples already bound the interval", c.q, got-1)
		}
	}
}

// TestQuantileCICoverage draws seeded samples from a known distribution
// and checks the interval holds the true p99 at least ~95% of the time.
func TestQuantileCICoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const trials, n = 1000, 500
	// Exponential with mean 1 ms: the true p99 is ln(100) ms.
	truth := int64(math.Log(100) * float64(time.Millisecond))
	hit := 0
	for i := 0; i < trials; i++ {
		h := NewHistogram()
		for j := 0; j < n; j++ {
			h.RecordValue(int64(rng.ExpFloat64()*float64(time.Millisecond)) + 1000)
		}
		iv := QuantileCI(h, 0.99)
		// shift of the +1000 ns floor
		if iv.LowNs <= truth+1000 && truth+1000 <= iv.HighNs {
			hit++
		}
	}
	if cov := float64(hit) / trials; cov < 0.93 {
		t.Errorf("coverage %.3f, want >= 0.95 (minus sampling noise)", cov)
	}
}

// TestRanksExactValues: with values that HDR stores exactly, the interval
// bounds are the exact order statistics.
func TestRanksExactValues(t *testing.T) {
	h := NewHistogram()
	vals := []int64{}
	for i := int64(1); i <= 1000; i++ {
		v := i * 1024 // multiples of the 512-ns unit below 1 ms are exact
		if v > 1_000_000 {
			v = 1_000_000 + i
		}
		vals = append(vals, v)
	}
	for _, v := range vals {
		h.RecordValue(v)
	}
	slices.Sort(vals)
	r := newRanks(h)
	for _, k := range []int64{1, 10, 500, 976} {
		if got := r.lowest(k); got > vals[k-1] {
			t.Errorf("lowest(%d) = %d > value %d", k, got, vals[k-1])
		}
		if got := r.highest(k); got < vals[k-1] {
			t.Errorf("highest(%d) = %d < value %d", k, got, vals[k-1])
		}
		if got := r.lowest(k); got != vals[k-1] && k < 976 {
			t.Errorf("exact value %d came back as %d", vals[k-1], got)
		}
	}
}

func TestPromQuantileHandComputed(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name   string
		values map[time.Duration]int64
		q      float64
		want   time.Duration
	}{
		// all 100 in (1,2] ms: 1ms + 1ms * 99/100
		{"one bucket", map[time.Duration]int64{1500 * time.Microsecond: 100}, 0.99, 1990 * time.Microsecond},
		// 90 in (0,1], 10 in (2,4]: rank 99 -> 9th of 10 in (2,4] -> 2 + 2*0.9
		{"two buckets p99", map[time.Duration]int64{500 * time.Microsecond: 90, 3 * ms: 10}, 0.99, 3800 * time.Microsecond},
		// rank 50 in the first bucket, lower bound 0: 1ms * 50/90
		{"first bucket from 0", map[time.Duration]int64{500 * time.Microsecond: 90, 3 * ms: 10}, 0.5, 555556 * time.Nanosecond},
		// exactly 1 ms is in the le=1ms bucket, as Prometheus counts it
		{"on a bound", map[time.Duration]int64{ms: 100}, 0.99, 990 * time.Microsecond},
		// rank in +Inf returns the highest finite bound
		{"+Inf bucket", map[time.Duration]int64{10 * time.Second: 5, 100 * time.Microsecond: 95}, 0.99, 8192 * ms},
		// a 200 ms tail: 98 at 5ms (4,8], 2 at 200 ms (128,256]
		{"tail", map[time.Duration]int64{5 * ms: 98, 200 * ms: 2}, 0.99, 128*ms + 64*ms},
		{"empty", nil, 0.99, 0},
	} {
		h := NewHistogram()
		for v, n := range c.values {
			if err := h.RecordValues(int64(v), n); err != nil {
				t.Fatal(err)
			}
		}
		if got := PromQuantile(h, c.q); got != c.want {
			t.Errorf("%s: PromQuantile(%g) = %v, want %v", c.name, c.q, got, c.want)
		}
	}
}

func TestPromBucketCounts(t *testing.T) {
	b := EtcdBuckets()
	if len(b) != 14 || b[0] != time.Millisecond || b[13] != 8192*time.Millisecond {
		t.Fatalf("buckets %v", b)
	}
	h := NewHistogram()
	h.RecordValues(int64(500*time.Microsecond), 3)
	h.RecordValues(int64(3*time.Millisecond), 2)
	h.RecordValues(int64(20*time.Second), 1)
	got := PromBucketCounts(h)
	want := []int64{3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6}
	if !slices.Equal(got, want) {
		t.Errorf("counts %v, want %v", got, want)
	}
}

// TestRanksMatchHDRPercentiles: the k-th smallest value as ranks sees it is
// what HDR's ValueAtQuantile(100*k/n) returns (its highest equivalent
// value), for every k: the interval uses HDR's own rank semantics.
func TestRanksMatchHDRPercentiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	h := NewHistogram()
	for i := 0; i < 2000; i++ {
		h.RecordValue(int64(float64(time.Millisecond) * math.Exp(rng.NormFloat64())))
	}
	r := newRanks(h)
	n := h.TotalCount()
	for k := int64(1); k <= n; k++ {
		if got, want := r.highest(k), h.ValueAtQuantile(100*float64(k)/float64(n)); got != want {
			t.Fatalf("k=%d: ranks %d, HDR %d", k, got, want)
		}
		if lo := r.lowest(k); !h.ValuesAreEquivalent(lo, r.highest(k)) {
			t.Fatalf("k=%d: lowest %d not equivalent to highest %d", k, lo, r.highest(k))
		}
	}
}
