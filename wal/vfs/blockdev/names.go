package blockdev

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/etcdisk/etcdisk/wal/vfs"
)

func clean(name string) string { return filepath.Clean(name) }

func pathErr(op, name string, err error) error { return &os.PathError{Op: op, Path: name, Err: err} }

// parentExists reports whether name's parent directory exists; d.mu held.
func (d *Device) parentExists(name string) bool { return d.dirs[filepath.Dir(name)] }

// OpenFile opens or creates a file. A new file takes the lowest free region
// (so regions of removed segments are reused); it fails with an error
// wrapping ErrNoRegion and ENOSPC when none is free.
func (d *Device) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	name = clean(name)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, pathErr("open", name, os.ErrClosed)
	}
	if d.dirs[name] {
		if flag&(os.O_WRONLY|os.O_RDWR) != 0 {
			return nil, pathErr("open", name, syscall.EISDIR)
		}
		return &dirFile{d: d, name: name}, nil
	}
	n := d.files[name]
	switch {
	case n != nil && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, pathErr("open", name, syscall.EEXIST)
	case n == nil && flag&os.O_CREATE == 0:
		return nil, pathErr("open", name, syscall.ENOENT)
	case n == nil && !d.parentExists(name):
		return nil, pathErr("open", name, syscall.ENOENT)
	case n == nil:
		r := -1
		for i, u := range d.used {
			if !u {
				r = i
				break
			}
		}
		if r < 0 {
			return nil, fmt.Errorf("open %s: %w: all %d regions of %d bytes on %s are in use (%d bytes); use a larger device or keep fewer segments: %w",
				name, ErrNoRegion, d.regions, d.regionSize, d.path, d.size, syscall.ENOSPC)
		}
		d.used[r] = true
		n = &node{region: r, mtime: time.Now()}
		n.a = newAligner(d.dev, name, d.describe(), d.regionOffset(r), d.unit, d.lbs, 0)
		d.files[name] = n
	}
	if flag&os.O_TRUNC != 0 && flag&(os.O_WRONLY|os.O_RDWR) != 0 {
		n.mu.Lock()
		n.a.truncate(0)
		n.mu.Unlock()
	}
	n.opens++
	return &file{d: d, n: n, name: name, flag: flag}, nil
}

func (d *Device) describe() string {
	if d.regular {
		return "fake device " + d.path
	}
	return "device " + d.path
}

// OpenDir opens a directory; its Fsync is an fdatasync of the device.
func (d *Device) OpenDir(name string) (vfs.File, error) {
	name = clean(name)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, pathErr("open", name, os.ErrClosed)
	}
	if d.dirs[name] {
		return &dirFile{d: d, name: name}, nil
	}
	if d.files[name] != nil {
		return nil, pathErr("open", name, syscall.ENOTDIR)
	}
	return nil, pathErr("open", name, syscall.ENOENT)
}

// Mkdir creates a directory in memory (no I/O).
func (d *Device) Mkdir(name string, perm os.FileMode) error {
	name = clean(name)
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.dirs[name] || d.files[name] != nil:
		return pathErr("mkdir", name, syscall.EEXIST)
	case !d.parentExists(name):
		return pathErr("mkdir", name, syscall.ENOENT)
	}
	d.dirs[name] = true
	return nil
}

// under reports whether name is strictly inside dir.
func under(name, dir string) bool {
	if dir == "/" {
		return name != "/" && strings.HasPrefix(name, "/")
	}
	if dir == "." {
		return name != "." && !strings.HasPrefix(name, "/")
	}
	return strings.HasPrefix(name, dir+"/")
}

// emptyDir reports whether dir has no entries; d.mu held.
func (d *Device) emptyDir(dir string) bool {
	for n := range d.files {
		if under(n, dir) {
			return false
		}
	}
	for n := range d.dirs {
		if under(n, dir) {
			return false
		}
	}
	return true
}

// unlink removes a file's name; its region is freed once no handle holds
// it. d.mu held.
func (d *Device) unlink(name string) {
	n := d.files[name]
	delete(d.files, name)
	n.unlinked = true
	if n.opens == 0 {
		d.used[n.region] = false
	}
}

// Rename renames a file (the region follows its name: a pre-made 0.tmp
// becomes the segment without I/O) or a directory and everything in it.
func (d *Device) Rename(oldname, newname string) error {
	oldname, newname = clean(oldname), clean(newname)
	d.mu.Lock()
	defer d.mu.Unlock()
	if oldname == newname {
		return nil
	}
	if !d.parentExists(newname) {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: syscall.ENOENT}
	}
	if n := d.files[oldname]; n != nil {
		if d.dirs[newname] {
			return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: syscall.EISDIR}
		}
		if d.files[newname] != nil {
			d.unlink(newname)
		}
		delete(d.files, oldname)
		d.files[newname] = n
		n.mu.Lock()
		n.a.name = newname
		n.mu.Unlock()
		return nil
	}
	if !d.dirs[oldname] {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: syscall.ENOENT}
	}
	if under(newname, oldname) {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: syscall.EINVAL}
	}
	if d.files[newname] != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: syscall.ENOTDIR}
	}
	if d.dirs[newname] && !d.emptyDir(newname) {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: syscall.ENOTEMPTY}
	}
	move := func(p string) string { return newname + p[len(oldname):] }
	for p, n := range d.files {
		if under(p, oldname) {
			delete(d.files, p)
			np := move(p)
			d.files[np] = n
			n.mu.Lock()
			n.a.name = np
			n.mu.Unlock()
		}
	}
	for p := range d.dirs {
		if under(p, oldname) {
			delete(d.dirs, p)
			d.dirs[move(p)] = true
		}
	}
	delete(d.dirs, oldname)
	d.dirs[newname] = true
	return nil
}

// Remove removes a file (freeing its region once it is closed) or an empty
// directory.
func (d *Device) Remove(name string) error {
	name = clean(name)
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.files[name] != nil:
		d.unlink(name)
		return nil
	case d.dirs[name]:
		if name == "/" || name == "." {
			return pathErr("remove", name, syscall.EBUSY)
		}
		if !d.emptyDir(name) {
			return pathErr("remove", name, syscall.ENOTEMPTY)
		}
		delete(d.dirs, name)
		return nil
	}
	return pathErr("remove", name, syscall.ENOENT)
}

// RemoveAll removes name and everything under it; a missing name is not an
// error.
func (d *Device) RemoveAll(name string) error {
	name = clean(name)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.files[name] != nil {
		d.unlink(name)
		return nil
	}
	if !d.dirs[name] {
		return nil
	}
	for p := range d.files {
		if under(p, name) {
			d.unlink(p)
		}
	}
	for p := range d.dirs {
		if under(p, name) {
			delete(d.dirs, p)
		}
	}
	if name != "/" && name != "." {
		delete(d.dirs, name)
	}
	return nil
}

// Stat describes a file (its logical size) or a directory.
func (d *Device) Stat(name string) (os.FileInfo, error) {
	name = clean(name)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dirs[name] {
		return fileInfo{name: filepath.Base(name), mode: os.ModeDir | 0o700, mtime: d.created}, nil
	}
	if n := d.files[name]; n != nil {
		n.mu.Lock()
		defer n.mu.Unlock()
		return fileInfo{name: filepath.Base(name), size: n.a.size, mode: 0o600, mtime: n.mtime}, nil
	}
	return nil, pathErr("stat", name, syscall.ENOENT)
}

type fileInfo struct {
	name  string
	size  int64
	mode  os.FileMode
	mtime time.Time
}

func (fi fileInfo) Name() string       { return fi.name }
func (fi fileInfo) Size() int64        { return fi.size }
func (fi fileInfo) Mode() os.FileMode  { return fi.mode }
func (fi fileInfo) ModTime() time.Time { return fi.mtime }
func (fi fileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi fileInfo) Sys() any           { return nil }
