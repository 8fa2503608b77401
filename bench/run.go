package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/etcdisk/etcdisk/bench/guard"
	"github.com/etcdisk/etcdisk/bench/livesafe"
	"github.com/etcdisk/etcdisk/bench/runfolder"
	"github.com/etcdisk/etcdisk/bench/sysinfo"
	"github.com/etcdisk/etcdisk/report"
	"github.com/etcdisk/etcdisk/wal"
	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/blockdev"
)

// ErrInterrupted is returned (with the partial result) when ctx was
// cancelled before the run completed, e.g. by SIGINT.
var ErrInterrupted = errors.New("interrupted")

// hangGrace is how long Run waits for a workload stuck in a system call
// after it was told to stop. A disk that hangs in fdatasync cannot be
// interrupted; the partial result is reported anyway.
const hangGrace = time.Second

// drainGrace bounds the wait for a workload that is not in a system call
// but has not returned yet.
const drainGrace = 30 * time.Second

// hungCleanupGrace bounds closing and removing files after a hang.
const hungCleanupGrace = 300 * time.Millisecond

// RunDirPrefix starts the name of the folder Run creates in Config.Dir.
const RunDirPrefix = runfolder.Prefix

// Run measures cfg.Dir with cfg.Workload and returns the judged result:
// RunPlan of NewPlan(cfg).
func Run(ctx context.Context, cfg Config) (*report.Result, error) {
	p, err := NewPlan(cfg)
	if err != nil {
		return nil, err
	}
	return RunPlan(ctx, p)
}

// RunPlan runs p (with its phases) and returns the judged result.
//
// It creates one folder of its own in p.Dir and removes it before
// returning, also on errors and when ctx is cancelled (unless p.Keep).
// On an I/O error it returns the partial result (verdict "error") and the
// error; when ctx is cancelled it returns the partial result, marked
// interrupted, and ErrInterrupted. Any other error comes with a nil result.
func RunPlan(ctx context.Context, p Plan) (*report.Result, error) {
	switch {
	case p.FindLimit && len(p.Neighbors) == 0:
		return runRateLimit(ctx, p)
	case p.FindLimit:
		return runFindLimit(ctx, p)
	case p.CompareSolo:
		return runCompareSolo(ctx, p)
	}
	return runOnce(ctx, p)
}

func logOf(cfg Plan) io.Writer {
	if cfg.Log == nil {
		return io.Discard
	}
	return cfg.Log
}

// runOnce is one run: set up, warm up, measure, clean up.
func runOnce(ctx context.Context, cfg Plan) (res *report.Result, err error) {
	log := logOf(cfg)
	fsys := cfg.FS
	if fsys == nil {
		fsys = vfs.Default
	}
	neighborFS := fsys
	var leftovers []string
	cleanupGrace := 10 * time.Second
	tg, err := openTarget(cfg, fsys, log)
	if err != nil {
		return nil, err
	}
	defer tg.close()
	fsys, runDir, env := tg.fsys, tg.dir, tg.env
	cleanup := func() {
		if cfg.Keep && cfg.Device == "" {
			if err := tg.keep(); err != nil {
				fmt.Fprintf(log, "etcdisk: cannot mark %s as kept: %v\n", runDir, err)
			}
			fmt.Fprintf(log, "etcdisk: kept %s\n", runDir)
			return
		}
		err, finished := bounded(cleanupGrace, tg.remove)
		switch {
		case !finished:
			leftovers = append(leftovers, tg.notRemoved(nil))
		case err != nil:
			leftovers = append(leftovers, tg.notRemoved(err))
		}
		for _, l := range leftovers {
			fmt.Fprintf(log, "etcdisk: %s\n", l)
		}
	}

	rec := newRecorder(cfg.StallThreshold, log)
	var wl workload
	switch cfg.Workload {
	case WorkloadFio:
		wl, err = newFioLoad(cfg, fsys, runDir, rec)
	default:
		wl, err = newWALLoad(cfg, fsys, runDir, rec)
	}
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("cannot set up the %s workload in %s: %w", cfg.Workload, cfg.Dir, err)
	}

	if cfg.EtcdMetrics != "" {
		w, err := startLiveSafe(ctx, cfg, rec, log)
		if err != nil {
			wl.close()
			cleanup()
			return nil, err
		}
		defer w.Stop()
		switch l := wl.(type) {
		case *walLoad:
			l.gate = w
		case *fioLoad:
			l.gate = w
		}
		defer func() {
			if res != nil {
				res.Pauses = livePauses(w, rec.epoch)
			}
		}()
	}
	specs := cfg.Neighbors
	nset := declareNeighbors(specs, rec)
	nset.check = func(dev string) error { return checkDevice(dev, cfg.DestroyData, log) }
	if w := nset.workers(); w > 0 {
		// NB: neighbour workers share the Go scheduler with the WAL
		// goroutine; with a P for each of them, the WAL never waits for a
		// P when its fdatasync returns, as etcd (a separate process) would
		// not wait for the neighbour.
		if procs := max(runtime.NumCPU(), w+4); procs > runtime.GOMAXPROCS(0) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		}
	}
	nbDir := runDir
	if cfg.Device != "" {
		nbDir = cfg.Dir // every neighbour names its own dir= or device=
	}
	nbStale, err := nset.start(ctx, neighborFS, nbDir, cfg)
	tg.stale = append(tg.stale, nbStale...)
	if err != nil {
		wl.close()
		cleanup()
		return nil, err
	}

	res, runErr := drive(ctx, cfg, rec, wl, nset, log)
	wbc := nset.endWriteback()
	if cfg.EtcdMetrics != "" {
		res.Warnings = append(res.Warnings, "live-safe mode: the load paused whenever the live member's WAL fsync p99 rose past the target; the measured latencies include the live member's own load")
	}
	var (
		mu        sync.Mutex
		neighbors []report.Neighbor
		closeErr  error
	)
	stopAll := func() error {
		nb, nerr := nset.stop()
		cerr := errors.Join(wl.close(), nerr)
		mu.Lock()
		neighbors, closeErr = nb, cerr
		mu.Unlock()
		return nil
	}
	if errors.Is(runErr, errHung) {
		// NB: closing a WAL whose fdatasync hangs waits for it: give up
		// quickly and report what was measured.
		cleanupGrace = hungCleanupGrace
		if _, finished := bounded(hungCleanupGrace, stopAll); !finished {
			leftovers = append(leftovers, "files were still open on the hung disk")
		}
	} else {
		stopAll()
	}
	// NB: counted before the run folder goes: the backend's file size is
	// read with stat(2).
	c := wl.counts()
	cleanup()
	mu.Lock()
	nbs, cerr := neighbors, closeErr
	mu.Unlock()
	if runErr == nil && cerr != nil && !res.Interrupted {
		runErr = cerr
	}

	res.Schema = report.Schema
	res.Workload = string(cfg.Workload)
	res.Config = echoConfig(cfg)
	if cfg.Workload == WorkloadWAL && cfg.EntrySize == 0 {
		res.Config.EntrySize = DefaultEntrySize()
	}
	res.Environment = env
	res.Saves, res.Entries, res.BytesWritten, res.Segments = c.saves, c.entries, c.bytes, c.segments
	res.Extra = c.extra
	res.Neighbors = nbs
	res.Warnings = append(res.Warnings, wbc.warnings(specs, nbs)...)
	var overflow []string
	res.Metrics, overflow = rec.metrics()
	res.Warnings = append(res.Warnings, overflow...)
	rec.mu.Lock()
	res.Intervals = rec.intervals.all()
	res.Stalls = rec.stalls
	rec.mu.Unlock()
	res.Warnings = append(res.Warnings, tg.stale...)
	res.Warnings = append(res.Warnings, leftovers...)
	report.Judge(res, report.TargetsFor(res))
	switch {
	case runErr != nil && !errors.Is(runErr, ErrInterrupted):
		res.Verdict = report.VerdictError
		res.Error = runErr.Error()
		res.Reason = "the run failed: " + runErr.Error()
	case res.Interrupted:
		runErr = ErrInterrupted
	}
	return res, runErr
}

// drive runs the workload through warm-up and the measured phase.
func drive(ctx context.Context, cfg Plan, rec *recorder, wl workload, nset *neighborSet, log io.Writer) (*report.Result, error) {
	res := &report.Result{StartTime: time.Now().UTC()}
	driveStart := time.Now()
	var stop atomic.Bool
	done := make(chan error, 1)
	stopWatch := make(chan struct{})
	go rec.watchdog(stopWatch)
	defer close(stopWatch)

	total := cfg.Warmup + cfg.Duration
	progress := time.NewTicker(time.Second)
	defer progress.Stop()
	fdatasync := rec.series[0]

	// Warm-up: samples are discarded.
	warm := time.NewTimer(cfg.Warmup)
	defer warm.Stop()
	var err error
	finished := false
	warming := cfg.Warmup > 0
	var end <-chan time.Time
	var measStart, stopAt time.Time
	second := 0
	var tick *time.Ticker
	var tickC <-chan time.Time
	startMeasured := func() {
		measStart = time.Now()
		if warming {
			rec.startMeasuring(measStart)
		}
		warming = false
		if cfg.Duration > 0 {
			end = time.After(cfg.Duration)
		}
		tick = time.NewTicker(time.Second)
		tickC = tick.C
	}
	if !warming {
		rec.startMeasuring(time.Now())
		startMeasured()
	}
	// NB: the workload starts after measuring did (without a warm-up), so
	// its first operation is counted.
	go func() { done <- wl.run(ctx, &stop) }()
	for !finished {
		select {
		case <-warm.C:
			if warming {
				startMeasured()
			}
		case <-tickC:
			rec.roll(second, nset.active())
			second++
		case <-progress.C:
			if cfg.Progress != nil {
				_, p50, p99 := fdatasync.snapshot()
				cfg.Progress(Progress{
					Elapsed: time.Since(rec.epoch), Total: total, Warmup: warming,
					Saves: wl.counts().saves, P50: p50, P99: p99, Stalls: int(rec.stallN.Load()),
				})
			}
		case <-end:
			stopAt = time.Now()
			stop.Store(true)
			err = waitStopped(done, rec, log)
			finished = true
		case err = <-done:
			finished = true
		case <-ctx.Done():
			stopAt = time.Now()
			stop.Store(true)
			res.Interrupted = true
			err = waitStopped(done, rec, log)
			finished = true
		}
	}
	now := time.Now()
	if tick != nil {
		tick.Stop()
	}
	if measStart.IsZero() {
		measStart = now
	}
	// Proposals due by the stop and not durable count as pending then
	// (arrivals after it were never made: the load had stopped).
	if stopAt.IsZero() {
		stopAt = now
	}
	if p, ok := wl.(interface{ flushPending(time.Duration) }); ok {
		p.flushPending(stopAt.Sub(rec.epoch))
	}
	// NB: what happens after this (closing the WAL syncs it) is not part
	// of the measurement, and the interval series must sum to the totals.
	rec.finish(now, second, now.Sub(measStart)-time.Duration(second)*time.Second, nset.active())
	res.DurationNs = int64(now.Sub(measStart))
	res.WarmupNs = int64(measStart.Sub(driveStart))
	return res, err
}

// waitStopped waits, for a bounded time, for the workload to return after
// it was told to stop. When it does not, it says what is stuck and that
// the process cannot exit before the kernel returns the call.
func waitStopped(done <-chan error, rec *recorder, log io.Writer) error {
	// NB: a workload with no system call in flight is draining (the
	// request path answers its queued proposals), not hung: it gets
	// drainGrace. One stuck in a system call gets hangGrace.
	deadline := time.Now().Add(drainGrace)
	for {
		select {
		case err := <-done:
			return err
		case <-time.After(hangGrace):
		}
		if stuck := rec.inFlight(time.Now()); stuck != "" {
			fmt.Fprintf(log, "etcdisk: the disk did not return within %s of the stop (%s); reporting what was measured, the stuck operation counted with its age\n", hangGrace, stuck)
			fmt.Fprintf(log, "etcdisk: a process in an uninterruptible fdatasync cannot exit until the kernel returns it: etcdisk exits when the disk answers, not even kill -9 ends it sooner\n")
			return errHung
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(log, "etcdisk: the workload did not stop within %s; reporting what was measured\n", drainGrace)
			return errHung
		}
	}
}

// errHung: the workload did not return from a system call in time.
var errHung = errors.New("the disk hung in a system call and did not return")

// bounded runs f, waiting at most d for it. A disk hung in fdatasync also
// hangs closing and removing files on it; the run must still end.
func bounded(d time.Duration, f func() error) (err error, finished bool) {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err, true
	case <-time.After(d):
		return nil, false
	}
}

// checkDir refuses targets whose results would be meaningless or that
// cannot hold the run, each with one clear line.
func checkDir(cfg Plan) error {
	st, err := os.Stat(cfg.Dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("directory %s does not exist", cfg.Dir)
		}
		return fmt.Errorf("cannot use %s: %w", cfg.Dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", cfg.Dir)
	}
	if err := sysinfo.CheckTarget(cfg.Dir); err != nil {
		return err
	}
	need := requiredSpace(cfg)
	free, err := sysinfo.FreeBytes(cfg.Dir)
	if err == nil && free < need {
		return fmt.Errorf("%s has %s free, the run needs %s (WAL segments are %s each)",
			cfg.Dir, humanBytes(free), humanBytes(need), humanBytes(uint64(cfg.SegmentSize)))
	}
	if err := checkWritable(cfg.Dir); err != nil {
		return err
	}
	return nil
}

func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".etcdisk-probe-*")
	if err != nil {
		return fmt.Errorf("cannot write to %s: %w", dir, unwrapPath(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// requiredSpace: the WAL keeps the live segment, the pipeline's next one and
// the ones not purged yet; fio's recipe needs its 22 MiB file.
func requiredSpace(cfg Plan) uint64 {
	if cfg.Workload == WorkloadFio {
		return FioFileSize + 16<<20
	}
	return uint64(4*cfg.SegmentSize) + 64<<20
}

func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// echoConfig is the plan as the report records it: the specs as their
// String(), the mode as decided.
func echoConfig(p Plan) report.Config {
	dir, _ := filepath.Abs(p.Dir)
	c := report.Config{
		Dir:                dir,
		Device:             p.Device,
		Workload:           string(p.Workload),
		DurationNs:         int64(p.Duration),
		Ops:                p.Ops,
		Rate:               p.Rate,
		Mode:               string(p.Mode),
		Load:               p.Load,
		Clients:            p.Clients,
		EntrySize:          p.EntrySize,
		ValueSize:          p.ValueSize.String(),
		KeySize:            p.KeySize,
		Request:            string(p.Request),
		Batch:              p.Batch,
		Backend:            p.Backend,
		GRPC:               p.Mode == ModeRequestPath,
		Direct:             p.Direct,
		SegmentSize:        p.SegmentSize,
		EtcdMetrics:        livesafe.Redact(p.EtcdMetrics),
		P99TargetNs:        int64(p.P99Target),
		BackendP99TargetNs: int64(p.BackendP99Target),
		WarmupNs:           int64(p.Warmup),
	}
	for _, sp := range p.askedNeighbors() {
		c.Neighbors = append(c.Neighbors, sp.String())
	}
	if p.Scenario != nil {
		c.Scenario = p.Scenario.Name
	}
	return c
}

// openDevice checks a raw device with the data guard and opens it. The
// guard's refusal is one line that says what was found.
func openDevice(cfg Plan, log io.Writer) (*blockdev.Device, error) {
	if err := checkDevice(cfg.Device, cfg.DestroyData, log); err != nil {
		return nil, err
	}
	// A WAL keeping K segments needs K+3 regions: the tail, the pre-made
	// next one, and the ones cut between two purges.
	return blockdev.Open(cfg.Device, blockdev.Options{MinRegions: wal.DefaultKeepSegments + 3})
}

// checkDevice runs the data guard on a device the run writes (--device or
// a neighbour's device=), with the --destroy-data value that names it, and
// says so when it overwrites data as asked.
func checkDevice(dev string, destroyData []string, log io.Writer) error {
	f, err := guard.Check(dev, guard.Consent(dev, destroyData))
	if err != nil {
		return err
	}
	if f.HasData() {
		fmt.Fprintf(log, "etcdisk: overwriting %s as asked (--destroy-data): %s\n", dev, strings.Join(f.Lines(), "; "))
	}
	return nil
}

// startLiveSafe watches a live member's metrics (live-safe mode).
func startLiveSafe(ctx context.Context, cfg Plan, rec *recorder, log io.Writer) (*livesafe.Watcher, error) {
	return livesafe.Watch(ctx, livesafe.Config{
		URL:       cfg.EtcdMetrics,
		Threshold: cfg.P99Target,
		OnChange: func(paused bool, s livesafe.Sample) {
			if paused {
				fmt.Fprintf(log, "etcdisk: live-safe: pausing the load: the live member's WAL fsync p99 is %s (target %s)\n",
					report.FormatDuration(s.P99), report.FormatDuration(cfg.P99Target))
			} else {
				fmt.Fprintf(log, "etcdisk: live-safe: resuming: the live member's WAL fsync p99 is %s\n", report.FormatDuration(s.P99))
			}
		},
	})
}

func livePauses(w *livesafe.Watcher, epoch time.Time) []report.Pause {
	var out []report.Pause
	for _, p := range w.Pauses() {
		end := p.End
		if end.IsZero() {
			end = time.Now()
		}
		out = append(out, report.Pause{
			AtNs:       int64(p.Start.Sub(epoch)),
			DurationNs: int64(end.Sub(p.Start)),
			P99Ns:      int64(p.P99),
			Reason:     p.Reason,
		})
	}
	return out
}
