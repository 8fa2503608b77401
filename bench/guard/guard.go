// Package guard decides whether etcdisk may write to a raw block device.
// Before the first write it looks, without writing, for everything that
// says the device holds or serves data: mounts of the device or of any of
// its partitions, holders (LVM, md, dm, bcache), active swap, an exclusive
// claim by another program, a read-only device, partitions, and what is in
// the guarded windows (see Windows): partition tables, file system, volume
// manager, RAID, encryption, pool and cache signatures, and any byte that
// is not blank. Where blkid is installed its low-level probe is consulted
// too, in addition to the guard's own read.
//
// Mounts, holders, swap, exclusive claims and a read-only device are
// always refused. Data at rest (partition tables, signatures, non-zero
// bytes) is refused unless the user repeats the device's exact path in
// --destroy-data: a device is written without it only when its guarded
// windows read as an unused device reads. The same findings are what
// `etcdisk info --device` prints.
package guard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/etcdisk/etcdisk/internal/procfs"
)

// Kind classifies a finding.
type Kind string

// Kinds of findings. In-use and read-only kinds are never overridden;
// data kinds are overridden by --destroy-data=DEV; notes never refuse.
const (
	KindMounted        Kind = "mounted"         // in use
	KindHolder         Kind = "holder"          // in use
	KindSwap           Kind = "swap"            // in use
	KindBusy           Kind = "busy"            // in use
	KindPartition      Kind = "partition"       // data
	KindPartitionTable Kind = "partition-table" // data
	KindSignature      Kind = "signature"       // data
	KindData           Kind = "data"            // data: non-zero bytes of no known kind
	KindReadOnly       Kind = "read-only"       // cannot be written
	KindNote           Kind = "note"            // information only
)

// InUse reports whether the kind means the device is in use now.
func (k Kind) InUse() bool {
	return k == KindMounted || k == KindHolder || k == KindSwap || k == KindBusy
}

// Refuses reports whether a finding of this kind refuses a write (unless
// overridden, for data kinds).
func (k Kind) Refuses() bool { return k != KindNote }

// Finding is one thing found on or about the device.
type Finding struct {
	Kind Kind
	What string // one line, e.g. `ext4 file system (magic 0xEF53 at byte 1080), label "data"`
}

// Findings describe a device and what is on it.
type Findings struct {
	Device       string // the path as given
	Resolved     string // the device node after symlinks (/dev/disk/by-id/... -> /dev/sdb)
	MajorMinor   string // "7:3"
	Size         int64
	LogicalBlock int
	Checked      string // what was read: the guarded windows, and whether blkid was consulted
	Items        []Finding
}

// InUse reports whether something uses the device now.
func (f Findings) InUse() bool {
	for _, it := range f.Items {
		if it.Kind.InUse() {
			return true
		}
	}
	return false
}

// Overridable reports whether --destroy-data overrides a finding of this
// kind: data at rest, not a use of the device or a read-only device.
func (k Kind) Overridable() bool { return k.Refuses() && !k.InUse() && k != KindReadOnly }

// HasData reports whether the device holds a partition table, partitions,
// a known signature or non-zero bytes in its guarded windows.
func (f Findings) HasData() bool {
	for _, it := range f.Items {
		if it.Kind.Overridable() {
			return true
		}
	}
	return false
}

// ReadOnly reports whether the device cannot be written.
func (f Findings) ReadOnly() bool {
	for _, it := range f.Items {
		if it.Kind == KindReadOnly {
			return true
		}
	}
	return false
}

// Clean reports whether nothing refuses a write.
func (f Findings) Clean() bool { return !f.InUse() && !f.ReadOnly() && !f.HasData() }

// summary joins the refusing findings of the kinds keep selects on one
// line.
func (f Findings) summary(keep func(Kind) bool) string {
	var parts []string
	for _, it := range f.Items {
		if it.Kind.Refuses() && keep(it.Kind) {
			parts = append(parts, it.What)
		}
	}
	return strings.Join(parts, "; ")
}

// Lines renders the findings for `etcdisk info --device`: the device, one
// line per finding, and what a run would do.
func (f Findings) Lines() []string {
	dev := f.Device
	if f.Resolved != "" && f.Resolved != f.Device {
		dev += " -> " + f.Resolved
	}
	lines := []string{fmt.Sprintf("device %s (%s): %d bytes, logical block %d bytes", dev, f.MajorMinor, f.Size, f.LogicalBlock)}
	if f.Checked != "" {
		lines = append(lines, fmt.Sprintf("  %-15s %s", "read", f.Checked))
	}
	for _, it := range f.Items {
		lines = append(lines, fmt.Sprintf("  %-15s %s", it.Kind, it.What))
	}
	switch {
	case f.InUse():
		lines = append(lines, "verdict: in use: etcdisk refuses to write to it")
	case f.ReadOnly():
		lines = append(lines, "verdict: read-only: etcdisk cannot write to it")
	case f.HasData():
		lines = append(lines, fmt.Sprintf("verdict: holds data: etcdisk writes to it only with --destroy-data=%s (destroys that data)", f.Device))
	default:
		lines = append(lines, "verdict: clean: etcdisk may write to it")
	}
	return lines
}

// String is Lines joined by newlines.
func (f Findings) String() string { return strings.Join(f.Lines(), "\n") }

// ErrRefused is wrapped by every refusal.
var ErrRefused = errors.New("refusing to write to the device")

// RefusedError is a refusal: its message is one line listing what was
// found.
type RefusedError struct {
	Findings Findings
	Reason   string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refusing to write to %s: %s", e.Findings.Device, e.Reason)
}

func (e *RefusedError) Unwrap() error { return ErrRefused }

// Check decides whether a run may write to dev: it returns the findings
// and an error refusing the write when dev is not a block device, is in
// use (mounted itself or through a partition, held by LVM/md/dm, active
// swap, claimed exclusively), is read-only, or holds a partition table,
// partitions, a known signature or any byte in its guarded windows that
// is not blank, unless destroyData names the same device: the same
// cleaned path and the same device number (another path to the same
// device, such as a /dev/disk/by-id link, is refused). A destroyData that
// names anything else is refused too, whatever is on dev. In-use and
// read-only findings are never overridden.
func Check(dev, destroyData string) (Findings, error) { return Options{}.Check(dev, destroyData) }

// Check is the package-level Check with these options.
func (o Options) Check(dev, destroyData string) (Findings, error) {
	f, err := o.Inspect(dev)
	if err != nil {
		return f, err
	}
	if destroyData != "" && !sameDevice(dev, destroyData) {
		return f, &RefusedError{Findings: f, Reason: fmt.Sprintf(
			"--destroy-data=%s does not repeat the device path %s exactly", destroyData, dev)}
	}
	if f.InUse() {
		return f, &RefusedError{Findings: f, Reason: f.summary(Kind.InUse) + " (in use: --destroy-data does not override this)"}
	}
	if f.ReadOnly() {
		return f, &RefusedError{Findings: f, Reason: f.summary(func(k Kind) bool { return k == KindReadOnly })}
	}
	if f.HasData() && destroyData == "" {
		return f, &RefusedError{Findings: f, Reason: fmt.Sprintf(
			"%s; to destroy this data pass --destroy-data=%s", f.summary(Kind.Overridable), dev)}
	}
	return f, nil
}

// Consent returns the --destroy-data value among values that names dev
// exactly (the same cleaned path), or "" when none does. Each value names
// one device: the run's --device or a neighbour's device=.
func Consent(dev string, values []string) string {
	for _, v := range values {
		if filepath.Clean(v) == filepath.Clean(dev) {
			return v
		}
	}
	return ""
}

// sameDevice compares the cleaned paths and the device numbers.
func sameDevice(dev, other string) bool {
	dev, other = filepath.Clean(dev), filepath.Clean(other)
	if dev != other {
		return false
	}
	var a, b unix.Stat_t
	if unix.Stat(dev, &a) != nil || unix.Stat(other, &b) != nil {
		return false
	}
	return a.Mode&unix.S_IFMT == unix.S_IFBLK && b.Mode&unix.S_IFMT == unix.S_IFBLK && a.Rdev == b.Rdev
}

// Options replace the roots of /proc and /sys and the blkid program
// (tests).
type Options struct {
	Proc  string // default "/proc"
	Sys   string // default "/sys"
	Blkid string // default "blkid" from PATH (skipped when missing); "-" does not run it
}

// Inspect gathers the findings about dev without writing anything. It
// fails only when dev cannot be examined (missing, not a block device,
// unreadable).
func Inspect(dev string) (Findings, error) { return Options{}.Inspect(dev) }

// Inspect is the package-level Inspect with these roots.
func (o Options) Inspect(dev string) (Findings, error) {
	if o.Proc == "" {
		o.Proc = "/proc"
	}
	if o.Sys == "" {
		o.Sys = "/sys"
	}
	f := Findings{Device: dev}
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		return f, &os.PathError{Op: "stat", Path: dev, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return f, fmt.Errorf("%s is not a block device (use --dir for a directory on a file system): %w", dev, ErrRefused)
	}
	if r, err := filepath.EvalSymlinks(dev); err == nil {
		f.Resolved = r
	}
	f.MajorMinor = fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))

	// The device and its partitions, by device number.
	sys := filepath.Join(o.Sys, "dev", "block", f.MajorMinor)
	ids := map[string]string{f.MajorMinor: filepath.Base(dev)}
	if ents, err := os.ReadDir(sys); err == nil {
		for _, e := range ents {
			d := filepath.Join(sys, e.Name())
			if _, err := os.Stat(filepath.Join(d, "partition")); err != nil {
				continue
			}
			id := readTrim(filepath.Join(d, "dev"))
			ids[id] = e.Name()
			f.Items = append(f.Items, Finding{Kind: KindPartition, What: fmt.Sprintf("partition %s (%s)", e.Name(), id)})
			for _, h := range procfs.Holders(d) {
				f.Items = append(f.Items, Finding{Kind: KindHolder, What: fmt.Sprintf("partition %s is held by %s%s", e.Name(), h, holderKind(o.Sys, h))})
			}
		}
	}
	for _, h := range procfs.Holders(sys) {
		f.Items = append(f.Items, Finding{Kind: KindHolder, What: fmt.Sprintf("held by %s%s", h, holderKind(o.Sys, h))})
	}
	f.Items = append(f.Items, mounts(filepath.Join(o.Proc, "self", "mountinfo"), ids)...)
	f.Items = append(f.Items, swaps(filepath.Join(o.Proc, "swaps"), ids)...)

	// NB: an exclusive open claims the device for a moment; it fails with
	// EBUSY while the kernel (mount, swap, md, dm) or a program holds it.
	if fd, err := unix.Open(dev, unix.O_RDONLY|unix.O_EXCL|unix.O_CLOEXEC, 0); err == nil {
		unix.Close(fd)
	} else if errors.Is(err, syscall.EBUSY) {
		if !f.InUse() { // a mount, holder or swap already explains it
			f.Items = append(f.Items, Finding{Kind: KindBusy, What: "exclusively claimed by the kernel or another program (open O_EXCL: device or resource busy)"})
		}
	} else {
		return f, &os.PathError{Op: "open", Path: dev, Err: err}
	}

	im, err := read(dev, &f)
	if err != nil {
		return f, err
	}
	f.Items = append(f.Items, scan(im)...)
	ext, ran := o.blkid(dev)
	f.Items = append(f.Items, ext...)
	f.Checked = describeWindows(f.Size) + ran
	return f, nil
}

// holderKind names the kind of a holder from /sys/block/H/dm/uuid or md.
func holderKind(sysRoot, h string) string {
	base := filepath.Join(sysRoot, "block", h)
	if uuid := readTrim(filepath.Join(base, "dm", "uuid")); uuid != "" {
		name := readTrim(filepath.Join(base, "dm", "name"))
		kind := "device mapper"
		switch {
		case strings.HasPrefix(uuid, "LVM-"):
			kind = "LVM"
		case strings.HasPrefix(uuid, "CRYPT-"):
			kind = "dm-crypt"
		}
		return fmt.Sprintf(" (%s %s)", kind, name)
	}
	if strings.HasPrefix(h, "md") {
		return " (md RAID)"
	}
	return ""
}

func readTrim(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// mounts finds mounts of any of ids ("maj:min" -> name) in mountinfo.
func mounts(path string, ids map[string]string) []Finding {
	ms, _ := procfs.ReadMountinfo(path)
	var out []Finding
	for _, m := range ms {
		if name, ok := ids[m.MajorMinor]; ok {
			out = append(out, Finding{Kind: KindMounted, What: fmt.Sprintf("%s is mounted on %s (%s)", name, m.Point, m.FSType)})
		}
	}
	return out
}

// swaps finds active swap areas on any of ids in /proc/swaps.
func swaps(path string, ids map[string]string) []Finding {
	sws, _ := procfs.ReadSwaps(path)
	var out []Finding
	for _, sw := range sws {
		if sw.Type != "partition" {
			continue
		}
		var st unix.Stat_t
		if unix.Stat(sw.Filename, &st) != nil {
			continue
		}
		id := fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		if name, ok := ids[id]; ok {
			out = append(out, Finding{Kind: KindSwap, What: fmt.Sprintf("%s is active swap (%s)", name, sw.Filename)})
		}
	}
	return out
}

// read reads the device's size, logical block size, read-only flag and its
// guarded windows for the probes (read-only, through the page cache).
func read(dev string, f *Findings) (*image, error) {
	fh, err := os.Open(dev)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var size uint64
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, fh.Fd(), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&size))); e != 0 {
		return nil, fmt.Errorf("%s: ioctl(BLKGETSIZE64): %w", dev, e)
	}
	lbs, err := unix.IoctlGetInt(int(fh.Fd()), unix.BLKSSZGET)
	if err != nil {
		return nil, fmt.Errorf("%s: ioctl(BLKSSZGET): %w", dev, err)
	}
	f.Size, f.LogicalBlock = int64(size), lbs
	if ro, err := unix.IoctlGetInt(int(fh.Fd()), unix.BLKROGET); err == nil && ro != 0 {
		f.Items = append(f.Items, Finding{Kind: KindReadOnly, What: fmt.Sprintf(
			"%s is read-only (ioctl BLKROGET: a loop device attached with losetup -r, or a write-protected disk)", dev)})
	}
	wins, err := readWindows(fh, int64(size))
	if err != nil {
		return nil, err
	}
	return &image{wins: wins, size: int64(size), lbs: int64(lbs)}, nil
}
