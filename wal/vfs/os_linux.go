package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ncw/directio"
	"golang.org/x/sys/unix"
)

// Default is the operating system's file system. Each File method is exactly
// one system call (retried only on EINTR), so a trace of a program using it
// shows the same calls as a trace of etcd, which goes through os.File.
var Default FS = osFS{}

// DirectIO is the open(2) flag for direct I/O (O_DIRECT). OR it into the flag
// of OpenFile; buffers, offsets and lengths must then be multiples of
// DirectAlignment (use AlignedBlock). etcd itself never uses it.
const DirectIO = unix.O_DIRECT

// DirectAlignment is the alignment AlignedBlock guarantees.
const DirectAlignment = directio.AlignSize

// AlignedBlock returns a zeroed n-byte buffer whose first byte is aligned to
// DirectAlignment, suitable for O_DIRECT writes when n is a multiple of the
// device's logical block size.
func AlignedBlock(n int) []byte { return directio.AlignedBlock(n) }

type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	fd, err := openRetry(name, flag|unix.O_CLOEXEC, uint32(perm.Perm()))
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return &osFile{fd: fd, name: name}, nil
}

// OpenDir opens like os.Open (O_RDONLY|O_CLOEXEC), as etcd's fileutil.OpenDir.
func (osFS) OpenDir(name string) (File, error) {
	fd, err := openRetry(name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return &osFile{fd: fd, name: name}, nil
}

func openRetry(name string, flag int, perm uint32) (int, error) {
	for {
		fd, err := unix.Open(name, flag, perm)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func (osFS) Mkdir(name string, perm os.FileMode) error { return os.Mkdir(name, perm) }
func (osFS) Rename(oldname, newname string) error      { return os.Rename(oldname, newname) }
func (osFS) Remove(name string) error                  { return os.Remove(name) }
func (osFS) RemoveAll(name string) error               { return os.RemoveAll(name) }
func (osFS) Stat(name string) (os.FileInfo, error)     { return os.Stat(name) }

type osFile struct {
	fd   int
	name string
}

func (f *osFile) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return &os.PathError{Op: op, Path: f.name, Err: err}
}

// Write is write(2). NB: a short write is continued, as os.File (and so
// etcd) does: the next write(2) then reports the real error (ENOSPC, EIO)
// instead of a bare "short write". A full write is one system call.
func (f *osFile) Write(p []byte) (int, error) {
	done := 0
	for { // NB: at least one system call, even for an empty p (as os.File)
		n, err := unix.Write(f.fd, p[done:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, f.wrap("write", err)
		}
		done += n
		if done >= len(p) {
			return done, nil
		}
		if n == 0 {
			return done, f.wrap("write", io.ErrShortWrite)
		}
	}
}

// WriteAt is pwrite(2); a short write is continued as in Write.
func (f *osFile) WriteAt(p []byte, off int64) (int, error) {
	done := 0
	for { // NB: at least one system call, even for an empty p (as os.File)
		n, err := unix.Pwrite(f.fd, p[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, f.wrap("pwrite", err)
		}
		done += n
		if done >= len(p) {
			return done, nil
		}
		if n == 0 {
			return done, f.wrap("pwrite", io.ErrShortWrite)
		}
	}
}

func (f *osFile) ReadAt(p []byte, off int64) (int, error) {
	for {
		n, err := unix.Pread(f.fd, p, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if n < 0 {
				n = 0
			}
			return n, f.wrap("pread", err)
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *osFile) Seek(offset int64, whence int) (int64, error) {
	off, err := unix.Seek(f.fd, offset, whence)
	return off, f.wrap("seek", err)
}

func (f *osFile) Fdatasync() error {
	for {
		err := unix.Fdatasync(f.fd)
		if err != unix.EINTR {
			return f.wrap("fdatasync", err)
		}
	}
}

func (f *osFile) Fsync() error {
	for {
		err := unix.Fsync(f.fd)
		if err != unix.EINTR {
			return f.wrap("fsync", err)
		}
	}
}

// Fallocate is fallocate(fd, 0, off, length). EINTR is returned as is:
// etcd treats it like ENOTSUP and falls back to ftruncate.
func (f *osFile) Fallocate(off, length int64) error {
	return fallocateErr(f.name, unix.Fallocate(f.fd, 0, off, length))
}

// fallocateErr wraps ErrNotSupported around EOPNOTSUPP (== ENOTSUP on Linux).
func fallocateErr(name string, err error) error {
	if err == nil {
		return nil
	}
	if err == unix.EOPNOTSUPP || err == unix.ENOTSUP {
		return fmt.Errorf("fallocate %s: %w: %w", name, ErrNotSupported, err)
	}
	return &os.PathError{Op: "fallocate", Path: name, Err: err}
}

func (f *osFile) Truncate(size int64) error {
	for {
		err := unix.Ftruncate(f.fd, size)
		if err != unix.EINTR {
			return f.wrap("truncate", err)
		}
	}
}

// Lock takes an exclusive open-file-description lock on the whole file,
// waiting for it (etcd's fileutil.LockFile on Linux), or flock(2) where OFD
// locks are unavailable.
func (f *osFile) Lock() error {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	for {
		err := unix.FcntlFlock(uintptr(f.fd), unix.F_OFD_SETLKW, &lk)
		switch {
		case err == unix.EINTR:
			continue
		case errors.Is(err, unix.EINVAL):
			// No OFD locks (pre-3.15 kernels, some file systems).
			for {
				err = unix.Flock(f.fd, unix.LOCK_EX)
				if err != unix.EINTR {
					return f.wrap("flock", err)
				}
			}
		default:
			return f.wrap("fcntl", err)
		}
	}
}

func (f *osFile) Close() error {
	if f.fd < 0 {
		return f.wrap("close", os.ErrClosed)
	}
	err := unix.Close(f.fd)
	f.fd = -1
	return f.wrap("close", err)
}

func (f *osFile) Name() string { return f.name }
func (f *osFile) Fd() uintptr  { return uintptr(f.fd) }
