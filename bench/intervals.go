package bench

import (
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/etcdisk/etcdisk/report"
)

// Resolution of the interval series. A run keeps its last fineKeep at one
// second; older seconds are held as whole minutes, and when those exceed
// coarseMax, adjacent pairs merge (2 min, 4 min ...). What a run holds is
// so bounded by fineKeep + minutes + coarseMax intervals however long it
// runs; every interval carries its own duration.
const (
	fineKeep  = 3600 // seconds at full resolution: the last hour
	minuteLen = 60   // seconds in a first-tier coarse interval
	coarseMax = 1440 // coarse intervals before pairs merge: a day of minutes
)

// intervalSeries is the per-second series of a run with its older part
// merged into coarser intervals. Its methods are called with recorder.mu
// held, by the single goroutine that closes seconds (and, at the end, by
// the one that reads the result).
type intervalSeries struct {
	fineKeep, coarseMax int

	coarse  []report.Interval // oldest first, merged minutes and beyond
	minutes []report.Interval // summaries of whole minutes still held in fine
	fine    []report.Interval // one per second, newest last

	// minute accumulates the current minute of each metric, by name.
	minute       map[string]*hdrhistogram.Histogram
	minuteActive []string
}

func newIntervalSeries() *intervalSeries {
	return &intervalSeries{fineKeep: fineKeep, coarseMax: coarseMax, minute: map[string]*hdrhistogram.Histogram{}}
}

// reset forgets everything (the warm-up is over).
func (is *intervalSeries) reset() {
	is.coarse, is.minutes, is.fine = nil, nil, nil
	for _, h := range is.minute {
		h.Reset()
	}
	is.minuteActive = nil
}

// accumulate adds one second's histogram of metric name to its minute.
func (is *intervalSeries) accumulate(name string, h *hdrhistogram.Histogram) {
	acc := is.minute[name]
	if acc == nil {
		acc = report.NewHistogram()
		is.minute[name] = acc
	}
	acc.Merge(h)
}

// add appends one closed second (its histograms already accumulated) and
// merges what has aged out of the last hour.
func (is *intervalSeries) add(iv report.Interval, second int) {
	is.fine = append(is.fine, iv)
	is.minuteActive = unionSorted(is.minuteActive, iv.Active)
	if (second+1)%minuteLen == 0 && iv.DurationNs == int64(time.Second) {
		m := report.Interval{
			StartNs:    int64(second+1-minuteLen) * int64(time.Second),
			DurationNs: minuteLen * int64(time.Second),
			Metrics:    map[string]report.IntervalMetric{},
			Active:     is.minuteActive,
		}
		for name, h := range is.minute {
			if h.TotalCount() > 0 {
				m.Metrics[name] = report.NewIntervalMetric(h)
			}
			h.Reset()
		}
		is.minutes = append(is.minutes, m)
		is.minuteActive = nil
	}
	for len(is.fine) > is.fineKeep && len(is.minutes) > 0 {
		is.age()
	}
}

// age replaces the seconds of the oldest summarised minute by the minute.
func (is *intervalSeries) age() {
	m := is.minutes[0]
	is.minutes = dropFront(is.minutes, 1)
	n := 0
	for n < len(is.fine) && is.fine[n].StartNs < m.EndNs() {
		n++
	}
	is.fine = dropFront(is.fine, n)
	is.coarse = append(is.coarse, m)
	if len(is.coarse) > is.coarseMax {
		is.coarse = mergePairs(is.coarse)
	}
}

// all returns the whole series, oldest first.
func (is *intervalSeries) all() []report.Interval {
	out := make([]report.Interval, 0, len(is.coarse)+len(is.fine))
	return append(append(out, is.coarse...), is.fine...)
}

// held is the number of intervals the series holds (summaries included).
func (is *intervalSeries) held() int { return len(is.coarse) + len(is.minutes) + len(is.fine) }

// dropFront removes s's first n elements in place, so the backing array
// does not creep forward and grow.
func dropFront(s []report.Interval, n int) []report.Interval {
	k := copy(s, s[n:])
	clear(s[k:])
	return s[:k]
}

// mergePairs merges each two adjacent intervals into one.
func mergePairs(ivs []report.Interval) []report.Interval {
	out := ivs[:0]
	for i := 0; i < len(ivs); i += 2 {
		if i+1 == len(ivs) {
			out = append(out, ivs[i])
			break
		}
		out = append(out, mergeIntervals(ivs[i], ivs[i+1]))
	}
	clear(ivs[len(out):])
	return out
}

// mergeIntervals merges two consecutive intervals into one spanning both.
func mergeIntervals(a, b report.Interval) report.Interval {
	m := report.Interval{
		StartNs:    a.StartNs,
		DurationNs: b.EndNs() - a.StartNs,
		Metrics:    make(map[string]report.IntervalMetric, len(a.Metrics)),
		Active:     unionSorted(slices.Clone(a.Active), b.Active),
	}
	acc := report.NewHistogram()
	for _, name := range unionSorted(metricKeys(a), metricKeys(b)) {
		acc.Reset()
		for _, im := range []report.IntervalMetric{a.Metrics[name], b.Metrics[name]} {
			// NB: a decoded histogram has etcdisk's geometry, never a
			// value acc cannot hold.
			if h, err := im.Hist(); err == nil {
				acc.Merge(h)
			}
		}
		m.Metrics[name] = report.NewIntervalMetric(acc)
	}
	return m
}

func metricKeys(iv report.Interval) []string {
	keys := make([]string, 0, len(iv.Metrics))
	for k := range iv.Metrics {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// unionSorted adds to a (sorted, owned) the names of b it lacks.
func unionSorted(a, b []string) []string {
	for _, n := range b {
		if i, found := slices.BinarySearch(a, n); !found {
			a = slices.Insert(a, i, n)
		}
	}
	return a
}
