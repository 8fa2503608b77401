package report

import (
	"fmt"
	"github.com/dustin/go-humanize"
	"slices"
	"strings"
	"time"
)

// etcd's targets (etcd FAQ).
const (
	DefaultWALP99Target     = 10 * time.Millisecond
	DefaultBackendP99Target = 25 * time.Millisecond
)

// Target is one latency objective: Metric's Quantile (in percent, 99 for
// p99, as HDR and Check.Quantile count it) must stay under Limit.
type Target struct {
	Metric   string
	Quantile float64
	Limit    time.Duration
	// Advisory marks a target that decides the verdict only once it has
	// the samples for a bounded interval, or when it fails. etcd commits
	// its backend every 100 ms, so a short run has too few commits for a
	// bounded p99 (368 need 37 s); such a check says so instead of making
	// every short run INCONCLUSIVE.
	Advisory bool
}

// DefaultTargets returns etcd's two objectives with the given limits (0
// means etcd's default): WAL fdatasync p99 and backend commit p99.
func DefaultTargets(walP99, backendP99 time.Duration) []Target {
	if walP99 <= 0 {
		walP99 = DefaultWALP99Target
	}
	if backendP99 <= 0 {
		backendP99 = DefaultBackendP99Target
	}
	return []Target{
		{Metric: MetricWALFdatasync, Quantile: 99, Limit: walP99},
		{Metric: MetricBackendCommit, Quantile: 99, Limit: backendP99, Advisory: true},
	}
}

// TargetsFor returns the targets r's configuration asks for: the WAL
// fdatasync p99 always, the backend commit p99 when the run had a backend
// (Config.Backend, or a backend_commit metric).
func TargetsFor(r *Result) []Target {
	t := DefaultTargets(time.Duration(r.Config.P99TargetNs), time.Duration(r.Config.BackendP99TargetNs))
	if _, ok := r.Metrics[MetricBackendCommit]; !r.Config.Backend && !ok {
		t = t[:1]
	}
	return t
}

// Judge checks r against targets and fills r.Checks, r.Verdict and r.Reason.
//
// Each check uses the 95% confidence interval of the quantile (see
// QuantileRanks): PASS when its upper bound is under the limit, FAIL when
// its lower bound is over the limit, INCONCLUSIVE otherwise (the interval
// straddles the limit, has no upper bound for lack of samples, or the
// metric has no samples). Each PASS or FAIL is wrong at most 2.5% of the
// time. Overall: FAIL if any check fails, else INCONCLUSIVE if any is, else
// PASS; no targets at all is INCONCLUSIVE. A check cannot pass while its
// metric had an operation in flight at the end of the run, and a WAL
// fdatasync faster than stable storage can be (StableStorageFloor) adds an
// INCONCLUSIVE plausibility check.
//
// A verdict of "error" (the run failed) is kept with its reason; the checks
// are still filled for information. Judge also adds a warning for every
// judged metric with fewer samples than a bounded p99 (and p99.9) needs.
// Calling it again replaces the checks and adds no duplicate warning.
func Judge(r *Result, targets []Target) {
	r.Checks = make([]Check, 0, len(targets)+1)
	for _, t := range targets {
		c := judgeOne(r.Metrics[t.Metric], t)
		inFlightOutcome(&c, r.Metrics[t.Metric])
		r.Checks = append(r.Checks, c)
	}
	if c, ok := plausibilityCheck(r.Metrics[MetricWALFdatasync]); ok {
		r.Checks = append(r.Checks, c)
	}
	for _, name := range judgedMetrics(targets) {
		for _, w := range sampleWarnings(name, r.Metrics[name]) {
			if !slices.Contains(r.Warnings, w) {
				r.Warnings = append(r.Warnings, w)
			}
		}
	}
	if r.Verdict == VerdictError {
		return
	}
	r.Verdict, r.Reason = overall(r.Checks)
}

// ExitCode maps r's verdict to etcdisk's exit status: 0 pass, 1 fail,
// 2 error (or no verdict, or an interrupted run: its verdict covers only
// the part that ran), 3 inconclusive.
func ExitCode(r *Result) int {
	if r == nil || r.Interrupted {
		return 2
	}
	switch r.Verdict {
	case VerdictPass:
		return 0
	case VerdictFail:
		return 1
	case VerdictInconclusive:
		return 3
	default:
		return 2
	}
}

func judgeOne(m *Metric, t Target) Check {
	c := Check{
		Metric:   t.Metric,
		Quantile: t.Quantile,
		TargetNs: int64(t.Limit),
		Outcome:  VerdictInconclusive,
		Needed:   SamplesNeeded(t.Quantile / 100),
	}
	if !(t.Quantile > 0 && t.Quantile < 100) {
		c.Note = fmt.Sprintf("invalid quantile %g (want 0 < q < 100)", t.Quantile)
		return c
	}
	if m == nil || m.Count == 0 {
		c.Note = "no samples"
		c.Advisory = t.Advisory
		return c
	}
	c.Samples = m.Count
	obs, ci, err := metricQuantile(m, t.Quantile)
	if err != nil {
		c.Note = "unreadable histogram: " + err.Error()
		return c
	}
	c.ObservedNs, c.Interval = obs, ci
	q := quantileName(t.Quantile)
	switch {
	case ci.Bounded && ci.HighNs < c.TargetNs:
		c.Outcome = VerdictPass
	case ci.LowNs > c.TargetNs:
		c.Outcome = VerdictFail
	case !ci.Bounded && t.Advisory:
		c.Advisory = true
		c.Note = fmt.Sprintf("not judged: %d samples, a bounded %s needs %d; run longer to judge it", c.Samples, q, c.Needed)
	case !ci.Bounded:
		c.Note = fmt.Sprintf("%d samples: a bounded %s needs %d, run longer", c.Samples, q, c.Needed)
	default:
		c.Note = fmt.Sprintf("the 95%% CI of %s straddles the %s target, run longer", q, FormatDuration(t.Limit))
	}
	return c
}

// metricQuantile returns the pct-th percentile of m with its 95% interval,
// from the stored summary for p99 and p99.9, else from the histogram.
func metricQuantile(m *Metric, pct float64) (int64, Interval95, error) {
	switch pct {
	case 99:
		return m.P99Ns, m.P99CI, nil
	case 99.9:
		return m.P999Ns, m.P999CI, nil
	}
	if m.Histogram == "" {
		return 0, Interval95{}, fmt.Errorf("no histogram stored for p%g", pct)
	}
	h, err := m.Hist()
	if err != nil {
		return 0, Interval95{}, err
	}
	return h.ValueAtQuantile(pct), QuantileCI(h, pct/100), nil
}

func overall(checks []Check) (verdict, reason string) {
	if len(checks) == 0 {
		return VerdictInconclusive, "no target to judge"
	}
	var fails, incs, passes, advisory []string
	for _, c := range checks {
		if c.Advisory && c.Outcome == VerdictInconclusive {
			advisory = append(advisory, c.Metric+" "+c.Note)
			continue
		}
		switch c.Outcome {
		case VerdictFail:
			fails = append(fails, checkPhrase(c))
		case VerdictPass:
			passes = append(passes, checkPhrase(c))
		default:
			s := checkPhrase(c)
			if c.Note != "" {
				s += ": " + c.Note
			}
			incs = append(incs, s)
		}
	}
	switch {
	case len(fails) > 0:
		return VerdictFail, strings.Join(fails, "; ")
	case len(incs) > 0:
		return VerdictInconclusive, strings.Join(incs, "; ")
	case len(passes) == 0:
		return VerdictInconclusive, strings.Join(advisory, "; ")
	default:
		return VerdictPass, strings.Join(append(passes, advisory...), "; ")
	}
}

// checkPhrase says a check in one phrase, e.g.
// "wal_fdatasync p99 1.94ms (95% CI 1.81ms-2.10ms) < 10ms target".
func checkPhrase(c Check) string {
	if c.Kind == CheckPlausibility {
		return plausibilityPhrase(c)
	}
	q := quantileName(c.Quantile)
	target := FormatDuration(time.Duration(c.TargetNs))
	if c.Samples == 0 {
		return fmt.Sprintf("%s %s: no samples (%s target)", c.Metric, q, target)
	}
	op := "~"
	switch c.Outcome {
	case VerdictPass:
		op = "<"
	case VerdictFail:
		op = ">"
	}
	return fmt.Sprintf("%s %s %s (95%% CI %s) %s %s target", c.Metric, q,
		FormatDuration(time.Duration(c.ObservedNs)), FormatInterval(c.Interval), op, target)
}

// FormatInterval renders a confidence interval, e.g. "1.81ms-2.10ms", or
// "1.81ms-unbounded" when too few samples bound it from above.
func FormatInterval(iv Interval95) string {
	hi := "unbounded"
	if iv.Bounded {
		hi = FormatDuration(time.Duration(iv.HighNs))
	}
	return FormatDuration(time.Duration(iv.LowNs)) + "-" + hi
}

// quantileName renders a percentile as etcd folks say it: p99, p99.9, p50.
func quantileName(pct float64) string {
	return "p" + strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", pct), "0"), ".")
}

func judgedMetrics(targets []Target) []string {
	var names []string
	for _, t := range targets {
		if !slices.Contains(names, t.Metric) {
			names = append(names, t.Metric)
		}
	}
	return names
}

// sampleWarnings says when a metric has too few samples to bound its p99
// or p99.9.
func sampleWarnings(name string, m *Metric) []string {
	if m == nil || m.Count == 0 {
		return []string{fmt.Sprintf("%s: no samples recorded", name)}
	}
	var w []string
	p99, p999 := SamplesNeeded(0.99), SamplesNeeded(0.999)
	switch {
	case m.Count < p99:
		w = append(w, fmt.Sprintf("%s: %s samples; a bounded p99 needs %s (p99.9: %s): run longer",
			name, humanize.Comma(m.Count), humanize.Comma(p99), humanize.Comma(p999)))
	case m.Count < p999:
		w = append(w, fmt.Sprintf("%s: %s samples; a bounded p99.9 needs %s: its p99.9 is only indicative",
			name, humanize.Comma(m.Count), humanize.Comma(p999)))
	}
	return w
}
