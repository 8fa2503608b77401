package report

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// seriesResult builds a result of one metric (wal_fdatasync) from
// per-second latencies (ms), its interval series in intervals of every
// seconds each (1: per second; more: as a long run's coarser intervals).
func seriesResult(t *testing.T, secs [][]float64, every int) *Result {
	t.Helper()
	whole := NewHistogram()
	r := &Result{Schema: Schema, DurationNs: int64(len(secs)) * int64(time.Second), Metrics: map[string]*Metric{}}
	for s := 0; s < len(secs); s += every {
		h := NewHistogram()
		for _, sec := range secs[s:min(s+every, len(secs))] {
			for _, v := range sec {
				ns := int64(v * 1e6)
				if err := h.RecordValue(ns); err != nil {
					t.Fatal(err)
				}
				whole.RecordValue(ns)
			}
		}
		r.Intervals = append(r.Intervals, Interval{StartNs: int64(s) * int64(time.Second),
			Metrics: map[string]IntervalMetric{MetricWALFdatasync: NewIntervalMetric(h)}})
	}
	r.Metrics[MetricWALFdatasync] = NewMetric(whole)
	return r
}

// burstySeconds: 60 s at 300/s of lognormal latencies (median 2 ms), and
// in bad seconds a fifth of the fdatasyncs take 12 ms or more.
func burstySeconds(seed uint64, bad ...int) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	secs := make([][]float64, 60)
	for s := range secs {
		for i := range 300 {
			v := 2 * math.Exp(0.5*rng.NormFloat64())
			for _, b := range bad {
				if s == b && i%5 == 0 {
					v = 12 + rng.Float64()
				}
			}
			secs[s] = append(secs[s], v)
		}
	}
	return secs
}

var walTarget = []Target{{Metric: MetricWALFdatasync, Quantile: 99, Limit: 10 * time.Millisecond}}

// Slow fdatasyncs bunched into two seconds are two pieces of evidence: the
// binomial interval would pass the run, the burst-aware one must not.
func TestJudgeBurstsWidenTheInterval(t *testing.T) {
	r := seriesResult(t, burstySeconds(1, 20, 21), 1)
	h, _ := r.Metrics[MetricWALFdatasync].Hist()
	if bin := QuantileCI(h, 0.99); !bin.Bounded || bin.HighNs >= int64(10*time.Millisecond) {
		t.Fatalf("the binomial interval %s should clear 10ms", FormatInterval(bin))
	}
	Judge(r, walTarget)
	c := r.Checks[0]
	if c.Outcome == VerdictPass || c.Interval.Method != MethodBlocks {
		t.Errorf("bursty run judged %s with %+v", c.Outcome, c.Interval)
	}
	if c.Outcome == VerdictInconclusive && (c.MoreSeconds <= 0 || !strings.Contains(c.Note, " s longer")) {
		t.Errorf("no run extension in seconds: %+v", c)
	}
}

// A steady run passes, rests on 10 blocks at 95% with one target, and says
// what its length cannot rule out.
func TestJudgeSteadyPasses(t *testing.T) {
	r := seriesResult(t, burstySeconds(2), 1)
	Judge(r, walTarget)
	c := r.Checks[0]
	if c.Outcome != VerdictPass || c.Interval.Blocks != 10 || c.Interval.Confidence != 0.95 {
		t.Fatalf("%s %+v", c.Outcome, c.Interval)
	}
	if !strings.Contains(c.Note, "no stall in 60s: bursts rarer than once every 60s are not excluded") {
		t.Errorf("note %q", c.Note)
	}
	h, _ := r.Metrics[MetricWALFdatasync].Hist()
	bin := QuantileCI(h, 0.99)
	if c.Interval.LowNs > bin.LowNs || c.Interval.HighNs < bin.HighNs {
		t.Errorf("interval %s narrower than the binomial %s", FormatInterval(c.Interval), FormatInterval(bin))
	}
}

// Two judged targets: each at 97.5% (Bonferroni), wider than at 95%.
func TestJudgeBonferroni(t *testing.T) {
	r := seriesResult(t, burstySeconds(2), 1)
	Judge(r, walTarget)
	one := r.Checks[0].Interval
	two := append(walTarget, Target{Metric: MetricWALFdatasync, Quantile: 50, Limit: time.Second})
	Judge(r, two)
	c := r.Checks[0].Interval
	if c.Confidence != 0.975 || c.HighNs <= one.HighNs || c.LowNs >= one.LowNs {
		t.Errorf("two targets: %+v, one: %+v", c, one)
	}
	if !strings.Contains(checkPhrase(r.Checks[0]), "97.5% CI") {
		t.Errorf("phrase %q", checkPhrase(r.Checks[0]))
	}
}

// Intervals of unequal duration (a long run's older data kept coarser)
// give about the same interval as the per-second series.
func TestJudgeCoarseIntervals(t *testing.T) {
	fine := seriesResult(t, burstySeconds(3, 10, 30, 50), 1)
	coarse := seriesResult(t, burstySeconds(3, 10, 30, 50), 5)
	Judge(fine, walTarget)
	Judge(coarse, walTarget)
	f, c := fine.Checks[0].Interval, coarse.Checks[0].Interval
	if c.Blocks < blocksMin || c.BlockSeconds < 5 {
		t.Fatalf("coarse series: %+v", c)
	}
	if r := float64(c.HighNs-c.LowNs) / float64(f.HighNs-f.LowNs); r < 0.5 || r > 2 {
		t.Errorf("coarse %s, fine %s", FormatInterval(c), FormatInterval(f))
	}
}

// A run too short for enough blocks decides nothing and says how many
// seconds more it needs.
func TestJudgeTooFewBlocks(t *testing.T) {
	r := seriesResult(t, burstySeconds(4)[:3], 1) // 900 samples, 3 s
	Judge(r, walTarget)
	c := r.Checks[0]
	if c.Outcome != VerdictInconclusive || c.Interval.Bounded || c.MoreSeconds != 2 {
		t.Errorf("%s %+v more %d: %s", c.Outcome, c.Interval, c.MoreSeconds, c.Note)
	}
}
