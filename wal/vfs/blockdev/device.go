package blockdev

import (
	"errors"
	"fmt"
	"os"
	"sort"
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
