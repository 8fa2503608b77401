package blockdev

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/etcdisk/etcdisk/wal/vfs"
)

// scratchBytes is the initial size of an aligner's write buffer: a flush of
// etcd's page writer (128 KiB watermark plus a page of slack) and the two
// partial blocks around it fit without growing it.
const scratchBytes = 256 * 1024

// aligner turns the unaligned writes of etcd's page writer into O_DIRECT
// pwrites of whole blocks covering the same bytes, one pwrite per write.
//
// The WAL appends: each flush starts where the previous one ended, usually
// inside a block that the previous flush wrote partly. The aligner keeps
// that last block in memory (tail) and rewrites it with the new bytes after
// it, so no read is needed. Bytes outside the written spans were never
// written (or were truncated away) and read as zeros, as in a file (on a raw
// device the region still holds whatever was there). Only a write that
// starts or ends inside an older written block that is no longer cached
// reads it first (one extra pread); the WAL never does that.
//
// NB: an aligner is not safe for concurrent use; its owner serialises
// calls (a WAL segment is written by one goroutine at a time).
type aligner struct {
	sink vfs.File // the device or the O_DIRECT file: WriteAt/ReadAt are pwrite/pread
	base int64    // offset of logical byte 0 in sink
	bs   int64    // write unit: a power of two, a multiple of the logical block size
	size int64    // logical size (what Stat and SeekEnd see)
	// valid holds the ranges whose device bytes are the file's; the rest
	// reads as zeros.
	valid spans
	// maxEnd is the end of the furthest aligned write: for a file it is
	// the size the kernel gave it, which may exceed size.
	maxEnd  int64
	tail    []byte // the block at tailOff (bs bytes, aligned), or nil
	tailOff int64  // -1 when no block is cached
	buf     []byte // aligned scratch
	what    string // the target in error messages: "device /dev/loop3", "file system ext4 on /"
	name    string // the file's name in error messages
	lbs     int64  // logical block size of the target, for error messages
}

func newAligner(sink vfs.File, name, what string, base, bs, lbs, size int64) *aligner {
	a := &aligner{sink: sink, name: name, what: what, base: base, bs: bs, lbs: lbs,
		size: size, maxEnd: size, tailOff: -1}
	a.valid.add(0, size)
	return a
}

func (a *aligner) scratch(n int64) []byte {
	if int64(len(a.buf)) < n {
		c := int64(scratchBytes)
		for c < n {
			c *= 2
		}
		a.buf = vfs.AlignedBlock(int(c))
	}
	return a.buf[:n]
}

// block fills dst (one aligned block) with the logical contents of the
// block at boff.
func (a *aligner) block(dst []byte, boff int64) error {
	switch {
	case boff == a.tailOff:
		copy(dst, a.tail)
		return nil
	case !a.valid.overlaps(boff, boff+int64(len(dst))):
		clear(dst)
		return nil
	}
	n, err := a.sink.ReadAt(dst, a.base+boff)
	if err != nil && !errors.Is(err, io.EOF) {
		return a.directErr("pread", err, len(dst), boff)
	}
	clear(dst[n:])
	a.valid.zeroOutside(dst, boff)
	return nil
}

// writeAt writes p at logical offset off with one aligned pwrite of the
// blocks it touches. It returns how many bytes of p were written.
func (a *aligner) writeAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		// NB: no system call: an aligned zero-length write has no effect.
		return 0, nil
	}
	if off < 0 {
		return 0, &os.PathError{Op: "pwrite", Path: a.name, Err: syscall.EINVAL}
	}
	bs := a.bs
	end := off + int64(len(p))
	start := off &^ (bs - 1)
	aend := (end + bs - 1) &^ (bs - 1)
	n := aend - start
	buf := a.scratch(n)
	if off > start {
		if err := a.block(buf[:bs], start); err != nil {
			return 0, err
		}
	}
	if end < aend {
		if last := aend - bs; last != start || off == start {
			if err := a.block(buf[n-bs:], last); err != nil {
				return 0, err
			}
		}
	}
	copy(buf[off-start:], p)
	w, err := a.sink.WriteAt(buf, a.base+start)
	if err != nil {
		// Count the bytes of p that reached the disk.
		// NB: what a failed O_DIRECT write left on the device is unknown:
		// count the bytes the kernel reported, as a file would.
		c := min(max(int64(w)-(off-start), 0), int64(len(p)))
		a.valid.add(off, off+c)
		a.tailOff = -1
		return int(c), a.directErr("pwrite", err, len(buf), start)
	}
	if a.tail == nil {
		a.tail = vfs.AlignedBlock(int(bs))
	}
	copy(a.tail, buf[n-bs:])
	a.tailOff = aend - bs
	// The whole aligned range now holds the file's bytes (the padding
	// around p was its logical contents).
	a.valid.add(start, aend)
	a.size = max(a.size, end)
	a.maxEnd = max(a.maxEnd, aend)
	return len(p), nil
}

// readAt reads like pread(2) on a file of the logical size.
func (a *aligner) readAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, &os.PathError{Op: "pread", Path: a.name, Err: syscall.EINVAL}
	}
	if off >= a.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	want := min(int64(len(p)), a.size-off)
	end := off + want
	var n int64
	if hw := a.valid.end(); off < hw {
		rend := min(end, hw)
		start := off &^ (a.bs - 1)
		aend := (rend + a.bs - 1) &^ (a.bs - 1)
		buf := a.scratch(aend - start)
		r, err := a.sink.ReadAt(buf, a.base+start)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, a.directErr("pread", err, len(buf), start)
		}
		clear(buf[r:])
		a.valid.zeroOutside(buf, start)
		n = int64(copy(p, buf[off-start:rend-start]))
	}
	clear(p[n:want])
	if want < int64(len(p)) {
		return int(want), io.EOF
	}
	return int(want), nil
}

// truncate sets the logical size; bytes past it read as zeros afterwards,
// also when the size grows again.
func (a *aligner) truncate(size int64) {
	a.size = size
	if size < a.valid.end() {
		a.valid.cut(size)
		switch {
		case a.tailOff < 0:
		case size <= a.tailOff:
			a.tailOff = -1
		case size < a.tailOff+a.bs:
			clear(a.tail[size-a.tailOff:])
		}
	}
}

// directErr explains an EINVAL from an O_DIRECT transfer: the kernel's
// answer to a misaligned buffer, offset or length.
func (a *aligner) directErr(op string, err error, n int, off int64) error {
	if !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return fmt.Errorf("%s %s: O_DIRECT %s of %d bytes at offset %d rejected (%w): %s requires offsets and lengths that are multiples of its logical block size (%d bytes) and buffers aligned in memory; this run writes %d-byte units",
		op, a.name, op, n, a.base+off, syscall.EINVAL, a.what, a.lbs, a.bs)
}
