package errorfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/vfstest"
)

func TestEveryNthFdatasyncFails(t *testing.T) {
	rec := vfstest.NewRecorder(nil)
	fs := Wrap(rec, OnKind(EveryNth(3, Error(EIO)), vfs.OpFdatasync))
	f, err := fs.OpenFile("seg", os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var failed []int
	for i := 1; i <= 7; i++ {
		if _, err := f.Write([]byte("x")); err != nil {
			t.Fatalf("write %d: %v (writes are not selected)", i, err)
		}
		if err := f.Fdatasync(); err != nil {
			if !errors.Is(err, syscall.EIO) {
				t.Fatalf("error %v does not unwrap to EIO", err)
			}
			var ie *InjectedError
			if !errors.As(err, &ie) || ie.Op != vfs.OpFdatasync || ie.Path != "seg" {
				t.Fatalf("error %#v lacks op/path", err)
			}
			failed = append(failed, i)
		}
	}
	if len(failed) != 2 || failed[0] != 3 || failed[1] != 6 {
		t.Fatalf("failed syncs %v, want [3 6]", failed)
	}
	// A failed operation is not forwarded to the wrapped FS.
	if got := rec.Count(vfs.OpFdatasync); got != 5 {
		t.Fatalf("wrapped FS saw %d fdatasyncs, want 5", got)
	}
	if got := rec.Count(vfs.OpWrite); got != 7 {
		t.Fatalf("wrapped FS saw %d writes, want 7", got)
	}
}

func TestAfterENOSPC(t *testing.T) {
	fs := Wrap(vfstest.NopFS{}, OnKind(After(2, Error(ENOSPC)), vfs.OpWrite))
	f, _ := fs.OpenFile("x", os.O_WRONLY, 0)
	for i := 1; i <= 4; i++ {
		_, err := f.Write([]byte("x"))
		if (i > 2) != errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
}

func TestLatencyOnPath(t *testing.T) {
	var mu sync.Mutex
	var slept []time.Duration
	d := Delay{D: 20 * time.Millisecond, Sleep: func(d time.Duration) {
		mu.Lock()
		slept = append(slept, d)
		mu.Unlock()
	}}
	fs := Wrap(vfstest.NopFS{}, OnPath(func(p string) bool { return strings.HasSuffix(p, ".wal") },
		OnKind(EveryNth(2, d), vfs.OpFdatasync)))
	w, _ := fs.OpenFile("a.wal", os.O_WRONLY, 0)
	o, _ := fs.OpenFile("a.db", os.O_WRONLY, 0)
	for i := 0; i < 4; i++ {
		if err := w.Fdatasync(); err != nil {
			t.Fatal(err)
		}
		if err := o.Fdatasync(); err != nil {
			t.Fatal(err)
		}
	}
	if len(slept) != 2 || slept[0] != 20*time.Millisecond {
		t.Fatalf("slept %v, want two 20ms delays (every 2nd .wal fdatasync)", slept)
	}
}

func TestSeededIsDeterministic(t *testing.T) {
	pattern := func(seed uint64) string {
		inj := Seeded(seed, 0.3, Error(ErrInjected))
		var b strings.Builder
		for i := 0; i < 200; i++ {
			if inj.MaybeError(vfs.OpWrite, "f") != nil {
				b.WriteByte('x')
			} else {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	a, b, c := pattern(1), pattern(1), pattern(2)
	if a != b {
		t.Fatal("same seed gave different injections")
	}
	if a == c {
		t.Fatal("different seeds gave the same injections")
	}
	n := strings.Count(a, "x")
	if n < 30 || n > 90 {
		t.Fatalf("%d of 200 injected at p=0.3", n)
	}
}

func TestRandomLatencyDeterministic(t *testing.T) {
	seq := func(seed uint64) []time.Duration {
		r := RandomLatency(seed, time.Millisecond, 5*time.Millisecond)
		var out []time.Duration
		r.Sleep = func(d time.Duration) { out = append(out, d) }
		for i := 0; i < 100; i++ {
			r.MaybeError(vfs.OpFdatasync, "x")
		}
		return out
	}
	a, b := seq(7), seq(7)
	var sum time.Duration
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("delay %d differs: %v vs %v", i, a[i], b[i])
		}
		if a[i] > 5*time.Millisecond {
			t.Fatalf("delay %v above max", a[i])
		}
		sum += a[i]
	}
	if len(a) == 0 || sum == 0 {
		t.Fatal("no delays")
	}
}

func TestAnyStopsAtFirstError(t *testing.T) {
	var second int
	inj := Any(Error(EIO), InjectorFunc(func(vfs.OpKind, string) error { second++; return nil }))
	if err := inj.MaybeError(vfs.OpWrite, "x"); !errors.Is(err, syscall.EIO) {
		t.Fatal(err)
	}
	if second != 0 {
		t.Fatal("Any consulted the second injector after an error")
	}
}

func TestCloseStillClosesUnderlying(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	fs := Wrap(vfs.Default, OnKind(Error(EIO), vfs.OpClose))
	f, err := fs.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	fd := f.Fd()
	if err := f.Close(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Close = %v, want injected EIO", err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(fd), &st); !errors.Is(err, syscall.EBADF) {
		// the descriptor may have been reused by a parallel test; only fail
		// when it still names our file
		var want syscall.Stat_t
		if syscall.Stat(name, &want) == nil && err == nil && st.Ino == want.Ino {
			t.Fatal("underlying file left open after an injected Close error")
		}
	}
}

func TestNamespaceOpsInjected(t *testing.T) {
	fs := Wrap(vfstest.NopFS{}, OnKind(Error(EIO), vfs.OpRename, vfs.OpOpenDir, vfs.OpMkdir))
	if err := fs.Rename("a", "b"); !errors.Is(err, syscall.EIO) {
		t.Fatal("rename not injected")
	}
	if _, err := fs.OpenDir("d"); !errors.Is(err, syscall.EIO) {
		t.Fatal("opendir not injected")
	}
	if err := fs.Mkdir("d", 0o700); !errors.Is(err, syscall.EIO) {
		t.Fatal("mkdir not injected")
	}
	if err := fs.Remove("a"); err != nil {
		t.Fatal("remove injected but not selected")
	}
}
