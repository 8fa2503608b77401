package vfs

import "errors"

// ErrNotSupported is wrapped by errors of operations the file system cannot
// perform (fallocate on a file system without preallocation). Callers test it
// with errors.Is and fall back, as etcd does.
var ErrNotSupported = errors.New("vfs: operation not supported")

// OpKind names an FS or File operation. Wrappers (fault injection,
// recording) use it to select and report operations.
type OpKind uint8

const (
	OpOpen      OpKind = iota // FS.OpenFile
	OpOpenDir                 // FS.OpenDir
	OpMkdir                   // FS.Mkdir
	OpRename                  // FS.Rename
	OpRemove                  // FS.Remove
	OpRemoveAll               // FS.RemoveAll
	OpStat                    // FS.Stat
	OpWrite                   // File.Write
	OpWriteAt                 // File.WriteAt
	OpReadAt                  // File.ReadAt
	OpSeek                    // File.Seek
	OpFdatasync               // File.Fdatasync
	OpFsync                   // File.Fsync
	OpFallocate               // File.Fallocate
	OpTruncate                // File.Truncate
	OpLock                    // File.Lock
	OpClose                   // File.Close
	// OpDirFsync is File.Fsync of a directory opened with FS.OpenDir, as
	// Timed reports it: a directory sync after a rename is a metric of its
	// own. Wrappers that select operations (fault injection, recording)
	// see it as OpFsync.
	OpDirFsync
	// OpDiscard is a discard through a file's descriptor
	// (fallocate(PUNCH_HOLE) or ioctl(BLKDISCARD)): not a File method,
	// timed with Time by the code that issues it.
	OpDiscard
	NumOpKinds // number of kinds; not a kind
)

var opKindNames = [...]string{
	"open", "opendir", "mkdir", "rename", "remove", "removeall", "stat",
	"write", "pwrite", "pread", "lseek", "fdatasync", "fsync", "fallocate",
	"ftruncate", "lock", "close", "fsync(dir)", "discard",
}

// String returns the system call's name ("write", "fdatasync", ...;
// "fsync(dir)" for OpDirFsync).
func (k OpKind) String() string {
	if int(k) < len(opKindNames) {
		return opKindNames[k]
	}
	return "unknown"
}
