package bench

import (
	"fmt"
	"io"
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
	intervals []report.Interval
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
}

func newRecorder(threshold time.Duration, log io.Writer) *recorder {
	if log == nil {
		log = io.Discard
	}
	return &recorder{epoch: time.Now(), threshold: threshold, log: log}
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

// startMeasuring ends the warm-up: samples recorded from now on count.
func (r *recorder) startMeasuring(now time.Time) {
	for _, s := range r.series {
		s.mu.Lock()
		s.total.Reset()
		s.cur.Reset()
		s.mu.Unlock()
	}
	r.mu.Lock()
	r.measStart = now
	r.mu.Unlock()
	r.measuring.Store(true)
}

// record adds one latency. It does not allocate.
func (s *series) record(d time.Duration) {
	if !s.rec.measuring.Load() {
		return
	}
	v := int64(d)
	if v < 1 {
		v = 1
	}
	if hi := s.total.HighestTrackableValue(); v > hi {
		v = hi
	}
	s.mu.Lock()
	_ = s.total.RecordValue(v)
	_ = s.cur.RecordValue(v)
	s.mu.Unlock()
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

// roll closes the current second: every metric's current histogram becomes
// one entry of the interval series. Called by the interval ticker.
func (r *recorder) roll(second int, active []string) {
	if !r.measuring.Load() {
		return
	}
	iv := report.Interval{
		StartNs: int64(second) * int64(time.Second),
		Metrics: make(map[string]report.IntervalMetric, len(r.series)),
		Active:  active,
	}
	for _, s := range r.series {
		s.mu.Lock()
		s.cur, s.spare = s.spare, s.cur
		s.mu.Unlock()
		// NB: spare is only touched here, by the single roll goroutine.
		if s.spare.TotalCount() > 0 {
			iv.Metrics[s.name] = report.NewIntervalMetric(s.spare)
		}
		s.spare.Reset()
	}
	r.mu.Lock()
	r.intervals = append(r.intervals, iv)
	r.mu.Unlock()
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

// metrics builds the per-metric summaries of the measured phase.
func (r *recorder) metrics() map[string]*report.Metric {
	out := make(map[string]*report.Metric, len(r.series))
	for _, s := range r.series {
		s.mu.Lock()
		h := hdrhistogram.Import(s.total.Export())
		s.mu.Unlock()
		out[s.name] = report.NewMetric(h)
	}
	return out
}
