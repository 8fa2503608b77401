package bench

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/etcdisk/etcdisk/bench/neighbor"
	"github.com/etcdisk/etcdisk/report"
)

// runCompareSolo runs the workload alone, then with its neighbours, each
// for p.Duration (after its own warm-up). The result is the loaded phase
// with the solo phase in Result.Solo, so a reader sees how much the
// neighbours cost.
func runCompareSolo(ctx context.Context, p Plan) (*report.Result, error) {
	fmt.Fprintf(logOf(p), "etcdisk: solo phase (%s without neighbours)\n", p.Duration)
	sres, err := runOnce(ctx, p.WithoutNeighbors())
	if err != nil {
		return sres, fmt.Errorf("solo phase: %w", err)
	}
	fmt.Fprintf(logOf(p), "etcdisk: loaded phase (%s with %d neighbour(s))\n", p.Duration, len(p.Neighbors))
	lres, err := runOnce(ctx, p)
	if lres != nil {
		lres.Solo = &report.Phase{
			DurationNs: sres.DurationNs,
			Saves:      sres.Saves,
			Verdict:    sres.Verdict,
			Metrics:    sres.Metrics,
			Checks:     sres.Checks,
		}
	}
	return lres, err
}

// Limit search bounds.
const (
	limitStartBytes = 4 << 20 // 4 MiB/s
	limitStartIOPS  = 50
	limitMaxBytes   = 16 << 30
	limitMaxIOPS    = 4 << 20
	limitBisections = 3
	// A neighbour that achieves less than this share of the rate asked is
	// running at the disk's maximum.
	limitSaturation = 0.8
)

// neighborSearch is the state of runFindLimit: the plan with its one
// neighbour, the steps so far and the results worth reporting.
type neighborSearch struct {
	p    Plan
	base neighbor.Spec
	iops bool
	ls   *report.LimitSearch
	best *report.Result // the result of the highest passing step
	last *report.Result
}

// step runs the neighbour at rate and says whether the WAL fdatasync p99
// stayed under its target, and what rate the neighbour achieved.
func (s *neighborSearch) step(ctx context.Context, rate float64) (bool, float64, error) {
	spec := s.base
	if s.iops {
		spec.IOPS = rate
	} else {
		spec.Rate = int64(rate)
	}
	fmt.Fprintf(logOf(s.p), "etcdisk: find-limit step %d: %s\n", len(s.ls.Steps)+1, spec)
	res, err := runOnce(ctx, s.p.WithNeighbor(spec))
	if res == nil {
		s.ls.Steps = append(s.ls.Steps, report.LimitStep{Rate: rate, Outcome: report.VerdictError})
		return false, 0, err
	}
	s.last = res
	st := report.LimitStep{Rate: rate, Outcome: report.VerdictInconclusive}
	if m := res.Metrics[report.MetricWALFdatasync]; m != nil {
		st.P99Ns = m.P99Ns
	}
	for _, ch := range res.Checks {
		if ch.Metric == report.MetricWALFdatasync && ch.Kind == "" {
			st.Outcome = ch.Outcome
		}
	}
	if len(res.Neighbors) == 1 && res.DurationNs > 0 {
		nb := res.Neighbors[0]
		st.Achieved = nb.MBps * 1e6
		if s.iops {
			st.Achieved = nb.IOPS
		}
	}
	s.ls.Steps = append(s.ls.Steps, st)
	pass := st.Outcome == report.VerdictPass
	if pass {
		s.best = res
	}
	return pass, st.Achieved, err
}

// runFindLimit steps the one neighbour's rate up to find the highest rate
// at which the WAL fdatasync p99 stays under its target. The search doubles
// the rate from 4 MiB/s (or 50 IOPS when the spec limits IOPS) until a step
// does not pass (FAIL or INCONCLUSIVE both count as not under the target),
// then bisects the last passing and the first failing rate three times.
// Every step is a full run of p.Duration after p.Warmup. The search stops
// early when the neighbour cannot reach the rate asked (the disk's maximum)
// while the WAL still passes.
func runFindLimit(ctx context.Context, p Plan) (*report.Result, error) {
	if len(p.Neighbors) != 1 {
		return nil, fmt.Errorf("--find-limit needs exactly one neighbour, got %d", len(p.Neighbors))
	}
	s := &neighborSearch{p: p, base: p.Neighbors[0], iops: p.Neighbors[0].IOPS > 0}
	s.ls = &report.LimitSearch{Unit: "bytes/s", Metric: report.MetricWALFdatasync}
	start, maxRate := float64(limitStartBytes), float64(limitMaxBytes)
	if s.iops {
		s.ls.Unit = "iops"
		start, maxRate = limitStartIOPS, limitMaxIOPS
	}
	unlimited := s.base
	unlimited.Rate, unlimited.IOPS = 0, 0
	s.ls.Spec = unlimited.String()

	var err error
	s.ls.Limit, s.ls.Failing, s.ls.Saturated, err = searchLimit(start, maxRate, s.iops, func(rate float64) (bool, float64, error) {
		return s.step(ctx, rate)
	})
	res := s.best
	if res == nil {
		res = s.last
	}
	if res == nil {
		return nil, err
	}
	ls := s.ls
	res.Limit = ls
	if err == nil || errors.Is(err, ErrInterrupted) {
		switch {
		case ls.Limit > 0:
			res.Verdict = report.VerdictPass
			res.Reason = fmt.Sprintf("highest neighbour rate with %s p99 under %s: %s", report.MetricWALFdatasync,
				report.FormatDuration(p.P99Target), report.FormatLimitRate(ls.Limit, ls.Unit))
		default:
			res.Verdict = report.VerdictFail
			res.Reason = fmt.Sprintf("even %s of the neighbour pushes %s p99 past %s", report.FormatLimitRate(start, ls.Unit),
				report.MetricWALFdatasync, report.FormatDuration(p.P99Target))
		}
	}
	return res, err
}

// searchLimit is the search of runFindLimit, apart from running the steps:
// probe runs the neighbour at a rate and says whether the WAL stayed under
// its target and what rate the neighbour achieved.
func searchLimit(start, maxRate float64, iops bool, probe func(rate float64) (pass bool, achieved float64, err error)) (lo, hi float64, saturated bool, err error) {
	for rate := start; rate <= maxRate; rate *= 2 {
		var pass bool
		var achieved float64
		if pass, achieved, err = probe(rate); err != nil {
			return lo, hi, saturated, err
		}
		if !pass {
			hi = rate
			break
		}
		lo = rate
		if achieved < limitSaturation*rate {
			// The disk's maximum: the neighbour cannot go faster, and
			// the WAL still passes at it.
			return math.Max(rate/2, achieved), 0, true, nil
		}
	}
	for i := 0; hi > 0 && lo > 0 && i < limitBisections; i++ {
		mid := (lo + hi) / 2
		if iops {
			mid = math.Round(mid)
		} else {
			mid = math.Round(mid/(1<<20)) * (1 << 20) // whole MiB/s
		}
		if mid <= lo || mid >= hi {
			break
		}
		var pass bool
		if pass, _, err = probe(mid); err != nil {
			return lo, hi, saturated, err
		}
		if pass {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, hi, saturated, nil
}
