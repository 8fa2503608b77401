// Package pace is etcdisk's one open-loop pacer: the arrival schedule of
// proposals (constant or Poisson), raft-like batching of what has arrived,
// and the waits of a load that follows a schedule (until an arrival, or
// while live-safe mode holds the load). The WAL loop, the request path's
// clients and calibrate's etcd client all pace through it.
//
// Arrivals are fixed in advance by the schedule, never by when a loop got
// round to them: a proposal's latency runs from its scheduled arrival, so a
// slow fdatasync delays (and is charged to) every proposal that arrived
// while it was in flight. This is what avoids coordinated omission.
package pace

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Arrivals names an arrival process.
type Arrivals string

const (
	Constant Arrivals = "constant" // proposal i at i/rate
	Poisson  Arrivals = "poisson"  // exponential gaps, as independent clients make
)

// ArrivalNames lists the arrival processes, for flags and errors.
func ArrivalNames() []string { return []string{string(Constant), string(Poisson)} }

// ParseArrivals parses an arrival process's name.
func ParseArrivals(s string) (Arrivals, error) {
	if a := Arrivals(s); a != "" && a.Check() == nil {
		return a, nil
	}
	return "", unknownArrivals(s)
}

// Check refuses an arrival process that is not one of the named ones; the
// zero value is the default, constant.
func (a Arrivals) Check() error {
	switch a {
	case "", Constant, Poisson:
		return nil
	}
	return unknownArrivals(string(a))
}

func unknownArrivals(s string) error {
	return fmt.Errorf("unknown arrival process %q (want constant or poisson)", s)
}

// A Schedule gives the arrival time of proposals, as offsets from the
// start of the run.
type Schedule interface {
	// Next returns the arrival offset of the next proposal.
	Next() time.Duration
}

// NewSchedule returns the schedule of a at rate proposals per second;
// seed makes a Poisson schedule reproducible.
func NewSchedule(a Arrivals, rate float64, seed int64) Schedule {
	if a == Poisson {
		return newPoisson(rate, seed)
	}
	return &constant{rate: rate}
}

// constant: proposal i arrives at i/rate.
type constant struct {
	rate float64
	i    int64
}

func (c *constant) Next() time.Duration {
	// NB: computed from i, not accumulated, so rounding never drifts.
	d := time.Duration(float64(c.i) * float64(time.Second) / c.rate)
	c.i++
	return d
}

// poisson: exponentially distributed gaps with mean 1/rate.
type poisson struct {
	rate float64
	t    float64 // seconds
	rng  *rand.Rand
}

func newPoisson(rate float64, seed int64) *poisson {
	return &poisson{rate: rate, rng: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))}
}

func (p *poisson) Next() time.Duration {
	d := time.Duration(p.t * float64(time.Second))
	p.t += p.rng.ExpFloat64() / p.rate
	return d
}

// After delays every arrival of s by d: the schedule of a load that starts
// d after the epoch its arrivals are offsets from.
func After(d time.Duration, s Schedule) Schedule { return shifted{s, d} }

type shifted struct {
	s Schedule
	d time.Duration
}

func (s shifted) Next() time.Duration { return s.s.Next() + s.d }

// Batcher turns a schedule into raft-like batches: every proposal that has
// arrived by the time the loop is ready goes into the next Save, as raft
// puts every proposal that arrived during an fdatasync into the next Ready.
// With max 1 it hands out arrivals one at a time, as a client sends them.
type Batcher struct {
	sched Schedule
	next  time.Duration // arrival offset of the next proposal not yet taken
	max   int           // cap on proposals per batch (memory stays bounded)
}

// NewBatcher batches s's arrivals, at most max at a time.
func NewBatcher(s Schedule, max int) *Batcher {
	return &Batcher{sched: s, next: s.Next(), max: max}
}

// Wait returns how long the loop must idle, at offset now, before the next
// proposal arrives (0 if one is already due).
func (b *Batcher) Wait(now time.Duration) time.Duration {
	if b.next <= now {
		return 0
	}
	return b.next - now
}

// Next returns the arrival offset of the next proposal not yet taken.
func (b *Batcher) Next() time.Duration { return b.next }

// Take appends to arrivals the offsets of every proposal due at now (at most
// max) and returns the extended slice. It does not allocate when arrivals
// has capacity max.
func (b *Batcher) Take(now time.Duration, arrivals []time.Duration) []time.Duration {
	for len(arrivals) < b.max && b.next <= now {
		arrivals = append(arrivals, b.next)
		b.next = b.sched.Next()
	}
	return arrivals
}

// Skip drops every proposal due by now: arrivals during a live-safe pause
// are not made, the load was off.
func (b *Batcher) Skip(now time.Duration) { b.Due(now, func(time.Duration) {}) }

// Due hands every proposal due by stop and not taken to record, in order:
// at the end of a run they were made and never answered.
func (b *Batcher) Due(stop time.Duration, record func(arrival time.Duration)) {
	for b.next <= stop {
		record(b.next)
		b.next = b.sched.Next()
	}
}

// SleepUntil idles until the monotonic offset target (from epoch), waking
// early when stop is set or ctx is done, and reports whether target was
// reached. Long waits are cut in slices so a stop is seen within 50 ms.
func SleepUntil(ctx context.Context, stop *atomic.Bool, epoch time.Time, target time.Duration) bool {
	for {
		d := target - time.Since(epoch)
		if d <= 0 {
			return true
		}
		if stop.Load() || ctx.Err() != nil {
			return false
		}
		time.Sleep(min(d, 50*time.Millisecond))
	}
}

// Gate pauses a load (live-safe mode); a nil Gate never pauses.
type Gate interface{ Paused() bool }

// WaitGate idles while g is paused. It reports whether a pause happened,
// so an open loop can drop the arrivals that fell into it.
func WaitGate(ctx context.Context, stop *atomic.Bool, g Gate) bool {
	if g == nil || !g.Paused() {
		return false
	}
	for g.Paused() && !stop.Load() && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
