package wal

import (
	"time"

	"github.com/etcdisk/etcdisk/wal/vfs"
)

// Op names an operation the WAL times: a system call it issues, or
// OpRecord, one record's trip into the page writer.
type Op uint8

const (
	OpWrite     Op = iota // write(2) of buffered frames (a page-writer flush)
	OpFdatasync           // fdatasync(2) of a segment
	OpDirFsync            // fsync(2) of the WAL directory after a rename
	OpFallocate           // preallocation of a segment
	OpTruncate            // ftruncate(2) of a segment (cut, or the fallocate fallback)
	OpRename              // rename of a pre-made segment into place
	OpOpen                // open of a segment
	// OpRecord is one record's frame (length word, record and padding)
	// written into the page writer: the span etcd times as
	// etcd_disk_wal_write_duration_seconds (encoder.go's write). It is not
	// a system call; it includes the page writer's write(2) when the frame
	// crosses the buffer's watermark, reported as OpWrite inside it.
	OpRecord
	numOps
)

var opNames = [...]string{"write", "fdatasync", "dirfsync", "fallocate", "ftruncate", "rename", "open", "record"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "unknown"
}

// Observer receives the duration of every system call the WAL issues on its
// critical path (timed by vfs.Timed), and of every record's write into the
// page writer (OpRecord), taken with the monotonic clock right around it.
// Begin is called just before the call (so a watchdog can see it in flight),
// Done just after. Implementations must not allocate and must be safe for
// use by the WAL's goroutine (Save) and its segment pipeline goroutine.
type Observer interface {
	Begin(op Op, start time.Time)
	Done(op Op, d time.Duration, err error)
}

// NopObserver discards everything.
type NopObserver struct{}

func (NopObserver) Begin(Op, time.Time)           {}
func (NopObserver) Done(Op, time.Duration, error) {}

// syscalls passes the reports of the WAL's timed file system (vfs.Timed)
// on to an Observer under the WAL's names, keeping only the system calls
// the WAL times (those of its segments and directory, not its lseeks,
// locks or closes).
type syscalls struct{ obs Observer }

func (s syscalls) Begin(k vfs.OpKind, start time.Time) {
	if op, ok := walOp(k); ok {
		s.obs.Begin(op, start)
	}
}

func (s syscalls) Done(k vfs.OpKind, d time.Duration, err error) {
	if op, ok := walOp(k); ok {
		s.obs.Done(op, d, err)
	}
}

// timedKinds are the operations walOp passes on: the WAL's timed file
// system times only these.
var timedKinds = []vfs.OpKind{
	vfs.OpWrite, vfs.OpFdatasync, vfs.OpDirFsync, vfs.OpFallocate,
	vfs.OpTruncate, vfs.OpRename, vfs.OpOpen,
}

func walOp(k vfs.OpKind) (Op, bool) {
	switch k {
	case vfs.OpWrite:
		return OpWrite, true
	case vfs.OpFdatasync:
		return OpFdatasync, true
	case vfs.OpDirFsync:
		return OpDirFsync, true
	case vfs.OpFallocate:
		return OpFallocate, true
	case vfs.OpTruncate:
		return OpTruncate, true
	case vfs.OpRename:
		return OpRename, true
	case vfs.OpOpen:
		return OpOpen, true
	}
	return 0, false
}
