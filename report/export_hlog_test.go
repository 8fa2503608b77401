package report

import (
	"bytes"
	"strings"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// TestWriteHlogRoundTrip: hdrhistogram-go's log reader gets back every
// interval histogram of every metric, equal to the saved one, tagged with
// its metric, at its time.
func TestWriteHlogRoundTrip(t *testing.T) {
	r := exportTestResult(t)
	var buf bytes.Buffer
	if err := WriteHlog(&buf, r); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, want := range []string{"#[Histogram log format version 1.3]", "#[StartTime: 1773480413 (seconds since epoch), 2026-03-14T09:26:53Z]", "#[BaseTime: 1773480413 (seconds since epoch)]"} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("log lacks the line %q", want)
		}
	}

	type key struct {
		tag     string
		startMs int64
	}
	want := map[key]IntervalMetric{}
	for _, iv := range r.Intervals {
		for name, im := range iv.Metrics {
			want[key{name, r.StartTime.UnixMilli() + iv.StartNs/1e6}] = im
		}
	}
	lr := hdrhistogram.NewHistogramLogReader(strings.NewReader(text))
	got := 0
	for {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		got++
		// NB: float seconds may put the read-back time 1 ms early.
		k := key{h.Tag(), h.StartTimeMs()}
		im, ok := want[k]
		if !ok {
			k.startMs++
			im, ok = want[k]
		}
		if !ok {
			t.Fatalf("read an interval %s at %d ms that was not saved", h.Tag(), h.StartTimeMs())
		}
		orig, err := im.Hist()
		if err != nil {
			t.Fatal(err)
		}
		if !h.Equals(orig) {
			t.Fatalf("%s at %d: histogram read back differs (count %d, saved %d)", h.Tag(), h.StartTimeMs(), h.TotalCount(), orig.TotalCount())
		}
		if d := h.EndTimeMs() - k.startMs; d < 999 || d > 1000 {
			t.Errorf("%s at %d: interval of %d ms, want 1 s", h.Tag(), h.StartTimeMs(), d)
		}
		delete(want, k)
	}
	if len(want) != 0 || got == 0 {
		t.Errorf("read %d interval histograms, %d saved ones missing", got, len(want))
	}
}

func TestWriteHlogPartialLastSecondAndMissingHistogram(t *testing.T) {
	r := exportKnownResult(t, map[int64]int64{2e6: 10})
	r.DurationNs = 1_500_000_000
	second := r.Intervals[0]
	second.StartNs = 1e9
	r.Intervals = append(r.Intervals, second)
	r.Intervals = append(r.Intervals, Interval{StartNs: 2e9, Metrics: map[string]IntervalMetric{MetricWALWrite: {Count: 3}}})
	var buf bytes.Buffer
	if err := WriteHlog(&buf, r); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	if !strings.Contains(text, "Tag=wal_fdatasync,1.000000,0.500000,") {
		t.Errorf("the last, partial second should last 0.5 s:\n%s", text)
	}
	if !strings.Contains(text, "wal_write: 3 samples but no histogram saved") {
		t.Errorf("an interval without its histogram should be noted:\n%s", text)
	}
}

func TestWriteHlogDeterministic(t *testing.T) {
	r := exportTestResult(t)
	var a, b bytes.Buffer
	if err := WriteHlog(&a, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteHlog(&b, r); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two renderings of one result differ")
	}
}

// TestWriteHlogLinesAreTheLibrarys: each interval line, written from the
// saved payload, is byte for byte what HistogramLogWriter prints for the
// decoded histogram.
func TestWriteHlogLinesAreTheLibrarys(t *testing.T) {
	r := exportTestResult(t)
	var buf bytes.Buffer
	if err := WriteHlog(&buf, r); err != nil {
		t.Fatal(err)
	}
	startMs := r.StartTime.UnixMilli()
	var lib bytes.Buffer
	lw := hdrhistogram.NewHistogramLogWriter(&lib)
	lw.SetBaseTime(startMs - startMs%1000)
	for _, iv := range r.Intervals {
		names := make([]string, 0, len(iv.Metrics))
		for n := range iv.Metrics {
			names = append(names, n)
		}
		sortMetricNames(names)
		for _, n := range names {
			h, err := iv.Metrics[n].Hist()
			if err != nil {
				t.Fatal(err)
			}
			h.SetTag(n)
			h.SetStartTimeMs(startMs + iv.StartNs/1e6)
			h.SetEndTimeMs(startMs + iv.StartNs/1e6 + 1000)
			if err := lw.OutputIntervalHistogram(h); err != nil {
				t.Fatal(err)
			}
		}
	}
	var ours []string
	for _, l := range strings.SplitAfter(buf.String(), "\n") {
		if strings.HasPrefix(l, "Tag=") {
			ours = append(ours, l)
		}
	}
	want := strings.SplitAfter(strings.TrimSuffix(lib.String(), "\n"), "\n")
	if len(ours) != len(want) {
		t.Fatalf("%d interval lines, library %d", len(ours), len(want))
	}
	for i := range ours {
		if strings.TrimSuffix(ours[i], "\n") != strings.TrimSuffix(want[i], "\n") {
			t.Fatalf("line %d:\n%.120s\nlibrary:\n%.120s", i, ours[i], want[i])
		}
	}
}

func TestWriteHlogRejectsCorruptPayload(t *testing.T) {
	r := exportKnownResult(t, map[int64]int64{1e6: 2})
	im := r.Intervals[0].Metrics[MetricWALFdatasync]
	im.Histogram = "HIST,\nTag=evil"
	r.Intervals[0].Metrics[MetricWALFdatasync] = im
	if err := WriteHlog(&bytes.Buffer{}, r); err == nil {
		t.Error("a payload that would break the line format was written")
	}
}
