package guard

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/etcdisk/etcdisk/wal/vfs/blockdev"
)

// The guarded windows are where the formats etcdisk knows of keep their
// labels, so a device that reads as zeroes there carries no label a tool
// would find:
//   - the first 4 MiB: partition tables (MBR, GPT), every file system's
//     superblock, LVM2 (label in the first 4 sectors, metadata to 1 MiB),
//     md v1.1/v1.2, bcache (4 KiB), LUKS headers (up to 4 MiB for LUKS2),
//     ZFS labels L0 and L1 (256 KiB each at 0 and 256 KiB), BlueStore's
//     label (byte 0);
//   - the last 4 MiB: the GPT backup, md v1.0 and v0.90, ZFS labels L2 and
//     L3 (the last 512 KiB of the device rounded down to 256 KiB);
//   - 4 KiB at each copy further in: btrfs superblock mirrors (64 MiB,
//     256 GiB) and BlueStore label copies (1, 10, 100, 1000 GiB).
const (
	headBytes = 4 << 20
	tailBytes = 4 << 20
	spotBytes = 4096
)

// spots are the label copies read outside the head and tail windows.
var spots = []int64{64 << 20, 1 << 30, 10 << 30, 100 << 30, 256 << 30, 1000 << 30}

// Window is a byte range of the device that the guard reads and that a
// run zeroes again when it ends.
type Window struct {
	Off, Len int64
}

// Windows returns the guarded windows of a device of size bytes, in order,
// without overlaps.
func Windows(size int64) []Window {
	head := min(int64(headBytes), size)
	tailStart := max(size-tailBytes, head)
	out := []Window{{0, head}}
	for _, s := range spots {
		if s >= head && s+spotBytes <= tailStart {
			out = append(out, Window{s, spotBytes})
		}
	}
	if tailStart < size {
		out = append(out, Window{tailStart, size - tailStart})
	}
	return out
}

// describeWindows says which windows were read, for info --device.
func describeWindows(size int64) string {
	ws := Windows(size)
	var in []string
	for _, w := range ws[1:] {
		if w.Len == spotBytes {
			in = append(in, sizeName(w.Off))
		}
	}
	s := "first and last 4 MiB"
	if size <= headBytes {
		s = "the whole device"
	}
	if len(in) > 0 {
		s += ", 4 KiB at " + strings.Join(in, ", ") + " (label copies)"
	}
	return s
}

func sizeName(off int64) string {
	if off >= 1<<30 {
		return fmt.Sprintf("%d GiB", off>>30)
	}
	return fmt.Sprintf("%d MiB", off>>20)
}

// readWindows reads every guarded window of an open device (read-only,
// through the page cache).
func readWindows(fh *os.File, size int64) ([]window, error) {
	var out []window
	for _, w := range Windows(size) {
		b := make([]byte, w.Len)
		if _, err := fh.ReadAt(b, w.Off); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read %s at byte %d: %w", fh.Name(), w.Off, err)
		}
		out = append(out, window{off: w.Off, b: b})
	}
	return out, nil
}

// blank finds the first byte of the windows that differs from what an
// unused device reads: zeroes, or all ones (the value some flash devices
// return for discarded blocks). It returns -1 when the windows are blank,
// and the fill value it compared with.
func blank(ws []window) (int64, byte) {
	fill := byte(0)
	if len(ws) > 0 && len(ws[0].b) > 0 && ws[0].b[0] == 0xff {
		fill = 0xff
	}
	for _, w := range ws {
		for i, c := range w.b {
			if c != fill {
				return w.off + int64(i), fill
			}
		}
	}
	return -1, fill
}

// ZeroWindows writes zeroes over the guarded windows of a device of size
// bytes, open as fd, where they overlap its first written bytes (what a
// run may have written: its regions, a neighbour's region), with
// ioctl(BLKZEROOUT), so what etcdisk's own writes left there does not make
// the next run refuse the device. A run calls it when it ends, also on
// errors and interrupts.
func ZeroWindows(fd uintptr, size, written int64) error {
	written = min((written+4095)&^4095, size)
	var errs []error
	for _, w := range Windows(size) {
		end := min(w.Off+w.Len, written)
		if end <= w.Off {
			continue
		}
		if err := blockdev.ZeroOut(fd, w.Off, end-w.Off); err != nil {
			errs = append(errs, fmt.Errorf("zero bytes %d-%d: %w", w.Off, end, err))
		}
	}
	return errors.Join(errs...)
}
