package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// histMetric is the metric of n samples of d each plus the extra values.
func histMetric(t *testing.T, n int, d time.Duration, extra ...time.Duration) *Metric {
	t.Helper()
	h := NewHistogram()
	if err := h.RecordValues(int64(d), int64(n)); err != nil {
		t.Fatal(err)
	}
	for _, e := range extra {
		if err := h.RecordValue(int64(e)); err != nil {
			t.Fatal(err)
		}
	}
	return NewMetric(h)
}

func textOf(t *testing.T, r *Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// An fdatasync of 1 us never reached a device: the run cannot PASS, the
// verdict line says why and checks holds the plausibility check.
func TestJudgeImplausiblyFastFdatasync(t *testing.T) {
	r := &Result{Metrics: map[string]*Metric{MetricWALFdatasync: histMetric(t, 20000, time.Microsecond)}}
	Judge(r, TargetsFor(r))
	if r.Verdict != VerdictInconclusive || ExitCode(r) != 3 {
		t.Fatalf("verdict %q exit %d, want inconclusive and 3; reason %q", r.Verdict, ExitCode(r), r.Reason)
	}
	var found *Check
	for i := range r.Checks {
		if r.Checks[i].Kind == CheckPlausibility {
			found = &r.Checks[i]
		}
	}
	if found == nil || found.Outcome != VerdictInconclusive || found.Quantile != 50 || found.TargetNs != int64(StableStorageFloor) {
		t.Fatalf("no inconclusive plausibility check: %+v", r.Checks)
	}
	if !strings.HasPrefix(r.Reason, "fdatasync p50 1us is faster than stable storage can be") {
		t.Errorf("reason %q does not say the fdatasync is implausible", r.Reason)
	}
	first := strings.SplitN(textOf(t, r), "\n", 2)[0]
	if !strings.HasPrefix(first, "INCONCLUSIVE  fdatasync p50 1us is faster than stable storage can be (under 5us): no fdatasync reached stable storage") {
		t.Errorf("verdict line %q", first)
	}
	b, err := json.Marshal(r)
	if err != nil || !strings.Contains(string(b), `"kind":"plausibility"`) {
		t.Errorf("JSON checks lack the plausibility check (%v): %s", err, b)
	}
	var html bytes.Buffer
	if err := WriteHTML(&html, r); err != nil || !strings.Contains(html.String(), "≥ 5us") {
		t.Errorf("HTML does not show the floor (%v)", err)
	}
}

// A real disk's fdatasync (tens of microseconds and up) adds no check.
func TestJudgePlausibleFdatasync(t *testing.T) {
	r := &Result{Metrics: map[string]*Metric{MetricWALFdatasync: histMetric(t, 20000, 40*time.Microsecond)}}
	Judge(r, TargetsFor(r))
	if r.Verdict != VerdictPass || len(r.Checks) != 1 {
		t.Fatalf("verdict %q checks %+v, want pass and the one target", r.Verdict, r.Checks)
	}
	// A failing target stays the verdict even when the p50 is implausible.
	r = &Result{Metrics: map[string]*Metric{MetricWALFdatasync: histMetric(t, 900, time.Microsecond, slices100(50*time.Millisecond)...)}}
	Judge(r, TargetsFor(r))
	if r.Verdict != VerdictFail {
		t.Fatalf("verdict %q, want fail", r.Verdict)
	}
}

func slices100(d time.Duration) []time.Duration {
	out := make([]time.Duration, 100)
	for i := range out {
		out[i] = d
	}
	return out
}

// An operation still in flight at the end counts with its age: in max and
// over 1 s (the recorder puts it in the histogram), and the check cannot
// pass; every renderer says so.
func TestJudgeInFlightNotPass(t *testing.T) {
	m := histMetric(t, 20000, 2*time.Millisecond, 30*time.Second)
	r := &Result{Metrics: map[string]*Metric{MetricWALFdatasync: m}}
	Judge(r, TargetsFor(r))
	if r.Verdict != VerdictPass {
		t.Fatalf("without the in-flight mark the verdict is %q, want pass", r.Verdict)
	}
	m.InFlight, m.InFlightAgeNs = 1, int64(30*time.Second)
	Judge(r, TargetsFor(r))
	if r.Verdict == VerdictPass || r.Checks[0].Outcome == VerdictPass {
		t.Fatalf("verdict %q check %+v, want not pass", r.Verdict, r.Checks[0])
	}
	want := "1 wal_fdatasync still in flight after 30s"
	if !strings.Contains(r.Checks[0].Note, want) {
		t.Errorf("note %q lacks %q", r.Checks[0].Note, want)
	}
	txt := textOf(t, r)
	if first := strings.SplitN(txt, "\n", 2)[0]; !strings.Contains(first, want) {
		t.Errorf("verdict line %q lacks %q", first, want)
	}
	if !strings.Contains(txt, "!! "+want+" when the run ended") {
		t.Errorf("text report lacks the in-flight line:\n%s", txt)
	}
	var html bytes.Buffer
	if err := WriteHTML(&html, r); err != nil || !strings.Contains(html.String(), want) {
		t.Errorf("HTML lacks %q (%v)", want, err)
	}
	// A failing check stays failed.
	slow := histMetric(t, 20000, time.Second, 30*time.Second)
	slow.InFlight, slow.InFlightAgeNs = 1, int64(30*time.Second)
	r.Metrics[MetricWALFdatasync] = slow
	Judge(r, TargetsFor(r))
	if r.Verdict != VerdictFail {
		t.Errorf("verdict %q, want fail", r.Verdict)
	}
}

// A long run's series mixes merged intervals (a minute here) with seconds:
// hlog logs each over its own length and the HTML timeline spans the run.
func TestCoarseIntervalsRender(t *testing.T) {
	h := NewHistogram()
	_ = h.RecordValue(int64(2 * time.Millisecond))
	im := NewIntervalMetric(h)
	r := &Result{Schema: Schema, Verdict: VerdictPass, DurationNs: int64(62 * time.Second),
		StartTime: time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC),
		Metrics:   map[string]*Metric{MetricWALFdatasync: NewMetric(h)}}
	r.Intervals = []Interval{
		{StartNs: 0, DurationNs: int64(time.Minute), Metrics: map[string]IntervalMetric{MetricWALFdatasync: im}},
		{StartNs: int64(60 * time.Second), DurationNs: int64(time.Second), Metrics: map[string]IntervalMetric{MetricWALFdatasync: im}},
		{StartNs: int64(61 * time.Second), DurationNs: int64(time.Second), Metrics: map[string]IntervalMetric{MetricWALFdatasync: im}},
	}
	var buf bytes.Buffer
	if err := WriteHlog(&buf, r); err != nil {
		t.Fatal(err)
	}
	lr := hdrhistogram.NewHistogramLogReader(strings.NewReader(buf.String()))
	first, err := lr.NextIntervalHistogram()
	if err != nil || first == nil {
		t.Fatalf("no interval read back: %v", err)
	}
	if d := first.EndTimeMs() - first.StartTimeMs(); d < 59_999 || d > 60_001 {
		t.Errorf("the merged minute is logged over %d ms, want 60000", d)
	}
	if got := htmlStepNote(r.Intervals); !strings.Contains(got, "intervals of up to 60s") {
		t.Errorf("step note %q does not say the older intervals are longer", got)
	}
}
