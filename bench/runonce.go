package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/etcdisk/etcdisk/bench/guard"
	"github.com/etcdisk/etcdisk/bench/livesafe"
	"github.com/etcdisk/etcdisk/bench/neighbor"
	"github.com/etcdisk/etcdisk/report"
	"github.com/etcdisk/etcdisk/wal/vfs"
)

// ErrInterrupted is returned (with the partial result) when ctx was
// cancelled before the run completed, e.g. by SIGINT.
var ErrInterrupted = errors.New("interrupted")

// runOnce is one run: set up, measure (warm-up and the measured phase),
// stop and collect, judge.
func runOnce(ctx context.Context, cfg Plan) (*report.Result, error) {
	r, err := setUp(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer r.release()
	res, runErr := drive(ctx, cfg, r.rec, r.wl, r.nset, r.log)
	col, runErr := r.stopAndCollect(res, runErr)
	return r.result(res, col, runErr)
}

// hungCleanupGrace bounds closing and removing files after a hang.
const hungCleanupGrace = 300 * time.Millisecond

// runner is one run's parts: what runOnce sets up, drives, and then stops,
// collects and cleans up.
type runner struct {
	cfg   Plan
	log   io.Writer
	tg    *runTarget
	rec   *recorder
	live  *livesafe.Watcher // live-safe mode's watcher, else nil
	wl    workload
	specs []neighbor.Spec
	nset  *neighborSet

	restoreProcs func() // undoes the GOMAXPROCS raise for neighbours
	// cleanupGrace bounds removing the run's files (shorter after a hang).
	cleanupGrace time.Duration
	leftovers    []string // warnings about what could not be removed
}

// collected is what the stop part gathered for the result.
type collected struct {
	counts    counts
	neighbors []report.Neighbor
	writeback writebackCheck
}

// setUp opens the run's target and recorder, starts live-safe's watcher
// (the load's gate), sets up the load and starts the neighbours. On error
// it undoes what it did.
func setUp(ctx context.Context, cfg Plan) (_ *runner, err error) {
	r := &runner{cfg: cfg, log: logOf(cfg), cleanupGrace: 10 * time.Second}
	fsys := cfg.FS
	if fsys == nil {
		fsys = vfs.Default
	}
	if r.tg, err = openTarget(cfg, fsys, r.log); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			r.release()
		}
	}()
	r.rec = newRecorder(cfg.StallThreshold, r.log)
	env := loadEnv{fs: r.tg.fsys, dir: r.tg.dir, rec: r.rec}
	if cfg.EtcdMetrics != "" {
		if r.live, err = startLiveSafe(ctx, cfg, r.rec, r.log); err != nil {
			r.cleanup()
			return nil, err
		}
		env.gate = r.live
	}
	if r.wl, err = newWorkload(cfg, env); err != nil {
		r.cleanup()
		return nil, fmt.Errorf("cannot set up the %s workload in %s: %w", cfg.Workload, cfg.Dir, err)
	}
	// Neighbours write through the run's file system, not the target's
	// (O_DIRECT, a raw device): each names its own place.
	if err = r.startNeighbors(ctx, fsys); err != nil {
		r.wl.close()
		r.cleanup()
		return nil, err
	}
	return r, nil
}

// newWorkload sets up the load cfg asks for, in env.
func newWorkload(cfg Plan, env loadEnv) (workload, error) {
	if cfg.Workload == WorkloadFio {
		return newFioLoad(cfg, env)
	}
	switch cfg.Mode {
	case ModeRequestPath:
		return newRequestPath(cfg, env)
	case ModeOpenLoop:
		return newOpenLoop(cfg, env)
	}
	return newClosedLoop(cfg, env)
}

// startNeighbors declares the neighbours' metrics and starts them.
func (r *runner) startNeighbors(ctx context.Context, fsys vfs.FS) error {
	cfg := r.cfg
	r.specs = cfg.Neighbors
	r.nset = declareNeighbors(r.specs, r.rec)
	r.nset.guard = guard.Gate{DestroyData: cfg.DestroyData, Log: r.log}
	if w := r.nset.workers(); w > 0 {
		// NB: neighbour workers share the Go scheduler with the WAL
		// goroutine; with a P for each of them, the WAL never waits for a
		// P when its fdatasync returns, as etcd (a separate process) would
		// not wait for the neighbour.
		if procs := max(runtime.NumCPU(), w+4); procs > runtime.GOMAXPROCS(0) {
			prev := runtime.GOMAXPROCS(procs)
			r.restoreProcs = func() { runtime.GOMAXPROCS(prev) }
		}
	}
	nbDir := r.tg.dir
	if cfg.Device != "" {
		nbDir = cfg.Dir // every neighbour names its own dir= or device=
	}
	stale, err := r.nset.start(ctx, fsys, nbDir, cfg)
	r.tg.stale = append(r.tg.stale, stale...)
	return err
}

// release undoes what outlives the run's files: GOMAXPROCS, the watcher,
// the target.
func (r *runner) release() {
	if r.restoreProcs != nil {
		r.restoreProcs()
	}
	if r.live != nil {
		r.live.Stop()
	}
	r.tg.close()
}

// cleanup removes what the run wrote in its target, or keeps the run
// folder (--keep), and logs what it could not remove.
func (r *runner) cleanup() {
	cfg, log, tg := r.cfg, r.log, r.tg
	if cfg.Keep && cfg.Device == "" {
		if err := tg.keep(); err != nil {
			fmt.Fprintf(log, "etcdisk: cannot mark %s as kept: %v\n", tg.dir, err)
		}
		fmt.Fprintf(log, "etcdisk: kept %s\n", tg.dir)
		return
	}
	err, finished := bounded(r.cleanupGrace, tg.remove)
	switch {
	case !finished:
		r.leftovers = append(r.leftovers, tg.notRemoved(nil))
	case err != nil:
		r.leftovers = append(r.leftovers, tg.notRemoved(err))
	}
	for _, l := range r.leftovers {
		fmt.Fprintf(log, "etcdisk: %s\n", l)
	}
}

// stopAndCollect stops the load and the neighbours, counts what the load
// did, and cleans up. A close error becomes the run's error when the run
// had none.
func (r *runner) stopAndCollect(res *report.Result, runErr error) (collected, error) {
	col := collected{writeback: r.nset.endWriteback()}
	if r.live != nil {
		res.Warnings = append(res.Warnings, "live-safe mode: the load paused whenever the live member's WAL fsync p99 rose past the target; the measured latencies include the live member's own load")
	}
	var (
		mu        sync.Mutex
		neighbors []report.Neighbor
		closeErr  error
	)
	stopAll := func() error {
		nb, nerr := r.nset.stop()
		cerr := errors.Join(r.wl.close(), nerr)
		mu.Lock()
		neighbors, closeErr = nb, cerr
		mu.Unlock()
		return nil
	}
	if errors.Is(runErr, errHung) {
		// NB: closing a WAL whose fdatasync hangs waits for it: give up
		// quickly and report what was measured.
		r.cleanupGrace = hungCleanupGrace
		if _, finished := bounded(hungCleanupGrace, stopAll); !finished {
			r.leftovers = append(r.leftovers, "files were still open on the hung disk")
		}
	} else {
		stopAll()
	}
	// NB: counted before the run folder goes: the backend's file size is
	// read with stat(2).
	col.counts = r.wl.counts()
	r.cleanup()
	mu.Lock()
	nbs, cerr := neighbors, closeErr
	mu.Unlock()
	col.neighbors = nbs
	if runErr == nil && cerr != nil && !res.Interrupted {
		runErr = cerr
	}
	return col, runErr
}

// result fills res with the run's configuration, counts, metrics and
// warnings, and judges it.
func (r *runner) result(res *report.Result, col collected, runErr error) (*report.Result, error) {
	cfg, rec := r.cfg, r.rec
	res.Schema = report.Schema
	res.Workload = string(cfg.Workload)
	res.Config = echoConfig(cfg)
	if cfg.Workload == WorkloadWAL && cfg.EntrySize == 0 {
		res.Config.EntrySize = DefaultEntrySize()
	}
	res.Environment = r.tg.env
	c := col.counts
	res.Saves, res.Entries, res.BytesWritten, res.Segments = c.saves, c.entries, c.bytes, c.segments
	res.Extra = c.extra
	res.Neighbors = col.neighbors
	res.Warnings = append(res.Warnings, col.writeback.warnings(r.specs, col.neighbors)...)
	var overflow []string
	res.Metrics, overflow = rec.metrics()
	res.Warnings = append(res.Warnings, overflow...)
	rec.mu.Lock()
	res.Intervals = rec.intervals.all()
	res.Stalls = rec.stalls
	rec.mu.Unlock()
	res.Warnings = append(res.Warnings, r.tg.stale...)
	res.Warnings = append(res.Warnings, r.leftovers...)
	report.Judge(res, report.TargetsFor(res))
	switch {
	case runErr != nil && !errors.Is(runErr, ErrInterrupted):
		res.Verdict = report.VerdictError
		res.Error = runErr.Error()
		res.Reason = "the run failed: " + runErr.Error()
	case res.Interrupted:
		runErr = ErrInterrupted
	}
	if r.live != nil {
		res.Pauses = livePauses(r.live, rec.epoch)
	}
	return res, runErr
}

func logOf(cfg Plan) io.Writer {
	if cfg.Log == nil {
		return io.Discard
	}
	return cfg.Log
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
