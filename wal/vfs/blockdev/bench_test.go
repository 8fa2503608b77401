package blockdev_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/etcdisk/etcdisk/internal/looptest"
	"github.com/etcdisk/etcdisk/wal"
	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/blockdev"
)

// BenchmarkSaveLoop compares one WAL Save (one 2300-byte entry: one
// write and one fdatasync) on a raw loop device, on ext4 on a loop device
// with buffered writes (etcd's way), and on the same ext4 with O_DIRECT.
// Both loop devices are backed by files on the same disk; run them side
// by side and compare ratios, not absolute numbers. Root only.
func BenchmarkSaveLoop(b *testing.B) {
	raw := looptest.New(b, looptest.Options{SizeMiB: 256})
	fsdev := looptest.New(b, looptest.Options{SizeMiB: 256})
	looptest.Need(b, "mkfs.ext4")
	looptest.Run(b, "mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", fsdev.Path)
	mnt := looptest.Mount(b, fsdev.Path)

	d, err := blockdev.Open(raw.Path, blockdev.Options{RegionSize: 32 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	runs := 0
	for _, tc := range []struct {
		name string
		fs   vfs.FS
		dir  string
	}{
		{"raw", d, "wal"},
		{"ext4", vfs.Default, filepath.Join(mnt, "buffered")},
		{"ext4-direct", blockdev.Direct(vfs.Default, blockdev.DirectOptions{}), filepath.Join(mnt, "direct")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			runs++ // the testing package may call this function more than once
			w, err := wal.Create(fmt.Sprintf("%s%d", tc.dir, runs), wal.Options{FS: tc.fs, SegmentSize: 16 << 20, KeepSegments: 2})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			data := make([]byte, 2300)
			b.SetBytes(int64(len(data)))
			i := uint64(0)
			for b.Loop() {
				i++
				if err := w.Save(wal.HardState{Term: 1, Vote: 1, Commit: i}, []wal.Entry{{Term: 1, Index: i, Data: data}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
