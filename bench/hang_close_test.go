package bench

import (
	"context"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/errorfs"
)

// A disk that hangs past the stop and answers later: Run reports what it
// measured and closes the load while its Save is still in flight. When the
// disk answers, that Save must find the load closed, not crash the process
// (a send on the apply loop's closed channel would).
func TestHungSaveAnsweringAfterCloseDoesNotCrash(t *testing.T) {
	for _, tc := range []struct {
		name string
		rate float64
	}{
		{"closed loop", 0},
		{"open loop", 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Ops = 0
			cfg.Duration = time.Second
			cfg.Backend = Given(true)
			if tc.rate > 0 {
				cfg.Rate = tc.rate
				cfg.GRPC = Given(false)
			} else {
				cfg.ClosedLoop = true
			}
			stall := 3 * time.Second // past the run and its grace for a hung disk
			cfg.FS = errorfs.Wrap(vfs.Default, stallAt(t, 20, stall))
			res, err := Run(context.Background(), cfg)
			if err == nil || res == nil {
				t.Fatalf("want the hung disk reported with a partial result, got %v (result %v)", err, res != nil)
			}
			// The stalled Save returns now; a crash would end the test
			// binary here.
			time.Sleep(stall)
		})
	}
}
