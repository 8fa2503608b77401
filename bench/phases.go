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
// for cfg.Duration (after its own warm-up). The result is the loaded phase
// with the solo phase in Result.Solo, so a reader sees how much the
// neighbours cost.
func runCompareSolo(ctx context.Context, cfg Config) (*report.Result, error) {
	solo := cfg
	solo.Neighbors, solo.Scenario = nil, ""
	fmt.Fprintf(logOf(cfg), "etcdisk: solo phase (%s without neighbours)\n", cfg.Duration)
	sres, err := runOnce(ctx, solo)
	if err != nil {
		return sres, fmt.Errorf("solo phase: %w", err)
	}
	fmt.Fprintf(logOf(cfg), "etcdisk: loaded phase (%s with %d neighbour(s))\n", cfg.Duration, len(mustNeighbors(cfg)))
	lres, err := runOnce(ctx, cfg)
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

func mustNeighbors(cfg Config) []neighbor.Spec {
	s, _ := resolveNeighbors(cfg)
	return s
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

// runFindLimit steps the one neighbour's rate up to find the highest rate
// at which the WAL fdatasync p99 stays under its target. The search doubles
// the rate from 4 MiB/s (or 50 IOPS when the spec limits IOPS) until a step
// does not pass (FAIL or INCONCLUSIVE both count as not under the target),
// then bisects the last passing and the first failing rate three times.
// Every step is a full run of cfg.Duration after cfg.Warmup. The search
// stops early when the neighbour cannot reach the rate asked (the disk's
// maximum) while the WAL still passes.
func runFindLimit(ctx context.Context, cfg Config) (*report.Result, error) {
	specs := mustNeighbors(cfg)
	if len(specs) != 1 {
		return nil, fmt.Errorf("--find-limit needs exactly one neighbour, got %d", len(specs))
	}
	base := specs[0]
	iops := base.IOPS > 0
	ls := &report.LimitSearch{Unit: "bytes/s", Metric: report.MetricWALFdatasync}
	start, maxRate := float64(limitStartBytes), float64(limitMaxBytes)
	if iops {
		ls.Unit = "iops"
		start, maxRate = limitStartIOPS, limitMaxIOPS
	}
	unlimited := base
	unlimited.Rate, unlimited.IOPS = 0, 0
	ls.Spec = unlimited.String()

	var best *report.Result // the result of the highest passing step
	var last *report.Result
	step := func(rate float64) (bool, error) {
		spec := base
		if iops {
			spec.IOPS = rate
		} else {
			spec.Rate = int64(rate)
		}
		c := cfg
		c.Scenario, c.Neighbors = "", []string{spec.String()}
		fmt.Fprintf(logOf(cfg), "etcdisk: find-limit step %d: %s\n", len(ls.Steps)+1, spec)
		res, err := runOnce(ctx, c)
		if res == nil {
			ls.Steps = append(ls.Steps, report.LimitStep{Rate: rate, Outcome: report.VerdictError})
			return false, err
		}
		last = res
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
			if iops {
				st.Achieved = nb.IOPS
			}
		}
		ls.Steps = append(ls.Steps, st)
		pass := st.Outcome == report.VerdictPass
		if pass {
			best = res
		}
		return pass, err
	}

	var err error
	ls.Limit, ls.Failing, ls.Saturated, err = searchLimit(start, maxRate, iops, func(rate float64) (bool, float64, error) {
		pass, err := step(rate)
		return pass, ls.Steps[len(ls.Steps)-1].Achieved, err
	})

	res := best
	if res == nil {
		res = last
	}
	if res == nil {
		return nil, err
	}
	res.Limit = ls
	if err == nil || errors.Is(err, ErrInterrupted) {
		switch {
		case ls.Limit > 0:
			res.Verdict = report.VerdictPass
			res.Reason = fmt.Sprintf("highest neighbour rate with %s p99 under %s: %s", report.MetricWALFdatasync,
				report.FormatDuration(cfg.P99Target), report.FormatLimitRate(ls.Limit, ls.Unit))
		default:
			res.Verdict = report.VerdictFail
			res.Reason = fmt.Sprintf("even %s of the neighbour pushes %s p99 past %s", report.FormatLimitRate(start, ls.Unit),
				report.MetricWALFdatasync, report.FormatDuration(cfg.P99Target))
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
