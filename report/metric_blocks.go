package report

import (
	"math"
	"sort"
)

// Burst-aware confidence intervals of quantiles: batch means over time.
//
// Disk latency comes in bursts (writeback every few seconds, a neighbour's
// on and off phases, device garbage collection, drift). The slow samples
// of a run are then not independent: a run whose slow fdatasyncs fall in
// three bad seconds holds about three pieces of evidence about the p99, not
// thousands, and the binomial interval of QuantileRanks is far too narrow.
//
// The interval here is built from batch means over time (Asmussen and
// Glynn, Stochastic Simulation, 2007, ch. IV.5, sectioning and batch means
// for steady-state quantiles; the batching of Alexopoulos, Goldsman,
// Mokashi and Wilson's Sequest procedure). The run is cut into b contiguous
// time batches of whole intervals (seconds, or the coarser intervals of a
// long run). By the Bahadur representation the run's q-quantile Q moves
// with the fraction F(x) of samples at or under x: Q - x_q is about
// (q - F(x_q)) / f(x_q). F is a plain mean, so its standard error follows
// from the batches, however the samples within a batch depend on each
// other:
//
//	F = sum_j c_j / N,   se^2 = b/(b-1) * sum_j (c_j - F n_j)^2 / N^2
//
// (c_j of batch j's n_j samples at or under x; the ratio form allows
// batches of unequal size). The interval is the set of values x not
// rejected by |F(x) - q| <= t se, t Student's with b-1 degrees of freedom,
// with se read both at x and at the observed quantile (see invert). This
// linear form beats t-intervals on the batch quantiles themselves
// (sectioning proper), whose spread over short batches is a nonlinear
// function of how much of each batch a burst covered: the simulation in
// coverage_test.go measured both and keeps this one.
//
// How batches are chosen. The run starts as blocksInitial batches of equal
// duration (10, the low end of the 10 to 30 batches Schmeiser (1982)
// recommends: longer batches outlast longer bursts), fewer when each would
// hold under batchSamples(q) samples (a batch should expect at least one
// sample over the quantile). While the lag-1 autocorrelation of the
// batches' fractions under the observed quantile is significant (above
// 1.645/sqrt(b), the one-sided 5% point under independence), neighbouring
// batches are merged pairwise: bursts longer than a batch make neighbours
// alike, and longer batches outlast them. Fewer than blocksMin batches
// decide nothing: the interval is unbounded and the check says how many
// seconds more would give enough. The moving-block bootstrap (Kunsch 1989)
// was the alternative; batch means need no resampling, have a closed form
// a reader can check, and their coverage is what the simulation measures.
//
// The binomial interval stays as a floor: the result is the union of both,
// never narrower than what independent samples would give.
//
// No method sees a burst the run never contained: the coverage owed (and
// proven by the simulation) is for processes whose bursts recur several
// times within a run; the report says what a run's length cannot rule out.

// Batching constants: the initial number of batches, and the fewest
// batches that decide.
const (
	blocksInitial = 10
	blocksMin     = 5
)

// batch is a contiguous stretch of the run: a histogram of its latencies
// (or, in the coverage simulation, the latencies themselves).
type batch interface {
	count() int64
	seconds() float64
	atMost(x float64) int64 // samples at or under x
	// merge returns the union of the batch and o, which follows it in time;
	// it may reuse the receiver's storage.
	merge(o batch) batch
}

// blockEstimate is the outcome of sectioning one run.
type blockEstimate struct {
	blocks       int     // batches the interval rests on (0: too few to decide)
	batchSeconds float64 // their mean duration
	lo, hi       float64 // the sectioning interval (valid when blocks > 0)
	// needSeconds is the run length that would give enough batches, when
	// blocks is 0.
	needSeconds float64
}

// batchSamples is the fewest samples a batch's q-quantile rests on: the
// batch must expect at least one sample above the quantile.
func batchSamples(q float64) int64 {
	return int64(math.Ceil(1/(1-q) - 1e-9))
}

// sectioning returns the batch-means interval of quantile q with tail left in each
// tail, from the run's slices in time order (consumed: merged in place) and
// its order statistics.
func sectioning(parts []batch, whole orderStats, q, tail float64) blockEstimate {
	var n int64
	var secs float64
	for _, p := range parts {
		n += p.count()
		secs += p.seconds()
	}
	nmin := batchSamples(q)
	want := int(min(int64(blocksInitial), n/nmin))
	bs := mergeSmall(groupByTime(parts, want, secs), nmin)
	center := whole.highest(quantileRank(n, q))
	for {
		if len(bs) < blocksMin {
			return blockEstimate{needSeconds: needSeconds(n, secs, nmin, len(bs))}
		}
		below := make([]float64, len(bs))
		for j, b := range bs {
			below[j] = float64(b.atMost(center)) / float64(b.count())
		}
		if !lag1Significant(below) {
			return invert(bs, whole, q, tail, secs)
		}
		if len(bs)/2 < blocksMin {
			// Still correlated at the fewest batches: a run twice as
			// long gives batches twice as long.
			return blockEstimate{needSeconds: 2 * secs}
		}
		bs = halve(bs)
	}
}

// groupByTime merges consecutive parts into about want batches of equal
// duration; a part is never split, so parts of unequal duration are fine.
func groupByTime(parts []batch, want int, secs float64) []batch {
	if want < 1 || len(parts) == 0 {
		return nil
	}
	var out []batch
	var cur batch
	var elapsed float64
	for _, p := range parts {
		if cur == nil {
			cur = p
		} else {
			cur = cur.merge(p)
		}
		elapsed += p.seconds()
		if elapsed >= float64(len(out)+1)*secs/float64(want)-1e-9 {
			out = append(out, cur)
			cur = nil
		}
	}
	if cur != nil {
		out = append(out, cur)
	}
	return out
}

// mergeSmall merges every batch holding fewer than nmin samples into the
// next one (the last into the one before), so each batch quantile means
// something.
func mergeSmall(bs []batch, nmin int64) []batch {
	var out []batch
	var carry batch
	for _, b := range bs {
		if carry != nil {
			b = carry.merge(b)
			carry = nil
		}
		if b.count() < nmin {
			carry = b
			continue
		}
		out = append(out, b)
	}
	if carry != nil && len(out) > 0 {
		out[len(out)-1] = out[len(out)-1].merge(carry)
	}
	return out
}

// halve merges neighbouring batches pairwise; an odd last batch joins the
// pair before it.
func halve(bs []batch) []batch {
	out := make([]batch, 0, len(bs)/2)
	for i := 0; i+1 < len(bs); i += 2 {
		out = append(out, bs[i].merge(bs[i+1]))
	}
	if len(bs)%2 == 1 {
		out[len(out)-1] = out[len(out)-1].merge(bs[len(bs)-1])
	}
	return out
}

// lag1Significant tells whether the lag-1 autocorrelation of xs exceeds
// its one-sided 5% point under independence, 1.645/sqrt(b).
func lag1Significant(xs []float64) bool {
	b := float64(len(xs))
	var mean float64
	for _, x := range xs {
		mean += x / b
	}
	var num, den float64
	for i, x := range xs {
		den += (x - mean) * (x - mean)
		if i > 0 {
			num += (x - mean) * (xs[i-1] - mean)
		}
	}
	if den == 0 {
		return false
	}
	return num/den > 1.645/math.Sqrt(b)
}

// invert returns the values x not rejected as the q-quantile, |F(x) - q|
// <= t se, in two readings of se: the standard error at each x (the test
// inversion proper) and the one at the observed quantile. The interval is
// the union of both. On rare bursts each alone misses in its own kind of
// run: the first when the run saw fewer bursts than usual (its far tail
// then shows little spread), the second when it saw more; the union holds
// in both (coverage_test.go).
func invert(bs []batch, whole orderStats, q, tail, secs float64) blockEstimate {
	t := TQuantile(1-tail, len(bs)-1)
	n := whole.size()
	c := quantileRank(n, q)
	e := blockEstimate{blocks: len(bs), batchSeconds: secs / float64(len(bs))}
	// At the observed quantile: ranks n(q -+ t se).
	_, se := batchCDF(bs, whole.highest(c))
	nf := float64(n)
	e.hi = whole.highest(min(n, int64(math.Ceil(nf*(q+t*se)))))
	if l := int64(math.Floor(nf * (q - t*se))); l >= 1 {
		e.lo = whole.lowest(l)
	}
	// At each x: the smallest rank surely over the quantile, and the
	// largest surely under it (counted down from c).
	k := sort.Search(int(n-c+1), func(i int) bool {
		f, se := batchCDF(bs, whole.highest(c+int64(i)))
		return f-t*se >= q
	})
	e.hi = max(e.hi, whole.highest(c+int64(k)))
	k = sort.Search(int(c), func(i int) bool {
		f, se := batchCDF(bs, whole.highest(c-int64(i)))
		return f+t*se <= q
	})
	if int64(k) == c {
		e.lo = 0
	} else {
		e.lo = min(e.lo, whole.lowest(c-int64(k)))
	}
	return e
}

// batchCDF returns the fraction of the run at or under x and its standard
// error from the batches (the ratio estimator: batches may differ in size).
func batchCDF(bs []batch, x float64) (f, se float64) {
	var n, below float64
	for _, b := range bs {
		n += float64(b.count())
		below += float64(b.atMost(x))
	}
	f = below / n
	var ss float64
	for _, b := range bs {
		r := float64(b.atMost(x)) - f*float64(b.count())
		ss += r * r
	}
	m := float64(len(bs))
	return f, math.Sqrt(ss*m/(m-1)) / n
}

// needSeconds is how long a run must last for blocksMin batches of nmin
// samples at the run's rate, and for batches at least as long as the ones
// that were too few.
func needSeconds(n int64, secs float64, nmin int64, have int) float64 {
	if n == 0 || secs <= 0 {
		return 0
	}
	rate := float64(n) / secs
	need := float64(blocksMin*nmin) / rate
	if have > 0 {
		need = max(need, float64(blocksMin)*secs/float64(have))
	}
	return max(need, secs)
}

// orderStats answers "what is the k-th smallest value of the run" (1-based):
// from a histogram, the lowest and highest values equivalent to it.
type orderStats interface {
	size() int64
	lowest(k int64) float64
	highest(k int64) float64
}

// quantileRank is the rank HDR's ValueAtQuantile reads: round(q n), at
// least 1.
func quantileRank(n int64, q float64) int64 {
	return max(1, int64(q*float64(n)+0.5))
}

// blockInterval is the burst-aware interval of quantile q with tail left in
// each tail: the union of the sectioning interval over parts (the run's
// slices in time order, consumed) and the binomial interval over whole. It
// is bounded when both are: enough batches, enough samples.
func blockInterval(parts []batch, whole orderStats, q, tail float64) (lo, hi float64, bounded bool, e blockEstimate) {
	n := whole.size()
	if n == 0 {
		return 0, 0, false, blockEstimate{}
	}
	e = sectioning(parts, whole, q, tail)
	l, u, ok := quantileRanksTail(n, q, tail)
	if l >= 1 {
		lo = whole.lowest(l)
	}
	hi = whole.highest(n) // no real bound: the maximum observed
	if ok {
		hi = whole.highest(u)
	}
	if e.blocks == 0 {
		return 0, hi, false, e
	}
	return min(lo, e.lo), max(hi, e.hi), ok, e
}
