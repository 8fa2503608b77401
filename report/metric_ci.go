package report

import "math"

// Confidence intervals of quantiles from order statistics.
//
// Let X(1) <= X(2) <= ... <= X(n) be the n latencies of a run, sorted, and
// x_q the true q-quantile of the disk's latency distribution. The number B
// of samples below x_q is binomial(n, q), whatever the distribution. So:
//
//	X(l) > x_q  exactly when fewer than l samples are below x_q:  P = P(B <= l-1)
//	X(u) < x_q  exactly when at least u samples are below x_q:    P = P(B >= u)
//
// We take l as large as possible with P(B <= l-1) <= 2.5% and u as small as
// possible with P(B >= u) <= 2.5%. Then [X(l), X(u)] holds x_q with
// probability at least 95%, and each one-sided statement ("x_q < X(u)",
// "x_q > X(l)") is wrong at most 2.5% of the time. No assumption about the
// shape of the distribution is made (no normality, no independence of
// quantile and mean); the samples are assumed independent.
//
// The upper rank exists only when P(B >= n) = q^n <= 2.5%, that is when
// n >= ln(0.025)/ln(q): 368 samples for p99, 3688 for p99.9 (SamplesNeeded).
// With fewer, nothing bounds the quantile from above: even the maximum
// observed may sit below it more than 2.5% of the time.
//
// The binomial tails are summed exactly (in log space, from math.Lgamma),
// over the window mean +- (40 standard deviations + 100): Bernstein's
// inequality puts less than e^-150 of the probability outside it, so the
// ranks are exact while the work grows only as sqrt(n). Beyond
// exactSDLimit standard deviations (n in the hundreds of billions for p99,
// far beyond any run) the normal approximation with continuity correction
// takes over, so a corrupt count cannot make the sum run for hours.

// CITailProbability is the probability left in each tail of the interval
// (two-sided 95%).
const CITailProbability = 0.025

// QuantileRanks returns the 1-based ranks lo and hi of the order statistics
// bounding the 95% confidence interval of quantile q (0 < q < 1) from n
// samples. lo is 0 when no sample bounds the quantile from below; bounded is
// false (and hi is n+1) when no sample bounds it from above.
func QuantileRanks(n int64, q float64) (lo, hi int64, bounded bool) {
	return quantileRanksTail(n, q, CITailProbability)
}

// quantileRanksTail is QuantileRanks with tail (0 < tail < 0.5) left in
// each tail instead of 2.5%.
func quantileRanksTail(n int64, q, tail float64) (lo, hi int64, bounded bool) {
	if n <= 0 || !(q > 0 && q < 1) {
		return 0, n + 1, false
	}
	nf := float64(n)
	mean := nf * q
	sd := math.Sqrt(nf * q * (1 - q))
	if sd > exactSDLimit {
		return quantileRanksNormal(n, q, tail)
	}
	w := 40*sd + 100
	a := max(int64(0), int64(math.Floor(mean-w)))
	b := min(n, int64(math.Ceil(mean+w)))

	logq, log1q := math.Log(q), math.Log1p(-q)
	lgn, _ := math.Lgamma(nf + 1)
	pmf := func(k int64) float64 {
		lk, _ := math.Lgamma(float64(k) + 1)
		lnk, _ := math.Lgamma(nf - float64(k) + 1)
		return math.Exp(lgn - lk - lnk + float64(k)*logq + float64(n-k)*log1q)
	}

	// Lower: l-1 is the largest k with P(B <= k) <= 2.5%; l = 0 when even
	// P(B = 0) exceeds it.
	lo = 0
	cdf := 0.0
	for k := a; k <= b; k++ {
		cdf += pmf(k)
		if cdf > tail {
			break
		}
		lo = k + 1
	}

	// Upper: u is the smallest k with P(B >= k) <= 2.5%; P(B >= n+1) = 0.
	hi = n + 1
	upper := 0.0
	for k := b; k >= a; k-- {
		upper += pmf(k)
		if upper > tail {
			break
		}
		hi = k
	}
	return lo, hi, hi <= n
}

// exactSDLimit bounds the exact sum: about 2 x 40 x 1e5 terms at most.
const exactSDLimit = 1e5

// quantileRanksNormal approximates B ~ binomial(n, q) by a normal law with
// continuity correction: P(B <= l-1) ~ Phi((l-0.5-nq)/sd) <= tail gives
// l = floor(nq - z*sd + 0.5), and P(B >= u) ~ 1-Phi((u-0.5-nq)/sd) <= tail
// gives u = ceil(nq + z*sd + 0.5), z the normal's (1-tail)-quantile.
func quantileRanksNormal(n int64, q, tail float64) (lo, hi int64, bounded bool) {
	z := zQuantile(1 - tail)
	nf := float64(n)
	sd := math.Sqrt(nf * q * (1 - q))
	lo = max(0, int64(math.Floor(nf*q-z*sd+0.5)))
	hi = min(n+1, int64(math.Ceil(nf*q+z*sd+0.5)))
	return lo, hi, hi <= n
}

// zQuantile is the p-quantile of the standard normal distribution.
func zQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

// SamplesNeeded returns the smallest number of samples for which the 95%
// confidence interval of quantile q (0 < q < 1) has an upper bound:
// the smallest n with q^n <= 2.5% (368 for p99, 3688 for p99.9).
func SamplesNeeded(q float64) int64 {
	return samplesNeededTail(q, CITailProbability)
}

// samplesNeededTail is SamplesNeeded for an interval leaving tail in each
// tail: the smallest n with q^n <= tail.
func samplesNeededTail(q, tail float64) int64 {
	if !(q > 0 && q < 1) {
		return 0
	}
	n := int64(math.Ceil(math.Log(tail) / math.Log(q)))
	// Guard the float rounding at the boundary: step to the exact answer.
	for n > 1 && math.Pow(q, float64(n-1)) <= tail {
		n--
	}
	for math.Pow(q, float64(n)) > tail {
		n++
	}
	return n
}
