// Package vfs is the disk seam of etcdisk: every byte the load generator
// writes and every sync it issues goes through the small FS/File interface
// defined here. The OS implementation maps each method to exactly one system
// call (so a trace of etcdisk reads like a trace of etcd). Timed is the
// wrapper that times the operations of every load; others inject latency or
// errors for tests.
package vfs

import (
	"os"
)

// FS is the file system seam. Paths are interpreted as by the os package.
type FS interface {
	// OpenFile opens name with the given open(2) flags and permission.
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	// OpenDir opens a directory read-only, for Fsync (directory sync).
	OpenDir(name string) (File, error)
	// Mkdir creates a single directory.
	Mkdir(name string, perm os.FileMode) error
	// Rename renames (renameat) oldname to newname.
	Rename(oldname, newname string) error
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// RemoveAll removes a tree.
	RemoveAll(name string) error
	// Stat returns file information.
	Stat(name string) (os.FileInfo, error)
}

// File is an open file (or raw block device). Each method is one system call.
type File interface {
	// Write is write(2) at the current offset.
	Write(p []byte) (int, error)
	// WriteAt is pwrite(2).
	WriteAt(p []byte, off int64) (int, error)
	// ReadAt is pread(2).
	ReadAt(p []byte, off int64) (int, error)
	// Seek is lseek(2).
	Seek(offset int64, whence int) (int64, error)
	// Fdatasync is fdatasync(2): data plus the metadata needed to read it back.
	Fdatasync() error
	// Fsync is fsync(2); used on directories after a rename.
	Fsync() error
	// Fallocate is fallocate(fd, mode 0, off, length): the file size grows.
	// It returns an error wrapping ErrNotSupported where the file system
	// cannot preallocate; callers fall back to Truncate as etcd does.
	Fallocate(off, length int64) error
	// Truncate is ftruncate(2).
	Truncate(size int64) error
	// Lock takes an exclusive OFD write lock (fcntl F_OFD_SETLKW), falling
	// back to flock(2) where OFD locks are not supported.
	Lock() error
	// Close is close(2).
	Close() error
	// Name is the path the file was opened with.
	Name() string
	// Fd is the file descriptor.
	Fd() uintptr
}
