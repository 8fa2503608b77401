package neighbor

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/internal/syscallloop"
	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/vfstest"
)

// fakeClock is a virtual clock that advances only when every worker sleeps:
// it then jumps to the earliest wake-up. With a file system whose
// operations take no time (vfstest.NopFS), a run is a deterministic sequence of
// virtual instants. Once the next wake-up would pass end, it cancels the
// run instead.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	workers int
	waiters []*waiter
	end     time.Time
	cancel  context.CancelFunc
}

type waiter struct {
	until time.Time
	ch    chan struct{}
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newFakeClock(workers int, runFor time.Duration, cancel context.CancelFunc) *fakeClock {
	return &fakeClock{now: epoch, workers: workers, end: epoch.Add(runFor), cancel: cancel}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) bool {
	c.mu.Lock()
	w := &waiter{until: c.now.Add(d), ch: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.advance()
	c.mu.Unlock()
	select {
	case <-w.ch:
		return true
	case <-ctx.Done():
		c.mu.Lock()
		c.waiters = slices.DeleteFunc(c.waiters, func(x *waiter) bool { return x == w })
		c.mu.Unlock()
		return false
	}
}

// advance runs with mu held.
func (c *fakeClock) advance() {
	if len(c.waiters) < c.workers {
		return
	}
	next := c.waiters[0].until
	for _, w := range c.waiters {
		if w.until.Before(next) {
			next = w.until
		}
	}
	if next.After(c.end) {
		c.cancel()
		return
	}
	if next.After(c.now) {
		c.now = next
	}
	c.waiters = slices.DeleteFunc(c.waiters, func(w *waiter) bool {
		if !w.until.After(c.now) {
			close(w.ch)
			return true
		}
		return false
	})
}

// runVirtual runs spec on fs for runFor of virtual time and returns the
// stopped neighbour, its Stop error and the virtual instants of its
// operations.
func runVirtual(t *testing.T, spec string, fs vfs.FS, runFor time.Duration, opt Options) (*Neighbor, error, []time.Duration) {
	t.Helper()
	s, err := Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := newFakeClock(s.NumJobs, runFor, cancel)
	var mu sync.Mutex
	var at []time.Duration
	opt.FS, opt.Clock = fs, clk
	if opt.Dir == "" {
		opt.Dir = "run"
	}
	opt.Observe = func(time.Duration) {
		mu.Lock()
		at = append(at, clk.Now().Sub(epoch))
		mu.Unlock()
	}
	n, err := Start(ctx, s, opt)
	if err != nil {
		t.Fatalf("Start(%s): %v", spec, err)
	}
	<-ctx.Done()
	stopErr := n.Stop()
	return n, stopErr, at
}

func TestRateBytes(t *testing.T) {
	// 10 MiB/s of 1 MiB writes by 4 workers for 60 virtual seconds.
	n, err, _ := runVirtual(t, "seqwrite,bs=1MiB,qd=4,rate=10MiB", vfstest.NopFS{}, 60*time.Second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := n.Stats()
	// The bucket starts empty: one write every 100 ms, the last at 60 s.
	if want := int64(600 << 20); st.Bytes != want || st.Ops != 600 {
		t.Errorf("wrote %d bytes in %d ops in 60s at 10MiB/s, want %d in 600", st.Bytes, st.Ops, want)
	}
	if st.Elapsed != 60*time.Second {
		t.Errorf("Elapsed = %v, want 60s", st.Elapsed)
	}
}

func TestRateIOPS(t *testing.T) {
	n, err, at := runVirtual(t, "randwrite,bs=4KiB,qd=16,iops=250", vfstest.NopFS{}, 10*time.Second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st := n.Stats(); st.Ops != 2500 || st.Bytes != 2500*4096 {
		t.Errorf("%d ops, %d bytes in 10s at 250 IOPS, want 2500 ops", st.Ops, st.Bytes)
	}
	// Evenly spaced, not in bursts: at most one operation per 4 ms slot.
	for i := 1; i < len(at); i++ {
		if at[i]-at[i-1] > 4*time.Millisecond {
			t.Fatalf("gap of %v between operations %d and %d", at[i]-at[i-1], i-1, i)
		}
	}
	perSlot := map[time.Duration]int{}
	for _, a := range at {
		perSlot[a]++
		if perSlot[a] > 1 {
			t.Fatalf("two operations at %v", a)
		}
	}
}

func TestBurstSchedule(t *testing.T) {
	// 100 IOPS, 2 s delay, 5 s on, 10 s off, for 40 s: on in [2,7), [17,22), [32,37).
	n, err, at := runVirtual(t, "seqwrite,bs=4KiB,size=1MiB,iops=100,start=2s,on=5s,off=10s", vfstest.NopFS{}, 40*time.Second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	windows := [][2]time.Duration{{2 * time.Second, 7 * time.Second}, {17 * time.Second, 22 * time.Second}, {32 * time.Second, 37 * time.Second}}
	count := make([]int, len(windows))
	for _, a := range at {
		in := false
		for i, w := range windows {
			if a >= w[0] && a < w[1] {
				count[i]++
				in = true
			}
		}
		if !in {
			t.Errorf("operation at %v, outside every on phase", a)
		}
	}
	for i, c := range count {
		// 100/s for 5 s; the bucket refills by one token during the off phase.
		if c < 499 || c > 501 {
			t.Errorf("on phase %d had %d operations, want ~500", i, c)
		}
	}
	if n.Active() {
		t.Error("Active after Stop")
	}
}

func TestActive(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := newFakeClock(1, time.Hour, cancel)
	s, _ := Parse("seqwrite,bs=4KiB,size=64KiB,start=10s")
	n, err := Start(ctx, s, Options{FS: vfstest.NopFS{}, Dir: "d", Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	if n.Active() {
		t.Error("active during the start delay")
	}
	s2, _ := Parse("seqwrite,bs=4KiB,size=64KiB,iops=1")
	n2, err := Start(ctx, s2, Options{FS: vfstest.NopFS{}, Dir: "d", Clock: newFakeClock(1, time.Hour, cancel)})
	if err != nil {
		t.Fatal(err)
	}
	if !n2.Active() {
		t.Error("not active without a schedule")
	}
	n2.Stop()
	if n2.Active() {
		t.Error("active after Stop")
	}
}

// tickClock moves forward by step at every reading and never sleeps.
type tickClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *tickClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

func (c *tickClock) Sleep(ctx context.Context, d time.Duration) bool { return ctx.Err() == nil }

// TestWorkerYieldsEveryMillisecond: a worker that never waits goes through
// Go's scheduler once per syscallloop.Every of its operations, so that sysmon does
// not take its P in the middle of a write (see step), and not at every
// operation.
func TestWorkerYieldsEveryFewMilliseconds(t *testing.T) {
	for _, step := range []time.Duration{10 * time.Microsecond, 150 * time.Microsecond, 700 * time.Microsecond, 15 * time.Millisecond} {
		s, _ := Parse("randwrite,bs=4KiB,size=1MiB,qd=1")
		clk := &tickClock{now: epoch, step: step}
		n, err := prepare(context.Background(), s, Options{FS: vfstest.NopFS{}, Dir: "d", Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		w := n.newWorker(0)
		yields := 0
		w.yield.Gosched = func() { yields++ }
		start := clk.Now()
		const ops = 2000
		for range ops {
			if !n.step(w) {
				t.Fatal("step stopped")
			}
		}
		// Yields come at the first operation at least syscallloop.Every after
		// the last one: between syscallloop.Every and syscallloop.Every plus one
		// operation apart, and never more than one per operation.
		elapsed := clk.Now().Sub(start)
		perOp := elapsed / ops
		lo := int(elapsed / (max(syscallloop.Every, perOp) + perOp))
		hi := min(int(elapsed/syscallloop.Every)+1, ops)
		if yields < lo || yields > hi {
			t.Errorf("clock step %v: %d yields in %v of operations (%v each), want %d-%d",
				step, yields, elapsed, perOp, lo, hi)
		}
		n.Stop()
	}
}
