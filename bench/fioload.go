package bench

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/etcdisk/etcdisk/bench/pace"
	"github.com/etcdisk/etcdisk/internal/syscallloop"
	"github.com/etcdisk/etcdisk/report"
	"github.com/etcdisk/etcdisk/wal/vfs"
)

// fioLoad does what fio's recipe does, system call for system call:
//
//	fio --rw=write --ioengine=sync --fdatasync=1 --directory=DIR --size=22m --bs=2300 --name=NAME
//
// fio lays the file out first (unlink, open O_WRONLY|O_CREAT 0644,
// fallocate(fd, 0, 0, 22 MiB), close), then its job opens it O_RDWR|O_CREAT
// and issues write(2) of 2300 bytes followed by fdatasync(2), sequentially,
// until the 22 MiB are written: 10,029 writes (the partial last block is not
// written). With a duration or an op count etcdisk wraps round to the start
// of the file as fio's time_based does.
type fioLoad struct {
	cfg  Plan
	fs   vfs.FS
	rec  *recorder
	path string
	f    vfs.File
	buf  []byte

	obs          fioObserver
	saves, bytes atomic.Int64
	gate         pace.Gate
}

const fioFileName = "etcdisk-fio.0.0" // fio names files <job>.<job number>.<file number>

func newFioLoad(cfg Plan, env loadEnv) (*fioLoad, error) {
	fsys, rec := env.fs, env.rec
	l := &fioLoad{
		cfg:  cfg,
		fs:   fsys,
		rec:  rec,
		gate: env.gate,
		path: filepath.Join(env.dir, fioFileName),
		buf:  make([]byte, FioBlockSize),
		obs: fioObserver{
			fdatasync: rec.metric(report.MetricWALFdatasync, true),
			// fio has no WAL records: its write(2) is a flush write.
			write: rec.metric(report.MetricWALFlushWrite, false),
		},
	}
	// fio fills its buffers with random data (refill_buffers off: once).
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range l.buf {
		l.buf[i] = byte(rng.Uint32())
	}
	// Lay out, as fio's extend_file: unlink, create, fallocate, close.
	if err := fsys.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	f, err := fsys.OpenFile(l.path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := f.Fallocate(0, FioFileSize); err != nil && !errors.Is(err, vfs.ErrNotSupported) {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	f, err = fsys.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	l.f = vfs.TimedFile(f, &l.obs, vfs.OpWrite, vfs.OpFdatasync)
	return l, nil
}

// fioObserver maps the timed operations of fio's job file to metrics: each
// fdatasync is wal_fdatasync (watched in flight), each write(2)
// wal_flush_write. end is when the last fdatasync returned, read by the
// loop for its yields.
type fioObserver struct {
	fdatasync, write *series
	start, end       time.Time
}

func (o *fioObserver) Begin(op vfs.OpKind, t time.Time) {
	if op == vfs.OpFdatasync {
		o.start = t
		o.fdatasync.begin(t)
	}
}

func (o *fioObserver) Done(op vfs.OpKind, d time.Duration, _ error) {
	switch op {
	case vfs.OpFdatasync:
		o.end = o.start.Add(d)
		o.fdatasync.done(d)
	case vfs.OpWrite:
		o.write.record(d)
	}
}

// blocks is how many whole blocks fio writes per pass.
const fioBlocks = FioFileSize / FioBlockSize

func (l *fioLoad) run(ctx context.Context, stop *atomic.Bool) error {
	onePass := l.cfg.OnePass
	var n int64                   // writes since the start of the run (warm-up included)
	var yield syscallloop.Yielder // this loop never waits in Go
	for !stop.Load() && ctx.Err() == nil {
		if pace.WaitGate(ctx, stop, l.gate) {
			continue
		}
		if l.cfg.Ops > 0 && l.saves.Load() >= l.cfg.Ops {
			return nil
		}
		if n > 0 && n%fioBlocks == 0 {
			if onePass {
				return nil
			}
			// time_based: back to the start of the file.
			if _, err := l.f.Seek(0, io.SeekStart); err != nil {
				return err
			}
		}
		if _, err := l.f.Write(l.buf); err != nil {
			return err
		}
		if err := l.f.Fdatasync(); err != nil {
			return err
		}
		yield.Maybe(l.obs.end)
		n++
		if l.rec.measuring.Load() {
			l.saves.Add(1)
			l.bytes.Add(FioBlockSize)
		}
	}
	return nil
}

// flushPending: fio's recipe has no proposals.
func (l *fioLoad) flushPending(time.Duration) {}

func (l *fioLoad) close() error { return l.f.Close() }

func (l *fioLoad) saveCount() int64 { return l.saves.Load() }

func (l *fioLoad) counts() counts {
	return counts{saves: l.saves.Load(), bytes: l.bytes.Load()}
}
