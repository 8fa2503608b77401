package wal

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/etcdisk/etcdisk/wal/vfs"
)

// createDirAll is etcd's fileutil.CreateDirAll for a directory that does
// not exist: mkdir -p with mode 0700, the writability probe of
// fileutil.IsDirWriteable (create and remove dir/.touch), and the
// emptiness check.
func createDirAll(fs vfs.FS, dir string) error {
	if err := mkdirAll(fs, dir); err != nil {
		return err
	}
	touch := filepath.Join(dir, ".touch")
	f, err := fs.OpenFile(touch, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, privateFileMode)
	if err != nil {
		return err
	}
	_, err = f.Write(nil)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := fs.Remove(touch); err != nil {
		return err
	}
	// etcd then lists the directory to check it is empty (open, getdents,
	// close). A directory we just made is empty: open and close it only, so
	// the calls on the disk stay the same.
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	return d.Close()
}

func mkdirAll(fs vfs.FS, dir string) error {
	err := fs.Mkdir(dir, privateDirMode)
	if err == nil {
		return nil
	}
	if errors.Is(err, os.ErrNotExist) {
		parent := filepath.Dir(dir)
		if parent == dir {
			return err
		}
		if perr := mkdirAll(fs, parent); perr != nil {
			return perr
		}
		return fs.Mkdir(dir, privateDirMode)
	}
	if errors.Is(err, os.ErrExist) {
		if fi, serr := fs.Stat(dir); serr == nil && fi.IsDir() {
			return nil
		}
	}
	return err
}

// openLocked is etcd's fileutil.LockFile: open, then an exclusive OFD lock.
func (w *WAL) openLocked(path string, flag int) (vfs.File, error) {
	return openLocked(w.fs, path, flag)
}

func openLocked(fs vfs.FS, path string, flag int) (vfs.File, error) {
	f, err := fs.OpenFile(path, flag, privateFileMode)
	if err != nil {
		return nil, err
	}
	if err := f.Lock(); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// preallocate is etcd's fileutil.Preallocate(f, size, extendFile=true):
// fallocate mode 0 (the file size grows); where that is not supported (or
// is interrupted), the ftruncate fallback with etcd's three lseeks.
func preallocate(f vfs.File, size int64) error {
	if size == 0 {
		return nil
	}
	err := f.Fallocate(0, size)
	if err == nil || !(errors.Is(err, vfs.ErrNotSupported) || errors.Is(err, syscall.EINTR)) {
		return err
	}
	cur, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	end, err := f.Seek(size, io.SeekEnd)
	if err != nil {
		return err
	}
	if _, err = f.Seek(cur, io.SeekStart); err != nil {
		return err
	}
	if size > end {
		return nil
	}
	return f.Truncate(size)
}
