package neighbor

import (
	"context"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/errorfs"
	"github.com/etcdisk/etcdisk/wal/vfs/vfstest"
)

// TestObserveIsTimedSyscalls: a worker's latency is the sum of its
// operation's system calls, timed by vfs.Timed on the monotonic clock
// (not the neighbour's Clock, which barely moves here): a write, then a
// write plus the fsync of sync-every=2, then a discard.
func TestObserveIsTimedSyscalls(t *testing.T) {
	const delay = 3 * time.Millisecond
	slow := errorfs.Wrap(vfstest.NopFS{}, errorfs.OnKind(errorfs.Latency(delay), vfs.OpWriteAt, vfs.OpFsync))
	for _, c := range []struct {
		spec string
		want []time.Duration // lower bounds of the first operations
	}{
		{"randwrite,bs=4KiB,size=1MiB,sync-every=2", []time.Duration{delay, 2 * delay}},
		{"trim,bs=4KiB,size=64KiB", []time.Duration{delay}},
	} {
		s, err := Parse(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		var got []time.Duration
		n, err := prepare(context.Background(), s, Options{
			FS: slow, Dir: "d", Clock: &tickClock{now: epoch, step: time.Microsecond},
			Observe: func(d time.Duration) { got = append(got, d) },
			discard: func(vfs.File, int64, int64) error { time.Sleep(delay); return nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		w := n.newWorker(0)
		for range c.want {
			n.step(w)
		}
		n.Stop()
		if len(got) != len(c.want) {
			t.Fatalf("%s: %d observations, want %d", c.spec, len(got), len(c.want))
		}
		for i, lo := range c.want {
			if got[i] < lo || got[i] > lo+time.Second {
				t.Errorf("%s: operation %d observed %v, want at least %v", c.spec, i+1, got[i], lo)
			}
		}
	}
}
