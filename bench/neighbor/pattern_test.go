package neighbor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/vfstest"
)

// ops returns the recorded operations of kind k on the neighbour's file.
func opsOf(rec *vfstest.Recorder, kinds ...vfs.OpKind) []vfstest.RecordedOp {
	var out []vfstest.RecordedOp
	for _, o := range rec.Ops() {
		if slices.Contains(kinds, o.Kind) {
			out = append(out, o)
		}
	}
	return out
}

func TestSeqWritePattern(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	_, err, _ := runVirtual(t, "seqwrite,bs=4KiB,size=66KiB,direct,iops=100", rec, time.Second, Options{Name: "n0"})
	if err != nil {
		t.Fatal(err)
	}
	ops := rec.Ops()
	path := filepath.Join("run", "etcdisk-neighbor-n0.dat")
	open := ops[0]
	if open.Kind != vfs.OpOpen || open.Path != path {
		t.Fatalf("first op %v, want open of %s", open, path)
	}
	for _, f := range []int{os.O_RDWR, os.O_CREATE, os.O_EXCL, vfs.DirectIO} {
		if open.Flag&f == 0 {
			t.Errorf("open flags %#x lack %#x", open.Flag, f)
		}
	}
	// The region is rounded down to 16 blocks of 4 KiB and preallocated.
	if ops[1].Kind != vfs.OpFallocate || ops[1].Off != 0 || ops[1].Size != 64<<10 {
		t.Errorf("second op %v, want fallocate 65536@0", ops[1])
	}
	writes := opsOf(rec, vfs.OpWriteAt)
	if len(writes) != 100 {
		t.Fatalf("%d writes, want 100", len(writes))
	}
	for i, w := range writes {
		if w.Size != 4096 || w.Off != int64(i%16)*4096 {
			t.Fatalf("write %d = %v, want 4096@%d (sequential, wrapping at 64KiB)", i, w, i%16*4096)
		}
	}
	if c := len(opsOf(rec, vfs.OpFsync, vfs.OpFdatasync)); c != 0 {
		t.Errorf("%d syncs, want none", c)
	}
	last := ops[len(ops)-2:]
	if last[0].Kind != vfs.OpClose || last[1].Kind != vfs.OpRemove || last[1].Path != path {
		t.Errorf("run ends with %v, want close and remove of %s", last, path)
	}
}

func TestRandWritePattern(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	_, err, _ := runVirtual(t, "randwrite,bs=16KiB,size=1MiB,qd=4,direct,iops=1000", rec, time.Second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writes := opsOf(rec, vfs.OpWriteAt)
	if len(writes) != 1000 {
		t.Fatalf("%d writes, want 1000", len(writes))
	}
	offs := map[int64]bool{}
	for _, w := range writes {
		if w.Size != 16<<10 || w.Off%(16<<10) != 0 || w.Off < 0 || w.Off >= 1<<20 {
			t.Fatalf("write %v: want 16KiB at a 16KiB-aligned offset below 1MiB", w)
		}
		offs[w.Off] = true
	}
	if len(offs) < 60 { // 64 blocks, 1000 uniform draws
		t.Errorf("only %d distinct offsets of 64", len(offs))
	}
	seq := 0
	for i := 1; i < len(writes); i++ {
		if writes[i].Off == writes[i-1].Off+16<<10 {
			seq++
		}
	}
	if seq > 100 {
		t.Errorf("%d of 1000 writes follow the previous one: not random", seq)
	}
}

// TestFioSizes runs a neighbour spelled as in a fio job: bs=4k must write
// 4,096-byte blocks (fio's k), not 4,000-byte ones, at 4 KiB-aligned offsets
// inside a region of size=1m = 1 MiB.
func TestFioSizes(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	_, err, _ := runVirtual(t, "randwrite,bs=4k,size=1m,numjobs=2,iops=200", rec, time.Second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	writes := opsOf(rec, vfs.OpWriteAt)
	if len(writes) != 200 {
		t.Fatalf("%d writes, want 200", len(writes))
	}
	for _, w := range writes {
		if w.Size != 4096 || w.Off%4096 != 0 || w.Off+w.Size > 1<<20 {
			t.Fatalf("write %v: want 4096 bytes at a 4096-aligned offset inside 1 MiB", w)
		}
	}
	falloc := opsOf(rec, vfs.OpFallocate)
	if len(falloc) != 1 || falloc[0].Size != 1<<20 {
		t.Errorf("preallocation %v, want one of 1 MiB", falloc)
	}
}

// afterLayout checks that ops begin with a layout of size bytes (1 MiB
// writes covering the region in order, then fdatasync) and returns the ops
// after it.
func afterLayout(t *testing.T, ops []vfstest.RecordedOp, size int64) []vfstest.RecordedOp {
	t.Helper()
	op := func(i int) vfstest.RecordedOp {
		if i == len(ops) {
			t.Fatalf("ops end after %d, in the layout", i)
		}
		return ops[i]
	}
	var laid int64
	i := 0
	for ; laid < size; i++ {
		if o := op(i); o.Kind != vfs.OpWriteAt || o.Off != laid || o.Size != 1<<20 {
			t.Fatalf("layout op %v, want a 1MiB write at %d", o, laid)
		}
		laid += 1 << 20
	}
	if o := op(i); o.Kind != vfs.OpFdatasync {
		t.Fatalf("laid out %d bytes then %v, want fdatasync", laid, o)
	}
	return ops[i+1:]
}

func TestPrefill(t *testing.T) {
	for _, kind := range []string{"seqwrite", "randwrite"} {
		t.Run(kind, func(t *testing.T) {
			rec := vfstest.NewRecorder(nil)
			_, err, _ := runVirtual(t, kind+",bs=16KiB,size=3MiB,qd=2,direct,iops=100,prefill", rec, time.Second, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if c := len(opsOf(rec, vfs.OpFallocate)); c != 0 {
				t.Errorf("%d fallocates: a prefilled file is written, not preallocated", c)
			}
			load := afterLayout(t, opsOf(rec, vfs.OpWriteAt, vfs.OpFdatasync), 3<<20)
			if len(load) != 100 {
				t.Fatalf("%d ops after the prefill, want the 100 writes of the load", len(load))
			}
			for _, w := range load {
				if w.Kind != vfs.OpWriteAt || w.Size != 16<<10 || w.Off%(16<<10) != 0 || w.Off >= 3<<20 {
					t.Fatalf("load op %v: want a 16KiB aligned write below 3MiB", w)
				}
			}
		})
	}
}

func TestReadPatterns(t *testing.T) {
	for _, kind := range []string{"randread", "seqread"} {
		t.Run(kind, func(t *testing.T) {
			rec := vfstest.NewRecorder(nil)
			_, err, _ := runVirtual(t, kind+",bs=64KiB,size=3MiB,qd=2,iops=100", rec, time.Second, Options{})
			if err != nil {
				t.Fatal(err)
			}
			reads := afterLayout(t, opsOf(rec, vfs.OpWriteAt, vfs.OpFdatasync, vfs.OpReadAt), 3<<20)
			if len(reads) != 100 {
				t.Fatalf("%d ops after layout, want 100 reads", len(reads))
			}
			next := map[int64]int64{0: 0, 1: 24} // seqread: each of the 2 workers streams through its half
			for _, r := range reads {
				if r.Kind != vfs.OpReadAt || r.Off%(64<<10) != 0 || r.Off >= 3<<20 {
					t.Fatalf("op %v after layout: want a 64KiB-aligned pread below 3MiB", r)
				}
				if kind != "seqread" {
					continue
				}
				half := r.Off / (24 * 64 << 10)
				if want := next[half] * 64 << 10; r.Off != want {
					t.Fatalf("seqread at %d, want %d (sequential in its half)", r.Off, want)
				}
				next[half] = (next[half]+1-24*half)%24 + 24*half
			}
		})
	}
}

func TestFsyncCadence(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	_, err, _ := runVirtual(t, "fsync,bs=2300,size=1MiB,sync-every=3,iops=90", rec, time.Second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ops := opsOf(rec, vfs.OpWriteAt, vfs.OpFsync, vfs.OpFdatasync, vfs.OpFallocate, vfs.OpTruncate)
	var b strings.Builder
	for _, o := range ops {
		if o.Kind == vfs.OpWriteAt {
			b.WriteByte('w')
		} else {
			b.WriteByte('s')
			if o.Kind != vfs.OpFsync {
				t.Fatalf("unexpected %v", o)
			}
		}
	}
	if want := strings.Repeat("wwws", 30); b.String() != want {
		t.Errorf("pattern %q, want %q (an fsync after every third write, nothing preallocated)", b.String(), want)
	}
	if w := opsOf(rec, vfs.OpWriteAt); w[1].Off != 2300 || w[1].Size != 2300 {
		t.Errorf("second write %v, want 2300@2300 (appending)", w[1])
	}
}

func TestWritebackPattern(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	_, err, _ := runVirtual(t, "writeback,rate=40MiB", rec, 2*time.Second, Options{})
	if err != nil {
		t.Fatal(err)
	}
	open := opsOf(rec, vfs.OpOpen)[0]
	if open.Flag&vfs.DirectIO != 0 {
		t.Error("writeback opened with O_DIRECT")
	}
	writes := opsOf(rec, vfs.OpWriteAt)
	if len(writes) != 20 {
		t.Errorf("%d writes of 4MiB in 2s at 40MiB/s, want 20", len(writes))
	}
	for i, w := range writes {
		if w.Size != 4<<20 || w.Off != int64(i)*4<<20 {
			t.Fatalf("write %d = %v, want 4MiB appends", i, w)
		}
	}
	if c := len(opsOf(rec, vfs.OpFsync, vfs.OpFdatasync, vfs.OpFallocate)); c != 0 {
		t.Errorf("%d syncs or fallocates, want none: writeback leaves it to the kernel", c)
	}
}

func TestTrimPattern(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	var mu sync.Mutex
	var seq []string
	opt := Options{discard: func(f vfs.File, off, length int64) error {
		mu.Lock()
		seq = append(seq, "d"+itoa(off>>20))
		mu.Unlock()
		return nil
	}}
	// 4 blocks of 1 MiB; the probe discards block 0, then 9 more discards.
	_, err, _ := runVirtual(t, "trim,size=4MiB,iops=9", rec, time.Second, opt)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"d0", "d1", "d2", "d3", "d0", "d1", "d2", "d3", "d0", "d1"}
	if !slices.Equal(seq, want) {
		t.Errorf("discards %v, want %v", seq, want)
	}
	// Layout (4 x 1MiB), then on later passes a write before each discard.
	writes := opsOf(rec, vfs.OpWriteAt)
	if len(writes) != 4+6 {
		t.Errorf("%d writes, want 4 layout + 6 refills", len(writes))
	}
	for i, w := range writes[4:] {
		if w.Off != int64((i+4)%4)<<20 {
			t.Errorf("refill %d at %d", i, w.Off)
		}
	}
}

func itoa(v int64) string { return string(rune('0' + v)) }

func TestTrimNotSupported(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	s, _ := Parse("trim,size=4MiB")
	_, err := Start(context.Background(), s, Options{FS: rec, Dir: "d", discard: func(vfs.File, int64, int64) error {
		return errors.Join(vfs.ErrNotSupported, syscall.EOPNOTSUPP)
	}})
	if err == nil || !strings.Contains(err.Error(), "trim is not supported on d/etcdisk-neighbor-trim.dat") {
		t.Fatalf("Start = %v, want a clear 'not supported' error", err)
	}
	if rm := opsOf(rec, vfs.OpRemove); len(rm) != 1 {
		t.Errorf("file not removed after the failed start: %v", rec.Ops())
	}
}

// TestSeqWriteStreamsPerWorker: with qd=2 each worker streams through its
// own half of the region, as fio's numjobs=2 with offset_increment does, so
// the neighbour is two sequential writers, not one stream split in two.
func TestSeqWriteStreamsPerWorker(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	_, err, _ := runVirtual(t, "seqwrite,bs=4KiB,size=64KiB,qd=2,iops=100", rec, time.Second, Options{Name: "n0"})
	if err != nil {
		t.Fatal(err)
	}
	var low, high []int64
	for _, w := range opsOf(rec, vfs.OpWriteAt) {
		if w.Off < 32<<10 {
			low = append(low, w.Off)
		} else {
			high = append(high, w.Off)
		}
	}
	if len(low) < 40 || len(high) < 40 {
		t.Fatalf("writes per half: %d and %d, want ~50 each", len(low), len(high))
	}
	for name, offs := range map[string][]int64{"low": low, "high": high} {
		base := offs[0]
		for i, off := range offs {
			if want := base + int64(i%8)*4096; off != want {
				t.Fatalf("%s half: write %d at %d, want %d (sequential, wrapping in its half)", name, i, off, want)
			}
		}
	}
	if low[0] != 0 || high[0] != 32<<10 {
		t.Fatalf("streams start at %d and %d, want 0 and 32768", low[0], high[0])
	}
}
