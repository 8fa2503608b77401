package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/etcdisk/etcdisk/bench/guard"
	"github.com/etcdisk/etcdisk/bench/livesafe"
	"github.com/etcdisk/etcdisk/bench/sysinfo"
	"github.com/etcdisk/etcdisk/internal/runfolder"
	"github.com/etcdisk/etcdisk/report"
	"github.com/etcdisk/etcdisk/wal"
	"github.com/etcdisk/etcdisk/wal/vfs/blockdev"
)

// ErrInterrupted is returned (with the partial result) when ctx was
// cancelled before the run completed, e.g. by SIGINT.
var ErrInterrupted = errors.New("interrupted")

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
			cfg.Dir, humanize.IBytes(free), humanize.IBytes(need), humanize.IBytes(uint64(cfg.SegmentSize)))
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
	if err := (guard.Gate{DestroyData: cfg.DestroyData, Log: log}).Check(cfg.Device); err != nil {
		return nil, err
	}
	// A WAL keeping K segments needs K+3 regions: the tail, the pre-made
	// next one, and the ones cut between two purges.
	return blockdev.Open(cfg.Device, blockdev.Options{MinRegions: wal.DefaultKeepSegments + 3})
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
