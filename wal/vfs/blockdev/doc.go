// Package blockdev runs etcd's WAL write pattern on raw block devices and
// with O_DIRECT on files, behind the vfs.FS seam, so package wal runs on
// them unchanged.
//
// # Raw devices (Open)
//
// A Device is a block device seen as a file system. The directory tree
// lives in memory; each file is a region of RegionSize bytes (64 MiB:
// etcd's 64,000,000-byte segment plus room for the last Save, which runs
// past the segment size before etcd cuts) on the device: a new file takes
// the lowest free region, so the regions of purged segments are reused (the
// WAL wraps around). A write past the region fails with EFBIG. What each
// operation becomes:
//
//   - OpenFile: O_CREATE takes a region (no I/O); when none is free it
//     fails with ENOSPC naming the device and its region count. Lock is a
//     no-op: Open holds the whole device with O_EXCL.
//   - Write, WriteAt: one pwrite(2) on the device, O_DIRECT, of whole write
//     units (see below) at the region's offset.
//   - Fdatasync, Fsync: fdatasync(2) of the device: the block layer sends
//     the device a cache flush, as a file system's fdatasync does after
//     writing the data.
//   - Fallocate: reserves the range (the logical size grows), no I/O
//     (Options.ZeroRegions zeroes it with BLKZEROOUT instead).
//   - Truncate: sets the logical size, no I/O.
//   - Rename: the region follows its new name (a pre-made 0.tmp becomes
//     the next segment), no I/O; a directory rename moves its files.
//   - Mkdir, Remove, RemoveAll, Stat, Seek, Close: in memory, no I/O; a
//     removed file's region is freed with its last open handle.
//   - a directory's Fsync: fdatasync(2) of the device (a no-op with
//     Options.NoDirSync).
//
// What etcd's metrics then miss: on a file system, writing into a
// preallocated segment converts unwritten extents and fdatasync commits
// that metadata (a journal write), and the directory fsync of a cut
// commits the rename (another journal transaction). On a raw device there
// is no file system: fdatasync is the device cache flush alone and the
// directory fsync is a second, nearly empty flush. A raw-device run
// measures the device, so its WAL fdatasync latencies are a lower bound of
// what etcd on a file system on that device would see.
//
// # Aligned writes
//
// etcd's page writer flushes N bytes at the current file offset: writes
// are sequential and unaligned, and the partly filled last page is written
// again by the next flush. O_DIRECT needs offsets and lengths that are
// multiples of the device's logical block size and buffers aligned in
// memory. Each Write therefore becomes one pwrite of the whole write units
// it touches, from an aligned buffer: the bytes before it in its first
// unit come from the copy of the last unit written (kept in memory, so no
// read is needed), the bytes after it in its last unit are zeros (never
// written). The number of system calls stays one per WAL write; the bytes
// on the disk are those a plain file would hold. The write unit is the
// logical block size, at least 4096 bytes: the page cache writes etcd's
// WAL in 4 KiB pages, so a 512-byte-sector device sees the same write
// sizes as under etcd.
//
// # Direct I/O on files (Direct)
//
// Direct wraps a vfs.FS (normally vfs.Default on a directory): files are
// opened O_DIRECT and written through the same aligned writes; everything
// else is the wrapped file system's. The write unit comes from statx's
// STATX_DIOALIGN. A file system without direct I/O fails at OpenFile with
// an error naming it; a write the kernel rejects (EINVAL) fails with an
// error naming the alignment it needs.
package blockdev
