package blockdev

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/etcdisk/etcdisk/wal/vfs"
)

// RegionSize is the default size of a region, 64 MiB: each WAL segment
// (and each pre-made 0.tmp/1.tmp) gets one. It is etcd's 64,000,000-byte
// segment plus 3,108,864 bytes of room for the Save that crosses the
// segment size: etcd cuts only after a Save ends past it, so a segment file
// grows beyond 64,000,000 bytes by up to one Save.
const RegionSize int64 = 64 << 20

// DefaultWriteUnit is the smallest write when the device's logical block
// size is smaller: etcd's page writer and the page cache work in 4096-byte
// pages, so etcd's disk sees 4 KiB writes even on a 512-byte-sector device.
const DefaultWriteUnit = 4096

// ErrNoRegion is wrapped (with syscall.ENOSPC) by the error of OpenFile
// when every region of the device is taken.
var ErrNoRegion = errors.New("blockdev: no free region")

// Options configure Open. The zero value is etcd's layout on a real block
// device.
type Options struct {
	// RegionSize is the bytes given to each file; 0 = RegionSize
	// (64 MiB). It must be a multiple of the write unit and larger than the
	// WAL's segment size by the largest Save.
	RegionSize int64
	// Offset is where region 0 starts on the device (a multiple of the
	// write unit); 0 = the start of the device.
	Offset int64
	// WriteUnit is the alignment of every write: a power of two and a
	// multiple of the device's logical block size. 0 = the logical block
	// size, at least DefaultWriteUnit.
	WriteUnit int
	// MinRegions makes Open fail unless the device holds at least this many
	// regions (a WAL keeping K segments needs K+2: the tail, the pre-made
	// next segment and the purged ones' successors are reused). 0 = 1.
	MinRegions int
	// NoDirSync makes a directory fsync a no-op instead of an fdatasync of
	// the device.
	NoDirSync bool
	// ZeroRegions zeroes a region when a file preallocates it
	// (ioctl(BLKZEROOUT)), so a region reads back as a preallocated file
	// does. The zeroing is device I/O on the goroutine that preallocates
	// (the WAL's segment pipeline, off the Save path) but it competes with
	// the measured writes like a neighbour would.
	ZeroRegions bool

	// RegularFile accepts a regular file as the device and opens it
	// without O_DIRECT (and without O_EXCL): a fake device for tests of the
	// region map and the aligned writes.
	RegularFile bool
	// LogicalBlockSize stands in for BLKSSZGET on a RegularFile; 0 = 512.
	LogicalBlockSize int
}

// Device is a raw block device used as a vfs.FS: each file is a region of
// the device, the directory tree lives in memory. See the package doc for
// what each operation does. Its methods are safe for concurrent use; a File
// is used by one goroutine at a time (as os.File writes would be).
type Device struct {
	path       string
	dev        vfs.File // the device: O_RDWR|O_DIRECT|O_EXCL
	size       int64
	lbs        int64
	unit       int64
	offset     int64
	regionSize int64
	regions    int
	dirSync    bool
	zero       bool
	regular    bool
	created    time.Time

	mu     sync.Mutex
	closed bool
	dirs   map[string]bool
	files  map[string]*node
	used   []bool // region in use
}

var _ vfs.FS = (*Device)(nil)

// node is a file: a region and its logical state, shared by every open
// handle (a reopened segment continues from the cached tail block).
type node struct {
	region   int
	mu       sync.Mutex // serialises the aligner
	a        *aligner
	opens    int  // guarded by Device.mu
	unlinked bool // guarded by Device.mu
	mtime    time.Time
}

// Open opens dev for exclusive use (O_RDWR|O_DIRECT|O_EXCL: while it is
// open nobody can mount it, and it fails with a clear error while something
// holds it) and returns it as a file system of regions. It does not check
// for data on the device: call the data guard (bench/guard) first.
func Open(dev string, opts Options) (*Device, error) {
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: dev, Err: err}
	}
	isBlk := st.Mode&unix.S_IFMT == unix.S_IFBLK
	switch {
	case isBlk:
	case opts.RegularFile && st.Mode&unix.S_IFMT == unix.S_IFREG:
	default:
		return nil, fmt.Errorf("%s is not a block device (use --dir for a directory on a file system)", dev)
	}
	flag := os.O_RDWR
	if isBlk {
		flag |= unix.O_EXCL | vfs.DirectIO
	}
	f, err := vfs.Default.OpenFile(dev, flag, 0)
	switch {
	case errors.Is(err, syscall.EBUSY):
		return nil, fmt.Errorf("%s is in use: mounted, active swap, or claimed by another program or by LVM/md/dm (open with O_EXCL: %w)", dev, syscall.EBUSY)
	case errors.Is(err, syscall.EINVAL) && flag&vfs.DirectIO != 0:
		return nil, fmt.Errorf("%s does not accept O_DIRECT (open: %w)", dev, err)
	case err != nil:
		return nil, err
	}
	d := &Device{path: dev, dev: f, dirSync: !opts.NoDirSync, zero: opts.ZeroRegions,
		regular: !isBlk, created: time.Now()}
	fail := func(err error) (*Device, error) {
		f.Close()
		return nil, err
	}
	if isBlk {
		size, lbs, err := deviceGeometry(f.Fd())
		if err != nil {
			return fail(fmt.Errorf("%s: %w", dev, err))
		}
		d.size, d.lbs = size, int64(lbs)
	} else {
		d.size = st.Size
		d.lbs = int64(opts.LogicalBlockSize)
		if d.lbs == 0 {
			d.lbs = 512
		}
	}
	if err := d.layout(opts); err != nil {
		return fail(err)
	}
	d.dirs = map[string]bool{"/": true, ".": true}
	d.files = map[string]*node{}
	d.used = make([]bool, d.regions)
	return d, nil
}

func powerOfTwo(n int64) bool { return n > 0 && n&(n-1) == 0 }

// layout checks the geometry options and counts the regions.
func (d *Device) layout(opts Options) error {
	if !powerOfTwo(d.lbs) {
		return fmt.Errorf("%s: logical block size %d is not a power of two", d.path, d.lbs)
	}
	d.unit = int64(opts.WriteUnit)
	if d.unit == 0 {
		d.unit = max(d.lbs, DefaultWriteUnit)
	}
	if !powerOfTwo(d.unit) || d.unit%d.lbs != 0 {
		return fmt.Errorf("%s: write unit %d bytes is not a power-of-two multiple of the device's logical block size (%d bytes): O_DIRECT needs every write aligned to it",
			d.path, d.unit, d.lbs)
	}
	d.regionSize = opts.RegionSize
	if d.regionSize == 0 {
		d.regionSize = RegionSize
	}
	if d.regionSize <= 0 || d.regionSize%d.unit != 0 {
		return fmt.Errorf("%s: region size %d bytes is not a positive multiple of the %d-byte write unit", d.path, d.regionSize, d.unit)
	}
	d.offset = opts.Offset
	if d.offset < 0 || d.offset%d.unit != 0 {
		return fmt.Errorf("%s: offset %d is not a multiple of the %d-byte write unit", d.path, d.offset, d.unit)
	}
	avail := d.size - d.offset
	if avail < 0 {
		avail = 0
	}
	d.regions = int(avail / d.regionSize)
	need := max(opts.MinRegions, 1)
	if d.regions < need {
		return fmt.Errorf("%s is too small: it has %d bytes%s, room for %d region(s) of %d bytes; need %d (%d bytes)",
			d.path, d.size, offsetNote(d.offset), d.regions, d.regionSize, need, d.offset+int64(need)*d.regionSize)
	}
	return nil
}

func offsetNote(off int64) string {
	if off == 0 {
		return ""
	}
	return fmt.Sprintf(" (regions start at byte %d)", off)
}

// Path returns the device path.
func (d *Device) Path() string { return d.path }

// Size returns the device size in bytes.
func (d *Device) Size() int64 { return d.size }

// LogicalBlockSize returns the device's logical block size (BLKSSZGET).
func (d *Device) LogicalBlockSize() int { return int(d.lbs) }

// WriteUnit returns the alignment of every write.
func (d *Device) WriteUnit() int { return int(d.unit) }

// RegionSize returns the bytes of each region.
func (d *Device) RegionSize() int64 { return d.regionSize }

// Fd is the device's file descriptor (for whole-device ioctls such as
// ZeroOut).
func (d *Device) Fd() uintptr { return d.dev.Fd() }

// Regions returns how many regions the device holds.
func (d *Device) Regions() int { return d.regions }

// Extent is where a file lives on the device.
type Extent struct {
	Name    string // path in the device's file tree
	Region  int
	Offset  int64 // byte offset of the region on the device
	Size    int64 // logical file size
	Written int64 // bytes from Offset that hold written data; the rest read as zeros
}

// Layout returns the files and their regions, sorted by name.
func (d *Device) Layout() []Extent {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Extent, 0, len(d.files))
	for name, n := range d.files {
		n.mu.Lock()
		out = append(out, Extent{Name: name, Region: n.region, Offset: d.regionOffset(n.region),
			Size: n.a.size, Written: min(n.a.valid.end(), n.a.size)})
		n.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (d *Device) regionOffset(r int) int64 { return d.offset + int64(r)*d.regionSize }

// Close closes the device. Files still open fail afterwards.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	return d.dev.Close()
}

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
