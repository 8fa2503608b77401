package report

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Latency generators for the coverage simulation (coverage_test.go). Each
// draws one run as per-second samples (milliseconds) from a process whose
// stationary p99 is known: analytically, as a quantile of a mixture of
// lognormals, solved by bisection.

// generator is one latency process with a known stationary p99.
type generator struct {
	name    string
	rate    int // samples per second
	seconds int // run length
	// mix is the stationary law: lognormal components and their weights
	// (drift: many components, one per phase of its cycle).
	mix []lognormal
	// newRun starts one run; its result draws second s's samples into out.
	newRun func(rng *rand.Rand) func(s int, out []float64) []float64
}

// lognormal is one component: median in ms, sigma of the log, weight.
type lognormal struct{ median, sigma, weight float64 }

func (l lognormal) draw(rng *rand.Rand) float64 {
	return l.median * math.Exp(l.sigma*rng.NormFloat64())
}

func (l lognormal) cdf(x float64) float64 {
	return 0.5 * math.Erfc(-math.Log(x/l.median)/(l.sigma*math.Sqrt2))
}

// mixQuantile returns the q-quantile of a mixture of lognormals.
func mixQuantile(mix []lognormal, q float64) float64 {
	lo, hi := 1e-6, 1e6
	for range 200 {
		mid := math.Sqrt(lo * hi)
		var c float64
		for _, l := range mix {
			c += l.weight * l.cdf(mid)
		}
		if c < q {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// Base latency: a healthy SSD's fdatasync, median 2 ms.
var baseLat = lognormal{median: 2, sigma: 0.5, weight: 1}

// iidGen draws independent lognormal latencies.
func iidGen(rate, seconds int) generator {
	return generator{
		name: "i.i.d. lognormal", rate: rate, seconds: seconds, mix: []lognormal{baseLat},
		newRun: func(rng *rand.Rand) func(int, []float64) []float64 {
			return func(_ int, out []float64) []float64 {
				for range rate {
					out = append(out, baseLat.draw(rng))
				}
				return out
			}
		},
	}
}

// markovGen is a two-state Markov-modulated process: a neighbour (or the
// device's garbage collection) is on for stretches of meanSlow seconds on
// average, off for meanFast, switching at 0.1 s ticks; while it is on,
// latencies follow slow. The run starts in the stationary state.
func markovGen(rate, seconds int, meanFast, meanSlow float64, slow lognormal) generator {
	const ticks = 10
	pi := meanSlow / (meanFast + meanSlow)
	fast := baseLat
	fast.weight, slow.weight = 1-pi, pi
	return generator{
		name: "Markov on/off", rate: rate, seconds: seconds, mix: []lognormal{fast, slow},
		newRun: func(rng *rand.Rand) func(int, []float64) []float64 {
			on := rng.Float64() < pi
			return func(_ int, out []float64) []float64 {
				for range ticks {
					l := fast
					if on {
						l = slow
					}
					for range rate / ticks {
						out = append(out, l.draw(rng))
					}
					leave := 1 / (meanFast * ticks)
					if on {
						leave = 1 / (meanSlow * ticks)
					}
					if rng.Float64() < leave {
						on = !on
					}
				}
				return out
			}
		},
	}
}

// writebackGen adds a spike of spike seconds every period seconds (a
// writeback flush), at a random phase: latencies during it follow slow.
func writebackGen(rate, seconds int, period, spike float64, slow lognormal) generator {
	const ticks = 10
	pi := spike / period
	fast := baseLat
	fast.weight, slow.weight = 1-pi, pi
	return generator{
		name: "periodic writeback", rate: rate, seconds: seconds, mix: []lognormal{fast, slow},
		newRun: func(rng *rand.Rand) func(int, []float64) []float64 {
			phase := rng.Float64() * period
			return func(s int, out []float64) []float64 {
				for i := range ticks {
					t := float64(s) + float64(i)/ticks + phase
					l := fast
					if math.Mod(t, period) < spike {
						l = slow
					}
					for range rate / ticks {
						out = append(out, l.draw(rng))
					}
				}
				return out
			}
		},
	}
}

// driftGen lets the median drift: multiplied by exp(amp*sin(2 pi t/period
// + phase)), a random phase per run; each second has one median.
func driftGen(rate, seconds int, period, amp float64) generator {
	const phases = 720
	mix := make([]lognormal, phases)
	for i := range mix {
		th := 2 * math.Pi * float64(i) / phases
		mix[i] = lognormal{median: baseLat.median * math.Exp(amp*math.Sin(th)), sigma: baseLat.sigma, weight: 1.0 / phases}
	}
	return generator{
		name: "slow drift", rate: rate, seconds: seconds, mix: mix,
		newRun: func(rng *rand.Rand) func(int, []float64) []float64 {
			phase := rng.Float64() * 2 * math.Pi
			return func(s int, out []float64) []float64 {
				l := baseLat
				l.median *= math.Exp(amp * math.Sin(2*math.Pi*(float64(s)+0.5)/period+phase))
				for range rate {
					out = append(out, l.draw(rng))
				}
				return out
			}
		},
	}
}

// sampleBatch is a batch of simulated latencies. Only the values above
// floor (the stationary p90) are kept, the rest counted: a p99 and its
// intervals stay far above it, and sorting a tenth of the values keeps the
// simulation fast. A rank that reaches under floor reads as floor.
type sampleBatch struct {
	below  int64
	top    []float64 // values above floor, sorted when sorted is set
	sorted bool
	secs   float64
	floor  float64
}

func (b *sampleBatch) count() int64     { return b.below + int64(len(b.top)) }
func (b *sampleBatch) seconds() float64 { return b.secs }

func (b *sampleBatch) merge(o batch) batch {
	ob := o.(*sampleBatch)
	b.below += ob.below
	b.top = append(b.top, ob.top...)
	b.secs += ob.secs
	b.sorted = false
	return b
}

// rank returns the k-th smallest value (1-based), or floor when it was
// not kept.
func (b *sampleBatch) rank(k int64) float64 {
	if k <= b.below {
		return b.floor
	}
	b.sort()
	return b.top[min(k-b.below, int64(len(b.top)))-1]
}

func (b *sampleBatch) atMost(x float64) int64 {
	if x < b.floor {
		return 0 // not asked: only the p99 is looked up
	}
	b.sort()
	i, _ := slices.BinarySearch(b.top, math.Nextafter(x, math.Inf(1)))
	return b.below + int64(i)
}

func (b *sampleBatch) sort() {
	if !b.sorted {
		slices.Sort(b.top)
		b.sorted = true
	}
}
