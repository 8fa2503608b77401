package vfstest

import (
	"io"
	"os"

	"github.com/etcdisk/etcdisk/wal/vfs"
)

// NopFS is a file system on which every operation succeeds instantly and
// nothing is stored: it measures the cost of the code above the seam.
// Files keep their offset and size so callers that Seek see their writes;
// Stat reports that nothing exists; reads return zeros.
type NopFS struct{}

var _ vfs.FS = NopFS{}

func (NopFS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	return &nopFile{name: name}, nil
}
func (NopFS) OpenDir(name string) (vfs.File, error) { return &nopFile{name: name}, nil }
func (NopFS) Mkdir(string, os.FileMode) error       { return nil }
func (NopFS) Rename(string, string) error           { return nil }
func (NopFS) Remove(string) error                   { return nil }
func (NopFS) RemoveAll(string) error                { return nil }
func (NopFS) Stat(name string) (os.FileInfo, error) { return nil, os.ErrNotExist }

type nopFile struct {
	name      string
	off, size int64
}

func (f *nopFile) Write(p []byte) (int, error) {
	f.off += int64(len(p))
	if f.off > f.size {
		f.size = f.off
	}
	return len(p), nil
}

func (f *nopFile) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > f.size {
		f.size = end
	}
	return len(p), nil
}

func (f *nopFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= f.size {
		return 0, io.EOF
	}
	n := len(p)
	if rest := f.size - off; int64(n) > rest {
		n = int(rest)
	}
	clear(p[:n])
	return n, nil
}

func (f *nopFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += f.size
	}
	f.off = offset
	return offset, nil
}

func (f *nopFile) Fallocate(off, length int64) error {
	if end := off + length; end > f.size {
		f.size = end
	}
	return nil
}

func (f *nopFile) Truncate(size int64) error { f.size = size; return nil }
func (f *nopFile) Fdatasync() error          { return nil }
func (f *nopFile) Fsync() error              { return nil }
func (f *nopFile) Lock() error               { return nil }
func (f *nopFile) Close() error              { return nil }
func (f *nopFile) Name() string              { return f.name }
func (f *nopFile) Fd() uintptr               { return ^uintptr(0) }
