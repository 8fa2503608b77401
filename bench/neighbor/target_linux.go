package neighbor

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/etcdisk/etcdisk/wal/vfs"
)

// punchHole deallocates [off, off+length) of a file and keeps its size:
// fallocate(FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE), the file-level trim.
func punchHole(f vfs.File, off, length int64) error {
	for {
		err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, length)
		switch err {
		case nil:
			return nil
		case unix.EINTR:
			continue
		case unix.EOPNOTSUPP:
			return fmt.Errorf("fallocate(PUNCH_HOLE) %s: %w: %w", f.Name(), vfs.ErrNotSupported, err)
		}
		return &os.PathError{Op: "fallocate(PUNCH_HOLE)", Path: f.Name(), Err: err}
	}
}

// blkDiscard discards [off, off+length) of a block device: ioctl(BLKDISCARD).
func blkDiscard(f vfs.File, off, length int64) error {
	r := [2]uint64{uint64(off), uint64(length)}
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.BLKDISCARD, uintptr(unsafe.Pointer(&r)))
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		case unix.EOPNOTSUPP:
			return fmt.Errorf("ioctl(BLKDISCARD) %s: %w: %w", f.Name(), vfs.ErrNotSupported, errno)
		}
		return &os.PathError{Op: "ioctl(BLKDISCARD)", Path: f.Name(), Err: errno}
	}
}

// checkDevice refuses a raw device a writing neighbour would damage or whose
// writes would hit something in use: not a block device, mounted (itself or
// a partition), held (LVM, RAID, dm), partitioned, or used as swap. It does
// not look for file system signatures on an unmounted device: the caller
// (the run's --destroy-data policy) decides about those.
func checkDevice(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return fmt.Errorf("%s is not a block device", path)
	}
	id := fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	sys := filepath.Join("/sys/dev/block", id)
	if holders, _ := os.ReadDir(filepath.Join(sys, "holders")); len(holders) > 0 {
		return fmt.Errorf("%s is held by %s", path, holders[0].Name())
	}
	ids := map[string]bool{id: true}
	if ents, err := os.ReadDir(sys); err == nil {
		for _, e := range ents {
			if _, err := os.Stat(filepath.Join(sys, e.Name(), "partition")); err == nil {
				return fmt.Errorf("%s has partitions (%s)", path, e.Name())
			}
		}
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(mi))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) > 4 && ids[f[2]] {
				return fmt.Errorf("%s is mounted on %s", path, f[4])
			}
		}
	}
	if sw, err := os.ReadFile("/proc/swaps"); err == nil {
		for _, line := range strings.Split(string(sw), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			var s2 unix.Stat_t
			if unix.Stat(f[0], &s2) == nil && s2.Rdev == st.Rdev {
				return fmt.Errorf("%s is used as swap", path)
			}
		}
	}
	return nil
}
