package bench

import (
	"errors"
	"fmt"
	"io"

	"github.com/etcdisk/etcdisk/bench/guard"
	"github.com/etcdisk/etcdisk/bench/sysinfo"
	"github.com/etcdisk/etcdisk/internal/runfolder"
	"github.com/etcdisk/etcdisk/report"
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
