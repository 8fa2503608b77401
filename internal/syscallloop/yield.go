// Package syscallloop keeps a goroutine that only ever blocks in system
// calls from losing its P to Go's sysmon.
//
// Such a goroutine (a noisy-neighbour worker, a closed-loop write+fdatasync
// loop) is never rescheduled, so its scheduling tick never moves, and sysmon
// takes the P of a goroutine whose tick has not moved for 10 ms even while
// it is inside a system call: the P goes to another thread, the call comes
// back through exitsyscall's slow path, and sysmon, busy again, wakes every
// 20 us (a uprobe on runtime.handoffp counts the handoffs; Go exports no
// metric for them). Going through the scheduler every Every keeps the tick
// moving.
package syscallloop

import (
	"runtime"
	"time"
)

// Every is how often a loop yields: half of sysmon's 10 ms, so that sysmon
// always sees the tick move between two of its looks. A yield can cost a
// thread switch (the goroutine may resume on another thread), so not more
// often than that.
const Every = 5 * time.Millisecond

// Yielder yields at most once per Every of a loop's clock. The zero value
// is ready; a Yielder belongs to one goroutine.
type Yielder struct {
	last time.Time
	// Gosched is runtime.Gosched when nil; tests count the calls.
	Gosched func()
}

// Maybe yields if Every has passed since the last yield, now being the
// loop's current time (it already reads the clock for its latencies).
func (y *Yielder) Maybe(now time.Time) {
	if now.Sub(y.last) < Every {
		return
	}
	y.last = now
	if y.Gosched != nil {
		y.Gosched()
		return
	}
	runtime.Gosched()
}
