package report

import (
	"strings"
	"testing"
	"time"
)

// ciMetric is a metric whose p99 and interval are given directly.
func ciMetric(count int64, p99, lo, hi time.Duration, bounded bool) *Metric {
	return &Metric{Count: count, P99Ns: int64(p99), P99CI: Interval95{LowNs: int64(lo), HighNs: int64(hi), Bounded: bounded}}
}

func TestJudgeOutcomes(t *testing.T) {
	ms := time.Millisecond
	target := []Target{{Metric: MetricWALFdatasync, Quantile: 99, Limit: 10 * ms}}
	for _, c := range []struct {
		name string
		m    *Metric
		want string
	}{
		{"upper bound under target", ciMetric(1000, 2*ms, 1*ms, 3*ms, true), VerdictPass},
		{"lower bound over target", ciMetric(1000, 14*ms, 12*ms, 16*ms, true), VerdictFail},
		{"straddles", ciMetric(1000, 9*ms, 8*ms, 12*ms, true), VerdictInconclusive},
		{"upper bound equals target", ciMetric(1000, 9*ms, 8*ms, 10*ms, true), VerdictInconclusive},
		{"unbounded but low under", ciMetric(100, 2*ms, 1*ms, 3*ms, false), VerdictInconclusive},
		{"unbounded and low over", ciMetric(100, 30*ms, 20*ms, 40*ms, false), VerdictFail},
		{"no samples", &Metric{}, VerdictInconclusive},
		{"missing metric", nil, VerdictInconclusive},
	} {
		r := &Result{Metrics: map[string]*Metric{}}
		if c.m != nil {
			r.Metrics[MetricWALFdatasync] = c.m
		}
		Judge(r, target)
		if r.Verdict != c.want || len(r.Checks) != 1 || r.Checks[0].Outcome != c.want {
			t.Errorf("%s: verdict %s, checks %+v, want %s", c.name, r.Verdict, r.Checks, c.want)
		}
		if r.Reason == "" {
			t.Errorf("%s: no reason", c.name)
		}
	}
}

func TestJudgeOverall(t *testing.T) {
	ms := time.Millisecond
	pass := ciMetric(1000, 2*ms, 1*ms, 3*ms, true)
	fail := ciMetric(1000, 40*ms, 30*ms, 50*ms, true)
	inc := ciMetric(1000, 24*ms, 20*ms, 30*ms, true)
	for _, c := range []struct {
		wal, backend *Metric
		want         string
	}{
		{pass, pass, VerdictPass},
		{pass, fail, VerdictFail},
		{pass, inc, VerdictInconclusive},
		{inc, fail, VerdictFail},       // fail wins over inconclusive
		{pass, &Metric{}, VerdictPass}, // the advisory backend target without commits is not judged
	} {
		r := &Result{Metrics: map[string]*Metric{MetricWALFdatasync: c.wal, MetricBackendCommit: c.backend}}
		Judge(r, DefaultTargets(0, 0))
		if r.Verdict != c.want {
			t.Errorf("verdict %s want %s (%s)", r.Verdict, c.want, r.Reason)
		}
	}
	r := &Result{}
	Judge(r, nil)
	if r.Verdict != VerdictInconclusive {
		t.Errorf("no targets: %s", r.Verdict)
	}
}

func TestJudgeKeepsError(t *testing.T) {
	r := &Result{Verdict: VerdictError, Reason: "disk gone", Metrics: map[string]*Metric{
		MetricWALFdatasync: ciMetric(1000, 2*time.Millisecond, time.Millisecond, 3*time.Millisecond, true)}}
	Judge(r, DefaultTargets(0, 0)[:1])
	if r.Verdict != VerdictError || r.Reason != "disk gone" || len(r.Checks) != 1 || r.Checks[0].Outcome != VerdictPass {
		t.Fatalf("%+v", r)
	}
	if ExitCode(r) != 2 {
		t.Error("error must exit 2")
	}
}

func TestJudgeWarnsAboutSamples(t *testing.T) {
	h := NewHistogram()
	for i := 0; i < 200; i++ {
		h.RecordValue(int64(time.Millisecond))
	}
	big := NewHistogram()
	big.RecordValues(int64(time.Millisecond), 1000)
	r := &Result{Metrics: map[string]*Metric{MetricWALFdatasync: NewMetric(h), MetricBackendCommit: NewMetric(big)}}
	Judge(r, DefaultTargets(0, 0))
	Judge(r, DefaultTargets(0, 0)) // no duplicates
	if len(r.Warnings) != 2 {
		t.Fatalf("warnings %q", r.Warnings)
	}
	if !strings.Contains(r.Warnings[0], "wal_fdatasync: 200 samples; a bounded p99 needs 368") {
		t.Errorf("p99 warning: %q", r.Warnings[0])
	}
	if !strings.Contains(r.Warnings[1], "backend_commit: 1,000 samples; a bounded p99.9 needs 3,688") {
		t.Errorf("p99.9 warning: %q", r.Warnings[1])
	}
	if r.Verdict != VerdictInconclusive || r.Checks[0].Needed != 437 || r.Checks[0].Samples != 200 {
		t.Errorf("%s %+v", r.Verdict, r.Checks[0])
	}
	if r.Checks[1].Outcome != VerdictPass {
		t.Errorf("1000 samples at 1ms must pass 25ms: %+v", r.Checks[1])
	}
}

// TestJudgeOtherQuantile judges a quantile that is not stored (p90) from the histogram.
func TestJudgeOtherQuantile(t *testing.T) {
	h := NewHistogram()
	for i := int64(1); i <= 1000; i++ {
		h.RecordValue(i * int64(time.Millisecond))
	}
	r := &Result{Metrics: map[string]*Metric{MetricWALFdatasync: NewMetric(h)}}
	Judge(r, []Target{{Metric: MetricWALFdatasync, Quantile: 90, Limit: 500 * time.Millisecond}})
	c := r.Checks[0]
	if c.Outcome != VerdictFail || c.ObservedNs < 899e6 || c.ObservedNs > 901e6 || c.Needed != 36 {
		t.Fatalf("%+v", c)
	}
}

func TestTargetsFor(t *testing.T) {
	r := &Result{Config: Config{P99TargetNs: int64(5 * time.Millisecond)}}
	got := TargetsFor(r)
	if len(got) != 1 || got[0].Limit != 5*time.Millisecond || got[0].Metric != MetricWALFdatasync {
		t.Errorf("no backend: %+v", got)
	}
	r.Config.Backend = true
	got = TargetsFor(r)
	if len(got) != 2 || got[1].Limit != DefaultBackendP99Target {
		t.Errorf("backend: %+v", got)
	}
}

func TestExitCode(t *testing.T) {
	for v, want := range map[string]int{VerdictPass: 0, VerdictFail: 1, VerdictError: 2, VerdictInconclusive: 3, "": 2} {
		if got := ExitCode(&Result{Verdict: v}); got != want {
			t.Errorf("%q: %d want %d", v, got, want)
		}
	}
	if ExitCode(nil) != 2 {
		t.Error("nil")
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                         "0",
		740:                       "740ns",
		812 * time.Microsecond:    "812us",
		1940 * time.Microsecond:   "1.94ms",
		1944 * time.Microsecond:   "1.94ms",
		25 * time.Millisecond:     "25ms",
		2100 * time.Millisecond:   "2.1s",
		999_600 * time.Nanosecond: "1ms",
		12345 * time.Microsecond:  "12.3ms",
		-3 * time.Millisecond:     "-3ms",
		90 * time.Minute:          "1h30m0s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%d) = %q, want %q", int64(d), got, want)
		}
	}
}

// TestAdvisoryBackendTarget: a short run has too few backend commits for a
// bounded p99; the backend check says so and leaves the verdict to the WAL,
// unless its few commits already prove a failure.
func TestAdvisoryBackendTarget(t *testing.T) {
	wal := NewHistogram()
	for i := 0; i < 5000; i++ {
		wal.RecordValue(int64(time.Millisecond))
	}
	few := func(v time.Duration) *Metric {
		h := NewHistogram()
		for i := 0; i < 100; i++ {
			h.RecordValue(int64(v))
		}
		return NewMetric(h)
	}
	r := &Result{Config: Config{Backend: true}, Metrics: map[string]*Metric{
		MetricWALFdatasync: NewMetric(wal), MetricBackendCommit: few(2 * time.Millisecond)}}
	Judge(r, TargetsFor(r))
	if r.Verdict != VerdictPass || !r.Checks[1].Advisory || r.Checks[1].Outcome != VerdictInconclusive {
		t.Fatalf("verdict %q checks %+v", r.Verdict, r.Checks)
	}
	if !strings.Contains(r.Reason, "not judged") {
		t.Fatalf("reason %q does not say the backend was not judged", r.Reason)
	}
	// 100 commits all at 200 ms prove the p99 is over 25 ms.
	r.Metrics[MetricBackendCommit] = few(200 * time.Millisecond)
	Judge(r, TargetsFor(r))
	if r.Verdict != VerdictFail || r.Checks[1].Outcome != VerdictFail || r.Checks[1].Advisory {
		t.Fatalf("verdict %q checks %+v", r.Verdict, r.Checks)
	}
	// The WAL target is never advisory.
	r.Metrics[MetricWALFdatasync] = few(time.Millisecond)
	r.Metrics[MetricBackendCommit] = few(2 * time.Millisecond)
	Judge(r, TargetsFor(r))
	if r.Verdict != VerdictInconclusive {
		t.Fatalf("100 WAL samples gave %q", r.Verdict)
	}
}
