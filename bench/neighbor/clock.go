package neighbor

import (
	"context"
	"time"
)

// Clock is the time source of a neighbour: its rate limiter, burst schedule
// and latency measurements read it. Tests inject a virtual clock; nil in
// Options means the real, monotonic one.
type Clock interface {
	Now() time.Time
	// Sleep blocks for d or until ctx is done; it returns false when ctx
	// ended first.
	Sleep(ctx context.Context, d time.Duration) bool
}

// sleeper is a worker's way to sleep: with the real clock it reuses one
// timer (no allocation per wait); otherwise it delegates to the Clock.
type sleeper struct {
	clock Clock // nil: real time
	timer *time.Timer
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	if s.clock != nil {
		return s.clock.Sleep(ctx, d)
	}
	if s.timer == nil {
		s.timer = time.NewTimer(d)
	} else {
		s.timer.Reset(d)
	}
	select {
	case <-s.timer.C:
		return true
	case <-ctx.Done():
		s.timer.Stop()
		return false
	}
}
