package vfs

import (
	"os"
	"time"
)

// Observer receives the timing of every operation of a Timed file system,
// taken with the monotonic clock right around the call. Begin comes just
// before the call (so a watchdog can see it in flight), Done just after,
// once each per operation. Implementations must not allocate and must be
// safe for concurrent use by every goroutine that uses the files.
type Observer interface {
	Begin(op OpKind, start time.Time)
	Done(op OpKind, d time.Duration, err error)
}

// Timed returns fs with its operations of the given kinds (every FS and
// File operation but Name and Fd when no kind is given) timed and reported
// to obs: the one place where etcdisk's loads time their disk operations.
// Operations of other kinds pass through untimed, so a load pays no clock
// reads for what it does not measure. Only opening a file allocates (its
// wrapper).
func Timed(fs FS, obs Observer, kinds ...OpKind) FS {
	if fs == nil {
		fs = Default
	}
	return &timedFS{fs: fs, obs: obs, set: setOf(kinds)}
}

// TimedFile returns f with its operations of the given kinds (all when none
// is given) timed and reported to obs, for a file opened elsewhere (several
// goroutines sharing one file may each time it with an observer of their
// own).
func TimedFile(f File, obs Observer, kinds ...OpKind) File {
	return &timedFile{f: f, obs: obs, set: setOf(kinds), sync: OpFsync}
}

// kindSet is a set of OpKinds, one bit each.
type kindSet uint32

// Every kind must fit a kindSet (this fails to compile otherwise).
var _ [32 - NumOpKinds]struct{}

func setOf(kinds []OpKind) kindSet {
	if len(kinds) == 0 {
		return 1<<NumOpKinds - 1
	}
	var s kindSet
	for _, k := range kinds {
		s |= 1 << k
	}
	return s
}

func (s kindSet) has(k OpKind) bool { return s&(1<<k) != 0 }

type timedFS struct {
	fs  FS
	obs Observer
	set kindSet
}

// begin reads the clock and reports op in flight. NB: Begin's own cost is
// inside the measured duration: observers must keep it to a store.
func begin(obs Observer, op OpKind) time.Time {
	start := time.Now()
	obs.Begin(op, start)
	return start
}

func (t *timedFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	var start time.Time
	if t.set.has(OpOpen) {
		start = begin(t.obs, OpOpen)
	}
	f, err := t.fs.OpenFile(name, flag, perm)
	if t.set.has(OpOpen) {
		t.obs.Done(OpOpen, time.Since(start), err)
	}
	return t.wrap(f, err, OpFsync)
}

func (t *timedFS) OpenDir(name string) (File, error) {
	var start time.Time
	if t.set.has(OpOpenDir) {
		start = begin(t.obs, OpOpenDir)
	}
	f, err := t.fs.OpenDir(name)
	if t.set.has(OpOpenDir) {
		t.obs.Done(OpOpenDir, time.Since(start), err)
	}
	return t.wrap(f, err, OpDirFsync)
}

// wrap times the file just opened; sync is what its Fsync reports.
func (t *timedFS) wrap(f File, err error, sync OpKind) (File, error) {
	if err != nil {
		return nil, err
	}
	return &timedFile{f: f, obs: t.obs, set: t.set, sync: sync}, nil
}

func (t *timedFS) Mkdir(name string, perm os.FileMode) error {
	if !t.set.has(OpMkdir) {
		return t.fs.Mkdir(name, perm)
	}
	start := begin(t.obs, OpMkdir)
	err := t.fs.Mkdir(name, perm)
	t.obs.Done(OpMkdir, time.Since(start), err)
	return err
}

func (t *timedFS) Rename(oldname, newname string) error {
	if !t.set.has(OpRename) {
		return t.fs.Rename(oldname, newname)
	}
	start := begin(t.obs, OpRename)
	err := t.fs.Rename(oldname, newname)
	t.obs.Done(OpRename, time.Since(start), err)
	return err
}

func (t *timedFS) Remove(name string) error {
	if !t.set.has(OpRemove) {
		return t.fs.Remove(name)
	}
	start := begin(t.obs, OpRemove)
	err := t.fs.Remove(name)
	t.obs.Done(OpRemove, time.Since(start), err)
	return err
}

func (t *timedFS) RemoveAll(name string) error {
	if !t.set.has(OpRemoveAll) {
		return t.fs.RemoveAll(name)
	}
	start := begin(t.obs, OpRemoveAll)
	err := t.fs.RemoveAll(name)
	t.obs.Done(OpRemoveAll, time.Since(start), err)
	return err
}

func (t *timedFS) Stat(name string) (os.FileInfo, error) {
	if !t.set.has(OpStat) {
		return t.fs.Stat(name)
	}
	start := begin(t.obs, OpStat)
	fi, err := t.fs.Stat(name)
	t.obs.Done(OpStat, time.Since(start), err)
	return fi, err
}

// Time times fn, a disk operation of kind op that is not an FS or File
// method (a discard through a file's descriptor), and reports it to obs as
// a Timed file would.
func Time(obs Observer, op OpKind, fn func() error) error {
	start := begin(obs, op)
	err := fn()
	obs.Done(op, time.Since(start), err)
	return err
}

// timedFile times each call of f; sync is the kind its Fsync reports
// (OpDirFsync for a directory).
type timedFile struct {
	f    File
	obs  Observer
	set  kindSet
	sync OpKind
}

// do times one call that returns only an error. fn is a method value of
// the wrapped interface bound before the call; it does not escape, so
// it is not allocated.
func (t *timedFile) do(op OpKind, fn func() error) error {
	if !t.set.has(op) {
		return fn()
	}
	return Time(t.obs, op, fn)
}

func (t *timedFile) Write(p []byte) (int, error) {
	if !t.set.has(OpWrite) {
		return t.f.Write(p)
	}
	start := begin(t.obs, OpWrite)
	n, err := t.f.Write(p)
	t.obs.Done(OpWrite, time.Since(start), err)
	return n, err
}

func (t *timedFile) WriteAt(p []byte, off int64) (int, error) {
	if !t.set.has(OpWriteAt) {
		return t.f.WriteAt(p, off)
	}
	start := begin(t.obs, OpWriteAt)
	n, err := t.f.WriteAt(p, off)
	t.obs.Done(OpWriteAt, time.Since(start), err)
	return n, err
}

func (t *timedFile) ReadAt(p []byte, off int64) (int, error) {
	if !t.set.has(OpReadAt) {
		return t.f.ReadAt(p, off)
	}
	start := begin(t.obs, OpReadAt)
	n, err := t.f.ReadAt(p, off)
	t.obs.Done(OpReadAt, time.Since(start), err)
	return n, err
}

func (t *timedFile) Seek(offset int64, whence int) (int64, error) {
	if !t.set.has(OpSeek) {
		return t.f.Seek(offset, whence)
	}
	start := begin(t.obs, OpSeek)
	n, err := t.f.Seek(offset, whence)
	t.obs.Done(OpSeek, time.Since(start), err)
	return n, err
}

func (t *timedFile) Fallocate(off, length int64) error {
	if !t.set.has(OpFallocate) {
		return t.f.Fallocate(off, length)
	}
	start := begin(t.obs, OpFallocate)
	err := t.f.Fallocate(off, length)
	t.obs.Done(OpFallocate, time.Since(start), err)
	return err
}

func (t *timedFile) Truncate(size int64) error {
	if !t.set.has(OpTruncate) {
		return t.f.Truncate(size)
	}
	start := begin(t.obs, OpTruncate)
	err := t.f.Truncate(size)
	t.obs.Done(OpTruncate, time.Since(start), err)
	return err
}

func (t *timedFile) Fdatasync() error {
	if !t.set.has(OpFdatasync) {
		return t.f.Fdatasync()
	}
	start := begin(t.obs, OpFdatasync)
	err := t.f.Fdatasync()
	t.obs.Done(OpFdatasync, time.Since(start), err)
	return err
}

func (t *timedFile) Fsync() error { return t.do(t.sync, t.f.Fsync) }
func (t *timedFile) Lock() error  { return t.do(OpLock, t.f.Lock) }
func (t *timedFile) Close() error { return t.do(OpClose, t.f.Close) }
func (t *timedFile) Name() string { return t.f.Name() }
func (t *timedFile) Fd() uintptr  { return t.f.Fd() }
