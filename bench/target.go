package bench

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dustin/go-humanize"

	"github.com/etcdisk/etcdisk/bench/guard"
	"github.com/etcdisk/etcdisk/bench/sysinfo"
	"github.com/etcdisk/etcdisk/internal/runfolder"
	"github.com/etcdisk/etcdisk/report"
	"github.com/etcdisk/etcdisk/wal"
	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/blockdev"
)

// runTarget is where a run writes: its own folder in --dir, or a raw
// device.
type runTarget struct {
	fsys vfs.FS
	dir  string
	env  report.Environment
	// remove undoes what the run left: it removes the run folder, or
	// zeroes what the run wrote in the device's guarded windows.
	remove func() error
	// notRemoved is the warning when remove failed (err) or did not
	// finish (nil).
	notRemoved func(err error) string
	close      func() error
	// keep leaves the run folder in place (--keep).
	keep func() error
	// stale warns of the folders earlier runs left where this one writes.
	stale []string
}

// openTarget checks and prepares the run's target.
func openTarget(cfg Plan, fsys vfs.FS, log io.Writer) (*runTarget, error) {
	if cfg.Device != "" {
		return openDeviceTarget(cfg, log)
	}
	if err := checkDir(cfg); err != nil {
		return nil, err
	}
	tg := &runTarget{fsys: fsys, env: sysinfo.Probe(cfg.Dir, cfg.Version), close: func() error { return nil }}
	if cfg.Direct {
		tg.fsys = blockdev.Direct(fsys, blockdev.DirectOptions{})
	}
	folder, err := runfolder.Create(cfg.Dir, runfolder.NewMarker(runfolder.RoleRun, cfg.Version))
	if err != nil {
		return nil, err
	}
	dir := folder.Path
	tg.dir, tg.remove, tg.keep = dir, folder.Remove, folder.Keep
	tg.stale = staleWarnings(cfg.Dir, folder.Stale)
	tg.notRemoved = func(err error) string {
		if err == nil {
			return fmt.Sprintf("left behind %s: the disk did not answer while removing it; remove it by hand", dir)
		}
		return fmt.Sprintf("could not remove %s: %v", dir, err)
	}
	return tg, nil
}

// openDeviceTarget opens the raw device. Its files live in the device's own
// namespace; what a run leaves is its WAL frames, and those in the guarded
// windows are zeroed so the next run does not refuse the device.
func openDeviceTarget(cfg Plan, log io.Writer) (*runTarget, error) {
	dev, err := openDevice(cfg, log)
	if err != nil {
		return nil, err
	}
	tg := &runTarget{fsys: dev, dir: "/etcdisk-run", env: sysinfo.ProbeDevice(cfg.Device, cfg.Version), close: dev.Close,
		keep: func() error { return nil }}
	tg.remove = func() error {
		return guard.ZeroWindows(dev.Fd(), dev.Size(), int64(dev.Regions())*dev.RegionSize())
	}
	tg.notRemoved = func(err error) string {
		if err == nil {
			err = errors.New("the device did not answer")
		}
		return fmt.Sprintf("could not zero the guarded windows of %s (%v): the next run refuses it until --destroy-data=%s", cfg.Device, err, cfg.Device)
	}
	if err := dev.Mkdir(tg.dir, 0o700); err != nil {
		dev.Close()
		return nil, err
	}
	return tg, nil
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
