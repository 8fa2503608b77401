// Package sysinfo describes where a run happens: the file system and mount
// behind a directory, the block device behind it (from /sys), the kernel and
// the CPU, and the settings that make fdatasync lie or distort a
// measurement. It only reads; it never writes to the disk under test.
package sysinfo

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/etcdisk/etcdisk/internal/buildinfo"
	"github.com/etcdisk/etcdisk/internal/procfs"
	"github.com/etcdisk/etcdisk/report"
)

// File system magic numbers (statfs f_type) that matter to us.
const (
	magicTmpfs   = 0x01021994
	magicRamfs   = 0x858458f6
	magicOverlay = 0x794c7630
)

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	MajorMinor string // "253:0"
	Root       string
	Point      string
	Options    string // per-mount and super options, comma separated
	FSType     string
	Source     string
}

// Options sysfs and procfs roots, replaceable in tests.
type Options struct {
	Proc string // default "/proc"
	Sys  string // default "/sys"
}

func (o Options) proc() string {
	if o.Proc == "" {
		return "/proc"
	}
	return o.Proc
}

func (o Options) sys() string {
	if o.Sys == "" {
		return "/sys"
	}
	return o.Sys
}

// ErrMeaningless is returned by CheckTarget for file systems whose results
// would be meaningless.
type ErrMeaningless struct{ Path, FSType, Why string }

func (e *ErrMeaningless) Error() string {
	return fmt.Sprintf("%s is on %s: %s; choose a directory on the disk you want to qualify", e.Path, e.FSType, e.Why)
}

// CheckTarget refuses file systems on which fdatasync does not reach a disk.
// It looks at the statfs magic, not at names: the kernel here even accepts
// O_DIRECT on tmpfs, so trying it proves nothing.
//
// An overlay is looked through: its writes land in the upper layer, so an
// overlay whose upper directory is on tmpfs (a container's writable layer
// on a RAM-backed storage driver) is refused like tmpfs itself.
func CheckTarget(path string) error {
	return Options{}.checkTarget(path, path, 0)
}

func (o Options) checkTarget(target, path string, depth int) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return fmt.Errorf("cannot inspect %s: %w", path, err)
	}
	fsType := ""
	switch uint32(st.Type) {
	case magicTmpfs:
		fsType = "tmpfs"
	case magicRamfs:
		fsType = "ramfs"
	case magicOverlay:
		return o.checkOverlay(target, path, depth)
	default:
		return nil
	}
	if depth > 0 {
		fsType = fmt.Sprintf("overlayfs whose upper layer (%s) is on %s", path, fsType)
	}
	return &ErrMeaningless{target, fsType, "it lives in memory and fsync is a no-op there"}
}

// FreeBytes is the space available to an unprivileged writer at path.
func FreeBytes(path string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// FindMount returns the mount that holds path.
func (o Options) FindMount(path string) (Mount, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Mount{}, err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	mounts, err := procfs.ReadMountinfo(filepath.Join(o.proc(), "self", "mountinfo"))
	if err != nil {
		return Mount{}, err
	}
	var best Mount
	found := false
	for _, pm := range mounts {
		m := fromProcfs(pm)
		if !within(abs, m.Point) {
			continue
		}
		// The last matching mount with the longest point wins (mounts on
		// top of mounts are listed later).
		if !found || len(m.Point) >= len(best.Point) {
			best, found = m, true
		}
	}
	if !found {
		return Mount{}, fmt.Errorf("no mount found for %s", abs)
	}
	return best, nil
}

func within(path, point string) bool {
	if point == "/" {
		return true
	}
	return path == point || strings.HasPrefix(path, point+"/")
}

// parseMountinfo parses one mountinfo line (proc(5)).
func parseMountinfo(line string) (Mount, bool) {
	m, ok := procfs.ParseMountinfoLine(line)
	if !ok {
		return Mount{}, false
	}
	return fromProcfs(m), true
}

// fromProcfs keeps what sysinfo reports of a mount, with the per-mount and
// super-block options joined.
func fromProcfs(m procfs.Mount) Mount {
	opts := m.MountOptions
	if m.SuperOptions != "" {
		opts += "," + m.SuperOptions
	}
	return Mount{
		MajorMinor: m.MajorMinor,
		Root:       m.Root,
		Point:      m.Point,
		Options:    dedupe(opts),
		FSType:     m.FSType,
		Source:     m.Source,
	}
}

func dedupe(opts string) string {
	seen := map[string]bool{}
	var out []string
	for _, o := range strings.Split(opts, ",") {
		if o != "" && !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	return strings.Join(out, ",")
}

// BlockDevice is what /sys says about a block device.
type BlockDevice struct {
	Name          string // kernel name of the whole disk: vda, nvme0n1, loop3
	Partition     string // the partition name when the file system is on one
	Model         string
	Rotational    *bool
	Scheduler     string
	WriteCache    string
	LogicalBlock  int
	PhysicalBlock int
	Loop          bool
	LoopBacking   string
	Virtual       bool
	Holders       []string
}

// Device resolves a "major:minor" to the whole disk behind it.
func (o Options) Device(majmin string) (BlockDevice, error) {
	link := filepath.Join(o.sys(), "dev", "block", majmin)
	real, err := filepath.EvalSymlinks(link)
	if err != nil {
		return BlockDevice{}, fmt.Errorf("no block device %s: %w", majmin, err)
	}
	var d BlockDevice
	disk := real
	if _, err := os.Stat(filepath.Join(real, "partition")); err == nil {
		d.Partition = filepath.Base(real)
		disk = filepath.Dir(real)
	}
	return o.describe(disk, d)
}

// DeviceByPath describes a device node such as /dev/nvme0n1.
func (o Options) DeviceByPath(dev string) (BlockDevice, error) {
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		return BlockDevice{}, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return BlockDevice{}, fmt.Errorf("%s is not a block device", dev)
	}
	return o.Device(fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev)))
}

func (o Options) describe(disk string, d BlockDevice) (BlockDevice, error) {
	d.Name = filepath.Base(disk)
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(disk, rel))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	d.Model = read("device/model")
	if d.Model == "" {
		d.Model = read("dm/name")
	}
	if v := read("queue/rotational"); v != "" {
		r := v == "1"
		d.Rotational = &r
	}
	d.Scheduler = activeScheduler(read("queue/scheduler"))
	d.WriteCache = read("queue/write_cache")
	d.LogicalBlock, _ = strconv.Atoi(read("queue/logical_block_size"))
	d.PhysicalBlock, _ = strconv.Atoi(read("queue/physical_block_size"))
	if strings.HasPrefix(d.Name, "loop") {
		d.Loop = true
		d.LoopBacking = read("loop/backing_file")
	}
	// virtio disks are vdX; their driver names the bus.
	if strings.HasPrefix(d.Name, "vd") || strings.HasPrefix(d.Name, "xvd") {
		d.Virtual = true
		if d.Model == "" {
			d.Model = "virtio disk"
		}
	}
	d.Holders = procfs.Holders(disk)
	return d, nil
}

// activeScheduler picks "[mq-deadline]" out of "none [mq-deadline] kyber".
func activeScheduler(s string) string {
	if i := strings.Index(s, "["); i >= 0 {
		if j := strings.Index(s[i:], "]"); j > 0 {
			return s[i+1 : i+j]
		}
	}
	return s
}

// Probe describes the environment of a run on path (a directory).
// Errors finding a piece of it are not fatal: that piece stays empty.
func Probe(path, version string) report.Environment {
	return Options{}.Probe(path, version)
}

// Probe is Probe with explicit /proc and /sys roots.
func (o Options) Probe(path, version string) report.Environment {
	env := report.Environment{
		Kernel:    kernel(),
		CPUs:      runtime.NumCPU(),
		Version:   version,
		GoVersion: runtime.Version(),
		Path:      path,
	}
	setBuild(&env, version)
	env.Hostname, _ = os.Hostname()
	if abs, err := filepath.Abs(path); err == nil {
		env.Path = abs
	}
	env.FreeBytes, _ = FreeBytes(path)
	m, err := o.FindMount(path)
	if err == nil {
		env.Filesystem = m.FSType
		env.MountPoint = m.Point
		env.MountOptions = m.Options
		env.MountSource = m.Source
		if d, err := o.Device(m.MajorMinor); err == nil {
			fillDevice(&env, d)
		}
	}
	env.Warnings = Warnings(env)
	return env
}

func fillDevice(env *report.Environment, d BlockDevice) {
	env.Device = d.Name
	env.DeviceModel = d.Model
	env.Rotational = d.Rotational
	env.Scheduler = d.Scheduler
	env.WriteCache = d.WriteCache
	env.LogicalBlock = d.LogicalBlock
	env.PhysicalBlock = d.PhysicalBlock
	env.Loop = d.Loop
	env.Virtual = d.Virtual
}

// Warnings lists what makes fdatasync lie or distorts the measurement.
func Warnings(env report.Environment) []string {
	var w []string
	opts := "," + env.MountOptions + ","
	if strings.Contains(opts, ",nobarrier,") || strings.Contains(opts, ",barrier=0,") {
		w = append(w, "mounted with nobarrier: fdatasync does not flush the disk's write cache, so latencies look better than etcd would get after a power loss")
	}
	if env.Filesystem == "overlay" {
		w = append(w, "overlayfs (a container's writable layer): measure the volume etcd will really use (a hostPath or a persistent volume)")
	}
	if env.Loop {
		w = append(w, "a loop device: latencies include the backing file system's, not only the disk's")
	}
	switch env.WriteCache {
	case "write through":
		w = append(w, `the disk reports its write cache as "write through": the kernel sends no cache flushes, so fdatasync costs only the write; right for disks with power-loss protection, a lie for a consumer disk with a volatile cache`)
	}
	if env.Virtual {
		w = append(w, "a virtual disk: the hypervisor's cache mode decides whether fdatasync reaches stable storage; qualify the production host the same way")
	}
	if env.Rotational != nil && *env.Rotational && !env.Virtual && !env.Loop {
		w = append(w, "a rotational disk: etcd's documentation recommends SSDs")
	}
	if env.Filesystem == "nfs" || env.Filesystem == "nfs4" || env.Filesystem == "cifs" || strings.HasPrefix(env.Filesystem, "fuse") {
		w = append(w, "a network or FUSE file system ("+env.Filesystem+"): etcd on it is not supported; the result reflects the server and the network")
	}
	return w
}

func kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
}

// setBuild records the commit the running etcdisk was built from: it is
// part of where the run happened, as the Go version is.
func setBuild(env *report.Environment, version string) {
	b := buildinfo.Read(version)
	env.Revision, env.Modified, env.RevisionTime = b.Revision, b.Modified, b.Time
}

// ProbeDevice describes the environment of a run on a raw block device.
func ProbeDevice(dev, version string) report.Environment {
	env := report.Environment{
		Kernel:    kernel(),
		CPUs:      runtime.NumCPU(),
		Version:   version,
		GoVersion: runtime.Version(),
		Path:      dev,
	}
	setBuild(&env, version)
	env.Hostname, _ = os.Hostname()
	if d, err := (Options{}).DeviceByPath(dev); err == nil {
		fillDevice(&env, d)
	}
	env.Filesystem = "raw device"
	env.Warnings = Warnings(env)
	return env
}
