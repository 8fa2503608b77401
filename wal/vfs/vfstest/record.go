// Package vfstest holds test doubles of the vfs seam: a Recorder that logs
// every operation (to assert syscall patterns) and NopFS, where everything
// succeeds instantly (to measure the code above the seam).
package vfstest

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/etcdisk/etcdisk/wal/vfs"
)

// RecordedOp is one operation seen by a Recorder.
type RecordedOp struct {
	Kind    vfs.OpKind
	Path    string // the file's name (for File methods, the name it was opened with)
	NewPath string // rename target
	Flag    int    // open flags (vfs.OpOpen)
	Off     int64  // WriteAt/ReadAt/Seek/Fallocate offset
	Size    int64  // bytes written or read, fallocate length, truncate size
	Err     error
}

// String renders the op compactly, e.g. "write wal/0.tmp 4096".
func (o RecordedOp) String() string {
	var b strings.Builder
	b.WriteString(o.Kind.String())
	b.WriteByte(' ')
	b.WriteString(o.Path)
	switch o.Kind {
	case vfs.OpRename:
		fmt.Fprintf(&b, " -> %s", o.NewPath)
	case vfs.OpWrite, vfs.OpTruncate:
		fmt.Fprintf(&b, " %d", o.Size)
	case vfs.OpWriteAt, vfs.OpReadAt, vfs.OpFallocate:
		fmt.Fprintf(&b, " %d@%d", o.Size, o.Off)
	}
	if o.Err != nil {
		fmt.Fprintf(&b, " err=%v", o.Err)
	}
	return b.String()
}

// Recorder is a vfs.FS that forwards to another vfs.FS and records every operation
// (also those that failed) in order. Tests of code above the seam use it to
// assert syscall patterns. It is safe for concurrent use; recording
// allocates, so do not use it to measure overhead.
type Recorder struct {
	fs vfs.FS
	// Filter, if set, selects the operations to record.
	Filter func(RecordedOp) bool

	mu  sync.Mutex
	ops []RecordedOp
}

// NewRecorder returns a Recorder over fs (nil means NopFS).
func NewRecorder(fs vfs.FS) *Recorder {
	if fs == nil {
		fs = NopFS{}
	}
	return &Recorder{fs: fs}
}

// Ops returns a copy of the operations recorded so far.
func (r *Recorder) Ops() []RecordedOp {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RecordedOp(nil), r.ops...)
}

// Reset forgets the operations recorded so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.ops = r.ops[:0]
	r.mu.Unlock()
}

// Count returns how many recorded operations have the given kind.
func (r *Recorder) Count(kind vfs.OpKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, o := range r.ops {
		if o.Kind == kind {
			n++
		}
	}
	return n
}

func (r *Recorder) add(o RecordedOp) {
	if r.Filter != nil && !r.Filter(o) {
		return
	}
	r.mu.Lock()
	r.ops = append(r.ops, o)
	r.mu.Unlock()
}

func (r *Recorder) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	f, err := r.fs.OpenFile(name, flag, perm)
	r.add(RecordedOp{Kind: vfs.OpOpen, Path: name, Flag: flag, Err: err})
	if err != nil {
		return nil, err
	}
	return &recFile{f: f, r: r}, nil
}

func (r *Recorder) OpenDir(name string) (vfs.File, error) {
	f, err := r.fs.OpenDir(name)
	r.add(RecordedOp{Kind: vfs.OpOpenDir, Path: name, Err: err})
	if err != nil {
		return nil, err
	}
	return &recFile{f: f, r: r}, nil
}

func (r *Recorder) Mkdir(name string, perm os.FileMode) error {
	err := r.fs.Mkdir(name, perm)
	r.add(RecordedOp{Kind: vfs.OpMkdir, Path: name, Err: err})
	return err
}

func (r *Recorder) Rename(oldname, newname string) error {
	err := r.fs.Rename(oldname, newname)
	r.add(RecordedOp{Kind: vfs.OpRename, Path: oldname, NewPath: newname, Err: err})
	return err
}

func (r *Recorder) Remove(name string) error {
	err := r.fs.Remove(name)
	r.add(RecordedOp{Kind: vfs.OpRemove, Path: name, Err: err})
	return err
}

func (r *Recorder) RemoveAll(name string) error {
	err := r.fs.RemoveAll(name)
	r.add(RecordedOp{Kind: vfs.OpRemoveAll, Path: name, Err: err})
	return err
}

func (r *Recorder) Stat(name string) (os.FileInfo, error) {
	fi, err := r.fs.Stat(name)
	r.add(RecordedOp{Kind: vfs.OpStat, Path: name, Err: err})
	return fi, err
}

type recFile struct {
	f vfs.File
	r *Recorder
}

func (f *recFile) op(k vfs.OpKind, off, size int64, err error) {
	f.r.add(RecordedOp{Kind: k, Path: f.f.Name(), Off: off, Size: size, Err: err})
}

func (f *recFile) Write(p []byte) (int, error) {
	n, err := f.f.Write(p)
	f.op(vfs.OpWrite, 0, int64(n), err)
	return n, err
}

func (f *recFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.f.WriteAt(p, off)
	f.op(vfs.OpWriteAt, off, int64(n), err)
	return n, err
}

func (f *recFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.f.ReadAt(p, off)
	f.op(vfs.OpReadAt, off, int64(n), err)
	return n, err
}

func (f *recFile) Seek(offset int64, whence int) (int64, error) {
	n, err := f.f.Seek(offset, whence)
	f.op(vfs.OpSeek, n, 0, err)
	return n, err
}

func (f *recFile) Fdatasync() error {
	err := f.f.Fdatasync()
	f.op(vfs.OpFdatasync, 0, 0, err)
	return err
}

func (f *recFile) Fsync() error {
	err := f.f.Fsync()
	f.op(vfs.OpFsync, 0, 0, err)
	return err
}

func (f *recFile) Fallocate(off, length int64) error {
	err := f.f.Fallocate(off, length)
	f.op(vfs.OpFallocate, off, length, err)
	return err
}

func (f *recFile) Truncate(size int64) error {
	err := f.f.Truncate(size)
	f.op(vfs.OpTruncate, 0, size, err)
	return err
}

func (f *recFile) Lock() error {
	err := f.f.Lock()
	f.op(vfs.OpLock, 0, 0, err)
	return err
}

func (f *recFile) Close() error {
	err := f.f.Close()
	f.op(vfs.OpClose, 0, 0, err)
	return err
}

func (f *recFile) Name() string { return f.f.Name() }
func (f *recFile) Fd() uintptr  { return f.f.Fd() }
