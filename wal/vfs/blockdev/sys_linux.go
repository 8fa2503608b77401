package blockdev

import (
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/etcdisk/etcdisk/internal/procfs"
)

// deviceGeometry returns the size in bytes (BLKGETSIZE64) and the logical
// block size (BLKSSZGET) of an open block device.
func deviceGeometry(fd uintptr) (size int64, lbs int, err error) {
	var sz uint64
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, fd, unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&sz))); e != 0 {
		return 0, 0, fmt.Errorf("ioctl(BLKGETSIZE64): %w", e)
	}
	l, err := unix.IoctlGetInt(int(fd), unix.BLKSSZGET)
	if err != nil {
		return 0, 0, fmt.Errorf("ioctl(BLKSSZGET): %w", err)
	}
	return int64(sz), l, nil
}

// ZeroOut writes zeros to [off, off+length) of the block device open as
// fd (ioctl(BLKZEROOUT): the device's write-zeroes command where it has
// one; the kernel writes zero pages where it has none). off and length
// are multiples of the logical block size.
func ZeroOut(fd uintptr, off, length int64) error {
	r := [2]uint64{uint64(off), uint64(length)}
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, fd, unix.BLKZEROOUT, uintptr(unsafe.Pointer(&r)))
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return fmt.Errorf("ioctl(BLKZEROOUT): %w", e)
	}
}

// zeroRange zeroes [off, off+length) of a regular file
// (fallocate(FALLOC_FL_ZERO_RANGE|FALLOC_FL_KEEP_SIZE)).
func zeroRange(fd uintptr, off, length int64) error {
	for {
		err := unix.Fallocate(int(fd), unix.FALLOC_FL_ZERO_RANGE|unix.FALLOC_FL_KEEP_SIZE, off, length)
		if err != unix.EINTR {
			if err != nil {
				return fmt.Errorf("fallocate(ZERO_RANGE): %w", err)
			}
			return nil
		}
	}
}

// dioInfo is what statx says about a file for direct I/O.
type dioInfo struct {
	dev, ino  uint64
	size      int64
	offAlign  int64 // 0 when the file system does not say (or has no O_DIRECT)
	memAlign  int64
	reportsIO bool // STATX_DIOALIGN was answered
}

func statxFd(fd uintptr) (dioInfo, error) {
	var sx unix.Statx_t
	err := unix.Statx(int(fd), "", unix.AT_EMPTY_PATH, unix.STATX_DIOALIGN|unix.STATX_SIZE|unix.STATX_INO, &sx)
	if err != nil {
		return dioInfo{}, fmt.Errorf("statx: %w", err)
	}
	return dioInfo{
		dev:       unix.Mkdev(sx.Dev_major, sx.Dev_minor),
		ino:       sx.Ino,
		size:      int64(sx.Size),
		offAlign:  int64(sx.Dio_offset_align),
		memAlign:  int64(sx.Dio_mem_align),
		reportsIO: sx.Mask&unix.STATX_DIOALIGN != 0,
	}, nil
}

// describeFS names the file system holding path for error messages:
// "ext4 (/dev/vda mounted on /)", from /proc/self/mountinfo; or the statfs
// magic number when the mount is not found.
func describeFS(path string) string {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "the file system of " + path
	}
	id := fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	if ms, err := procfs.ReadMountinfo("/proc/self/mountinfo"); err == nil {
		best, bestLen := "", -1
		for _, m := range ms {
			if m.MajorMinor != id {
				continue
			}
			if strings.HasPrefix(path, m.Point) && len(m.Point) > bestLen {
				best = fmt.Sprintf("%s (%s mounted on %s)", m.FSType, m.Source, m.Point)
				bestLen = len(m.Point)
			} else if bestLen < 0 && best == "" {
				best = fmt.Sprintf("%s (%s mounted on %s)", m.FSType, m.Source, m.Point)
			}
		}
		if best != "" {
			return best
		}
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(path, &sfs); err == nil {
		return fmt.Sprintf("file system type %#x", sfs.Type)
	}
	return "the file system of " + path
}
