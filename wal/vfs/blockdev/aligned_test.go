package blockdev

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/errorfs"
	"github.com/etcdisk/etcdisk/wal/vfs/vfstest"
)

// fakeDevice makes a sparse regular file of size bytes and opens it as a
// fake device (no O_DIRECT, no O_EXCL).
func fakeDevice(t *testing.T, size int64, opts Options) (*Device, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dev.img")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	opts.RegularFile = true
	d, err := Open(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, p
}

// readAll reads a vfs.File's logical contents through ReadAt.
func readAll(t *testing.T, f vfs.File, size int64) []byte {
	t.Helper()
	buf := make([]byte, size)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return buf[:n]
}

func fileSize(t *testing.T, f vfs.File) int64 {
	t.Helper()
	cur, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		t.Fatal(err)
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(cur, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	return end
}

// twinFiles is a plain file and a file on a fake device driven alike.
type twinFiles struct {
	t      *testing.T
	rng    *rand.Rand
	pf, df vfs.File
	region int64
}

// both does fn on the plain file, then on the device's.
func (tw *twinFiles) both(what string, fn func(f vfs.File) error) {
	tw.t.Helper()
	if err := fn(tw.pf); err != nil {
		tw.t.Fatalf("%s on the plain file: %v", what, err)
	}
	if err := fn(tw.df); err != nil {
		tw.t.Fatalf("%s on the device: %v", what, err)
	}
}

func (tw *twinFiles) data(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(tw.rng.Uint32()) | 1 // never zero: zeros would hide misplaced bytes
	}
	return b
}

// step does one random operation on both files and names it.
func (tw *twinFiles) step() string {
	rng, region := tw.rng, tw.region
	var what string
	switch r := rng.IntN(20); {
	case r == 0: // truncate shorter or longer
		size := rng.Int64N(region / 2)
		what = fmt.Sprintf("truncate %d", size)
		tw.both(what, func(f vfs.File) error { return f.Truncate(size) })
	case r == 1: // preallocate
		off, n := rng.Int64N(region/4), rng.Int64N(region/4)+1
		what = fmt.Sprintf("fallocate %d@%d", n, off)
		tw.both(what, func(f vfs.File) error { return f.Fallocate(off, n) })
	case r == 2: // overwrite somewhere old: reads a block back
		p := tw.data(rng.IntN(9000) + 1)
		off := rng.Int64N(region/2 - 10000)
		what = fmt.Sprintf("pwrite %d@%d", len(p), off)
		tw.both(what, func(f vfs.File) error { _, err := f.WriteAt(p, off); return err })
	case r == 3: // seek to the end (as a WAL after a cut)
		what = "seek end"
		tw.both(what, func(f vfs.File) error { _, err := f.Seek(0, io.SeekEnd); return err })
	default: // a page-writer flush at the position
		p := tw.data(rng.IntN(6000) + 1)
		what = fmt.Sprintf("write %d", len(p))
		tw.both(what, func(f vfs.File) error {
			if pos, _ := f.Seek(0, io.SeekCurrent); pos+int64(len(p)) > region {
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					return err
				}
			}
			_, err := f.Write(p)
			return err
		})
	}
	return what
}

// same fails unless both files have the same size and contents.
func (tw *twinFiles) same(steps []string) {
	t := tw.t
	ps, ds := fileSize(t, tw.pf), fileSize(t, tw.df)
	if ps != ds {
		t.Fatalf("after %v: size %d, plain file %d", steps, ds, ps)
	}
	if a, b := readAll(t, tw.df, ds), readAll(t, tw.pf, ps); !bytes.Equal(a, b) {
		i := 0
		for a[i] == b[i] {
			i++
		}
		t.Fatalf("after %v: contents differ at %d: %x vs plain %x", steps, i, a[i:min(i+8, len(a))], b[i:min(i+8, len(b))])
	}
}

// regionHoldsPlainFile checks the device itself: the region holds the
// file's bytes wherever the file was written (elsewhere it reads as zeros
// whatever the device holds), and region 0, another file's, is untouched.
func (tw *twinFiles) regionHoldsPlainFile(d *Device, img string) {
	t := tw.t
	var ext Extent
	for _, e := range d.Layout() {
		if e.Name == "f" {
			ext = e
		}
	}
	if ext.Region != 1 || ext.Offset != tw.region {
		t.Fatalf("extent %+v: want region 1 at %d", ext, tw.region)
	}
	raw, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	want := readAll(t, tw.pf, fileSize(t, tw.pf))
	if ext.Size != int64(len(want)) || ext.Written > ext.Size {
		t.Fatalf("extent %+v, plain file size %d", ext, len(want))
	}
	got := raw[ext.Offset : ext.Offset+ext.Size]
	tw.df.(*file).n.a.valid.zeroOutside(got, 0)
	if !bytes.Equal(got, want) {
		t.Fatal("device region differs from the plain file")
	}
	if n := len(tw.df.(*file).n.a.valid); n > 50 {
		t.Errorf("%d written spans", n)
	}
	if !bytes.Equal(raw[:5000], bytes.Repeat([]byte{0xEE}, 5000)) {
		t.Fatal("region 0 was overwritten")
	}
}

// newTwinFiles makes a fake device of three regions whose region 0 holds
// another file, so the device's file lives at a non-zero offset.
func newTwinFiles(t *testing.T, lbs, unit int) (*twinFiles, *Device, string) {
	const region = 256 << 10
	d, img := fakeDevice(t, 3*region, Options{RegionSize: region, LogicalBlockSize: lbs, WriteUnit: unit})
	other, err := d.OpenFile("other", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Write(bytes.Repeat([]byte{0xEE}, 5000)); err != nil {
		t.Fatal(err)
	}
	df, err := d.OpenFile("f", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := vfs.Default.OpenFile(filepath.Join(t.TempDir(), "plain"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pf.Close() })
	rng := rand.New(rand.NewPCG(uint64(lbs), uint64(unit)))
	return &twinFiles{t: t, rng: rng, pf: pf, df: df, region: region}, d, img
}

// TestAlignedWritesMatchPlainFile drives a plain file and a file on a fake
// device through the same random mix of page-writer flushes, overwrites at
// random offsets (which must read the old block back), truncations and
// preallocations. After every step the logical contents are equal, and at
// the end the device's region holds, byte for byte, the plain file's
// written bytes.
func TestAlignedWritesMatchPlainFile(t *testing.T) {
	for _, tc := range []struct{ lbs, unit int }{{512, 512}, {512, 4096}, {4096, 4096}, {4096, 16384}} {
		t.Run(fmt.Sprintf("lbs%d-unit%d", tc.lbs, tc.unit), func(t *testing.T) {
			tw, d, img := newTwinFiles(t, tc.lbs, tc.unit)
			var steps []string
			for i := 0; i < 300; i++ {
				steps = append(steps, tw.step())
				tw.same(steps)
			}
			tw.regionHoldsPlainFile(d, img)
		})
	}
}

// TestDirectOneAlignedPwritePerWrite checks the syscall pattern of Direct
// under etcd-like appends: each Write is exactly one pwrite, aligned in
// offset and length, with no read (the partial block comes from memory),
// also after the file is closed and reopened; the file holds exactly the
// bytes written, and Close truncates it back to them.
func TestDirectOneAlignedPwritePerWrite(t *testing.T) {
	rec := vfstest.NewRecorder(vfs.Default)
	fs := Direct(rec, DirectOptions{})
	name := filepath.Join(t.TempDir(), "seg")
	f, err := fs.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		if strings.Contains(err.Error(), "does not support direct I/O") || strings.Contains(err.Error(), "no direct I/O") {
			t.Skipf("temp dir without O_DIRECT: %v", err)
		}
		t.Fatal(err)
	}
	unit := f.(*directFile).a.bs
	var want []byte
	sizes := []int{128, 2328, 2328, 4096, 100, 9000, 40, 130000, 7}
	write := func(f vfs.File, n int) {
		p := bytes.Repeat([]byte{byte(len(want)%251 + 1)}, n)
		if _, err := f.Write(p); err != nil {
			t.Fatal(err)
		}
		want = append(want, p...)
	}
	rec.Reset()
	for _, n := range sizes[:5] {
		write(f, n)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopen (as the WAL does after a cut) and keep appending.
	if f, err = fs.OpenFile(name, os.O_WRONLY, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	for _, n := range sizes[5:] {
		write(f, n)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var pwrites int
	for _, op := range rec.Ops() {
		switch op.Kind {
		case vfs.OpWriteAt:
			pwrites++
			if op.Off%unit != 0 || op.Size%unit != 0 {
				t.Errorf("misaligned %v", op)
			}
		case vfs.OpWrite, vfs.OpReadAt:
			t.Errorf("unexpected %v", op)
		}
	}
	if pwrites != len(sizes) {
		t.Errorf("%d pwrites for %d writes: %v", pwrites, len(sizes), rec.Ops())
	}
	got, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("file holds %d bytes, want the %d written", len(got), len(want))
	}
}

// TestDirectMisalignedWriteError: a write the kernel rejects with EINVAL
// gets an error naming the alignment, and still wraps EINVAL.
func TestDirectMisalignedWriteError(t *testing.T) {
	inj := errorfs.OnKind(errorfs.Error(syscall.EINVAL), vfs.OpWriteAt)
	fs := Direct(errorfs.Wrap(vfs.Default, inj), DirectOptions{})
	name := filepath.Join(t.TempDir(), "seg")
	f, err := fs.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Skipf("temp dir without O_DIRECT: %v", err)
	}
	defer f.Close()
	_, err = f.Write([]byte("hello"))
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("err %v, want EINVAL", err)
	}
	for _, s := range []string{"O_DIRECT", "logical block size", "file system", "-byte units"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
}

// TestDirectUnsupportedFS: an open that fails with EINVAL (O_DIRECT not
// supported) names the file system.
func TestDirectUnsupportedFS(t *testing.T) {
	inj := errorfs.OnKind(errorfs.Error(syscall.EINVAL), vfs.OpOpen)
	fs := Direct(errorfs.Wrap(vfs.Default, inj), DirectOptions{})
	dir := t.TempDir()
	_, err := fs.OpenFile(filepath.Join(dir, "seg"), os.O_WRONLY|os.O_CREATE, 0o600)
	if err == nil || !strings.Contains(err.Error(), "does not support direct I/O") || !strings.Contains(err.Error(), "mounted on") {
		t.Fatalf("err %v", err)
	}
	t.Log(err)
}

// TestDirectWriteUnitMustMatchAlignment refuses a write unit that is not a
// multiple of the file system's direct I/O alignment.
func TestDirectWriteUnitMustMatchAlignment(t *testing.T) {
	fs := Direct(vfs.Default, DirectOptions{WriteUnit: 3000})
	_, err := fs.OpenFile(filepath.Join(t.TempDir(), "seg"), os.O_WRONLY|os.O_CREATE, 0o600)
	if err == nil || !strings.Contains(err.Error(), "not a power-of-two multiple") {
		t.Fatalf("err %v", err)
	}
}

// TestWriteDoesNotAllocate: a WAL-like append (the measured path) makes no
// allocation once the buffers exist.
func TestWriteDoesNotAllocate(t *testing.T) {
	d, _ := fakeDevice(t, 4<<20, Options{RegionSize: 4 << 20})
	f, err := d.OpenFile("seg", os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 2328)
	f.Write(p) // allocates the scratch and tail buffers
	allocs := testing.AllocsPerRun(200, func() {
		if pos, _ := f.Seek(0, io.SeekCurrent); pos > 3<<20 {
			f.Seek(0, io.SeekStart)
		}
		if _, err := f.Write(p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per write", allocs)
	}
}

// TestZeroRegions: with ZeroRegions a preallocation zeroes what an earlier
// user left in the region, so the region reads back as a preallocated
// file; without it the old bytes stay (and the file still reads zeros).
func TestZeroRegions(t *testing.T) {
	for _, zero := range []bool{false, true} {
		const region = 64 << 10
		p := filepath.Join(t.TempDir(), "dev.img")
		if err := os.WriteFile(p, bytes.Repeat([]byte{0xAB}, 2*region), 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := Open(p, Options{RegularFile: true, RegionSize: region, ZeroRegions: zero})
		if err != nil {
			t.Fatal(err)
		}
		f, err := d.OpenFile("seg", os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("head")); err != nil {
			t.Fatal(err)
		}
		if err := f.Fallocate(0, region); err != nil {
			t.Fatal(err)
		}
		d.Close()
		raw, _ := os.ReadFile(p)
		if string(raw[:4]) != "head" {
			t.Fatalf("zero=%v: written bytes lost: %q", zero, raw[:4])
		}
		rest := raw[4096:region]
		if got := bytes.Equal(rest, make([]byte, len(rest))); got != zero {
			t.Fatalf("zero=%v: region past the written unit zeroed=%v", zero, got)
		}
		if raw[region] != 0xAB {
			t.Fatalf("zero=%v: the next region was touched", zero)
		}
	}
}
