package bench

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/report"
)

// quitsOnCancel is a load that returns as soon as its context is done, as
// every load's loop does.
type quitsOnCancel struct{}

func (quitsOnCancel) run(ctx context.Context, _ *atomic.Bool) error {
	<-ctx.Done()
	return nil
}
func (quitsOnCancel) flushPending(time.Duration) {}
func (quitsOnCancel) close() error               { return nil }
func (quitsOnCancel) counts() counts             { return counts{} }
func (quitsOnCancel) saveCount() int64           { return 0 }

// A cancelled run is interrupted, also when the load has returned by the
// time drive looks (both cases ready; select picks either). The
// cancellation comes while drive is busy (in its progress callback), so
// that both are ready when it selects again.
func TestDriveCancelledIsInterrupted(t *testing.T) {
	for i := range 10 {
		ctx, cancel := context.WithCancel(context.Background())
		rec := newRecorder(DefaultStallThreshold, io.Discard)
		rec.metric(report.MetricWALFdatasync, true)
		p := Plan{Duration: time.Minute}
		p.Progress = func(Progress) {
			cancel()
			time.Sleep(20 * time.Millisecond) // the load returns meanwhile
		}
		res, _ := drive(ctx, p, rec, quitsOnCancel{}, declareNeighbors(nil, rec), io.Discard)
		cancel()
		if !res.Interrupted {
			t.Fatalf("run %d: cancelled but not marked interrupted", i)
		}
	}
}
