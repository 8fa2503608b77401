package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteHTMLGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, exportTestResult(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "html_report.golden.html", buf.Bytes())
}

// TestHTMLTimelineLongRun: an hour of seconds is drawn in at most
// htmlMaxTimePoints steps, and the worst second's p99 survives the
// reduction.
func TestHTMLTimelineLongRun(t *testing.T) {
	r := &Result{DurationNs: 3600e9}
	for s := range 3600 {
		im := IntervalMetric{Count: 100, P50Ns: 1e6, P99Ns: 2e6, MaxNs: 3e6}
		if s == 1234 {
			im.P99Ns, im.MaxNs = 900e6, 950e6
		}
		r.Intervals = append(r.Intervals, Interval{StartNs: int64(s) * 1e9, Metrics: map[string]IntervalMetric{MetricWALFdatasync: im}})
	}
	pts := htmlTimelinePoints(r, MetricWALFdatasync)
	if len(pts) > htmlMaxTimePoints {
		t.Errorf("%d points, want at most %d", len(pts), htmlMaxTimePoints)
	}
	worst := int64(0)
	for _, p := range pts {
		worst = max(worst, p.p99)
		if p.p50 != 1e6 {
			t.Fatalf("p50 %d, want the median 1ms", p.p50)
		}
	}
	if worst != 900e6 {
		t.Errorf("worst p99 drawn %d, want the bad second's 900ms", worst)
	}
	svg := string(htmlTimeline(r, MetricWALFdatasync, 10e6))
	if n := strings.Count(svg, ","); n > 4*htmlMaxTimePoints {
		t.Errorf("the timeline has %d coordinates", n)
	}
	if got := htmlStepNote(make([]Interval, 3600)); !strings.Contains(got, "steps of 6s") {
		t.Errorf("step note %q", got)
	}
}
