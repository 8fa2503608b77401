package blockdev_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	etcdwal "go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"

	"github.com/etcdisk/etcdisk/wal"
	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/blockdev"
)

// saves is what a scripted WAL run saved.
type saves struct {
	ents  []wal.Entry
	state wal.HardState
}

// runWAL creates a WAL in dir on fs and saves n random batches (single
// entries, batches past the page writer's watermark, commit-only hard
// states), enough to cross several cuts of segSize.
func runWAL(t *testing.T, fs vfs.FS, dir string, segSize int64, n int, seed uint64) (*wal.WAL, saves) {
	t.Helper()
	w, err := wal.Create(dir, wal.Options{FS: fs, SegmentSize: segSize, Metadata: []byte("etcdisk"), KeepSegments: -1})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	var s saves
	index := uint64(0)
	for i := 0; i < n; i++ {
		var ents []wal.Entry
		k := 1 + rng.IntN(3)
		if rng.IntN(15) == 0 {
			k = 4 // a batch past the 128 KiB watermark
		}
		for j := 0; j < k; j++ {
			index++
			size := rng.IntN(3000)
			if k == 4 {
				size = 40000
			}
			d := make([]byte, size)
			for b := range d {
				d[b] = byte(rng.Uint32())
			}
			ents = append(ents, wal.Entry{Term: 2, Index: index, Data: d})
		}
		st := wal.HardState{Term: 2, Vote: 1, Commit: index - 1}
		if err := w.Save(st, ents); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
		s.ents = append(s.ents, ents...)
		s.state = st
		if rng.IntN(10) == 0 { // commit only: buffered, no write
			s.state.Commit = index
			if err := w.Save(s.state, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	return w, s
}

// reassemble copies every segment of the WAL in dir out of the device
// (read through readAt at the region's offset) into a directory of plain
// files, as large as the segment and zero past its written bytes.
func reassemble(t *testing.T, layout []blockdev.Extent, dir string, readAt func(off, n int64) []byte) (string, int) {
	t.Helper()
	out := t.TempDir()
	segs := 0
	for _, e := range layout {
		if filepath.Dir(e.Name) != dir || !strings.HasSuffix(e.Name, ".wal") {
			continue
		}
		segs++
		p := filepath.Join(out, filepath.Base(e.Name))
		if err := os.WriteFile(p, readAt(e.Offset, e.Written), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, e.Size); err != nil {
			t.Fatal(err)
		}
	}
	return out, segs
}

// checkEtcdReads opens the reassembled WAL with etcd's own reader.
func checkEtcdReads(t *testing.T, dir string, want saves) {
	t.Helper()
	r, err := etcdwal.OpenForRead(nil, dir, &walpb.Snapshot{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	meta, st, ents, err := r.ReadAll()
	if err != nil {
		t.Fatalf("etcd ReadAll: %v", err)
	}
	if string(meta) != "etcdisk" {
		t.Fatalf("metadata %q", meta)
	}
	if st.GetTerm() != want.state.Term || st.GetVote() != want.state.Vote || st.GetCommit() != want.state.Commit {
		t.Fatalf("hard state %v, want %+v", st, want.state)
	}
	if len(ents) != len(want.ents) {
		t.Fatalf("etcd read %d entries, want %d", len(ents), len(want.ents))
	}
	for i, e := range ents {
		if e.GetIndex() != want.ents[i].Index || !bytes.Equal(e.GetData(), want.ents[i].Data) {
			t.Fatalf("entry %d differs", i)
		}
	}
}

// TestWALOnFakeDevice runs package wal unchanged on a fake device (a
// regular file) across several cuts and decodes the regions with etcd's
// reader.
func TestWALOnFakeDevice(t *testing.T) {
	const region = 512 * 1024
	img := filepath.Join(t.TempDir(), "dev.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 16*region); err != nil {
		t.Fatal(err)
	}
	d, err := blockdev.Open(img, blockdev.Options{RegularFile: true, RegionSize: region})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	w, want := runWAL(t, d, "wal", region/2, 300, 1)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	dir, segs := reassemble(t, d.Layout(), "wal", func(off, n int64) []byte { return raw[off : off+n] })
	if segs < 3 {
		t.Fatalf("%d segments: the test must cross cuts", segs)
	}
	checkEtcdReads(t, dir, want)
	// Segments hold distinct regions.
	seen := map[int]string{}
	for _, e := range d.Layout() {
		if o, dup := seen[e.Region]; dup {
			t.Fatalf("%s and %s share region %d", o, e.Name, e.Region)
		}
		seen[e.Region] = e.Name
	}
}

// TestWALOnDirectFiles runs the WAL through Direct on the temp dir's file
// system and has etcd read the files as they are.
func TestWALOnDirectFiles(t *testing.T) {
	fs := blockdev.Direct(vfs.Default, blockdev.DirectOptions{})
	dir := filepath.Join(t.TempDir(), "wal")
	probe, err := fs.OpenFile(dir+".probe", os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Skipf("temp dir without O_DIRECT: %v", err)
	}
	probe.Close()
	w, want := runWAL(t, fs, dir, 256*1024, 200, 3)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Segments() < 3 {
		t.Fatalf("%d segments: the test must cross cuts", w.Segments())
	}
	checkEtcdReads(t, dir, want)
}

// TestRegionsReusedAfterPurge: with 4 regions, a WAL that purges old
// segments keeps running past 4 segments (regions of removed segments are
// reused); without the purge it runs out with a clear ENOSPC error.
func TestRegionsReusedAfterPurge(t *testing.T) {
	const region = 256 * 1024
	img := filepath.Join(t.TempDir(), "dev.img")
	if err := os.WriteFile(img, make([]byte, 4*region+1000), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := blockdev.Open(img, blockdev.Options{RegularFile: true, RegionSize: region})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Regions() != 4 {
		t.Fatalf("%d regions", d.Regions())
	}
	w, err := wal.Create("wal", wal.Options{FS: d, SegmentSize: region / 2, KeepSegments: -1})
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 30000)
	var i uint64
	save := func() error {
		i++
		return w.Save(wal.HardState{Term: 1, Vote: 1, Commit: i}, []wal.Entry{{Term: 1, Index: i, Data: big}})
	}
	for w.Segments() < 8 {
		if err := save(); err != nil {
			t.Fatalf("save %d (segment %d): %v", i, w.Segments(), err)
		}
		if _, err := w.PurgeKeep(2); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range d.Layout() {
		if e.Region >= 4 {
			t.Fatalf("%+v", e)
		}
	}
	// Without purging, the next cuts need more regions than there are.
	var err2 error
	for n := 0; n < 100 && err2 == nil; n++ {
		err2 = save()
	}
	if !errors.Is(err2, syscall.ENOSPC) || !errors.Is(err2, blockdev.ErrNoRegion) || !strings.Contains(err2.Error(), "all 4 regions") {
		t.Fatalf("err %v", err2)
	}
	t.Log(err2)
	w.Close()
}

// TestOpenRefusesBadGeometry: clear errors for a path that is not a block
// device, a device too small for the regions, a write unit that is not a
// multiple of the logical block size, and a region size that is not a
// multiple of the write unit.
func TestOpenRefusesBadGeometry(t *testing.T) {
	img := filepath.Join(t.TempDir(), "dev.img")
	if err := os.WriteFile(img, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts blockdev.Options
		want string
	}{
		{blockdev.Options{}, "is not a block device"},
		{blockdev.Options{RegularFile: true}, "too small: it has 1048576 bytes, room for 0 region(s) of 67108864 bytes; need 1"},
		{blockdev.Options{RegularFile: true, RegionSize: 256 << 10, MinRegions: 5}, "room for 4 region(s)"},
		{blockdev.Options{RegularFile: true, LogicalBlockSize: 4096, WriteUnit: 512}, "logical block size (4096 bytes)"},
		{blockdev.Options{RegularFile: true, RegionSize: 100000}, "not a positive multiple of the 4096-byte write unit"},
	} {
		d, err := blockdev.Open(img, tc.opts)
		if err == nil {
			d.Close()
			t.Errorf("%+v: no error", tc.opts)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v; want %q", tc.opts, err, tc.want)
		}
	}
}

// TestNamespace: the in-memory tree behaves like a file system for what
// the WAL does (errors match os errors; a directory rename moves files).
func TestNamespace(t *testing.T) {
	img := filepath.Join(t.TempDir(), "dev.img")
	if err := os.WriteFile(img, make([]byte, 3*(64<<10)), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := blockdev.Open(img, blockdev.Options{RegularFile: true, RegionSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.OpenFile("a/x", os.O_WRONLY|os.O_CREATE, 0o600); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("create in a missing dir: %v", err)
	}
	if err := d.Mkdir("a", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := d.Mkdir("a", 0o700); !errors.Is(err, os.ErrExist) {
		t.Fatalf("mkdir twice: %v", err)
	}
	f, err := d.OpenFile("a/x", os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := d.Remove("a"); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Fatalf("remove non-empty dir: %v", err)
	}
	if err := d.Rename("a", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Stat("a/x"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old name: %v", err)
	}
	fi, err := d.Stat("b/x")
	if err != nil || fi.Size() != 5 {
		t.Fatalf("stat b/x: %v %v", fi, err)
	}
	g, err := d.OpenFile("b/x", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := g.ReadAt(buf, 0); err != nil || string(buf) != "hello" {
		t.Fatalf("read %q %v", buf, err)
	}
	if _, err := g.Write(buf); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("write to a read-only handle: %v", err)
	}
	// Removed while open: the region stays taken until the last close.
	if err := d.RemoveAll("b"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := d.OpenFile("f"+string(rune('0'+i)), os.O_WRONLY|os.O_CREATE, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.OpenFile("f2", os.O_WRONLY|os.O_CREATE, 0o600); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("region of an open unlinked file reused: %v", err)
	}
	g.Close()
	if _, err := d.OpenFile("f2", os.O_WRONLY|os.O_CREATE, 0o600); err != nil {
		t.Fatalf("region not freed by the last close: %v", err)
	}
}
