package blockdev

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// file is an open handle: a position in a node.
type file struct {
	d      *Device
	n      *node
	name   string
	flag   int
	pos    int64
	closed bool
}

func (f *file) err(op string, err error) error { return pathErr(op, f.name, err) }

func (f *file) writable() error {
	if f.closed {
		return os.ErrClosed
	}
	if f.flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		return syscall.EBADF
	}
	return nil
}

// limit refuses writes past the region.
func (f *file) limit(op string, end int64) error {
	if end > f.d.regionSize {
		return fmt.Errorf("%s %s: offset %d is past the end of its %d-byte region on %s: %w",
			op, f.name, end, f.d.regionSize, f.d.path, syscall.EFBIG)
	}
	return nil
}

// Write is one aligned pwrite(2) on the device covering p at the file
// position (see aligner).
func (f *file) Write(p []byte) (int, error) {
	if err := f.writable(); err != nil {
		return 0, f.err("write", err)
	}
	if f.flag&os.O_APPEND != 0 {
		f.n.mu.Lock()
		f.pos = f.n.a.size
		f.n.mu.Unlock()
	}
	n, err := f.WriteAt(p, f.pos)
	f.pos += int64(n)
	return n, err
}

// WriteAt is one aligned pwrite(2) on the device covering p at off.
func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if err := f.writable(); err != nil {
		return 0, f.err("pwrite", err)
	}
	if err := f.limit("pwrite", off+int64(len(p))); err != nil {
		return 0, err
	}
	f.n.mu.Lock()
	n, err := f.n.a.writeAt(p, off)
	f.n.mu.Unlock()
	return n, err
}

// ReadAt reads the file's bytes (one aligned pread(2)); bytes never
// written read as zeros.
func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if f.closed {
		return 0, f.err("pread", os.ErrClosed)
	}
	f.n.mu.Lock()
	n, err := f.n.a.readAt(p, off)
	f.n.mu.Unlock()
	return n, err
}

// Seek moves the position (no system call).
func (f *file) Seek(offset int64, whence int) (int64, error) {
	if f.closed {
		return 0, f.err("seek", os.ErrClosed)
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.pos
	case io.SeekEnd:
		f.n.mu.Lock()
		offset += f.n.a.size
		f.n.mu.Unlock()
	default:
		return 0, f.err("seek", syscall.EINVAL)
	}
	if offset < 0 {
		return 0, f.err("seek", syscall.EINVAL)
	}
	f.pos = offset
	return offset, nil
}

// Fdatasync is fdatasync(2) of the device: it waits for the device to
// flush its write cache (the O_DIRECT writes have already reached it).
func (f *file) Fdatasync() error {
	if f.closed {
		return f.err("fdatasync", os.ErrClosed)
	}
	return f.d.dev.Fdatasync()
}

// Fsync is fsync(2) of the device (on a block device, the same as
// fdatasync).
func (f *file) Fsync() error {
	if f.closed {
		return f.err("fsync", os.ErrClosed)
	}
	return f.d.dev.Fsync()
}

// Fallocate reserves [off, off+length) of the region: the logical size
// grows, no I/O unless Options.ZeroRegions.
func (f *file) Fallocate(off, length int64) error {
	if err := f.writable(); err != nil {
		return f.err("fallocate", err)
	}
	if off < 0 || length <= 0 {
		return f.err("fallocate", syscall.EINVAL)
	}
	if err := f.limit("fallocate", off+length); err != nil {
		return err
	}
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	if f.d.zero {
		base := f.d.regionOffset(f.n.region)
		// Zero whole units only past what was written (a preallocation
		// does not change existing data).
		from := max(off, (f.n.a.valid.end()+f.d.unit-1)&^(f.d.unit-1))
		to := (off + length + f.d.unit - 1) &^ (f.d.unit - 1)
		if to > from {
			var err error
			if f.d.regular {
				err = zeroRange(f.d.dev.Fd(), base+from, to-from)
			} else {
				err = ZeroOut(f.d.dev.Fd(), base+from, to-from)
			}
			if err != nil {
				return f.err("fallocate", err)
			}
		}
	}
	if end := off + length; end > f.n.a.size {
		f.n.a.size = end
	}
	return nil
}

// Truncate sets the logical size (no I/O): bytes past it read as zeros.
func (f *file) Truncate(size int64) error {
	if err := f.writable(); err != nil {
		return f.err("truncate", err)
	}
	if size < 0 {
		return f.err("truncate", syscall.EINVAL)
	}
	if err := f.limit("truncate", size); err != nil {
		return err
	}
	f.n.mu.Lock()
	f.n.a.truncate(size)
	f.n.mu.Unlock()
	return nil
}

// Lock succeeds at once: Open holds the whole device with O_EXCL.
func (f *file) Lock() error {
	if f.closed {
		return f.err("lock", os.ErrClosed)
	}
	return nil
}

// Close releases the handle (no system call: the device stays open); the
// region of a removed file is freed with its last handle.
func (f *file) Close() error {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	if f.closed {
		return f.err("close", os.ErrClosed)
	}
	f.closed = true
	f.n.opens--
	if f.n.opens == 0 && f.n.unlinked {
		f.d.used[f.n.region] = false
	}
	return nil
}

func (f *file) Name() string { return f.name }

// Fd is the device's file descriptor; offsets on it are device offsets
// (see Device.Layout).
func (f *file) Fd() uintptr { return f.d.dev.Fd() }

// dirFile is an open directory: Fsync is an fdatasync of the device (or
// nothing with Options.NoDirSync).
type dirFile struct {
	d      *Device
	name   string
	closed bool
}

func (f *dirFile) err(op string, err error) error { return pathErr(op, f.name, err) }

func (f *dirFile) Write([]byte) (int, error)          { return 0, f.err("write", syscall.EISDIR) }
func (f *dirFile) WriteAt([]byte, int64) (int, error) { return 0, f.err("pwrite", syscall.EISDIR) }
func (f *dirFile) ReadAt([]byte, int64) (int, error)  { return 0, f.err("pread", syscall.EISDIR) }
func (f *dirFile) Seek(int64, int) (int64, error)     { return 0, nil }
func (f *dirFile) Fallocate(int64, int64) error       { return f.err("fallocate", syscall.EISDIR) }
func (f *dirFile) Truncate(int64) error               { return f.err("truncate", syscall.EISDIR) }
func (f *dirFile) Lock() error                        { return nil }
func (f *dirFile) Name() string                       { return f.name }
func (f *dirFile) Fd() uintptr                        { return f.d.dev.Fd() }

func (f *dirFile) Fdatasync() error { return f.sync() }
func (f *dirFile) Fsync() error     { return f.sync() }

func (f *dirFile) sync() error {
	if f.closed {
		return f.err("fsync", os.ErrClosed)
	}
	if !f.d.dirSync {
		return nil
	}
	return f.d.dev.Fdatasync()
}

func (f *dirFile) Close() error {
	if f.closed {
		return f.err("close", os.ErrClosed)
	}
	f.closed = true
	return nil
}
