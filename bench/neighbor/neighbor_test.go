package neighbor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/etcdisk/etcdisk/internal/syscallloop"
	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/errorfs"
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

// ops returns the recorded operations of kind k on the neighbour's file.
func opsOf(rec *vfstest.Recorder, kinds ...vfs.OpKind) []vfstest.RecordedOp {
	var out []vfstest.RecordedOp
	for _, o := range rec.Ops() {
		if slices.Contains(kinds, o.Kind) {
			out = append(out, o)
		}
	}
	return out
}

func TestSeqWritePattern(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	_, err, _ := runVirtual(t, "seqwrite,bs=4KiB,size=66KiB,direct,iops=100", rec, time.Second, Options{Name: "n0"})
	if err != nil {
		t.Fatal(err)
	}
	ops := rec.Ops()
	path := filepath.Join("run", "etcdisk-neighbor-n0.dat")
	open := ops[0]
	if open.Kind != vfs.OpOpen || open.Path != path {
		t.Fatalf("first op %v, want open of %s", open, path)
	}
	for _, f := range []int{os.O_RDWR, os.O_CREATE, os.O_EXCL, vfs.DirectIO} {
		if open.Flag&f == 0 {
			t.Errorf("open flags %#x lack %#x", open.Flag, f)
		}
	}
	// The region is rounded down to 16 blocks of 4 KiB and preallocated.
	if ops[1].Kind != vfs.OpFallocate || ops[1].Off != 0 || ops[1].Size != 64<<10 {
		t.Errorf("second op %v, want fallocate 65536@0", ops[1])
	}
	writes := opsOf(rec, vfs.OpWriteAt)
	if len(writes) != 100 {
		t.Fatalf("%d writes, want 100", len(writes))
	}
	for i, w := range writes {
		if w.Size != 4096 || w.Off != int64(i%16)*4096 {
			t.Fatalf("write %d = %v, want 4096@%d (sequential, wrapping at 64KiB)", i, w, i%16*4096)
		}
	}
	if c := len(opsOf(rec, vfs.OpFsync, vfs.OpFdatasync)); c != 0 {
		t.Errorf("%d syncs, want none", c)
	}
	last := ops[len(ops)-2:]
	if last[0].Kind != vfs.OpClose || last[1].Kind != vfs.OpRemove || last[1].Path != path {
		t.Errorf("run ends with %v, want close and remove of %s", last, path)
	}
}

func TestRandWritePattern(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	_, err, _ := runVirtual(t, "randwrite,bs=16KiB,size=1MiB,qd=4,direct,iops=1000", rec, time.Second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writes := opsOf(rec, vfs.OpWriteAt)
	if len(writes) != 1000 {
		t.Fatalf("%d writes, want 1000", len(writes))
	}
	offs := map[int64]bool{}
	for _, w := range writes {
		if w.Size != 16<<10 || w.Off%(16<<10) != 0 || w.Off < 0 || w.Off >= 1<<20 {
			t.Fatalf("write %v: want 16KiB at a 16KiB-aligned offset below 1MiB", w)
		}
		offs[w.Off] = true
	}
	if len(offs) < 60 { // 64 blocks, 1000 uniform draws
		t.Errorf("only %d distinct offsets of 64", len(offs))
	}
	seq := 0
	for i := 1; i < len(writes); i++ {
		if writes[i].Off == writes[i-1].Off+16<<10 {
			seq++
		}
	}
	if seq > 100 {
		t.Errorf("%d of 1000 writes follow the previous one: not random", seq)
	}
}

// TestFioSizes runs a neighbour spelled as in a fio job: bs=4k must write
// 4,096-byte blocks (fio's k), not 4,000-byte ones, at 4 KiB-aligned offsets
// inside a region of size=1m = 1 MiB.
func TestFioSizes(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	_, err, _ := runVirtual(t, "randwrite,bs=4k,size=1m,numjobs=2,iops=200", rec, time.Second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writes := opsOf(rec, vfs.OpWriteAt)
	if len(writes) != 200 {
		t.Fatalf("%d writes, want 200", len(writes))
	}
	for _, w := range writes {
		if w.Size != 4096 || w.Off%4096 != 0 || w.Off+w.Size > 1<<20 {
			t.Fatalf("write %v: want 4096 bytes at a 4096-aligned offset inside 1 MiB", w)
		}
	}
	falloc := opsOf(rec, vfs.OpFallocate)
	if len(falloc) != 1 || falloc[0].Size != 1<<20 {
		t.Errorf("preallocation %v, want one of 1 MiB", falloc)
	}
}

// afterLayout checks that ops begin with a layout of size bytes (1 MiB
// writes covering the region in order, then fdatasync) and returns the ops
// after it.
func afterLayout(t *testing.T, ops []vfstest.RecordedOp, size int64) []vfstest.RecordedOp {
	t.Helper()
	op := func(i int) vfstest.RecordedOp {
		if i == len(ops) {
			t.Fatalf("ops end after %d, in the layout", i)
		}
		return ops[i]
	}
	var laid int64
	i := 0
	for ; laid < size; i++ {
		if o := op(i); o.Kind != vfs.OpWriteAt || o.Off != laid || o.Size != 1<<20 {
			t.Fatalf("layout op %v, want a 1MiB write at %d", o, laid)
		}
		laid += 1 << 20
	}
	if o := op(i); o.Kind != vfs.OpFdatasync {
		t.Fatalf("laid out %d bytes then %v, want fdatasync", laid, o)
	}
	return ops[i+1:]
}

func TestPrefill(t *testing.T) {
	for _, kind := range []string{"seqwrite", "randwrite"} {
		t.Run(kind, func(t *testing.T) {
			rec := vfstest.NewRecorder(nil)
			_, err, _ := runVirtual(t, kind+",bs=16KiB,size=3MiB,qd=2,direct,iops=100,prefill", rec, time.Second, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if c := len(opsOf(rec, vfs.OpFallocate)); c != 0 {
				t.Errorf("%d fallocates: a prefilled file is written, not preallocated", c)
			}
			load := afterLayout(t, opsOf(rec, vfs.OpWriteAt, vfs.OpFdatasync), 3<<20)
			if len(load) != 100 {
				t.Fatalf("%d ops after the prefill, want the 100 writes of the load", len(load))
			}
			for _, w := range load {
				if w.Kind != vfs.OpWriteAt || w.Size != 16<<10 || w.Off%(16<<10) != 0 || w.Off >= 3<<20 {
					t.Fatalf("load op %v: want a 16KiB aligned write below 3MiB", w)
				}
			}
		})
	}
}

func TestReadPatterns(t *testing.T) {
	for _, kind := range []string{"randread", "seqread"} {
		t.Run(kind, func(t *testing.T) {
			rec := vfstest.NewRecorder(nil)
			_, err, _ := runVirtual(t, kind+",bs=64KiB,size=3MiB,qd=2,iops=100", rec, time.Second, Options{})
			if err != nil {
				t.Fatal(err)
			}
			reads := afterLayout(t, opsOf(rec, vfs.OpWriteAt, vfs.OpFdatasync, vfs.OpReadAt), 3<<20)
			if len(reads) != 100 {
				t.Fatalf("%d ops after layout, want 100 reads", len(reads))
			}
			next := map[int64]int64{0: 0, 1: 24} // seqread: each of the 2 workers streams through its half
			for _, r := range reads {
				if r.Kind != vfs.OpReadAt || r.Off%(64<<10) != 0 || r.Off >= 3<<20 {
					t.Fatalf("op %v after layout: want a 64KiB-aligned pread below 3MiB", r)
				}
				if kind != "seqread" {
					continue
				}
				half := r.Off / (24 * 64 << 10)
				if want := next[half] * 64 << 10; r.Off != want {
					t.Fatalf("seqread at %d, want %d (sequential in its half)", r.Off, want)
				}
				next[half] = (next[half]+1-24*half)%24 + 24*half
			}
		})
	}
}

func TestFsyncCadence(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	_, err, _ := runVirtual(t, "fsync,bs=2300,size=1MiB,sync-every=3,iops=90", rec, time.Second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ops := opsOf(rec, vfs.OpWriteAt, vfs.OpFsync, vfs.OpFdatasync, vfs.OpFallocate, vfs.OpTruncate)
	var b strings.Builder
	for _, o := range ops {
		if o.Kind == vfs.OpWriteAt {
			b.WriteByte('w')
		} else {
			b.WriteByte('s')
			if o.Kind != vfs.OpFsync {
				t.Fatalf("unexpected %v", o)
			}
		}
	}
	if want := strings.Repeat("wwws", 30); b.String() != want {
		t.Errorf("pattern %q, want %q (an fsync after every third write, nothing preallocated)", b.String(), want)
	}
	if w := opsOf(rec, vfs.OpWriteAt); w[1].Off != 2300 || w[1].Size != 2300 {
		t.Errorf("second write %v, want 2300@2300 (appending)", w[1])
	}
}

func TestWritebackPattern(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	_, err, _ := runVirtual(t, "writeback,rate=40MiB", rec, 2*time.Second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	open := opsOf(rec, vfs.OpOpen)[0]
	if open.Flag&vfs.DirectIO != 0 {
		t.Error("writeback opened with O_DIRECT")
	}
	writes := opsOf(rec, vfs.OpWriteAt)
	if len(writes) != 20 {
		t.Errorf("%d writes of 4MiB in 2s at 40MiB/s, want 20", len(writes))
	}
	for i, w := range writes {
		if w.Size != 4<<20 || w.Off != int64(i)*4<<20 {
			t.Fatalf("write %d = %v, want 4MiB appends", i, w)
		}
	}
	if c := len(opsOf(rec, vfs.OpFsync, vfs.OpFdatasync, vfs.OpFallocate)); c != 0 {
		t.Errorf("%d syncs or fallocates, want none: writeback leaves it to the kernel", c)
	}
}

func TestTrimPattern(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	var mu sync.Mutex
	var seq []string
	opt := Options{discard: func(f vfs.File, off, length int64) error {
		mu.Lock()
		seq = append(seq, "d"+itoa(off>>20))
		mu.Unlock()
		return nil
	}}
	// 4 blocks of 1 MiB; the probe discards block 0, then 9 more discards.
	_, err, _ := runVirtual(t, "trim,size=4MiB,iops=9", rec, time.Second, opt)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"d0", "d1", "d2", "d3", "d0", "d1", "d2", "d3", "d0", "d1"}
	if !slices.Equal(seq, want) {
		t.Errorf("discards %v, want %v", seq, want)
	}
	// Layout (4 x 1MiB), then on later passes a write before each discard.
	writes := opsOf(rec, vfs.OpWriteAt)
	if len(writes) != 4+6 {
		t.Errorf("%d writes, want 4 layout + 6 refills", len(writes))
	}
	for i, w := range writes[4:] {
		if w.Off != int64((i+4)%4)<<20 {
			t.Errorf("refill %d at %d", i, w.Off)
		}
	}
}

func itoa(v int64) string { return string(rune('0' + v)) }

func TestTrimNotSupported(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	s, _ := Parse("trim,size=4MiB")
	_, err := Start(context.Background(), s, Options{FS: rec, Dir: "d", discard: func(vfs.File, int64, int64) error {
		return errors.Join(vfs.ErrNotSupported, syscall.EOPNOTSUPP)
	}})
	if err == nil || !strings.Contains(err.Error(), "trim is not supported on d/etcdisk-neighbor-trim.dat") {
		t.Fatalf("Start = %v, want a clear 'not supported' error", err)
	}
	if rm := opsOf(rec, vfs.OpRemove); len(rm) != 1 {
		t.Errorf("file not removed after the failed start: %v", rec.Ops())
	}
}

func TestErrorsCountedAndSurfaced(t *testing.T) {
	// Every third pwrite fails with EIO.
	fs := errorfs.Wrap(vfstest.NewRecorder(nil), errorfs.OnKind(errorfs.EveryNth(3, errorfs.Error(errorfs.EIO)), vfs.OpWriteAt))
	n, err, _ := runVirtual(t, "seqwrite,bs=4KiB,size=1MiB,iops=100", fs, 3*time.Second, Options{})
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("Stop = %v, want the first EIO", err)
	}
	st := n.Stats()
	if st.Errors == 0 || st.Ops == 0 {
		t.Fatalf("stats %+v: want both successes and errors", st)
	}
	if st.Errors*2 < st.Ops-2 || st.Errors*2 > st.Ops+2 {
		t.Errorf("%d errors for %d ops, want about one per two successes", st.Errors, st.Ops)
	}
	if !strings.Contains(st.LastError, "input/output error") {
		t.Errorf("LastError = %q", st.LastError)
	}
	if err2 := n.Stop(); err2 != err {
		t.Errorf("second Stop = %v, want the same %v", err2, err)
	}
}

func TestStartFailureCleansUp(t *testing.T) {
	dir := t.TempDir()
	fs := errorfs.Wrap(vfs.Default, errorfs.OnKind(errorfs.Error(errorfs.ENOSPC), vfs.OpFallocate))
	s, _ := Parse("seqwrite,size=8MiB")
	if _, err := Start(context.Background(), s, Options{FS: fs, Dir: dir}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Start = %v, want ENOSPC", err)
	}
	assertEmpty(t, dir)
}

func TestRefusesExistingFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "etcdisk-neighbor-seqwrite.dat")
	if err := os.WriteFile(p, []byte("user data"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := Parse("seqwrite,size=8MiB")
	if _, err := Start(context.Background(), s, Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("Start = %v, want an 'exists' error", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "user data" {
		t.Error("an existing file was touched")
	}
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Errorf("%s holds %v after Stop", dir, ents)
	}
}

// TestRealFiles runs every kind briefly on the real file system and checks
// that each does I/O and leaves nothing behind.
func TestRealFiles(t *testing.T) {
	dir := t.TempDir()
	for _, spec := range []string{
		"seqwrite,bs=64KiB,size=4MiB,qd=2,direct",
		"randwrite,bs=4KiB,size=4MiB,qd=4,direct",
		"randread,bs=4KiB,size=4MiB,qd=2,direct",
		"seqread,bs=64KiB,size=4MiB",
		"fsync,size=1MiB",
		"writeback,bs=1MiB,size=8MiB",
		"trim,bs=64KiB,size=2MiB,sync-every=8",
	} {
		t.Run(strings.SplitN(spec, ",", 2)[0], func(t *testing.T) {
			s, err := Parse(spec)
			if err != nil {
				t.Fatal(err)
			}
			n, err := Start(context.Background(), s, Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for n.Stats().Ops < 20 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if err := n.Stop(); err != nil {
				t.Fatal(err)
			}
			if st := n.Stats(); st.Ops < 20 || st.Errors != 0 || st.Bytes != st.Ops*s.BS {
				t.Errorf("stats %+v", st)
			}
			assertEmpty(t, dir)
		})
	}
}

func TestPunchHoleFreesBlocks(t *testing.T) {
	f, err := vfs.Default.OpenFile(filepath.Join(t.TempDir(), "f"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	fillRandom(buf, 3)
	if _, err := f.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Fdatasync(); err != nil {
		t.Fatal(err)
	}
	blocks := func() int64 {
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		return st.Blocks
	}
	before := blocks()
	if err := punchHole(f, 0, 1<<19); err != nil {
		if errors.Is(err, vfs.ErrNotSupported) {
			t.Skip("the test directory's file system cannot punch holes")
		}
		t.Fatal(err)
	}
	if after := blocks(); after > before-(1<<19)/512 {
		t.Errorf("blocks %d -> %d after punching 512KiB", before, after)
	}
	if fi, _ := os.Stat(f.Name()); fi.Size() != 1<<20 {
		t.Errorf("size changed to %d", fi.Size())
	}
}

func TestCheckDeviceRefusesNonDevice(t *testing.T) {
	p := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := Parse("seqwrite,device=" + p)
	if _, err := Start(context.Background(), s, Options{}); err == nil || !strings.Contains(err.Error(), "refusing to write to the device") || !strings.Contains(err.Error(), "is not a block device") {
		t.Errorf("Start on a regular file as device = %v", err)
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	for _, spec := range []string{
		"seqwrite,bs=4KiB,size=1MiB,rate=1TiB",
		"randwrite,bs=4KiB,size=1MiB,iops=1e12,sync-every=2",
		"randread,bs=4KiB,size=1MiB",
		"trim,bs=4KiB,size=64KiB",
	} {
		s, _ := Parse(spec)
		n, err := prepare(context.Background(), s, Options{FS: vfstest.NopFS{}, Dir: "d", Observe: func(time.Duration) {},
			discard: func(vfs.File, int64, int64) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		w := n.newWorker(0)
		n.step(w) // first use of the timer
		if a := testing.AllocsPerRun(1000, func() { n.step(w) }); a != 0 {
			t.Errorf("%s: %v allocations per operation", spec, a)
		}
		n.Stop()
	}
}

// TestSeqWriteStreamsPerWorker: with qd=2 each worker streams through its
// own half of the region, as fio's numjobs=2 with offset_increment does, so
// the neighbour is two sequential writers, not one stream split in two.
func TestSeqWriteStreamsPerWorker(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	_, err, _ := runVirtual(t, "seqwrite,bs=4KiB,size=64KiB,qd=2,iops=100", rec, time.Second, Options{Name: "n0"})
	if err != nil {
		t.Fatal(err)
	}
	var low, high []int64
	for _, w := range opsOf(rec, vfs.OpWriteAt) {
		if w.Off < 32<<10 {
			low = append(low, w.Off)
		} else {
			high = append(high, w.Off)
		}
	}
	if len(low) < 40 || len(high) < 40 {
		t.Fatalf("writes per half: %d and %d, want ~50 each", len(low), len(high))
	}
	for name, offs := range map[string][]int64{"low": low, "high": high} {
		base := offs[0]
		for i, off := range offs {
			if want := base + int64(i%8)*4096; off != want {
				t.Fatalf("%s half: write %d at %d, want %d (sequential, wrapping in its half)", name, i, off, want)
			}
		}
	}
	if low[0] != 0 || high[0] != 32<<10 {
		t.Fatalf("streams start at %d and %d, want 0 and 32768", low[0], high[0])
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

// TestDirectBuffers: a direct neighbour's large buffers each sit in their own
// huge-page-aligned mapping (one scatter-gather segment per write where the
// kernel backs it with a huge page), small ones in ordinary aligned memory,
// buffered neighbours in the heap; Stop releases the mappings.
func TestDirectBuffers(t *testing.T) {
	for _, tc := range []struct {
		spec string
		huge bool
	}{
		{"seqwrite,bs=1MiB,size=8MiB,qd=2,direct", true},
		{"randwrite,bs=256KiB,size=8MiB,qd=2,direct", true},
		{"randwrite,bs=128KiB,size=8MiB,qd=2,direct", false},
		{"seqwrite,bs=1MiB,size=8MiB,qd=2", false},
	} {
		s, err := Parse(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		n, err := prepare(context.Background(), s, Options{FS: vfstest.NopFS{}, Dir: "d"})
		if err != nil {
			t.Fatal(err)
		}
		var addrs []uintptr
		for i := range s.NumJobs {
			w := n.newWorker(i)
			addrs = append(addrs, uintptr(unsafe.Pointer(&w.buf[0])))
		}
		wantMaps := 0
		if tc.huge {
			wantMaps = s.NumJobs
		}
		if len(n.frees) != wantMaps {
			t.Errorf("%s: %d huge-page buffers, want %d", tc.spec, len(n.frees), wantMaps)
		}
		for _, a := range addrs {
			if tc.huge && a%vfs.HugePageSize != 0 {
				t.Errorf("%s: buffer at %#x, want it aligned to a huge page", tc.spec, a)
			}
			if s.Direct && a%vfs.DirectAlignment != 0 {
				t.Errorf("%s: buffer at %#x, not aligned for direct I/O", tc.spec, a)
			}
		}
		if err := n.Stop(); err != nil {
			t.Fatal(err)
		}
		if n.frees != nil {
			t.Errorf("%s: after Stop %d huge-page buffers to free; want none", tc.spec, len(n.frees))
		}
	}
}
