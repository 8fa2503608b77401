package vfs

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// HugePageSize is the size of a transparent huge page (PMD size) on the
// architectures etcdisk runs on (amd64, arm64 with 4 KiB pages).
const HugePageSize = 2 << 20

// HugeAlignedBlock returns a zeroed n-byte buffer for direct I/O in its own
// anonymous mapping, aligned to HugePageSize and advised (madvise(2)
// MADV_HUGEPAGE) to be backed by transparent huge pages, and the function
// that unmaps it. The caller must not touch the buffer after calling free.
//
// Why: an O_DIRECT write goes to the device straight from the user's pages.
// A buffer of ordinary 4 KiB pages is physically scattered, so a 1 MiB write
// becomes up to 256 scatter-gather segments (more than a queue with
// max_segments 254, as a virtio-blk disk can have, takes: two requests);
// a buffer inside one huge page is one segment and one request. Where the
// device pays per segment, as a VM's virtual disk does, large direct writes
// from huge-page buffers are faster: scripts/neighbor-vs-fio.sh with
// FIO_HUGE=1 measures it for fio itself (--iomem=shmhuge against malloc).
// The buffer is ordinary pages, still aligned, where the kernel has no
// transparent huge pages for it (THP disabled, memory too fragmented to
// find one); that costs speed, not correctness.
//
// The mapping takes n rounded up to HugePageSize of memory once touched:
// use it for buffers of a large fraction of a huge page.
func HugeAlignedBlock(n int) (buf []byte, free func() error, err error) {
	if n <= 0 {
		return nil, nil, fmt.Errorf("huge-page buffer of %d bytes", n)
	}
	size := (n + HugePageSize - 1) / HugePageSize * HugePageSize
	// NB: mmap aligns only to the base page: map one huge page more and
	// use the aligned part.
	m, err := unix.Mmap(-1, 0, size+HugePageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, nil, fmt.Errorf("mmap %d bytes: %w", size+HugePageSize, err)
	}
	off := 0
	if r := int(uintptr(unsafe.Pointer(&m[0])) % HugePageSize); r != 0 {
		off = HugePageSize - r
	}
	// Best effort: EINVAL on a kernel without transparent huge pages leaves
	// ordinary pages, as THP "never" does.
	_ = unix.Madvise(m[off:off+size], unix.MADV_HUGEPAGE)
	return m[off : off+n : off+n], func() error { return unix.Munmap(m) }, nil
}
