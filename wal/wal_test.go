package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/errorfs"
	"github.com/etcdisk/etcdisk/wal/vfs/vfstest"
	etcdwal "go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
)

// isPipelineOp tells the segment pipeline's operations (it creates, locks,
// preallocates and finally removes {0,1}.tmp) from Save's.
func isPipelineOp(o vfstest.RecordedOp) bool {
	if !strings.HasSuffix(o.Path, ".tmp") {
		return false
	}
	switch o.Kind {
	case vfs.OpOpen, vfs.OpLock, vfs.OpFallocate, vfs.OpRemove:
		return true
	}
	return false
}

// mainOps renders the recorded non-pipeline ops with paths made relative.
func mainOps(rec *vfstest.Recorder, root string) []string {
	var out []string
	for _, o := range rec.Ops() {
		if isPipelineOp(o) {
			continue
		}
		o.Path = strings.TrimPrefix(o.Path, root+"/")
		o.NewPath = strings.TrimPrefix(o.NewPath, root+"/")
		s := o.String()
		if o.Kind == vfs.OpSeek {
			s = fmt.Sprintf("%s =%d", s, o.Off)
		}
		out = append(out, s)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func pipelineReady(rec *vfstest.Recorder, n int) func() bool {
	return func() bool {
		c := 0
		for _, o := range rec.Ops() {
			if o.Kind == vfs.OpFallocate && strings.HasSuffix(o.Path, ".tmp") {
				c++
			}
		}
		return c >= n
	}
}

// seqTest records the system calls of one WAL made in root/wal with
// 8192-byte segments, phase by phase.
type seqTest struct {
	t         *testing.T
	root, dir string
	rec       *vfstest.Recorder
	w         *WAL
	st        HardState
	ent       []Entry
	n, m      int // bytes written by the first save and by the crossing one
}

const (
	seqSegment  = 8192
	seqFirst    = "wal.tmp/0000000000000000-0000000000000000.wal"
	seqSecond   = "wal/0000000000000001-0000000000000004.wal"
	seqHeadSize = 64 // frames: crc 16, metadata "m" 24, snapshot 24
)

// check compares the calls recorded since the last check with want.
func (s *seqTest) check(name string, want ...string) {
	s.t.Helper()
	got := mainOps(s.rec, s.root)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		s.t.Fatalf("%s:\n%s\nwant:\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	s.rec.Reset()
}

func (s *seqTest) save(st HardState, ents []Entry) {
	s.t.Helper()
	if err := s.w.Save(st, ents); err != nil {
		s.t.Fatal(err)
	}
}

func (s *seqTest) create() {
	s.t.Helper()
	w, err := Create(s.dir, Options{FS: s.rec, SegmentSize: seqSegment, Metadata: []byte("m"), KeepSegments: -1})
	if err != nil {
		s.t.Fatal(err)
	}
	s.w = w
	base := filepath.Base(s.root)
	want := []string{
		"opendir wal err=open " + base + "/wal: no such file or directory",
		"stat wal.tmp err=stat " + base + "/wal.tmp: no such file or directory",
		"mkdir wal.tmp",
		"open wal.tmp/.touch", "write wal.tmp/.touch 0", "close wal.tmp/.touch", "remove wal.tmp/.touch",
		"opendir wal.tmp", "close wal.tmp",
		"open " + seqFirst, "lock " + seqFirst, "lseek " + seqFirst + " =0",
		"fallocate " + seqFirst + " 8192@0", "lseek " + seqFirst + " =0",
		fmt.Sprintf("write %s %d", seqFirst, seqHeadSize),
		"fdatasync " + seqFirst,
		"remove wal err=remove " + base + "/wal: no such file or directory", "rename wal.tmp -> wal", "opendir wal", "opendir " + base,
		"fsync " + base, "close " + base,
		"removeall wal.tmp",
	}
	got := mainOps(s.rec, s.root)
	// opendir of the parent is recorded with its full path
	for i := range got {
		got[i] = strings.ReplaceAll(got[i], s.root, base)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		s.t.Fatalf("Create:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	waitFor(s.t, "the pipeline's first file", pipelineReady(s.rec, 1))
	s.rec.Reset()
}

// plainSaves: synced, commit-only, empty, and a save that crosses the
// segment size without cutting.
func (s *seqTest) plainSaves() {
	s.st = HardState{Term: 1, Vote: 1, Commit: 0}
	s.ent = []Entry{{Term: 1, Index: 1, Data: make([]byte, 2300)}}
	s.save(s.st, s.ent)
	s.n = SaveSize(2300, 1, 1, s.st)
	s.check("synced save", fmt.Sprintf("lseek %s =64", seqFirst), fmt.Sprintf("write %s %d", seqFirst, s.n), "fdatasync "+seqFirst)

	// Commit-only: encoded and buffered, no write, no sync.
	s.save(HardState{Term: 1, Vote: 1, Commit: 1}, nil)
	s.check("commit-only save", fmt.Sprintf("lseek %s =%d", seqFirst, seqHeadSize+s.n))
	s.save(HardState{}, nil)
	s.check("empty save")

	// The offset checked against the segment size is the file offset
	// before the flush (etcd's lseek comes before sync): this save crosses
	// 8192 bytes but is a plain one; the buffered commit-only state goes
	// out with it.
	hs := FrameSize(HardStateRecordSize(s.st))
	s.save(HardState{Term: 1, Vote: 1, Commit: 1}, []Entry{{Term: 1, Index: 2, Data: make([]byte, 6000)}})
	s.m = hs + FrameSize(EntryRecordSize(6000, 1, 2)) + hs
	s.check("save crossing the segment size",
		fmt.Sprintf("lseek %s =%d", seqFirst, seqHeadSize+s.n),
		fmt.Sprintf("write %s %d", seqFirst, s.m),
		"fdatasync "+seqFirst)
	if s.w.Segments() != 1 {
		s.t.Fatalf("Segments = %d", s.w.Segments())
	}
}

// cuttingSave: the next save sees the offset past the segment size and
// cuts.
func (s *seqTest) cuttingSave() {
	s.save(HardState{Term: 1, Vote: 1, Commit: 2}, []Entry{{Term: 1, Index: 3, Data: []byte("c")}})
	hs := FrameSize(HardStateRecordSize(s.st))
	off := seqHeadSize + s.n + s.m
	tailBytes := FrameSize(EntryRecordSize(1, 1, 3)) + hs
	hdr := 16 + 24 + hs // crc, metadata "m", hard state
	s.check("cutting save",
		fmt.Sprintf("lseek %s =%d", seqFirst, off),
		fmt.Sprintf("lseek %s =%d", seqFirst, off),
		fmt.Sprintf("ftruncate %s %d", seqFirst, off),
		fmt.Sprintf("write %s %d", seqFirst, tailBytes),
		"fdatasync "+seqFirst,
		"lseek wal/0.tmp =0",
		fmt.Sprintf("write wal/0.tmp %d", hdr),
		"fdatasync wal/0.tmp",
		fmt.Sprintf("lseek wal/0.tmp =%d", hdr),
		"rename wal/0.tmp -> "+seqSecond,
		"fsync wal",
		"close wal/0.tmp",
		"open "+seqSecond, "lock "+seqSecond,
		fmt.Sprintf("lseek %s =%d", seqSecond, hdr),
		fmt.Sprintf("lseek %s =%d", seqSecond, hdr),
	)
	if s.w.Segments() != 2 {
		s.t.Fatalf("Segments = %d", s.w.Segments())
	}
}

func (s *seqTest) close() {
	waitFor(s.t, "the pipeline's second file", func() bool {
		fi, err := os.Stat(filepath.Join(s.dir, "1.tmp"))
		return err == nil && fi.Size() == seqSegment
	})
	s.rec.Reset()
	if err := s.w.Close(); err != nil {
		s.t.Fatal(err)
	}
	var closeOps []string
	for _, o := range s.rec.Ops() {
		closeOps = append(closeOps, strings.ReplaceAll(o.String(), s.root+"/", ""))
	}
	wantClose := []string{"remove wal/1.tmp", "close wal/1.tmp", "fdatasync " + seqSecond,
		"close " + seqFirst, "close " + seqSecond, "close wal"}
	if strings.Join(closeOps, "\n") != strings.Join(wantClose, "\n") {
		s.t.Fatalf("Close:\n%s\nwant:\n%s", strings.Join(closeOps, "\n"), strings.Join(wantClose, "\n"))
	}
	if _, err := os.Stat(filepath.Join(s.dir, "1.tmp")); !errors.Is(err, os.ErrNotExist) {
		s.t.Fatal("Close left the pipeline's file")
	}
	if err := s.w.Close(); err != nil {
		s.t.Fatalf("second Close: %v", err)
	}
	if err := s.w.Save(s.st, s.ent); !errors.Is(err, ErrClosed) {
		s.t.Fatalf("Save after Close: %v", err)
	}
}

// TestSyscallSequence pins the system calls of Create, of the three kinds
// of Save (synced, commit-only, empty), of a cutting Save and of Close.
func TestSyscallSequence(t *testing.T) {
	root := t.TempDir()
	s := &seqTest{t: t, root: root, dir: filepath.Join(root, "wal"), rec: vfstest.NewRecorder(vfs.Default)}
	s.create()
	defer s.w.Close()
	s.plainSaves()
	s.cuttingSave()
	s.close()
}

type obsEvent struct {
	op    Op
	begin bool
	err   error
}

type recObserver struct {
	mu sync.Mutex
	ev []obsEvent
}

func (r *recObserver) Begin(op Op, _ time.Time) {
	r.mu.Lock()
	r.ev = append(r.ev, obsEvent{op: op, begin: true})
	r.mu.Unlock()
}

func (r *recObserver) Done(op Op, d time.Duration, err error) {
	r.mu.Lock()
	r.ev = append(r.ev, obsEvent{op: op, err: err})
	r.mu.Unlock()
}

// savePath returns the Done events of Save's goroutine (the pipeline
// reports only opens and fallocates; they are dropped).
func (r *recObserver) savePath() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.ev {
		if e.begin || e.op == OpOpen || e.op == OpFallocate {
			continue
		}
		out = append(out, e.op.String())
	}
	return out
}

func (r *recObserver) reset() {
	r.mu.Lock()
	r.ev = nil
	r.mu.Unlock()
}

func TestObserverSeesEverySyscall(t *testing.T) {
	obs := &recObserver{}
	rec := vfstest.NewRecorder(vfstest.NopFS{})
	w, err := Create("/nop/wal", Options{FS: rec, Observer: obs, SegmentSize: 8192, KeepSegments: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if got := strings.Join(obs.savePath(), " "); got != "record record record write fdatasync rename dirfsync" {
		t.Fatalf("Create reported %q", got)
	}
	waitFor(t, "pipeline", pipelineReady(rec, 1))
	obs.reset()
	st := HardState{Term: 1, Vote: 1}
	w.Save(st, []Entry{{Term: 1, Index: 1, Data: make([]byte, 100)}})
	if got := strings.Join(obs.savePath(), " "); got != "record record write fdatasync" {
		t.Fatalf("Save reported %q", got)
	}
	w.Save(st, []Entry{{Term: 1, Index: 2, Data: make([]byte, 9000)}})
	obs.reset()
	w.Save(st, []Entry{{Term: 1, Index: 3, Data: make([]byte, 10)}})
	if got := strings.Join(obs.savePath(), " "); got != "record record ftruncate write fdatasync record record record write fdatasync rename dirfsync" {
		t.Fatalf("cutting Save reported %q", got)
	}
	// Begin and Done pair up per op (once the pipeline has stopped).
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	obs.mu.Lock()
	open := map[Op]int{}
	for _, e := range obs.ev {
		if e.begin {
			open[e.op]++
		} else {
			open[e.op]--
		}
	}
	obs.mu.Unlock()
	for op, n := range open {
		if n != 0 {
			t.Fatalf("%v: %d Begin without Done", op, n)
		}
	}
}

func TestSaveAllocatesNothing(t *testing.T) {
	w, err := Create("/nop/wal", Options{FS: vfstest.NopFS{}, Observer: &countObserver{}, SegmentSize: 1 << 40, KeepSegments: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ents := []Entry{{Term: 2, Index: 1, Data: make([]byte, 2250)}}
	st := HardState{Term: 2, Vote: 1}
	allocs := testing.AllocsPerRun(2000, func() {
		ents[0].Index++
		st.Commit = ents[0].Index - 1
		if err := w.Save(st, ents); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Save", allocs)
	}
}

type countObserver struct{ n [numOps]int64 }

func (c *countObserver) Begin(Op, time.Time)                  {}
func (c *countObserver) Done(op Op, _ time.Duration, _ error) { c.n[op]++ }

func TestSaveReportsInjectedFdatasyncError(t *testing.T) {
	obs := &recObserver{}
	fs := errorfs.Wrap(vfstest.NopFS{}, errorfs.OnKind(errorfs.EveryNth(3, errorfs.Error(errorfs.EIO)), vfs.OpFdatasync))
	// Create's fdatasync is the 1st.
	w, err := Create("/nop/wal", Options{FS: fs, Observer: obs, KeepSegments: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	st := HardState{Term: 1, Vote: 1}
	var errs []error
	for i := 1; i <= 4; i++ {
		errs = append(errs, w.Save(st, []Entry{{Term: 1, Index: uint64(i), Data: []byte("x")}}))
	}
	if errs[0] != nil || !errors.Is(errs[1], syscall.EIO) || errs[2] != nil || errs[3] != nil {
		t.Fatalf("save errors %v, want EIO on the 2nd save (3rd fdatasync)", errs)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	var failed int
	for _, e := range obs.ev {
		if !e.begin && e.op == OpFdatasync && errors.Is(e.err, syscall.EIO) {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("observer saw %d failed fdatasyncs", failed)
	}
}

// TestPreallocateFallsBackToTruncate: where fallocate is not supported the
// segment is sized with ftruncate, as etcd does, and stays readable by etcd.
func TestPreallocateFallsBackToTruncate(t *testing.T) {
	setEtcdSegmentSize(t, 64*1024)
	rec := vfstest.NewRecorder(errorfs.Wrap(vfs.Default,
		errorfs.OnKind(errorfs.Error(fmt.Errorf("test: %w", vfs.ErrNotSupported)), vfs.OpFallocate)))
	dir := filepath.Join(t.TempDir(), "wal")
	w, err := Create(dir, Options{FS: rec, SegmentSize: 64 * 1024, KeepSegments: -1})
	if err != nil {
		t.Fatal(err)
	}
	var truncs []int64
	for _, o := range rec.Ops() {
		if o.Kind == vfs.OpTruncate && !strings.HasSuffix(o.Path, ".tmp") {
			truncs = append(truncs, o.Size)
		}
	}
	if len(truncs) != 1 || truncs[0] != 64*1024 {
		t.Fatalf("truncates %v, want [65536]", truncs)
	}
	fi, err := os.Stat(filepath.Join(dir, walName(0, 0)))
	if err != nil || fi.Size() != 64*1024 {
		t.Fatalf("first segment: %v %v", fi, err)
	}
	for i := 1; i <= 100; i++ {
		if err := w.Save(HardState{Term: 1, Vote: 1, Commit: uint64(i - 1)}, []Entry{{Term: 1, Index: uint64(i), Data: make([]byte, 2000)}}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	ew, err := etcdwal.Open(nil, dir, &walpb.Snapshot{})
	if err != nil {
		t.Fatal(err)
	}
	defer ew.Close()
	_, _, ents, err := ew.ReadAll()
	if err != nil || len(ents) != 100 {
		t.Fatalf("etcd read %d entries, %v", len(ents), err)
	}
}

func TestCreateRefusesExistingDir(t *testing.T) {
	dir := t.TempDir()
	_, err := Create(dir, Options{})
	if !errors.Is(err, ErrExist) || !errors.Is(err, os.ErrExist) {
		t.Fatalf("Create on an existing dir: %v", err)
	}
	// A leftover dir.tmp is refused too, and left alone.
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "wal.tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "wal.tmp", "keep"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(filepath.Join(root, "wal"), Options{}); !errors.Is(err, ErrExist) {
		t.Fatalf("Create with a leftover wal.tmp: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "wal.tmp", "keep")); err != nil {
		t.Fatalf("Create touched a directory it did not make: %v", err)
	}
}

func TestCreateFailureLeavesNothing(t *testing.T) {
	root := t.TempDir()
	fs := errorfs.Wrap(vfs.Default, errorfs.OnKind(errorfs.Error(errorfs.ENOSPC), vfs.OpFallocate))
	if _, err := Create(filepath.Join(root, "wal"), Options{FS: fs}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Create: %v, want ENOSPC", err)
	}
	if names := listDir(t, root); len(names) != 0 {
		t.Fatalf("left behind %v", names)
	}
}

func walFiles(t *testing.T, dir string) int {
	n := 0
	for _, name := range listDir(t, dir) {
		if strings.HasSuffix(name, ".wal") {
			n++
		}
	}
	return n
}

func TestPurge(t *testing.T) {
	setEtcdSegmentSize(t, 16*1024)
	dir := filepath.Join(t.TempDir(), "wal")
	w, err := Create(dir, Options{SegmentSize: 16 * 1024, KeepSegments: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	save := func(from, to int) {
		for i := from; i <= to; i++ {
			if err := w.Save(HardState{Term: 1, Vote: 1, Commit: uint64(i - 1)}, []Entry{{Term: 1, Index: uint64(i), Data: make([]byte, 3000)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	save(1, 60)
	if walFiles(t, dir) != w.Segments() || w.Segments() < 6 {
		t.Fatalf("%d files, %d segments", walFiles(t, dir), w.Segments())
	}
	n, err := w.PurgeKeep(2)
	if err != nil || n != w.Segments()-2 {
		t.Fatalf("PurgeKeep removed %d (%v)", n, err)
	}
	if walFiles(t, dir) != 2 {
		t.Fatalf("%d files after PurgeKeep(2)", walFiles(t, dir))
	}
	save(61, 70) // the WAL keeps working
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// What is left is a valid WAL tail for etcd from its first entry on.
	ew, err := etcdwal.OpenForRead(nil, dir, &walpb.Snapshot{})
	if err == nil {
		ew.Close()
		t.Fatal("etcd opened a purged WAL at index 0: the old segments are still there?")
	}

	// The background purge keeps KeepSegments.
	dir2 := filepath.Join(t.TempDir(), "wal")
	w2, err := Create(dir2, Options{SegmentSize: 16 * 1024, KeepSegments: 3, PurgeInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	for i := 1; i <= 60; i++ {
		w2.Save(HardState{Term: 1, Vote: 1}, []Entry{{Term: 1, Index: uint64(i), Data: make([]byte, 3000)}})
	}
	waitFor(t, "background purge", func() bool { return walFiles(t, dir2) == 3 })
}
