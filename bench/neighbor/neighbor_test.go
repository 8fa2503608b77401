// The neighbour on real files: errors, clean-up, what it leaves behind,
// and its buffers. Its pacing is in pacing_test.go, its I/O patterns in
// pattern_test.go.

package neighbor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/errorfs"
	"github.com/etcdisk/etcdisk/wal/vfs/vfstest"
)

func TestErrorsCountedAndSurfaced(t *testing.T) {
	// Every third pwrite fails with EIO.
	fs := errorfs.Wrap(vfstest.NewRecorder(nil), errorfs.OnKind(errorfs.EveryNth(3, errorfs.Error(errorfs.EIO)), vfs.OpWriteAt))
	n, err, _ := runVirtual(t, "seqwrite,bs=4KiB,size=1MiB,iops=100", fs, 3*time.Second, Options{})
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("Stop = %v, want the first EIO", err)
	}
	st := n.Stats()
	if st.Errors == 0 || st.Ops == 0 {
		t.Fatalf("stats %+v: want both successes and errors", st)
	}
	if st.Errors*2 < st.Ops-2 || st.Errors*2 > st.Ops+2 {
		t.Errorf("%d errors for %d ops, want about one per two successes", st.Errors, st.Ops)
	}
	if !strings.Contains(st.LastError, "input/output error") {
		t.Errorf("LastError = %q", st.LastError)
	}
	if err2 := n.Stop(); err2 != err {
		t.Errorf("second Stop = %v, want the same %v", err2, err)
	}
}

func TestStartFailureCleansUp(t *testing.T) {
	dir := t.TempDir()
	fs := errorfs.Wrap(vfs.Default, errorfs.OnKind(errorfs.Error(errorfs.ENOSPC), vfs.OpFallocate))
	s, _ := Parse("seqwrite,size=8MiB")
	if _, err := Start(context.Background(), s, Options{FS: fs, Dir: dir}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Start = %v, want ENOSPC", err)
	}
	assertEmpty(t, dir)
}

func TestRefusesExistingFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "etcdisk-neighbor-seqwrite.dat")
	if err := os.WriteFile(p, []byte("user data"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := Parse("seqwrite,size=8MiB")
	// The error names the neighbour in the report's spelling.
	if _, err := Start(context.Background(), s, Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "exists") ||
		!strings.HasPrefix(err.Error(), "neighbour seqwrite: ") {
		t.Fatalf("Start = %v, want a 'neighbour seqwrite: ... exists' error", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "user data" {
		t.Error("an existing file was touched")
	}
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Errorf("%s holds %v after Stop", dir, ents)
	}
}

// TestRealFiles runs every kind briefly on the real file system and checks
// that each does I/O and leaves nothing behind.
func TestRealFiles(t *testing.T) {
	dir := t.TempDir()
	for _, spec := range []string{
		"seqwrite,bs=64KiB,size=4MiB,qd=2,direct",
		"randwrite,bs=4KiB,size=4MiB,qd=4,direct",
		"randread,bs=4KiB,size=4MiB,qd=2,direct",
		"seqread,bs=64KiB,size=4MiB",
		"fsync,size=1MiB",
		"writeback,bs=1MiB,size=8MiB",
		"trim,bs=64KiB,size=2MiB,sync-every=8",
	} {
		t.Run(strings.SplitN(spec, ",", 2)[0], func(t *testing.T) {
			s, err := Parse(spec)
			if err != nil {
				t.Fatal(err)
			}
			n, err := Start(context.Background(), s, Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for n.Stats().Ops < 20 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if err := n.Stop(); err != nil {
				t.Fatal(err)
			}
			if st := n.Stats(); st.Ops < 20 || st.Errors != 0 || st.Bytes != st.Ops*s.BS {
				t.Errorf("stats %+v", st)
			}
			assertEmpty(t, dir)
		})
	}
}

func TestPunchHoleFreesBlocks(t *testing.T) {
	f, err := vfs.Default.OpenFile(filepath.Join(t.TempDir(), "f"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	fillRandom(buf, 3)
	if _, err := f.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Fdatasync(); err != nil {
		t.Fatal(err)
	}
	blocks := func() int64 {
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		return st.Blocks
	}
	before := blocks()
	if err := punchHole(f, 0, 1<<19); err != nil {
		if errors.Is(err, vfs.ErrNotSupported) {
			t.Skip("the test directory's file system cannot punch holes")
		}
		t.Fatal(err)
	}
	if after := blocks(); after > before-(1<<19)/512 {
		t.Errorf("blocks %d -> %d after punching 512KiB", before, after)
	}
	if fi, _ := os.Stat(f.Name()); fi.Size() != 1<<20 {
		t.Errorf("size changed to %d", fi.Size())
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	for _, spec := range []string{
		"seqwrite,bs=4KiB,size=1MiB,rate=1TiB",
		"randwrite,bs=4KiB,size=1MiB,iops=1e12,sync-every=2",
		"randread,bs=4KiB,size=1MiB",
		"trim,bs=4KiB,size=64KiB",
	} {
		s, _ := Parse(spec)
		n, err := prepare(context.Background(), s, Options{FS: vfstest.NopFS{}, Dir: "d", Observe: func(time.Duration) {},
			discard: func(vfs.File, int64, int64) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		w := n.newWorker(0)
		n.step(w) // first use of the timer
		if a := testing.AllocsPerRun(1000, func() { n.step(w) }); a != 0 {
			t.Errorf("%s: %v allocations per operation", spec, a)
		}
		n.Stop()
	}
}

// TestDirectBuffers: a direct neighbour's large buffers each sit in their own
// huge-page-aligned mapping (one scatter-gather segment per write where the
// kernel backs it with a huge page), small ones in ordinary aligned memory,
// buffered neighbours in the heap; Stop releases the mappings.
func TestDirectBuffers(t *testing.T) {
	for _, tc := range []struct {
		spec string
		huge bool
	}{
		{"seqwrite,bs=1MiB,size=8MiB,qd=2,direct", true},
		{"randwrite,bs=256KiB,size=8MiB,qd=2,direct", true},
		{"randwrite,bs=128KiB,size=8MiB,qd=2,direct", false},
		{"seqwrite,bs=1MiB,size=8MiB,qd=2", false},
	} {
		s, err := Parse(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		n, err := prepare(context.Background(), s, Options{FS: vfstest.NopFS{}, Dir: "d"})
		if err != nil {
			t.Fatal(err)
		}
		var addrs []uintptr
		for i := range s.NumJobs {
			w := n.newWorker(i)
			addrs = append(addrs, uintptr(unsafe.Pointer(&w.buf[0])))
		}
		wantMaps := 0
		if tc.huge {
			wantMaps = s.NumJobs
		}
		if len(n.frees) != wantMaps {
			t.Errorf("%s: %d huge-page buffers, want %d", tc.spec, len(n.frees), wantMaps)
		}
		for _, a := range addrs {
			if tc.huge && a%vfs.HugePageSize != 0 {
				t.Errorf("%s: buffer at %#x, want it aligned to a huge page", tc.spec, a)
			}
			if s.Direct && a%vfs.DirectAlignment != 0 {
				t.Errorf("%s: buffer at %#x, not aligned for direct I/O", tc.spec, a)
			}
		}
		if err := n.Stop(); err != nil {
			t.Fatal(err)
		}
		if n.frees != nil {
			t.Errorf("%s: after Stop %d huge-page buffers to free; want none", tc.spec, len(n.frees))
		}
	}
}
