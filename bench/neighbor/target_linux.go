package neighbor

import (
	"fmt"
	"os"
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
