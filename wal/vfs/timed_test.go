package vfs_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/errorfs"
	"github.com/etcdisk/etcdisk/wal/vfs/vfstest"
)

// event is one observer call; calls is how many operations the file system
// under the decorator had seen at that moment.
type event struct {
	begin bool
	op    vfs.OpKind
	calls int
	err   error
}

type logObserver struct {
	rec *vfstest.Recorder
	ev  []event
}

func (o *logObserver) Begin(op vfs.OpKind, start time.Time) {
	o.ev = append(o.ev, event{begin: true, op: op, calls: len(o.rec.Ops())})
}

func (o *logObserver) Done(op vfs.OpKind, d time.Duration, err error) {
	o.ev = append(o.ev, event{op: op, calls: len(o.rec.Ops()), err: err})
}

// TestTimedReportsEachOpOnce: every operation of a Timed file system is
// reported exactly once, Begin before the call reaches the file system
// below and Done after it, with the call's error; a directory's fsync is
// told apart from a file's.
func TestTimedReportsEachOpOnce(t *testing.T) {
	rec := vfstest.NewRecorder(vfstest.NopFS{})
	obs := &logObserver{rec: rec}
	fs := vfs.Timed(rec, obs)
	f, _ := fs.OpenFile("f", os.O_RDWR|os.O_CREATE, 0o600)
	d, _ := fs.OpenDir(".")
	buf := make([]byte, 8)
	calls := []struct {
		op vfs.OpKind
		do func() error
	}{
		{vfs.OpMkdir, func() error { return fs.Mkdir("d", 0o700) }},
		{vfs.OpRename, func() error { return fs.Rename("a", "b") }},
		{vfs.OpRemove, func() error { return fs.Remove("a") }},
		{vfs.OpRemoveAll, func() error { return fs.RemoveAll("a") }},
		{vfs.OpStat, func() error { _, err := fs.Stat("a"); return err }},
		{vfs.OpWrite, func() error { _, err := f.Write(buf); return err }},
		{vfs.OpWriteAt, func() error { _, err := f.WriteAt(buf, 8); return err }},
		{vfs.OpReadAt, func() error { _, err := f.ReadAt(buf, 0); return err }},
		{vfs.OpSeek, func() error { _, err := f.Seek(0, 0); return err }},
		{vfs.OpFallocate, func() error { return f.Fallocate(0, 64) }},
		{vfs.OpTruncate, func() error { return f.Truncate(16) }},
		{vfs.OpFdatasync, f.Fdatasync},
		{vfs.OpFsync, f.Fsync},
		{vfs.OpDirFsync, d.Fsync},
		{vfs.OpLock, f.Lock},
		{vfs.OpClose, f.Close},
	}
	if len(obs.ev) != 4 || obs.ev[1].op != vfs.OpOpen || obs.ev[3].op != vfs.OpOpenDir {
		t.Fatalf("opens reported %+v", obs.ev)
	}
	for _, c := range calls {
		obs.ev = obs.ev[:0]
		before := len(rec.Ops())
		err := c.do()
		want := []event{{begin: true, op: c.op, calls: before}, {op: c.op, calls: before + 1, err: err}}
		if len(obs.ev) != 2 || obs.ev[0] != want[0] || obs.ev[1].op != want[1].op ||
			obs.ev[1].calls != want[1].calls || !errors.Is(obs.ev[1].err, err) {
			t.Errorf("%v reported %+v, want %+v", c.op, obs.ev, want)
		}
	}
}

// TestTimedReportsErrorsAndDurations: Done carries the error of the call
// below and its duration.
func TestTimedReportsErrorsAndDurations(t *testing.T) {
	const delay = 5 * time.Millisecond
	inner := errorfs.Wrap(vfstest.NopFS{}, errorfs.OnKind(errorfs.Latency(delay), vfs.OpFdatasync))
	var got time.Duration
	var gotErr error
	obs := funcObserver(func(op vfs.OpKind, d time.Duration, err error) {
		if op == vfs.OpFdatasync {
			got, gotErr = d, err
		}
	})
	f, _ := vfs.Timed(inner, obs).OpenFile("f", os.O_RDWR, 0)
	if err := f.Fdatasync(); err != nil {
		t.Fatal(err)
	}
	if got < delay || gotErr != nil {
		t.Fatalf("fdatasync reported %v, %v; want at least %v, nil", got, gotErr, delay)
	}
	failing := errorfs.Wrap(vfstest.NopFS{}, errorfs.OnKind(errorfs.Error(errorfs.EIO), vfs.OpWrite))
	f = vfs.TimedFile(mustOpen(t, failing), funcObserver(func(op vfs.OpKind, d time.Duration, err error) { gotErr = err }))
	if _, err := f.Write([]byte("x")); err == nil || !errors.Is(gotErr, errorfs.EIO) {
		t.Fatalf("write error %v reported as %v", err, gotErr)
	}
}

func mustOpen(t *testing.T, fs vfs.FS) vfs.File {
	t.Helper()
	f, err := fs.OpenFile("f", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

type funcObserver func(op vfs.OpKind, d time.Duration, err error)

func (funcObserver) Begin(vfs.OpKind, time.Time)                      {}
func (o funcObserver) Done(op vfs.OpKind, d time.Duration, err error) { o(op, d, err) }

type countObserver struct{ begins, dones [vfs.NumOpKinds]int64 }

func (c *countObserver) Begin(op vfs.OpKind, _ time.Time)             { c.begins[op]++ }
func (c *countObserver) Done(op vfs.OpKind, _ time.Duration, _ error) { c.dones[op]++ }

// TestTimedAllocatesNothing: timing an operation allocates nothing.
func TestTimedAllocatesNothing(t *testing.T) {
	obs := &countObserver{}
	fs := vfs.Timed(vfstest.NopFS{}, obs)
	f, _ := fs.OpenFile("f", os.O_RDWR, 0)
	d, _ := fs.OpenDir(".")
	buf := make([]byte, 4096)
	allocs := testing.AllocsPerRun(1000, func() {
		f.Write(buf)
		f.WriteAt(buf, 0)
		f.Fdatasync()
		f.Fsync()
		d.Fsync()
		f.Truncate(0)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per round of timed operations", allocs)
	}
	if obs.dones[vfs.OpFdatasync] != 1001 || obs.begins[vfs.OpDirFsync] != 1001 {
		t.Fatalf("counted %d fdatasyncs, %d directory fsyncs; want 1001 each",
			obs.dones[vfs.OpFdatasync], obs.begins[vfs.OpDirFsync])
	}
}

// TestTimedOnlyGivenKinds: operations of kinds not asked for pass through
// to the file system below without a report.
func TestTimedOnlyGivenKinds(t *testing.T) {
	rec := vfstest.NewRecorder(vfstest.NopFS{})
	obs := &countObserver{}
	f, _ := vfs.Timed(rec, obs, vfs.OpFdatasync, vfs.OpDirFsync).OpenFile("f", os.O_RDWR, 0)
	f.Seek(0, 0)
	f.Write([]byte("x"))
	f.Fdatasync()
	f.Fsync()
	if rec.Count(vfs.OpSeek) != 1 || rec.Count(vfs.OpWrite) != 1 || rec.Count(vfs.OpFsync) != 1 {
		t.Fatalf("operations below: %v", rec.Ops())
	}
	want := countObserver{}
	want.begins[vfs.OpFdatasync], want.dones[vfs.OpFdatasync] = 1, 1
	if *obs != want {
		t.Fatalf("reported %+v, want only the fdatasync", *obs)
	}
}
