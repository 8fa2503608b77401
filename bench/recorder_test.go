package bench

import (
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/etcdisk/etcdisk/report"
)

// An operation still in flight when the run ends counts with its age: in
// the totals (max, over 100 ms, over 1 s), in the last interval, and as
// in flight; when it returns later it is not counted twice.
func TestFinishCountsInFlight(t *testing.T) {
	rec := newRecorder(100*time.Millisecond, nil)
	s := rec.metric(report.MetricWALFdatasync, true)
	start := rec.epoch
	rec.startMeasuring(start)
	for range 1000 {
		s.begin(time.Now())
		s.done(2 * time.Millisecond)
	}
	stuckAt := start.Add(time.Second)
	s.begin(stuckAt)
	end := stuckAt.Add(30 * time.Second) // a virtual clock: nothing waits
	rec.finish(end, 31, 500*time.Millisecond, nil)
	s.done(40 * time.Second) // the disk answers after the report

	ms, _ := rec.metrics()
	m := ms[report.MetricWALFdatasync]
	if m.Count != 1001 || m.MaxNs < int64(30*time.Second) || m.Over1s != 1 || m.Over100ms != 1 {
		t.Fatalf("count %d max %s over 1s %d over 100ms %d; want 1001, >= 30s, 1, 1",
			m.Count, time.Duration(m.MaxNs), m.Over1s, m.Over100ms)
	}
	if m.InFlight != 1 || m.InFlightAgeNs != int64(30*time.Second) {
		t.Fatalf("in flight %d age %s, want 1 and 30s", m.InFlight, time.Duration(m.InFlightAgeNs))
	}
	ivs := rec.intervals.all()
	last := ivs[len(ivs)-1]
	if im := last.Metrics[report.MetricWALFdatasync]; im.MaxNs < int64(30*time.Second) || last.Duration() != 500*time.Millisecond {
		t.Fatalf("last interval %+v lasting %s, want the 30s op and 500ms", im, last.Duration())
	}
	if len(rec.stalls) != 1 || !rec.stalls[0].Ongoing {
		t.Fatalf("stalls %+v, want the one ongoing", rec.stalls)
	}
}

// heldBytes is what a series' intervals hold: the encoded histograms and
// the fixed part of each interval and metric.
func heldBytes(is *intervalSeries) int {
	n := 0
	for _, part := range [][]report.Interval{is.coarse, is.minutes, is.fine} {
		for _, iv := range part {
			n += 64
			for name, im := range iv.Metrics {
				n += len(name) + len(im.Histogram) + 64
			}
		}
	}
	return n
}

// A simulated 24-hour run (a virtual clock: seconds are closed by hand,
// as the recorder's roll closes them) holds a bounded series: the last hour
// per second, the rest in minutes, and past coarseMax intervals pairs
// merge; the series still covers the whole run without a gap, and its
// counts add up to every sample.
func TestIntervalSeriesBounded(t *testing.T) {
	is := newIntervalSeries()
	is.coarseMax = 720 // so that 24 h also merges pairs
	// A few distinct seconds, encoded once: encoding every second of a day
	// would make the test slow, not more faithful.
	// NB: wal_write's narrow microsecond histograms keep the test's merges
	// cheap; wal_fdatasync's spread over milliseconds is the costly kind.
	names := []string{report.MetricWALFdatasync, report.MetricWALWrite}
	var seconds [7][2]*hdrhistogram.Histogram
	var encoded [7][2]report.IntervalMetric
	for k := range seconds {
		for j := range names {
			h := report.NewHistogram()
			for i := range 500 {
				v := int64(200+k*97+i*13) * int64(time.Microsecond)
				if j == 1 {
					v = int64(5+k+i%7) * int64(time.Microsecond)
				}
				_ = h.RecordValue(v)
			}
			seconds[k][j], encoded[k][j] = h, report.NewIntervalMetric(h)
		}
	}
	const day = 24 * 3600
	maxHeld, maxBytes := 0, 0
	for sec := range day {
		k := sec % len(seconds)
		iv := report.Interval{StartNs: int64(sec) * int64(time.Second), DurationNs: int64(time.Second),
			Metrics: map[string]report.IntervalMetric{}}
		for j, n := range names {
			iv.Metrics[n] = encoded[k][j]
			is.accumulate(n, seconds[k][j])
		}
		is.add(iv, sec)
		if sec%60 == 0 || sec == day-1 {
			maxHeld = max(maxHeld, is.held())
			maxBytes = max(maxBytes, heldBytes(is))
		}
	}
	bound := fineKeep + 1 + minuteLen + 1 + 720
	t.Logf("after 24 h: %d intervals held (at most %d, bound %d), %d KB (at most %d KB)",
		is.held(), maxHeld, bound, heldBytes(is)/1024, maxBytes/1024)
	if maxHeld > bound {
		t.Fatalf("held up to %d intervals, the bound is %d", maxHeld, bound)
	}
	if maxBytes > 32<<20 {
		t.Fatalf("held up to %d bytes, want under 32 MiB", maxBytes)
	}
	ivs := is.all()
	var end, count int64
	for i, iv := range ivs {
		if iv.StartNs != end {
			t.Fatalf("interval %d starts at %s, the previous ended at %s", i, time.Duration(iv.StartNs), time.Duration(end))
		}
		end = iv.EndNs()
		count += iv.Metrics[report.MetricWALFdatasync].Count
	}
	if end != day*int64(time.Second) || count != 500*day {
		t.Fatalf("series ends at %s holding %d samples, want 24h and %d", time.Duration(end), count, 500*day)
	}
	if first := ivs[0].Duration(); first < 2*time.Minute {
		t.Errorf("the oldest interval lasts %s, want merged minutes", first)
	}
	if last := ivs[len(ivs)-1].Duration(); last != time.Second {
		t.Errorf("the newest interval lasts %s, want 1s", last)
	}
}
