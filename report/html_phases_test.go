package report

import (
	"bytes"
	"html"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// exportPhasesResult is the fixture with a solo phase (the same disk
// without the neighbour: WAL fdatasync about 2 ms) and a limit search.
func exportPhasesResult(t testing.TB) *Result {
	t.Helper()
	r := exportTestResult(t)
	solo := map[string]*Metric{}
	for _, name := range []string{MetricWALFdatasync, MetricBackendCommit} {
		h := NewHistogram()
		for i := range 3000 {
			// 1 ms to 3 ms, evenly: p99 about 3 ms
			if err := h.RecordValue(int64(1e6 + 2e6*float64(i)/3000)); err != nil {
				t.Fatal(err)
			}
		}
		solo[name] = NewMetric(h)
	}
	r.Solo = &Phase{DurationNs: 30e9, Saves: 6000, Verdict: VerdictPass, Metrics: solo}
	r.Limit = &LimitSearch{Spec: "seqwrite,bs=1MiB,numjobs=1,size=1GiB", Unit: "bytes/s", Metric: MetricWALFdatasync,
		Steps: []LimitStep{
			{Rate: 4 << 20, Achieved: 4 << 20, P99Ns: 3e6, Outcome: VerdictPass},
			{Rate: 8 << 20, Achieved: 8 << 20, P99Ns: 4e6, Outcome: VerdictPass},
			{Rate: 16 << 20, Achieved: 16 << 20, P99Ns: 7e6, Outcome: VerdictPass},
			{Rate: 32 << 20, Achieved: 31 << 20, P99Ns: 19e6, Outcome: VerdictFail},
			{Rate: 24 << 20, Achieved: 24 << 20, P99Ns: 11e6, Outcome: VerdictInconclusive},
			{Rate: 20 << 20, Achieved: 20 << 20, P99Ns: 8e6, Outcome: VerdictPass},
		},
		Limit: 20 << 20, Failing: 32 << 20}
	return r
}

func htmlOf(t *testing.T, r *Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestHTMLSoloSection: a --compare-solo result gets its section, with the
// "N x worse" table and both spectra on one chart; a result without one
// does not.
func TestHTMLSoloSection(t *testing.T) {
	r := exportPhasesResult(t)
	page := htmlOf(t, r)
	l, s := r.Metrics[MetricWALFdatasync], r.Solo.Metrics[MetricWALFdatasync]
	for _, want := range []string{
		"<h2>Solo vs loaded</h2>",
		"30s each; solo PASS, loaded FAIL",
		SoloWord(SoloRatio(s.P99Ns, l.P99Ns)),
		"<td>WAL fdatasync</td><td>p50</td>",
		`<title>Solo and loaded latency by percentile: wal_fdatasync</title>`,
		`<title>Solo and loaded latency by percentile: backend_commit</title>`,
		"solo p99 " + htmlLatencyLabel(float64(s.P99Ns)),
		"loaded p99 " + htmlLatencyLabel(float64(l.P99Ns)),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if !strings.Contains(page, `class="worse">`+SoloWord(SoloRatio(s.P99Ns, l.P99Ns))) || !strings.Contains(SoloWord(SoloRatio(s.P99Ns, l.P99Ns)), "x worse") {
		t.Error("the loaded p99 is not shown as worse")
	}
	chart := htmlChartOf(page, "Solo and loaded latency by percentile: wal_fdatasync")
	if n := strings.Count(chart, "<polyline"); n != 2 {
		t.Errorf("the solo/loaded chart has %d curves, want 2", n)
	}
	if strings.Contains(htmlOf(t, exportTestResult(t)), "Solo vs loaded") {
		t.Error("a result without a solo phase has a solo section")
	}
}

// TestHTMLLimitSection: a --find-limit result gets its section: each step
// a numbered dot, the limit and the failing rate marked, the conclusion.
func TestHTMLLimitSection(t *testing.T) {
	r := exportPhasesResult(t)
	page := htmlOf(t, r)
	for _, want := range []string{
		"<h2>Neighbour limit search</h2>",
		LimitConclusion(r.Limit),
		">limit 20 MiB/s</text>",
		">fails at 32 MiB/s</text>",
		"<title>step 4: 32 MiB/s, p99 19ms, fail</title>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	chart := htmlChartOf(page, html.EscapeString("Limit search: wal_fdatasync p99 against the neighbour's rate"))
	if n := strings.Count(chart, "<title>step "); n != len(r.Limit.Steps) {
		t.Errorf("%d step dots, want %d", n, len(r.Limit.Steps))
	}
	// The limit line lies between the last passing and the failing rates.
	xs := map[string]float64{}
	for _, m := range regexp.MustCompile(`<circle cx="([0-9.]+)"[^>]*><title>step (\d+):`).FindAllStringSubmatch(chart, -1) {
		xs[m[2]], _ = strconv.ParseFloat(m[1], 64)
	}
	if !(xs["1"] < xs["2"] && xs["2"] < xs["3"] && xs["3"] < xs["6"] && xs["6"] < xs["5"] && xs["5"] < xs["4"]) {
		t.Errorf("steps not placed by rate: %v", xs)
	}
	if strings.Contains(htmlOf(t, exportTestResult(t)), "Neighbour limit search") {
		t.Error("a result without a limit search has a limit section")
	}
}

// htmlChartOf returns the <svg> whose title is title.
func htmlChartOf(page, title string) string {
	i := strings.Index(page, "<title>"+title+"</title>")
	if i < 0 {
		return ""
	}
	start := strings.LastIndex(page[:i], "<svg")
	end := strings.Index(page[i:], "</svg>")
	return page[start : i+end]
}

// htmlNoteTexts returns the extents of a chart's note labels by text.
func htmlNoteTexts(chart string) map[string]htmlBox {
	out := map[string]htmlBox{}
	for _, m := range regexp.MustCompile(`<text x="([0-9.]+)" y="([0-9.]+)" text-anchor="(\w+)" class="note">([^<]+)</text>`).FindAllStringSubmatch(chart, -1) {
		x, _ := strconv.ParseFloat(m[1], 64)
		y, _ := strconv.ParseFloat(m[2], 64)
		out[m[4]] = htmlLabelBox(x, y, m[3], m[4])
	}
	return out
}

// TestHTMLLabelsClearOfTarget: whatever the p99 and the maximum are next
// to the target, their labels stay off the dashed target line and off each
// other.
func TestHTMLLabelsClearOfTarget(t *testing.T) {
	targetRe := regexp.MustCompile(`<line x1="[0-9.]+" y1="([0-9.]+)" x2="[0-9.]+" y2="[0-9.]+" stroke="#cf222e" stroke-width="2" stroke-dasharray="6 3"/>`)
	for _, p99 := range []int64{9e6, 10e6, 10_500_000, 11e6, 12e6, 13e6, 14e6, 16e6} {
		for _, maxNs := range []int64{p99 + 100_000, p99 * 11 / 10, p99 * 13 / 10} {
			r := exportKnownResult(t, map[int64]int64{1e6: 9800, p99: 150, maxNs: 50})
			m := r.Metrics[MetricWALFdatasync]
			h, err := m.Hist()
			if err != nil {
				t.Fatal(err)
			}
			chart := string(htmlSpectrum(MetricWALFdatasync, h, m, 10e6))
			mm := targetRe.FindStringSubmatch(chart)
			notes := htmlNoteTexts(chart)
			if mm == nil || len(notes) != 2 {
				t.Fatalf("p99 %d max %d: target %v, notes %v", p99, maxNs, mm, notes)
			}
			targetY, _ := strconv.ParseFloat(mm[1], 64)
			var boxes []htmlBox
			for body, b := range notes {
				if targetY > b.y0-1 && targetY < b.y1+1 {
					t.Errorf("p99 %d max %d: label %q (%+v) lies on the target line at y=%g", p99, maxNs, body, b, targetY)
				}
				boxes = append(boxes, b)
			}
			if boxes[0].overlaps(boxes[1]) {
				t.Errorf("p99 %d max %d: labels %v overlap", p99, maxNs, notes)
			}
		}
	}
}

// TestHTMLPartialLastSecond: a run of 20.4 s has 21 intervals, the last of
// 0.4 s: it is drawn at the middle of its 0.4 s, the time axis ends at
// 20.4 s, and it is marked as partial.
func TestHTMLPartialLastSecond(t *testing.T) {
	r := &Result{DurationNs: 20_400_000_000}
	for s := range 21 {
		im := IntervalMetric{Count: 100, P50Ns: 1e6, P99Ns: 2e6, MaxNs: 3e6}
		r.Intervals = append(r.Intervals, Interval{StartNs: int64(s) * 1e9, Metrics: map[string]IntervalMetric{MetricWALFdatasync: im}})
	}
	pts := htmlTimelinePoints(r, MetricWALFdatasync)
	last := pts[len(pts)-1]
	if math.Abs(last.sec-20.2) > 1e-9 || math.Abs(last.partial-0.4) > 1e-9 {
		t.Errorf("last point at %gs, partial %g; want 20.2s, 0.4", last.sec, last.partial)
	}
	if pts[0].partial != 0 || pts[0].sec != 0.5 {
		t.Errorf("first point %+v: a whole second at 0.5s", pts[0])
	}
	svg := string(htmlTimeline(r, MetricWALFdatasync, 10e6))
	if n := strings.Count(svg, "<title>partial second: the run ended 400ms into it</title>"); n != 3 {
		t.Errorf("%d partial marks (want p50, p99 and max ringed)", n)
	}
	if !strings.Contains(svg, ">partial last second</text>") {
		t.Error("no legend for the partial second")
	}
	// The last point sits at the right edge minus a fifth of a second's width.
	f := htmlFrame{width: 1200, height: 300, left: 64, right: 24, top: 34, bottom: 40}
	wantX := htmlNum(f.x0() + 20.2/20.4*(f.x1()-f.x0()))
	if !strings.Contains(svg, `<circle cx="`+wantX+`"`) {
		t.Errorf("the partial second is not drawn at x=%s (20.2 s of 20.4 s)", wantX)
	}
	// A result that records interval durations: the same.
	r.Intervals[20].DurationNs = 400e6
	r.DurationNs = 0
	if got := htmlTimelinePoints(r, MetricWALFdatasync); got[20].partial < 0.4-1e-9 || got[20].partial > 0.4+1e-9 {
		t.Errorf("recorded 400ms interval drawn as partial %g", got[20].partial)
	}
	// A whole last second is not marked.
	r.Intervals[20].DurationNs = 0
	r.DurationNs = 21e9
	if strings.Contains(string(htmlTimeline(r, MetricWALFdatasync, 10e6)), "partial") {
		t.Error("a whole last second is marked partial")
	}
}

// TestHTMLBackendTargetOnlyWithBackend: the Targets row names the backend
// target only when the run had a backend.
func TestHTMLBackendTargetOnlyWithBackend(t *testing.T) {
	r := exportTestResult(t)
	if !strings.Contains(htmlOf(t, r), "WAL fdatasync p99 &lt; 10ms, backend commit p99 &lt; 25ms") {
		t.Error("the backend target is missing with the backend on")
	}
	r.Config.Backend = false
	page := htmlOf(t, r)
	if strings.Contains(page, "backend commit p99 &lt;") || !strings.Contains(page, "<td>WAL fdatasync p99 &lt; 10ms</td>") {
		t.Error("the backend target is listed with the backend off")
	}
}
