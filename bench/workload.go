package bench

import (
	"context"
	"sync/atomic"
	"time"
)

// workload is one load generator driven by Run.
type workload interface {
	// run issues operations until stop is set, ctx is done, or the
	// measured phase reached cfg.Ops. It returns the first I/O error.
	run(ctx context.Context, stop *atomic.Bool) error
	// close releases files; the run folder is removed by Run.
	close() error
	// counts reports what the measured phase did.
	counts() counts
}

type counts struct {
	saves, entries, bytes int64
	segments              int
	extra                 map[string]any // workload facts for Result.Extra
}

// sleepUntil idles until the monotonic offset target (from epoch), waking
// early when stop is set or ctx is done. Long waits are cut in slices so a
// stop is seen within 50 ms.
func sleepUntil(ctx context.Context, stop *atomic.Bool, epoch time.Time, target time.Duration) bool {
	for {
		d := target - time.Since(epoch)
		if d <= 0 {
			return true
		}
		if stop.Load() || ctx.Err() != nil {
			return false
		}
		if d > 50*time.Millisecond {
			d = 50 * time.Millisecond
		}
		time.Sleep(d)
	}
}

// gate pauses a workload (live-safe mode); nil never pauses.
type gate interface{ Paused() bool }

// waitGate idles while g is paused. It reports whether a pause happened,
// so an open loop can drop the arrivals that fell into it.
func waitGate(ctx context.Context, stop *atomic.Bool, g gate) bool {
	if g == nil || !g.Paused() {
		return false
	}
	for g.Paused() && !stop.Load() && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
