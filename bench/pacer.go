package bench

import (
	"math/rand/v2"
	"time"
)

// A schedule gives the arrival time of proposals in an open-loop run, as an
// offset from the start of the run. Arrivals are fixed in advance by the
// schedule, never by when the loop got round to them: a proposal's latency
// runs from its scheduled arrival, so a slow fdatasync delays (and is charged
// to) every proposal that arrived while it was in flight. This is what
// avoids coordinated omission.
type schedule interface {
	// next returns the arrival offset of the next proposal.
	next() time.Duration
}

// constantSchedule: proposal i arrives at i/rate.
type constantSchedule struct {
	rate float64
	i    int64
}

func (c *constantSchedule) next() time.Duration {
	// NB: computed from i, not accumulated, so rounding never drifts.
	d := time.Duration(float64(c.i) * float64(time.Second) / c.rate)
	c.i++
	return d
}

// poissonSchedule: exponentially distributed gaps with mean 1/rate, as
// independent clients produce. Seeded, so a run is reproducible.
type poissonSchedule struct {
	rate float64
	t    float64 // seconds
	rng  *rand.Rand
}

func newPoissonSchedule(rate float64, seed int64) *poissonSchedule {
	return &poissonSchedule{rate: rate, rng: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))}
}

func (p *poissonSchedule) next() time.Duration {
	d := time.Duration(p.t * float64(time.Second))
	p.t += p.rng.ExpFloat64() / p.rate
	return d
}

func newSchedule(arrivals string, rate float64, seed int64) schedule {
	if arrivals == ArrivalsPoisson {
		return newPoissonSchedule(rate, seed)
	}
	return &constantSchedule{rate: rate}
}

// batcher turns a schedule into raft-like batches: every proposal that has
// arrived by the time the loop is ready goes into the next Save, as raft
// puts every proposal that arrived during an fdatasync into the next Ready.
type batcher struct {
	sched   schedule
	pending time.Duration // arrival offset of the next, not yet taken, proposal
	max     int           // cap on proposals per Save (memory stays bounded)
}

func newBatcher(s schedule, max int) *batcher {
	b := &batcher{sched: s, max: max}
	b.pending = s.next()
	return b
}

// wait returns how long the loop must idle, at offset now, before the next
// proposal arrives (0 if one is already due).
func (b *batcher) wait(now time.Duration) time.Duration {
	if b.pending <= now {
		return 0
	}
	return b.pending - now
}

// take appends to arrivals the offsets of every proposal due at now (at most
// max) and returns the extended slice. It does not allocate when arrivals
// has capacity max.
func (b *batcher) take(now time.Duration, arrivals []time.Duration) []time.Duration {
	for len(arrivals) < b.max && b.pending <= now {
		arrivals = append(arrivals, b.pending)
		b.pending = b.sched.next()
	}
	return arrivals
}

// skip drops every proposal due by now (arrivals during a live-safe
// pause are not made: the load was off) and returns how many it dropped.
func (b *batcher) skip(now time.Duration) int {
	n := 0
	for b.pending <= now {
		b.pending = b.sched.next()
		n++
	}
	return n
}
