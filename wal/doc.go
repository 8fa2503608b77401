/*
Package wal reproduces etcd's write-ahead log on disk: the same bytes and the
same system calls, in the same order, as etcd v3.7's server/storage/wal, so
that the latency measured here is the latency etcd would see. It only
writes; reading, repair and snapshots are etcd's business (and etcd's own
wal.Open/ReadAll reads what this package writes).

# File format

A WAL is a directory of segments named %016x-%016x.wal (sequence number,
index of the first entry after it). Each segment is preallocated to
SegmentSizeBytes (64,000,000) and holds frames:

	frame  = length word (8 bytes, little endian) | record | 0-7 zero bytes
	length = len(record), OR'ed with (0x80|pad)<<56 when pad != 0

so every frame is 8-byte aligned and a torn length word can be detected.
A record is a protobuf walpb.Record {type, crc, data}. Types: 1 metadata,
2 entry (a raftpb.Entry), 3 hard state (a raftpb.HardState), 4 crc,
5 snapshot. The crc field is a CRC-32C (Castagnoli) that rolls over the data
of every record and chains across segments: each segment starts with a crc
record carrying the previous segment's final CRC, then a metadata record,
then the last hard state (the first segment: an empty snapshot record
instead). Records are encoded by hand into reused buffers (no allocation on
Save), byte-identical to proto.Marshal of etcd v3.7's pointer-field types:
Entry has Term and Index always present and Type absent (EntryNormal, as
raft leaves it), HardState has all three fields present.

# System calls

The file offset decides when to cut, and all data goes through a page
writer (etcd's pkg/ioutil.PageWriter): records are buffered up to 128 KiB;
a flush is one write(2) of exactly the buffered bytes at the current
offset (unaligned, so the last partial page is written again by the next
flush); past the watermark, the buffer is completed to a 4096-byte file
boundary and written, whole pages of the rest are written directly and the
tail stays buffered.

Create(dir):

	open(dir) = ENOENT                        etcd's wal.Exist
	mkdir dir.tmp; open/write(0)/close/unlink dir.tmp/.touch; open/close dir.tmp
	open dir.tmp/0000000000000000-0000000000000000.wal O_WRONLY|O_CREAT 0600
	fcntl F_OFD_SETLKW; fallocate(fd, 0, 0, segment size)  (ENOTSUP: ftruncate)
	write (crc, metadata, snapshot records); fdatasync
	unlink+rmdir dir (ENOENT); rename dir.tmp -> dir
	[pipeline starts]; open dir (kept for later syncs)
	open parent; fsync parent; close parent

Save(state, entries):

	nothing at all if both are empty
	encode entries and the hard state (buffered; no system call below 128 KiB)
	lseek(fd, 0, SEEK_CUR)
	offset < segment size: if entries, or term or vote changed:
	    write (one flush); fdatasync     [a commit-only hard state stays buffered]
	offset >= segment size: cut

Note that the offset is taken before the flush: the save that crosses the
segment size is a plain one, the next one cuts.

cut:

	ftruncate(old, offset); write (flush); fdatasync(old)
	take {0,1}.tmp from the pipeline (waiting if it is not ready)
	write (crc, metadata, hard state records); fdatasync(new)
	rename N.tmp -> %016x-%016x.wal; fsync(dir)
	close; open final O_WRONLY; fcntl F_OFD_SETLKW

Close: the pipeline unlinks and closes its pre-made file; write (flush, if
anything is buffered); fdatasync; close every segment and the directory.

The segment pipeline is a goroutine that keeps the next segment ready:
open {0,1}.tmp O_WRONLY|O_CREAT 0600, fcntl F_OFD_SETLKW, fallocate; it
makes the next one as soon as one is taken.

Disk use is bounded by a background purge (Options.KeepSegments, every
PurgeInterval; etcd keeps 5 and purges every 30 s once snapshots release
old segments) or by calling PurgeKeep.

# Observation

Every system call that matters is reported to the Observer with Begin (just
before; the start time) and Done (just after; the duration on the monotonic
clock, and the error). The system calls are timed by vfs.Timed, the decorator
every load of etcdisk times its disk with, wrapped around Options.FS; the WAL
passes on those of its segments and directory under its own Op names and
times OpRecord itself. From Save's goroutine (Create, Save, Close): OpRecord
for each record written into the page writer (not a system call: the span
etcd times), OpWrite for each page-writer write(2), OpFdatasync for each fdatasync (plain syncs,
both of a cut, Create's, Close's), OpDirFsync for the directory fsync of a
cut and the parent fsync of Create, OpTruncate, OpRename and OpOpen of a cut
(and OpOpen/OpFallocate of Create). From the pipeline goroutine,
concurrently with Save: OpOpen and OpFallocate (OpTruncate for the fallback)
of the next segment. etcd's wal_fsync metric is OpFdatasync plus
OpDirFsync; its wal_write metric is OpRecord, one sample per record (the
page writer's flush write(2) at the end of a Save is not in it).

# Errors

Create returns an error wrapping ErrExist (and os.ErrExist) when dir or
dir.tmp exists (etcd would reuse an empty dir and remove a leftover
dir.tmp: Create never removes what it did not make); Save returns ErrClosed after Close. Errors of the file system are
returned as they come (wrapped *os.PathError from vfs.Default); after a
failed Save the WAL is in an undefined state, as etcd's (which panics).
*/
package wal
