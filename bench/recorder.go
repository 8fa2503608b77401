package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/etcdisk/etcdisk/report"
)

// recorder owns every histogram of a run: one total histogram per metric for
// the measured phase and one per metric for the current second, rolled into
// the interval series by roll. Memory is fixed once the metrics are declared:
// histograms are preallocated and reset, never grown.
type recorder struct {
	epoch time.Time // start of the run (warm-up included); all ages are monotonic offsets from it

	measuring atomic.Bool // set once the warm-up is over

	mu        sync.Mutex
	measStart time.Time
	series    []*series
	intervals *intervalSeries
	stalls    []report.Stall
	stallN    atomic.Int64

	threshold time.Duration
	log       io.Writer
}

// series is one metric. Its methods are safe for concurrent use.
type series struct {
	name  string
	rec   *recorder
	watch bool // report stalls of this metric

	mu    sync.Mutex
	total *hdrhistogram.Histogram
	cur   *hdrhistogram.Histogram // the current second
	spare *hdrhistogram.Histogram // swapped with cur by roll

	// inflight is the start of the operation in flight, as nanoseconds
	// since rec.epoch plus one (0: nothing in flight).
	inflight atomic.Int64
	// reported is the age bucket last reported for the in-flight op, so a
	// long stall is reported once per threshold multiple, not per tick.
	reported atomic.Int64

	// stuck counts the operations still in flight when the measured phase
	// ended, recorded with their age then; stuckAge is the oldest age.
	stuck    int64
	stuckAge time.Duration

	// Values past the histogram's highest trackable value are recorded
	// as that value; over counts them and trueMax keeps the largest, so
	// the metric's max and a warning tell the truth (under mu).
	over    int64
	trueMax int64
}

func newRecorder(threshold time.Duration, log io.Writer) *recorder {
	if log == nil {
		log = io.Discard
	}
	return &recorder{epoch: time.Now(), threshold: threshold, log: log, intervals: newIntervalSeries()}
}

// metric declares a metric. All metrics are declared before the run starts.
func (r *recorder) metric(name string, watch bool) *series {
	s := &series{
		name:  name,
		rec:   r,
		watch: watch,
		total: report.NewHistogram(),
		cur:   report.NewHistogram(),
		spare: report.NewHistogram(),
	}
	r.series = append(r.series, s)
	return s
}

// named returns the series of the metric name (nil: the load has none).
func (r *recorder) named(name string) *series {
	for _, s := range r.series {
		if s.name == name {
			return s
		}
	}
	return nil
}

// startMeasuring ends the warm-up: samples recorded from now on count.
func (r *recorder) startMeasuring(now time.Time) {
	for _, s := range r.series {
		s.mu.Lock()
		s.total.Reset()
		s.cur.Reset()
		s.over, s.trueMax = 0, 0
		s.mu.Unlock()
	}
	r.mu.Lock()
	r.measStart = now
	r.intervals.reset()
	r.mu.Unlock()
	r.measuring.Store(true)
}

// record adds one latency. It does not allocate.
func (s *series) record(d time.Duration) {
	if !s.rec.measuring.Load() {
		return
	}
	s.mu.Lock()
	s.add(d)
	s.mu.Unlock()
}

// add records d into the totals and the current second; s.mu is held.
func (s *series) add(d time.Duration) {
	v := max(int64(d), 1)
	if hi := s.total.HighestTrackableValue(); v > hi {
		s.over++
		s.trueMax = max(s.trueMax, v)
		v = hi
	}
	_ = s.total.RecordValue(v)
	_ = s.cur.RecordValue(v)
}

// begin marks an operation in flight, for the stall watchdog.
func (s *series) begin(start time.Time) {
	s.inflight.Store(int64(start.Sub(s.rec.epoch)) + 1)
}

// done ends the in-flight operation and records its latency.
func (s *series) done(d time.Duration) {
	start := s.inflight.Swap(0)
	s.reported.Store(0)
	if s.watch && d >= s.rec.threshold && start != 0 {
		s.rec.addStall(s.name, time.Duration(start-1), d, false)
	}
	s.record(d)
}

func (r *recorder) addStall(metric string, at, age time.Duration, ongoing bool) {
	r.mu.Lock()
	if r.measuring.Load() {
		r.stalls = append(r.stalls, report.Stall{
			Metric:  metric,
			AtNs:    int64(at - r.measStart.Sub(r.epoch)),
			AgeNs:   int64(age),
			Ongoing: ongoing,
		})
		r.stallN.Add(1)
	}
	r.mu.Unlock()
}

// watchdog reports, while it lasts, every watched operation that has been in
// flight longer than the threshold. Histograms only ever see operations that
// finished; this is how a hung disk becomes visible before it returns.
func (r *recorder) watchdog(stop <-chan struct{}) {
	tick := r.threshold / 4
	if tick > 25*time.Millisecond {
		tick = 25 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			r.checkStalls(now)
		}
	}
}

// checkStalls is one watchdog tick.
func (r *recorder) checkStalls(now time.Time) {
	for _, s := range r.series {
		if !s.watch {
			continue
		}
		st := s.inflight.Load()
		if st == 0 {
			continue
		}
		age := now.Sub(r.epoch) - time.Duration(st-1)
		// Report at 1x the threshold, then again at 2x, 4x, 8x ...
		level := int64(age / r.threshold)
		if level < 1 {
			continue
		}
		prev := s.reported.Load()
		if level >= 2*prev || prev == 0 {
			if s.reported.CompareAndSwap(prev, level) {
				fmt.Fprintf(r.log, "etcdisk: stall: %s in flight for %s (threshold %s)\n",
					s.name, age.Round(time.Millisecond), r.threshold)
			}
		}
	}
}

// inFlight names the watched operations in flight at now with their ages,
// e.g. "wal_fdatasync in flight for 31s", or "" when there are none.
func (r *recorder) inFlight(now time.Time) string {
	var out []string
	for _, s := range r.series {
		if st := s.inflight.Load(); s.watch && st != 0 {
			age := now.Sub(r.epoch) - time.Duration(st-1)
			out = append(out, fmt.Sprintf("%s in flight for %s", s.name, age.Round(time.Millisecond)))
		}
	}
	return strings.Join(out, ", ")
}

// ongoingStalls records operations still stuck when the run ends.
func (r *recorder) ongoingStalls(now time.Time) {
	for _, s := range r.series {
		st := s.inflight.Load()
		if !s.watch || st == 0 {
			continue
		}
		age := now.Sub(r.epoch) - time.Duration(st-1)
		if age >= r.threshold {
			r.addStall(s.name, time.Duration(st-1), age, true)
		}
	}
}

// finish ends the measured phase at now. An operation still in flight
// counts with its age so far, in its metric's totals and last second: a
// disk that holds an fdatasync and never returns it must not read as
// healthy because only the operations that returned were recorded. The
// last, partial second (lasting last) is rolled; operations that return
// after this are not recorded.
func (r *recorder) finish(now time.Time, second int, last time.Duration, active []string) {
	r.ongoingStalls(now)
	if !r.measuring.Swap(false) {
		return
	}
	for _, s := range r.series {
		st := s.inflight.Load()
		// NB: the swap keeps done from recording it as well.
		if st == 0 || !s.inflight.CompareAndSwap(st, 0) {
			continue
		}
		age := now.Sub(r.epoch) - time.Duration(st-1)
		s.mu.Lock()
		s.add(age)
		s.stuck++
		s.stuckAge = max(s.stuckAge, age)
		s.mu.Unlock()
	}
	r.closeSecond(second, max(last, 1), active)
}

// roll closes the current second: every metric's current histogram becomes
// one entry of the interval series. Called by the interval ticker.
func (r *recorder) roll(second int, active []string) {
	if !r.measuring.Load() {
		return
	}
	r.closeSecond(second, time.Second, active)
}

// closeSecond adds the current second, which lasted d, to the series.
func (r *recorder) closeSecond(second int, d time.Duration, active []string) {
	iv := report.Interval{
		StartNs:    int64(second) * int64(time.Second),
		DurationNs: int64(d),
		Metrics:    make(map[string]report.IntervalMetric, len(r.series)),
		Active:     active,
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.series {
		s.mu.Lock()
		s.cur, s.spare = s.spare, s.cur
		s.mu.Unlock()
		// NB: spare is only touched here, by the single roll goroutine.
		if s.spare.TotalCount() > 0 {
			iv.Metrics[s.name] = report.NewIntervalMetric(s.spare)
			r.intervals.accumulate(s.name, s.spare)
		}
		s.spare.Reset()
	}
	r.intervals.add(iv, second)
}

func (s *series) count() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total.TotalCount()
}

// snapshot returns the current p50/p99 of a metric (for progress).
func (s *series) snapshot() (count int64, p50, p99 time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total.TotalCount(), time.Duration(s.total.ValueAtQuantile(50)), time.Duration(s.total.ValueAtQuantile(99))
}

// metrics builds the per-metric summaries of the measured phase. A metric
// with values past the histogram's range keeps their true maximum and adds
// a warning.
func (r *recorder) metrics() (map[string]*report.Metric, []string) {
	out := make(map[string]*report.Metric, len(r.series))
	var warnings []string
	for _, s := range r.series {
		s.mu.Lock()
		h := hdrhistogram.Import(s.total.Export())
		stuck, age := s.stuck, s.stuckAge
		over, trueMax := s.over, s.trueMax
		s.mu.Unlock()
		m := report.NewMetric(h)
		m.InFlight, m.InFlightAgeNs = stuck, int64(age)
		if over > 0 {
			m.MaxNs = max(m.MaxNs, trueMax)
			warnings = append(warnings, fmt.Sprintf(
				"%s: %d value(s) over the histogram's highest trackable value (%s) were counted at that value; the largest was %s",
				s.name, over, time.Duration(h.HighestTrackableValue()), time.Duration(trueMax).Round(time.Millisecond)))
		}
		out[s.name] = m
	}
	return out, warnings
}
