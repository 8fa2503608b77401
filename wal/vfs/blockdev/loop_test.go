package blockdev_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/etcdisk/etcdisk/internal/looptest"
	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/blockdev"
	"github.com/etcdisk/etcdisk/wal/vfs/vfstest"
)

// TestWALOnLoopDevice is the raw-device acceptance test: package wal runs
// unchanged on a clean loop device with 4 KiB sectors (O_DIRECT, O_EXCL),
// across cuts; the regions read back with O_DIRECT decode with etcd's own
// reader; nothing outside the regions used was written; the device cannot
// be opened a second time while in use.
func TestWALOnLoopDevice(t *testing.T) {
	loop := looptest.New(t, looptest.Options{SizeMiB: 64, SectorSize: 4096})
	const region = 2 << 20
	d, err := blockdev.Open(loop.Path, blockdev.Options{RegionSize: region})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.LogicalBlockSize() != 4096 || d.WriteUnit() != 4096 || d.Regions() != 32 {
		t.Fatalf("geometry: logical block %d, unit %d, %d regions", d.LogicalBlockSize(), d.WriteUnit(), d.Regions())
	}
	if d2, err := blockdev.Open(loop.Path, blockdev.Options{RegionSize: region}); err == nil {
		d2.Close()
		t.Fatal("second exclusive open succeeded")
	} else if !strings.Contains(err.Error(), "is in use") {
		t.Fatalf("second open: %v", err)
	}

	w, want := runWAL(t, d, "wal", region/2, 300, 9)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	layout := d.Layout()
	dir, segs := reassemble(t, layout, "wal", func(off, n int64) []byte {
		return looptest.ReadAt(t, loop.Path, off, n)
	})
	if segs < 3 {
		t.Fatalf("%d segments: the test must cross cuts", segs)
	}
	checkEtcdReads(t, dir, want)

	// Nothing past the last region used was written.
	end := int64(0)
	for _, e := range layout {
		end = max(end, e.Offset+region)
	}
	rest := looptest.ReadAt(t, loop.Path, end, looptest.Size(t, loop.Path)-end)
	if !bytes.Equal(rest, make([]byte, len(rest))) {
		t.Fatal("bytes past the regions in use were written")
	}
}

// TestLoopDeviceAlignment: on a 4 KiB-sector device, a 512-byte write unit
// is refused with the device's logical block size in the message; Direct
// on a file system on it reports 4096-byte alignment and writes whole 4 KiB
// units.
func TestLoopDeviceAlignment(t *testing.T) {
	loop := looptest.New(t, looptest.Options{SizeMiB: 64, SectorSize: 4096})
	_, err := blockdev.Open(loop.Path, blockdev.Options{RegionSize: 1 << 20, WriteUnit: 512})
	if err == nil || !strings.Contains(err.Error(), "logical block size (4096 bytes)") {
		t.Fatalf("err %v", err)
	}
	if _, err := blockdev.Open(loop.Path, blockdev.Options{MinRegions: 2}); err == nil || !strings.Contains(err.Error(), "room for 1 region(s) of 67108864 bytes; need 2") {
		t.Fatalf("err %v", err)
	}

	looptest.Need(t, "mkfs.ext4")
	looptest.Run(t, "mkfs.ext4", "-q", "-F", loop.Path)
	mnt := looptest.Mount(t, loop.Path)
	rec := vfstest.NewRecorder(vfs.Default)
	fs := blockdev.Direct(rec, blockdev.DirectOptions{})
	f, err := fs.OpenFile(mnt+"/seg", os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	for _, op := range rec.Ops() {
		if op.Kind == vfs.OpWriteAt {
			sizes = append(sizes, op.Size)
		}
	}
	if len(sizes) != 1 || sizes[0] != 4096 {
		t.Fatalf("pwrites %v, want one of 4096 bytes", sizes)
	}
	if _, err := blockdev.Direct(vfs.Default, blockdev.DirectOptions{WriteUnit: 512}).OpenFile(mnt+"/seg2", os.O_WRONLY|os.O_CREATE, 0o600); err == nil || !strings.Contains(err.Error(), "4096-byte direct I/O alignment") {
		t.Fatalf("err %v", err)
	}
}
