package neighbor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/etcdisk/etcdisk/internal/syscallloop"
	"github.com/etcdisk/etcdisk/wal/vfs"
)

// Options are the run-time settings of a neighbour that its Spec does not
// carry.
type Options struct {
	// FS is the file system seam (nil: vfs.Default).
	FS vfs.FS
	// Dir is the directory of the neighbour's file when the spec names no
	// dir or device (normally the run's directory).
	Dir string
	// Name names the file, etcdisk-neighbor-<Name>.dat (default: the kind).
	Name string
	// Observe, if set, receives each operation's latency: the pwrite,
	// pread or discard, plus the fsync of a sync-every operation and the
	// write that refills a trimmed block on later passes, each timed by
	// vfs.Timed with the monotonic clock (also under a Clock of tests). It is called
	// from the worker goroutines concurrently and must be cheap (an HDR
	// histogram needs a lock or one recorder per worker).
	Observe func(d time.Duration)
	// Clock is the time source (nil: the real clock).
	Clock Clock
	// Guard vets a raw device before a writing neighbour uses it and
	// tidies it afterwards; without one, Start refuses a writing
	// neighbour on a device (ErrNoGuard). Readers (randread, seqread)
	// are not checked.
	Guard Guard

	// discard replaces the real discard (PUNCH_HOLE or BLKDISCARD) in
	// tests, whose recording FS has no file descriptor.
	discard func(f vfs.File, off, length int64) error
}

// Stats is what a neighbour achieved so far.
type Stats struct {
	Ops, Bytes, Errors int64
	// LastError is the text of the latest I/O error ("" if none).
	LastError string
	// Elapsed runs from the moment the workers started (after the file
	// was laid out) until now or until Stop; it includes the start delay
	// and off phases.
	Elapsed time.Duration
}

// FilePrefix starts the name of every file a neighbour creates.
const FilePrefix = "etcdisk-neighbor-"

// errBackoff is how long a worker pauses after an I/O error, so a full or
// failing disk does not turn the neighbour into a busy loop of errors.
const errBackoff = 10 * time.Millisecond

// layoutChunk is the size of the writes that lay out a file before reads or
// discards.
const layoutChunk = 1 << 20

// hugeBufMin is the smallest direct-I/O buffer given its own transparent
// huge page (vfs.HugeAlignedBlock), so that each large write reaches the
// device as one scatter-gather segment instead of one per 4 KiB page (see
// HugeAlignedBlock for why that matters). From 256 KiB a 2 MiB page is at
// most 8 times the buffer; smaller buffers would mostly waste it.
const hugeBufMin = 256 << 10

// Neighbor is a running neighbour.
type Neighbor struct {
	spec     Spec
	opt      Options
	fs       vfs.FS
	path     string
	created  bool // the file is ours: Stop removes it
	isDevice bool
	f        vfs.File

	blocks int64 // the region is blocks * spec.BS bytes
	sched  schedule
	lim    *rate.Limiter
	tokens int          // limiter tokens per operation
	cursor atomic.Int64 // next block of the sequential kinds
	t0     time.Time

	frees []func() error // unmap the workers' huge-page buffers

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	ops, bytes, errs atomic.Int64
	elapsedAtStop    atomic.Int64 // ns, set by Stop
	stopped          atomic.Bool

	mu       sync.Mutex
	firstErr error
	lastErr  string

	stopOnce sync.Once
	stopErr  error
}

// Start validates spec, prepares the target (creates and preallocates or lays
// out the file, or opens the device) and starts spec.NumJobs workers. They run
// until ctx is done or Stop is called; Stop must be called in every case to
// release the file.
func Start(ctx context.Context, spec Spec, opt Options) (*Neighbor, error) {
	n, err := prepare(ctx, spec, opt)
	if err != nil {
		return nil, err
	}
	n.wg.Add(spec.NumJobs)
	for i := range spec.NumJobs {
		w := n.newWorker(i)
		go func() {
			defer n.wg.Done()
			n.run(w)
		}()
	}
	return n, nil
}

// prepare does everything Start does but start the workers.
func prepare(ctx context.Context, spec Spec, opt Options) (*Neighbor, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("neighbour %s: %w", spec, err)
	}
	n := &Neighbor{spec: spec, opt: opt, fs: opt.FS}
	if n.fs == nil {
		n.fs = vfs.Default
	}
	if err := n.open(); err != nil {
		return nil, err
	}
	if err := n.setup(); err != nil {
		n.release()
		return nil, fmt.Errorf("neighbour %s: %w", n.spec.Kind, err)
	}
	n.sched = schedule{start: spec.Start, on: spec.On, off: spec.Off}
	switch {
	case spec.Rate > 0:
		// One token per byte; the bucket holds one operation, so idle
		// time does not turn into a burst.
		n.lim = rate.NewLimiter(rate.Limit(spec.Rate), int(spec.BS))
		n.tokens = int(spec.BS)
	case spec.IOPS > 0:
		n.lim = rate.NewLimiter(rate.Limit(spec.IOPS), 1)
		n.tokens = 1
	}
	if n.lim != nil {
		// Start with an empty bucket so the first second is not a burst.
		n.lim.ReserveN(n.now(), n.tokens)
	}
	n.ctx, n.cancel = context.WithCancel(ctx)
	n.t0 = n.now()
	return n, nil
}

func (n *Neighbor) now() time.Time {
	if n.opt.Clock != nil {
		return n.opt.Clock.Now()
	}
	return time.Now()
}

func (n *Neighbor) elapsed() time.Duration { return n.now().Sub(n.t0) }

func (n *Neighbor) open() error {
	s := n.spec
	flag := os.O_RDWR
	if s.Direct {
		flag |= vfs.DirectIO
	}
	if s.Device != "" {
		return n.openDevice(flag)
	}
	dir := s.Dir
	if dir == "" {
		dir = n.opt.Dir
	}
	if dir == "" {
		return fmt.Errorf("neighbour %s: no directory (set dir= or a run directory)", s.Kind)
	}
	name := n.opt.Name
	if name == "" {
		name = s.Kind.String()
	}
	n.path = filepath.Join(dir, FilePrefix+sanitize(name)+".dat")
	// NB: O_EXCL: never write into (and later remove) a file we did not
	// create.
	f, err := n.fs.OpenFile(n.path, flag|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("neighbour %s: %s exists (left by an interrupted run? remove it): %w", s.Kind, n.path, err)
		}
		return fmt.Errorf("neighbour %s: %w", s.Kind, err)
	}
	n.f, n.created = f, true
	return nil
}

func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, name)
}

// setup sizes the region and prepares the target for the kind.
func (n *Neighbor) setup() error {
	s := n.spec
	region := s.Size
	if n.isDevice {
		end, err := n.f.Seek(0, io.SeekEnd)
		if err != nil {
			return fmt.Errorf("size of %s: %w", n.path, err)
		}
		region = min(region, end)
	}
	n.blocks = region / s.BS
	if n.blocks < 1 {
		return fmt.Errorf("%s holds %d bytes, less than one block of %d", n.path, region, s.BS)
	}
	region = n.blocks * s.BS
	if n.isDevice {
		// Devices are used as they are: reads see what is there.
		if s.Kind == Trim {
			return n.probeDiscard()
		}
		return nil
	}
	switch s.Kind {
	case SeqWrite, RandWrite:
		if s.Prefill {
			return n.layout(region)
		}
		// As fio does for a new file before writing into it.
		if err := n.f.Fallocate(0, region); err != nil {
			if !errors.Is(err, vfs.ErrNotSupported) {
				return err
			}
			if err := n.f.Truncate(region); err != nil {
				return err
			}
		}
	case RandRead, SeqRead, Trim:
		if err := n.layout(region); err != nil {
			return err
		}
		if s.Kind == Trim {
			return n.probeDiscard()
		}
	}
	// Fsync and Writeback grow their file during the first pass, as the
	// appending programs they model do.
	return nil
}

// layout writes the whole region so that reads return data, discards free
// real blocks and prefilled writes overwrite allocated ones, then makes it
// durable so the load starts from a clean disk.
func (n *Neighbor) layout(region int64) error {
	bs := n.spec.BS
	chunk := max(1, layoutChunk/bs) * bs
	buf, free := n.alloc(int(chunk))
	if free != nil {
		defer free()
	}
	fillRandom(buf, 2)
	for off := int64(0); off < region; off += chunk {
		l := min(chunk, region-off)
		if _, err := n.f.WriteAt(buf[:l], off); err != nil {
			return fmt.Errorf("laying out %s: %w", n.path, err)
		}
	}
	if err := n.f.Fdatasync(); err != nil {
		return fmt.Errorf("laying out %s: %w", n.path, err)
	}
	return nil
}

// probeDiscard discards the first block, so an unsupported discard fails
// Start with a clear error instead of counting errors; the sequential
// cursor then starts at the second block.
func (n *Neighbor) probeDiscard() error {
	if err := n.discard(0, n.spec.BS); err != nil {
		if errors.Is(err, vfs.ErrNotSupported) {
			return fmt.Errorf("trim is not supported on %s: %w", n.path, err)
		}
		return fmt.Errorf("trim %s: %w", n.path, err)
	}
	n.cursor.Store(1)
	return nil
}

func (n *Neighbor) discard(off, length int64) error {
	if n.opt.discard != nil {
		return n.opt.discard(n.f, off, length)
	}
	if n.isDevice {
		return blkDiscard(n.f, off, length)
	}
	return punchHole(n.f, off, length)
}

// alloc returns an I/O buffer and, for a huge-page one, the function that
// unmaps it (nil otherwise). Direct I/O buffers are aligned; those of
// hugeBufMin or more sit in a huge page unless the neighbour's numjobs+1 of them
// (the workers' and the layout's) would then take more than maxBuffers.
func (n *Neighbor) alloc(size int) (buf []byte, free func() error) {
	if !n.spec.Direct {
		return make([]byte, size), nil
	}
	pages := int64(size+vfs.HugePageSize-1) / vfs.HugePageSize
	if size >= hugeBufMin && int64(n.spec.NumJobs+1)*pages*vfs.HugePageSize <= maxBuffers {
		if b, unmap, err := vfs.HugeAlignedBlock(size); err == nil {
			return b, unmap
		}
	}
	return vfs.AlignedBlock(size), nil
}

// fillRandom fills b with seeded pseudo-random bytes: devices and VMs that
// compress or deduplicate zeros would otherwise flatter the neighbour.
func fillRandom(b []byte, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x6e656967))
	for i := 0; i < len(b); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

// worker is one synchronous I/O stream. Like a fio job it has its own
// buffer: O_DIRECT pins the buffer's pages for each operation, and workers
// sharing one page would contend on it.
type worker struct {
	rng *rand.Rand
	buf []byte
	// f is the worker's timed view of the target; the worker is its
	// observer and sums the durations of an operation's calls in took.
	f     vfs.File
	took  time.Duration
	sl    sleeper
	count int // operations since start, for sync-every
	// yield keeps the worker's P (an unthrottled worker never waits in
	// Go; see package syscallloop).
	yield syscallloop.Yielder
	// Sequential kinds: each worker streams through its own slice of the
	// region, blocks [base, base+span), as fio's numjobs=N jobs with
	// offset_increment do. NB: one stream shared by N workers is another
	// load altogether: its in-flight neighbouring blocks merge into huge
	// requests that an elevator serves in sector order, starving every
	// other writer, etcd's WAL fdatasyncs among them.
	base, span, seq int64
}

func (n *Neighbor) newWorker(i int) *worker {
	w := &worker{
		rng: rand.New(rand.NewPCG(uint64(i)+1, 0x6e6569676862)),
		sl:  sleeper{clock: n.opt.Clock},
	}
	var free func() error
	if w.buf, free = n.alloc(int(n.spec.BS)); free != nil {
		n.frees = append(n.frees, free)
	}
	fillRandom(w.buf, uint64(i)+1)
	w.f = vfs.TimedFile(n.f, w, timedKinds...)
	w.span = max(1, n.blocks/int64(n.spec.NumJobs))
	w.base = int64(i) * w.span % max(1, n.blocks)
	return w
}

// timedKinds are the File operations of a worker (its discards are timed
// with vfs.Time).
var timedKinds = []vfs.OpKind{vfs.OpWriteAt, vfs.OpReadAt, vfs.OpFsync}

// Begin and Done make the worker the vfs.Observer of its view of the target.
func (w *worker) Begin(vfs.OpKind, time.Time)                 {}
func (w *worker) Done(_ vfs.OpKind, d time.Duration, _ error) { w.took += d }

func (n *Neighbor) run(w *worker) {
	for n.step(w) {
	}
}

// step is one iteration of a worker: wait for the schedule and the rate
// limiter, then issue one operation. It returns false when the neighbour is
// stopping. It allocates nothing (a test checks).
func (n *Neighbor) step(w *worker) bool {
	if n.ctx.Err() != nil {
		return false
	}
	// NB: one clock read per step (two with a rate limit); the
	// operation's own latency is timed by the file's vfs.Timed.
	now := n.now()
	if d := n.sched.wait(now.Sub(n.t0)); d > 0 {
		return w.sl.sleep(n.ctx, d)
	}
	if n.lim != nil {
		if !w.sl.sleep(n.ctx, n.lim.ReserveN(now, n.tokens).DelayFrom(now)) {
			return false
		}
		if now = n.now(); n.sched.wait(now.Sub(n.t0)) > 0 {
			// The wait crossed into an off phase: drop this operation.
			return true
		}
	}
	w.took = 0
	err := n.op(w)
	if err != nil {
		n.fail(err)
		return w.sl.sleep(n.ctx, errBackoff)
	}
	n.ops.Add(1)
	n.bytes.Add(n.spec.BS)
	if n.opt.Observe != nil {
		n.opt.Observe(w.took)
	}
	w.yield.Maybe(now)
	return true
}

// op issues one operation (and its fsync when sync-every says so).
func (n *Neighbor) op(w *worker) error {
	s := &n.spec
	var err error
	switch s.Kind {
	case RandWrite:
		_, err = w.f.WriteAt(w.buf, w.rng.Int64N(n.blocks)*s.BS)
	case RandRead:
		_, err = w.f.ReadAt(w.buf, w.rng.Int64N(n.blocks)*s.BS)
	case SeqRead:
		_, err = w.f.ReadAt(w.buf, w.nextSeq()*s.BS)
	case SeqWrite:
		_, err = w.f.WriteAt(w.buf, w.nextSeq()*s.BS)
	case Trim:
		idx := n.cursor.Add(1) - 1
		off := idx % n.blocks * s.BS
		if idx >= n.blocks {
			// The block was discarded on an earlier pass: give it
			// data again so this discard frees real blocks.
			if _, err = w.f.WriteAt(w.buf, off); err != nil {
				return err
			}
		}
		err = vfs.Time(w, vfs.OpDiscard, func() error { return n.discard(off, s.BS) })
	default: // Fsync, Writeback: appends, one stream
		idx := n.cursor.Add(1) - 1
		_, err = w.f.WriteAt(w.buf, idx%n.blocks*s.BS)
	}
	if err != nil {
		return err
	}
	w.count++
	if s.SyncEvery > 0 && w.count%s.SyncEvery == 0 {
		return w.f.Fsync()
	}
	return nil
}

// nextSeq is the next block of the worker's own sequential stream.
func (w *worker) nextSeq() int64 {
	b := w.base + w.seq%w.span
	w.seq++
	return b
}

func (n *Neighbor) fail(err error) {
	n.errs.Add(1)
	n.mu.Lock()
	if n.firstErr == nil {
		n.firstErr = err
	}
	n.lastErr = err.Error()
	n.mu.Unlock()
}

// Active reports whether the neighbour is in an on phase: started, past its
// start delay, not in an off phase, not stopped.
func (n *Neighbor) Active() bool {
	if n.stopped.Load() || n.ctx.Err() != nil {
		return false
	}
	return n.sched.active(n.elapsed())
}

// Stats returns the counters so far.
func (n *Neighbor) Stats() Stats {
	st := Stats{Ops: n.ops.Load(), Bytes: n.bytes.Load(), Errors: n.errs.Load()}
	if n.stopped.Load() {
		st.Elapsed = time.Duration(n.elapsedAtStop.Load())
	} else {
		st.Elapsed = n.elapsed()
	}
	n.mu.Lock()
	st.LastError = n.lastErr
	n.mu.Unlock()
	return st
}

// Stop stops the workers, waits for their operations in flight, closes the
// target and removes the file if the neighbour created it. It returns the
// first I/O error of the run, else the first cleanup error. Calling it
// again returns the same result.
func (n *Neighbor) Stop() error {
	n.stopOnce.Do(func() {
		n.cancel()
		n.wg.Wait()
		n.elapsedAtStop.Store(int64(n.elapsed()))
		n.stopped.Store(true)
		n.mu.Lock()
		err := n.firstErr
		n.mu.Unlock()
		if err != nil {
			err = fmt.Errorf("neighbour %s: %w", n.spec.Kind, err)
		}
		if rerr := n.release(); err == nil {
			err = rerr
		}
		n.stopErr = err
	})
	return n.stopErr
}

// release closes the target, removes the file if we created it and frees
// the workers' buffers (they must have stopped).
func (n *Neighbor) release() error {
	for _, free := range n.frees {
		free() // NB: munmap of our own mapping fails only on a bad address
	}
	n.frees = nil
	err := n.zeroWindows()
	if cerr := n.f.Close(); err == nil {
		err = cerr
	}
	if n.created {
		if rerr := n.fs.Remove(n.path); rerr != nil && err == nil {
			err = rerr
		}
	}
	if err != nil {
		return fmt.Errorf("neighbour %s: cleanup: %w", n.spec.Kind, err)
	}
	return nil
}
