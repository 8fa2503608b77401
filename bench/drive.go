package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/etcdisk/etcdisk/report"
)

// hangGrace is how long Run waits for a workload stuck in a system call
// after it was told to stop. A disk that hangs in fdatasync cannot be
// interrupted; the partial result is reported anyway.
const hangGrace = time.Second

// drainGrace bounds the wait for a workload that is not in a system call
// but has not returned yet.
const drainGrace = 30 * time.Second

// drive runs the workload through warm-up and the measured phase.
func drive(ctx context.Context, cfg Plan, rec *recorder, wl workload, nset *neighborSet, log io.Writer) (*report.Result, error) {
	res := &report.Result{StartTime: time.Now().UTC()}
	var stop atomic.Bool
	done := make(chan error, 1)
	stopWatch := make(chan struct{})
	go rec.watchdog(stopWatch)
	defer close(stopWatch)
	progress := time.NewTicker(time.Second)
	defer progress.Stop()
	clock := newPhaseClock(rec, cfg.Warmup, cfg.Duration)
	halt := func() error {
		clock.stopAt = time.Now()
		stop.Store(true)
		return waitStopped(done, rec, log)
	}
	// NB: the workload starts after measuring did (without a warm-up), so
	// its first operation is counted.
	go func() { done <- wl.run(ctx, &stop) }()
	var err error
	for finished := false; !finished; {
		select {
		case <-clock.warm.C:
			clock.warmedUp()
		case <-clock.tickC:
			clock.roll(nset.active())
		case <-progress.C:
			showProgress(cfg, clock, wl)
		case <-clock.end:
			err, finished = halt(), true
		case err = <-done:
			// NB: a load that saw the cancellation first returns on
			// its own, and select picks either ready case.
			res.Interrupted = ctx.Err() != nil
			finished = true
		case <-ctx.Done():
			res.Interrupted = true
			err, finished = halt(), true
		}
	}
	now := time.Now()
	clock.halt(now)
	// Proposals due by the stop and not durable count as pending then
	// (arrivals after it were never made: the load had stopped).
	wl.flushPending(clock.stopAt.Sub(rec.epoch))
	// NB: what happens after this (closing the WAL syncs it) is not part
	// of the measurement, and the interval series must sum to the totals.
	clock.finish(now, nset.active())
	res.DurationNs = int64(now.Sub(clock.measStart))
	res.WarmupNs = int64(clock.measStart.Sub(clock.started))
	return res, err
}

// phaseClock times a run's phases: the warm-up, whose samples are
// discarded, then the measured phase, rolled into the interval series once
// a second and ended by its duration or by the load's stop.
type phaseClock struct {
	rec      *recorder
	duration time.Duration // of the measured phase; 0: until the load stops

	warm    *time.Timer
	warming bool
	end     <-chan time.Time // the measured phase's end; nil until it starts
	tick    *time.Ticker     // the interval series' seconds
	tickC   <-chan time.Time
	second  int // the current second of the measured phase

	started, measStart time.Time
	stopAt             time.Time // when the load was told to stop
}

func newPhaseClock(rec *recorder, warmup, duration time.Duration) *phaseClock {
	c := &phaseClock{rec: rec, duration: duration, started: time.Now(), warm: time.NewTimer(warmup), warming: true}
	if warmup <= 0 {
		c.warmedUp()
	}
	return c
}

// warmedUp ends the warm-up (once): samples count from now on.
func (c *phaseClock) warmedUp() {
	if !c.warming {
		return
	}
	c.warming = false
	c.measStart = time.Now()
	c.rec.startMeasuring(c.measStart)
	if c.duration > 0 {
		c.end = time.After(c.duration)
	}
	c.tick = time.NewTicker(time.Second)
	c.tickC = c.tick.C
}

// roll closes one second of the measured phase.
func (c *phaseClock) roll(active []string) {
	c.rec.roll(c.second, active)
	c.second++
}

// halt stops the timers at now. A run that ended in its warm-up has an
// empty measured phase; one that ended on its own stopped now.
func (c *phaseClock) halt(now time.Time) {
	c.warm.Stop()
	if c.tick != nil {
		c.tick.Stop()
	}
	if c.measStart.IsZero() {
		c.measStart = now
	}
	if c.stopAt.IsZero() {
		c.stopAt = now
	}
}

// finish ends the measured phase at now, its last, partial second rolled.
func (c *phaseClock) finish(now time.Time, active []string) {
	c.rec.finish(now, c.second, now.Sub(c.measStart)-time.Duration(c.second)*time.Second, active)
}

// showProgress hands cfg.Progress a snapshot of the run.
func showProgress(cfg Plan, c *phaseClock, wl workload) {
	if cfg.Progress == nil {
		return
	}
	var p50, p99 time.Duration
	if s := c.rec.named(report.MetricWALFdatasync); s != nil {
		_, p50, p99 = s.snapshot()
	}
	cfg.Progress(Progress{
		Elapsed: time.Since(c.rec.epoch), Total: cfg.Warmup + cfg.Duration, Warmup: c.warming,
		Saves: wl.saveCount(), P50: p50, P99: p99, Stalls: int(c.rec.stallN.Load()),
	})
}

// waitStopped waits, for a bounded time, for the workload to return after
// it was told to stop. When it does not, it says what is stuck and that
// the process cannot exit before the kernel returns the call.
func waitStopped(done <-chan error, rec *recorder, log io.Writer) error {
	// NB: a workload with no system call in flight is draining (the
	// request path answers its queued proposals), not hung: it gets
	// drainGrace. One stuck in a system call gets hangGrace.
	deadline := time.Now().Add(drainGrace)
	for {
		select {
		case err := <-done:
			return err
		case <-time.After(hangGrace):
		}
		if stuck := rec.inFlight(time.Now()); stuck != "" {
			fmt.Fprintf(log, "etcdisk: the disk did not return within %s of the stop (%s); reporting what was measured, the stuck operation counted with its age\n", hangGrace, stuck)
			fmt.Fprintf(log, "etcdisk: a process in an uninterruptible fdatasync cannot exit until the kernel returns it: etcdisk exits when the disk answers, not even kill -9 ends it sooner\n")
			return errHung
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(log, "etcdisk: the workload did not stop within %s; reporting what was measured\n", drainGrace)
			return errHung
		}
	}
}

// errHung: the workload did not return from a system call in time.
var errHung = errors.New("the disk hung in a system call and did not return")

// bounded runs f, waiting at most d for it. A disk hung in fdatasync also
// hangs closing and removing files on it; the run must still end.
func bounded(d time.Duration, f func() error) (err error, finished bool) {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err, true
	case <-time.After(d):
		return nil, false
	}
}
