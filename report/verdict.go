package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/etcdisk/etcdisk/internal/etcdbuckets"
)

// etcd's targets, the verdict's defaults.
const (
	DefaultWALP99Target     = etcdbuckets.WALFsyncP99Target
	DefaultBackendP99Target = etcdbuckets.BackendCommitP99Target
)

// Target is one latency objective: Metric's Quantile (in percent, 99 for
// p99, as HDR and Check.Quantile count it) must stay under Limit.
type Target struct {
	Metric   string
	Quantile float64
	Limit    time.Duration
	// Advisory marks a target that decides the verdict only once it has
	// the samples and time blocks for a bounded interval, or when it
	// fails. etcd commits its backend every 100 ms, so a short run has too
	// few commits for a bounded p99 (five blocks of 100 need 50 s); such a
	// check says so instead of making every short run INCONCLUSIVE.
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
// Each check uses a burst-aware confidence interval of the quantile (see
// metric_blocks.go): PASS when its upper bound is under the limit, FAIL
// when its lower bound is over the limit, INCONCLUSIVE otherwise (the
// interval straddles the limit, or has no upper bound for lack of samples
// or of independent blocks, or the metric has no samples). With k targets
// each interval is at confidence 1-0.05/k (Bonferroni), so a PASS or a FAIL
// of the whole verdict is wrong at most 2.5% of the time. Overall: FAIL if
// any check fails, else INCONCLUSIVE if any is, else PASS; no targets at
// all is INCONCLUSIVE. A check cannot pass while its metric had an
// operation in flight at the end of the run, and a WAL fdatasync faster
// than stable storage can be (StableStorageFloor) adds an INCONCLUSIVE
// plausibility check.
//
// Judge also replaces every metric's p99 and p99.9 intervals by the
// burst-aware 95% ones, which the tables and compare show.
//
// A verdict of "error" (the run failed) is kept with its reason; the checks
// are still filled for information. Judge also adds a warning for every
// judged metric with fewer samples than a bounded p99 (and p99.9) needs.
// Calling it again replaces the checks and adds no duplicate warning.
func Judge(r *Result, targets []Target) {
	sc := burstMetricCIs(r)
	tail := CITailProbability / float64(max(1, len(targets)))
	r.Checks = make([]Check, 0, len(targets)+1)
	for _, t := range targets {
		c := judgeOne(r, sc, t, tail)
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

// burstMetricCIs sets every metric's p99 and p99.9 intervals to the
// burst-aware 95% ones; it returns the decoded series for more.
func burstMetricCIs(r *Result) *seriesCache {
	sc := newSeriesCache(r)
	for name, m := range r.Metrics {
		if m == nil || m.Count == 0 || m.Histogram == "" {
			continue
		}
		h, err := m.Hist()
		if err != nil {
			continue
		}
		m.P99CI, _ = burstInterval(sc, name, h, 99, CITailProbability)
		m.P999CI, _ = burstInterval(sc, name, h, 99.9, CITailProbability)
	}
	return sc
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

func judgeOne(r *Result, sc *seriesCache, t Target, tail float64) Check {
	m := r.Metrics[t.Metric]
	c := Check{
		Metric:   t.Metric,
		Quantile: t.Quantile,
		TargetNs: int64(t.Limit),
		Outcome:  VerdictInconclusive,
		Needed:   samplesNeededTail(t.Quantile/100, tail),
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
	obs, ci, e, err := checkInterval(sc, m, t, tail)
	if err != nil {
		c.Note = err.Error()
		return c
	}
	c.ObservedNs, c.Interval = obs, ci
	secs := runSeconds(r)
	q := quantileName(t.Quantile)
	switch {
	case ci.Bounded && ci.HighNs < c.TargetNs:
		c.Outcome = VerdictPass
		c.Note = rareBursts(r, t.Metric, secs)
	case ci.LowNs > c.TargetNs:
		c.Outcome = VerdictFail
	case c.Samples < c.Needed:
		c.MoreSeconds = moreSeconds(secs, max(secs*float64(c.Needed)/float64(c.Samples), e.needSeconds))
		c.Note = fmt.Sprintf("%d samples: a bounded %s needs %d, %s", c.Samples, q, c.Needed, runLonger(c.MoreSeconds))
	case !ci.Bounded:
		c.MoreSeconds = moreSeconds(secs, e.needSeconds)
		c.Note = fmt.Sprintf("too few independent blocks of time to bound %s, %s", q, runLonger(c.MoreSeconds))
	default:
		c.MoreSeconds = moreSeconds(secs, straddleSeconds(secs, c))
		c.Note = fmt.Sprintf("the %s CI of %s straddles the %s target, %s",
			confidenceName(ci), q, FormatDuration(t.Limit), runLonger(c.MoreSeconds))
	}
	if t.Advisory && c.Outcome == VerdictInconclusive && !ci.Bounded {
		c.Advisory = true
		c.Note = "not judged: " + c.Note
	}
	return c
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
// "wal_fdatasync p99 1.94ms (97.5% CI 1.81ms-2.10ms, 20 blocks of 3s) < 10ms target".
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
	return fmt.Sprintf("%s %s %s (%s CI %s%s) %s %s target", c.Metric, q,
		FormatDuration(time.Duration(c.ObservedNs)), confidenceName(c.Interval), FormatInterval(c.Interval),
		blocksPhrase(c.Interval), op, target)
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
