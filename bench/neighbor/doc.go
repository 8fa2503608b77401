// Package neighbor generates noisy-neighbour disk load next to the etcd
// workload: the logging agent, batch job or backup that shares etcd's disk in
// the incidents users reproduce.
//
// # Spec syntax
//
// A neighbour is described by a spec, KIND[,key=value...]:
//
//	seqwrite   sequential pwrite(2) of bs bytes through the region, wrapping around
//	randwrite  pwrite(2) of bs bytes at uniformly random bs-aligned offsets
//	randread   pread(2) of bs bytes at random offsets (the region is laid out with writes first)
//	seqread    pread(2) of bs bytes sequentially through the region (laid out first)
//	fsync      small sequential pwrites, each followed by fsync(2) (a chatty database or log shipper)
//	writeback  large buffered sequential pwrites and no sync: dirty pages pile up until the
//	           kernel writes them back in storms (the logging-agent pattern); direct is refused
//	trim       discards of bs bytes through the region: BLKDISCARD on a device,
//	           fallocate(PUNCH_HOLE|KEEP_SIZE) on a file (laid out first, and each block is
//	           written again before it is discarded again on later passes)
//
// Keys use fio's names; sizes read as every size flag does (package
// internal/units): fio's bare k/m/g are powers of 1024 (4k = 4096), and so are
// IEC units (4KiB = 4096), while SI units are powers of 1000 (4KB = 4000).
//
//	bs=SIZE         block size of each operation
//	numjobs=N       workers, each issuing one synchronous operation at a time (fio's
//	                psync engine with numjobs=N); qd=N is an older name for it
//	iodepth=1       accepted as fio's synchronous engines have it; a deeper queue needs an
//	                asynchronous engine, which neighbours lack, and is refused (use numjobs)
//	rate=SIZE       throughput limit in bytes per second (rate=200m, rate=200MiB, rate=200MiB/s)
//	iops=N          operation-rate limit (exclusive with rate)
//	direct[=BOOL]   O_DIRECT with aligned buffers; bs must be a multiple of 4096. Buffers
//	                of 256 KiB or more sit in transparent huge pages where the kernel has
//	                them, so each write reaches the device as one scatter-gather segment
//	prefill[=BOOL]  seqwrite, randwrite: write the whole file before the load starts, so the
//	                load overwrites allocated blocks (a database rewriting its pages) instead
//	                of writing into preallocated ones, whose first write on ext4 and XFS
//	                also converts the extent (a metadata update)
//	size=SIZE       size of the file, or of the region of the device, the neighbour uses
//	dir=PATH        directory of the neighbour's file (default: the run's directory)
//	device=PATH     raw block device instead of a file (exclusive with dir); a
//	                writing kind needs the caller's Options.Guard
//	on=D,off=D      burst schedule: D on, D off, repeating (both or neither)
//	start=D         delay before the first operation
//	sync-every=N    fsync(2) after every N operations of a worker (0: never)
//
// Durations use Go syntax (5s, 250ms). Parse fills every default in, so a
// Spec always states the whole load; String renders it back canonically.
package neighbor
