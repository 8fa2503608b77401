package blockdev

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/etcdisk/etcdisk/wal/vfs"
)

// DirectOptions configure Direct.
type DirectOptions struct {
	// WriteUnit is the alignment of every write; 0 = the file system's
	// O_DIRECT offset alignment (statx STATX_DIOALIGN), at least
	// DefaultWriteUnit. It must be a power-of-two multiple of that
	// alignment.
	WriteUnit int
}

// Direct returns fs with every file opened O_DIRECT (--direct on files in
// a directory) and written through the same aligned writes as a raw device:
// each Write or WriteAt is one pwrite(2) of whole units covering the bytes,
// the partial last unit kept in memory and rewritten by the next write.
// Directory operations, fdatasync, fsync, fallocate, ftruncate and locks go
// to fs unchanged. Seek is kept in memory (no lseek). Closing a file whose
// last aligned write went past its logical size truncates it back (one
// ftruncate, off the write path) so the file ends where a buffered file
// would.
//
// An OpenFile on a file system without O_DIRECT fails with an error naming
// the file system; a write the kernel rejects as misaligned (EINVAL) fails
// with an error naming the required alignment.
func Direct(fs vfs.FS, opts DirectOptions) vfs.FS {
	if fs == nil {
		fs = vfs.Default
	}
	return &directFS{FS: fs, unit: int64(opts.WriteUnit)}
}

type directFS struct {
	vfs.FS
	unit int64

	mu sync.Mutex
	// last is the state of the file closed last: a WAL closes a segment
	// and reopens it under its new name at once (cut), and the reopened
	// handle continues from the cached tail block instead of reading it.
	last *closedState
}

type closedState struct {
	dev, ino uint64
	size     int64
	a        *aligner
}

// fsName describes the file system of name's directory in errors.
func fsName(name string) string {
	dir := filepath.Dir(name)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return describeFS(dir)
}

func (fs *directFS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	// NB: O_APPEND is emulated: on Linux a pwrite to an O_APPEND file
	// ignores its offset and appends, which would break aligned rewrites.
	f, err := fs.FS.OpenFile(name, (flag&^os.O_APPEND)|vfs.DirectIO, perm)
	if errors.Is(err, syscall.EINVAL) {
		return nil, fmt.Errorf("open %s with O_DIRECT: %w: the file system %s does not support direct I/O (run without --direct)",
			name, syscall.EINVAL, fsName(name))
	}
	if err != nil {
		return nil, err
	}
	info, err := statxFd(f.Fd())
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "statx", Path: name, Err: err}
	}
	align := info.offAlign
	if info.reportsIO && align == 0 {
		f.Close()
		return nil, fmt.Errorf("open %s with O_DIRECT: the file system %s reports no direct I/O support (statx STATX_DIOALIGN is 0; run without --direct)",
			name, fsName(name))
	}
	if align == 0 {
		// The kernel does not say: assume the common 4 KiB, valid for
		// every logical block size up to it.
		align = DefaultWriteUnit
	}
	unit := fs.unit
	if unit == 0 {
		unit = max(align, DefaultWriteUnit)
	}
	if !powerOfTwo(unit) || unit%align != 0 {
		f.Close()
		return nil, fmt.Errorf("open %s with O_DIRECT: write unit %d bytes is not a power-of-two multiple of the %d-byte direct I/O alignment of %s",
			name, unit, align, fsName(name))
	}
	what := "file system " + fsName(name)
	a := newAligner(f, name, what, 0, unit, align, info.size)
	fs.mu.Lock()
	if l := fs.last; l != nil && l.dev == info.dev && l.ino == info.ino && l.size == info.size && l.a.bs == unit {
		// NB: same inode and size as the file closed last, and every
		// write to it went through this FS: its cached tail is current.
		a.valid, a.tail, a.tailOff, a.buf = l.a.valid, l.a.tail, l.a.tailOff, l.a.buf
		fs.last = nil
	}
	fs.mu.Unlock()
	return &directFile{File: f, fs: fs, a: a, dev: info.dev, ino: info.ino, append: flag&os.O_APPEND != 0}, nil
}

// forget drops the closed-file cache: an unlinked inode number may be
// reused by a new file.
func (fs *directFS) forget() {
	fs.mu.Lock()
	fs.last = nil
	fs.mu.Unlock()
}

func (fs *directFS) Remove(name string) error {
	fs.forget()
	return fs.FS.Remove(name)
}

func (fs *directFS) RemoveAll(name string) error {
	fs.forget()
	return fs.FS.RemoveAll(name)
}

func (fs *directFS) Rename(oldname, newname string) error {
	// Renaming over a file unlinks it.
	fs.forget()
	return fs.FS.Rename(oldname, newname)
}

// directFile is a file opened O_DIRECT; writes go through the aligner.
type directFile struct {
	vfs.File // the O_DIRECT file: pwrite, pread, fdatasync, ...
	fs       *directFS
	a        *aligner
	pos      int64
	dev, ino uint64
	append   bool // O_APPEND: every Write goes to the end
}

func (f *directFile) Write(p []byte) (int, error) {
	if f.append {
		f.pos = f.a.size
	}
	n, err := f.a.writeAt(p, f.pos)
	f.pos += int64(n)
	return n, err
}

func (f *directFile) WriteAt(p []byte, off int64) (int, error) { return f.a.writeAt(p, off) }
func (f *directFile) ReadAt(p []byte, off int64) (int, error)  { return f.a.readAt(p, off) }

// Seek moves the position kept in memory (the kernel's file offset is not
// used: every transfer is a pwrite or pread).
func (f *directFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.pos
	case io.SeekEnd:
		offset += f.a.size
	default:
		return 0, &os.PathError{Op: "seek", Path: f.Name(), Err: syscall.EINVAL}
	}
	if offset < 0 {
		return 0, &os.PathError{Op: "seek", Path: f.Name(), Err: syscall.EINVAL}
	}
	f.pos = offset
	return offset, nil
}

// Fallocate is fallocate(2); the logical size follows.
func (f *directFile) Fallocate(off, length int64) error {
	if err := f.File.Fallocate(off, length); err != nil {
		return err
	}
	if end := off + length; end > f.a.size {
		f.a.size = end
		f.a.maxEnd = max(f.a.maxEnd, end)
	}
	return nil
}

// Truncate is ftruncate(2); the logical size follows.
func (f *directFile) Truncate(size int64) error {
	if err := f.File.Truncate(size); err != nil {
		return err
	}
	f.a.truncate(size)
	f.a.maxEnd = size
	return nil
}

// Close truncates the file back to its logical size when the last aligned
// write extended it past that, then closes it.
func (f *directFile) Close() error {
	var err error
	if f.a.maxEnd > f.a.size {
		err = f.File.Truncate(f.a.size)
	}
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		f.fs.mu.Lock()
		f.fs.last = &closedState{dev: f.dev, ino: f.ino, size: f.a.size, a: f.a}
		f.fs.mu.Unlock()
	}
	return err
}
