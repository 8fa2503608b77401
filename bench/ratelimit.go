package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/etcdisk/etcdisk/report"
)

// OutcomeNotSustained marks a step whose verdict passed while its
// proposals arrived at under report.SustainedShare of the rate asked:
// the request path could not carry the rate.
const OutcomeNotSustained = "not-sustained"

// runRateLimit is --find-limit without a neighbour: the disk's headroom.
// It steps the proposal rate (with the load's clients and sizes) to find
// the highest rate at which every judged p99 is under its target, the
// same search as the neighbour's (searchLimit): doubling from the run's
// rate (the load's, or --rate) until a step does not pass, then bisecting
// three times; each step is a
// full run of cfg.Duration after cfg.Warmup. A step passes when its verdict
// is PASS and the proposals achieved at least report.SustainedShare of the
// rate asked; an INCONCLUSIVE step is run once more.
func runRateLimit(ctx context.Context, cfg Plan) (*report.Result, error) {
	ls := &report.LimitSearch{Unit: report.UnitPutsPerSecond, Metric: report.MetricWALFdatasync, Spec: loadSpec(cfg)}
	var best, last *report.Result
	probe := func(rate float64) (bool, float64, error) {
		c := cfg.WithRate(rate)
		// NB: an INCONCLUSIVE step lacked evidence either way (a burst
		// widens the interval); it runs once more before it counts as
		// not passing, so one burst does not end the doubling.
		for attempt := 0; ; attempt++ {
			fmt.Fprintf(logOf(cfg), "etcdisk: find-limit step %d: %s\n", len(ls.Steps)+1, report.FormatLimitRate(rate, ls.Unit))
			res, err := runOnce(ctx, c)
			if res == nil {
				ls.Steps = append(ls.Steps, report.LimitStep{Rate: rate, Outcome: report.VerdictError})
				return false, 0, err
			}
			last = res
			st := rateStep(res, rate)
			ls.Steps = append(ls.Steps, st)
			if st.Outcome == report.VerdictPass {
				best = res
			}
			if err != nil || st.Outcome != report.VerdictInconclusive || attempt == 1 {
				// NB: achieved is reported as the rate asked: a step
				// whose proposals fall short already failed, and
				// searchLimit's saturation rule is for neighbours.
				return st.Outcome == report.VerdictPass, rate, err
			}
		}
	}
	var err error
	// Proposal rates are whole puts/s: searchLimit rounds them as IOPS.
	ls.Limit, ls.Failing, _, err = searchLimit(cfg.Rate, rateMax, true, probe)
	res := best
	if res == nil {
		res = last
	}
	if res == nil {
		return nil, err
	}
	ls.Targets = judgedTargets(res)
	res.Limit = ls
	if err == nil || errors.Is(err, ErrInterrupted) {
		res.Verdict = report.VerdictFail
		if ls.Limit > 0 {
			res.Verdict = report.VerdictPass
		}
		res.Reason = report.SustainsLine(res)
	}
	return res, err
}

// rateStep is one step of a proposal-rate search: the run's verdict, or
// OutcomeNotSustained when it passed with its proposals short of the rate.
func rateStep(res *report.Result, rate float64) report.LimitStep {
	st := report.LimitStep{Rate: rate, Outcome: res.Verdict}
	if m := res.Metrics[report.MetricWALFdatasync]; m != nil {
		st.P99Ns = m.P99Ns
	}
	// NB: committed entries, not proposal_commit's count: that also holds
	// the proposals still waiting at the stop, which were not carried. A
	// proposal is --batch entries in the bare open loop.
	if res.DurationNs > 0 {
		st.Achieved = float64(res.Entries) / float64(max(res.Config.Batch, 1)) / (float64(res.DurationNs) / 1e9)
	}
	if st.Outcome == report.VerdictPass && st.Achieved < report.SustainedShare*rate {
		st.Outcome = OutcomeNotSustained
	}
	return st
}

// judgedTargets are the p99 targets that decided res's verdict, by metric.
func judgedTargets(res *report.Result) map[string]int64 {
	t := map[string]int64{}
	for _, ch := range res.Checks {
		if !ch.Advisory && ch.Quantile == 99 {
			t[ch.Metric] = ch.TargetNs
		}
	}
	return t
}

// loadSpec describes what a proposal-rate search sends, without the rate.
func loadSpec(cfg Plan) string {
	var parts []string
	if cfg.Load != "" {
		parts = append(parts, "load "+cfg.Load)
	}
	if cfg.Clients > 0 {
		parts = append(parts, fmt.Sprintf("%d clients", cfg.Clients))
	}
	if !cfg.ValueSize.IsZero() {
		parts = append(parts, fmt.Sprintf("values %s, keys %d B, %s", cfg.ValueSize, cfg.KeySize, cfg.Request))
	}
	if cfg.Mode != ModeRequestPath {
		parts = append(parts, "straight into the WAL loop")
	}
	return strings.Join(parts, ", ")
}
