package bench

import (
	"sync"
	"time"
)

// pendingProposals keeps the proposals that arrived and are not durable
// yet, so that the end of a run records them instead of dropping the
// slowest: a proposal still pending at the stop counts with the latency it
// had then (stop minus scheduled arrival), a lower bound of its real one.
// Proposals the schedule made due by the stop but the load never took
// (the loop was stuck in a Save, or the client could not send) count too.
//
// Once the run's end has recorded them (flush), nothing more is: a Save
// that returns later does not record its proposals twice.
type pendingProposals struct {
	mu      sync.Mutex
	flushed bool
	atStop  int64                    // proposals flush recorded as pending at the stop
	ids     map[uint64]time.Duration // in flight: id -> scheduled arrival
	nextID  uint64
	// due, when set, hands over the arrivals due by the stop that were
	// never taken (called once, under mu, by flush).
	due func(stop time.Duration, record func(arrival time.Duration))
}

func newPendingProposals() *pendingProposals {
	return &pendingProposals{ids: make(map[uint64]time.Duration)}
}

// add marks a proposal in flight and returns its id.
func (p *pendingProposals) add(arrival time.Duration) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nextID++
	p.ids[p.nextID] = arrival
	return p.nextID
}

// done ends a proposal in flight. It reports false when the run's end
// already recorded it as pending.
func (p *pendingProposals) done(id uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.flushed {
		return false
	}
	delete(p.ids, id)
	return true
}

// withCount adds to c's facts how many proposals were still pending at
// the stop: they are in proposal_commit's count, never answered.
func (p *pendingProposals) withCount(c counts) counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.extra == nil {
		c.extra = map[string]any{}
	}
	c.extra["proposals_pending_at_stop"] = p.atStop
	return c
}

// setDue installs the hand-over of the arrivals never taken.
func (p *pendingProposals) setDue(due func(stop time.Duration, record func(arrival time.Duration))) {
	p.mu.Lock()
	p.due = due
	p.mu.Unlock()
}

// flush records every proposal pending at stop (an offset from the run's
// epoch) into s. Called once, by Run, before the measured phase closes.
func (p *pendingProposals) flush(s *series, stop time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.flushed {
		return
	}
	p.flushed = true
	record := func(arrival time.Duration) {
		// NB: a run stopped in its warm-up records no proposal_commit
		// samples, pending or not.
		if arrival <= stop && s.rec.measuring.Load() {
			s.record(stop - arrival)
			p.atStop++
		}
	}
	for _, a := range p.ids {
		record(a)
	}
	clear(p.ids)
	if p.due != nil {
		p.due(stop, record)
	}
}
