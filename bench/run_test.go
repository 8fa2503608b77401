package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/bench/neighbor"
	"github.com/etcdisk/etcdisk/bench/sysinfo"
	"github.com/etcdisk/etcdisk/report"
	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/errorfs"
	"github.com/etcdisk/etcdisk/wal/vfs/vfstest"
)

// testConfig is a short closed-loop run without the backend: the tests
// that want the open loop set a Rate (or a load).
func testConfig(t *testing.T) Config {
	return Config{
		Dir:         t.TempDir(),
		Ops:         300,
		Warmup:      Given(time.Duration(0)),
		SegmentSize: 256 << 10,
		Backend:     Given(false),
	}
}

func assertClean(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		t.Errorf("left behind in the target dir: %s", e.Name())
	}
}

func TestRunClosedLoop(t *testing.T) {
	cfg := testConfig(t)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Saves != 300 || res.Entries != 300 {
		t.Fatalf("saves %d entries %d, want 300", res.Saves, res.Entries)
	}
	fd := res.Metrics[report.MetricWALFdatasync]
	// 300 Saves of 2300 bytes fill ~2.6 segments of 256 KiB: each cut adds
	// an fdatasync of the new segment and a directory fsync.
	if fd == nil || fd.Count < 300+2*2 {
		t.Fatalf("wal_fdatasync count %+v, want >= 304", fd)
	}
	if res.Segments < 3 {
		t.Fatalf("segments %d, want >= 3", res.Segments)
	}
	if w := res.Metrics[report.MetricWALWrite]; w == nil || w.Count < 300 {
		t.Fatalf("wal_write %+v", w)
	}
	if _, ok := res.Metrics[report.MetricProposalCommit]; ok {
		t.Fatal("a closed loop has no proposal_commit")
	}
	if res.Verdict == "" || len(res.Checks) != 1 || res.Config.EntrySize != DefaultEntrySize() {
		t.Fatalf("verdict %q checks %+v entry size %d", res.Verdict, res.Checks, res.Config.EntrySize)
	}
	assertClean(t, cfg.Dir)
}

func TestDefaultEntrySizeWrites2300(t *testing.T) {
	// One Save of the default entry writes 2300 bytes (fio's --bs).
	cfg := testConfig(t)
	cfg.Ops = 50
	cfg.SegmentSize = 64 << 20
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Create writes ~80 bytes of crc/metadata/snapshot records first.
	per := float64(res.BytesWritten) / float64(res.Saves)
	if per < 2290 || per > 2310 {
		t.Fatalf("%.1f bytes per Save, want ~2300", per)
	}
}

func TestRunOpenLoopBatches(t *testing.T) {
	cfg := testConfig(t)
	cfg.Ops = 0
	cfg.Duration = 2 * time.Second
	cfg.Rate = 200
	cfg.GRPC = Given(false) // the batcher itself (the front end has its own test)
	// Every fdatasync takes 20 ms: at 200/s, ~4 proposals arrive during
	// each, and raft-like batching puts them into the next Save.
	cfg.FS = errorfs.Wrap(vfs.Default, errorfs.OnKind(errorfs.Latency(20*time.Millisecond), vfs.OpFdatasync))
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	pc := res.Metrics[report.MetricProposalCommit]
	if pc == nil || pc.Count < 300 {
		t.Fatalf("proposal_commit %+v, want ~400 proposals", pc)
	}
	perSave := float64(res.Entries) / float64(res.Saves)
	if perSave < 2.5 {
		t.Fatalf("%.1f entries per Save with 20 ms syncs at 200/s, want ~4 (batching)", perSave)
	}
	// Latency runs from the scheduled arrival: never less than one sync,
	// but for the proposals that arrived in the last sync before the stop
	// (pending then, recorded at stop minus arrival).
	h, err := pc.Hist()
	if err != nil {
		t.Fatal(err)
	}
	var under int64
	for _, b := range h.Distribution() {
		if b.To < int64(20*time.Millisecond) {
			under += b.Count
		}
	}
	if under > 6 {
		t.Fatalf("%d proposals under the 20 ms sync (min %s): more than arrive during the last one", under, time.Duration(pc.MinNs))
	}
	if pc.P50Ns <= res.Metrics[report.MetricWALFdatasync].P50Ns {
		t.Fatalf("proposal p50 %d not above the fdatasync p50 %d: queueing not charged", pc.P50Ns, res.Metrics[report.MetricWALFdatasync].P50Ns)
	}
}

func TestRunIOErrorStopsAndCleansUp(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EIO, syscall.ENOSPC} {
		t.Run(errno.Error(), func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Ops = 0
			cfg.Duration = time.Minute
			inj := errorfs.OnKind(errorfs.After(100, errorfs.Error(errno)), vfs.OpFdatasync)
			cfg.FS = errorfs.Wrap(vfs.Default, inj)
			start := time.Now()
			res, err := Run(context.Background(), cfg)
			if !errors.Is(err, errno) {
				t.Fatalf("err %v, want %v", err, errno)
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("took %s to stop on %v", time.Since(start), errno)
			}
			if res == nil || res.Verdict != report.VerdictError || !strings.Contains(res.Error, errno.Error()) {
				t.Fatalf("partial result %+v", res)
			}
			if res.Metrics[report.MetricWALFdatasync].Count < 90 {
				t.Fatalf("partial result lost what was measured: %+v", res.Metrics[report.MetricWALFdatasync])
			}
			assertClean(t, cfg.Dir)
		})
	}
}

func TestRunInterrupted(t *testing.T) {
	cfg := testConfig(t)
	cfg.Ops = 0
	cfg.Duration = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, cfg)
	if !errors.Is(err, ErrInterrupted) || res == nil || !res.Interrupted {
		t.Fatalf("err %v res %+v", err, res)
	}
	if res.Metrics[report.MetricWALFdatasync].Count == 0 {
		t.Fatal("interrupted result has no samples")
	}
	assertClean(t, cfg.Dir)
}

// syncWriter is a goroutine-safe buffer for the stall log.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func TestWatchdogReportsStallWhileInFlight(t *testing.T) {
	cfg := testConfig(t)
	cfg.Ops = 40
	var log syncWriter
	cfg.Log = &log
	// The 20th fdatasync hangs for 300 ms.
	cfg.FS = errorfs.Wrap(vfs.Default, errorfs.OnKind(errorfs.EveryNth(20, errorfs.Latency(300*time.Millisecond)), vfs.OpFdatasync))
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "stall: wal_fdatasync in flight for") {
		t.Fatalf("no live stall line:\n%s", log.String())
	}
	if len(res.Stalls) < 1 || res.Stalls[0].AgeNs < int64(300*time.Millisecond) || res.Stalls[0].Metric != report.MetricWALFdatasync {
		t.Fatalf("stalls %+v", res.Stalls)
	}
	if fd := res.Metrics[report.MetricWALFdatasync]; fd.Over100ms < 1 || fd.MaxNs < int64(300*time.Millisecond) {
		t.Fatalf("the stalled op is missing from the histogram: %+v", fd)
	}
}

func TestWarmupExcluded(t *testing.T) {
	rec := newRecorder(time.Second, nil)
	s := rec.metric("m", true)
	s.record(50 * time.Millisecond) // warm-up
	s.begin(time.Now())
	s.done(2 * time.Second) // a warm-up stall
	rec.startMeasuring(time.Now())
	s.record(time.Millisecond)
	ms, _ := rec.metrics()
	m := ms["m"]
	if m.Count != 1 || m.MaxNs >= int64(2*time.Millisecond) {
		t.Fatalf("warm-up samples leaked: %+v", m)
	}
	if len(rec.stalls) != 0 {
		t.Fatalf("a warm-up stall was recorded: %+v", rec.stalls)
	}

	// And Run reports the warm-up it did.
	cfg := testConfig(t)
	cfg.Ops = 0
	cfg.Duration = 300 * time.Millisecond
	cfg.Warmup = Given(500 * time.Millisecond)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.WarmupNs < int64(500*time.Millisecond) || res.DurationNs < int64(300*time.Millisecond) {
		t.Fatalf("warmup_ns %d duration_ns %d", res.WarmupNs, res.DurationNs)
	}
}

func TestIntervals(t *testing.T) {
	cfg := testConfig(t)
	cfg.Ops = 0
	cfg.Duration = 2500 * time.Millisecond
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Intervals) != 3 {
		t.Fatalf("%d intervals for 2.5 s, want 3 (the last partial)", len(res.Intervals))
	}
	var sum int64
	for i, iv := range res.Intervals {
		if iv.StartNs != int64(i)*int64(time.Second) {
			t.Fatalf("interval %d starts at %d", i, iv.StartNs)
		}
		sum += iv.Metrics[report.MetricWALFdatasync].Count
	}
	if total := res.Metrics[report.MetricWALFdatasync].Count; sum != total {
		t.Fatalf("intervals hold %d fdatasyncs, the total is %d", sum, total)
	}
}

func TestRunFio(t *testing.T) {
	cfg := testConfig(t)
	cfg.Workload = WorkloadFio
	cfg.Ops = 0
	cfg.Duration = 0
	rec := vfstest.NewRecorder(vfs.Default)
	cfg.FS = rec
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// One pass over fio's 22 MiB file: 10,029 writes of 2300 bytes.
	if res.Saves != 10029 || res.Metrics[report.MetricWALFdatasync].Count != 10029 {
		t.Fatalf("fio pass: %d writes, %d fdatasyncs", res.Saves, res.Metrics[report.MetricWALFdatasync].Count)
	}
	ops := rec.Ops()
	if len(ops) < 6 {
		t.Fatalf("recorded %d ops", len(ops))
	}
	// fio's layout: unlink, create, fallocate 22 MiB, close, reopen.
	want := []vfs.OpKind{vfs.OpRemove, vfs.OpOpen, vfs.OpFallocate, vfs.OpClose, vfs.OpOpen, vfs.OpWrite, vfs.OpFdatasync}
	for i, k := range want {
		if ops[i].Kind != k {
			t.Fatalf("op %d is %v, want %v (ops %v)", i, ops[i].Kind, k, ops[:len(want)])
		}
	}
	if filepath.Base(ops[1].Path) != fioFileName {
		t.Fatalf("fio file %s", ops[1].Path)
	}
	assertClean(t, cfg.Dir)
}

func TestRunBackend(t *testing.T) {
	cfg := testConfig(t)
	cfg.Backend = Given(true)
	cfg.Ops = 0
	cfg.Duration = 1500 * time.Millisecond
	cfg.Rate = 200
	cfg.ValueSize = mustValueSize("1KiB")
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	bc := res.Metrics[report.MetricBackendCommit]
	// etcd commits every 100 ms when puts are pending: ~15 in 1.5 s.
	if bc == nil || bc.Count < 8 || bc.Count > 20 {
		t.Fatalf("backend_commit %+v, want ~15 commits in 1.5 s", bc)
	}
	if len(res.Checks) != 2 || res.Checks[1].Metric != report.MetricBackendCommit {
		t.Fatalf("checks %+v", res.Checks)
	}
	if n, _ := res.Extra["backend_puts"].(int64); n < res.Entries {
		t.Fatalf("backend applied %v puts for %d entries", res.Extra["backend_puts"], res.Entries)
	}
	if sz, _ := res.Extra["backend_db_size_bytes"].(int64); sz < 200*1024 {
		t.Fatalf("db size %v after ~300 puts of 1 KiB", res.Extra["backend_db_size_bytes"])
	}
	assertClean(t, cfg.Dir)
}

func TestRunValueSizeModel(t *testing.T) {
	cfg := testConfig(t)
	cfg.ValueSize = mustValueSize("1KiB")
	cfg.Request = RequestPut
	cfg.Ops = 100
	cfg.SegmentSize = 64 << 20
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A 1 KiB put with a 32-byte key is a 1077-byte request; its frame and
	// the HardState frame make ~1.15 KB per Save.
	per := float64(res.BytesWritten) / float64(res.Saves)
	if per < 1100 || per > 1200 {
		t.Fatalf("%.0f bytes per Save for 1 KiB puts", per)
	}
}

func TestRunWithNeighbors(t *testing.T) {
	cfg := testConfig(t)
	cfg.Ops = 0
	cfg.Duration = 3 * time.Second
	cfg.Neighbors = mustSpecs(t, "seqwrite,bs=64KiB,rate=8MiB,size=32MiB,on=1s,off=1s")
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Neighbors) != 1 {
		t.Fatalf("neighbours %+v", res.Neighbors)
	}
	nb := res.Neighbors[0]
	if nb.Name != "neighbor_1_seqwrite" || nb.Ops == 0 || nb.MBps <= 0 || nb.Errors != 0 {
		t.Fatalf("neighbour accounting %+v", nb)
	}
	if m := res.Metrics[nb.Name]; m == nil || m.Count == 0 {
		t.Fatalf("no latency histogram for the neighbour: %+v", m)
	}
	// The burst schedule shows in the interval series: some seconds on,
	// some off.
	on, off := 0, 0
	for _, iv := range res.Intervals {
		if len(iv.Active) == 1 && iv.Active[0] == nb.Name {
			on++
		} else {
			off++
		}
	}
	if on == 0 || off == 0 {
		t.Fatalf("intervals on %d off %d: the burst schedule is not marked", on, off)
	}
	// A buffered neighbour in a 3 s run: its data is younger than the
	// kernel's writeback expiry when the run ends.
	if wb, err := (sysinfo.Options{}).Writeback(); err == nil && wb.Delay() > 5*time.Second {
		if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "vm.dirty_expire_centisecs") }) {
			t.Errorf("no writeback warning for a buffered neighbour in a 3 s run: %q", res.Warnings)
		}
	}
	assertClean(t, cfg.Dir)
}

// TestBadNeighborSpecIsAConfigError: a spec built by hand that cannot work
// is refused before anything is written, naming the neighbour and why
// (spec strings are refused where they are parsed: cmd's flags).
func TestBadNeighborSpecIsAConfigError(t *testing.T) {
	cfg := testConfig(t)
	bad := neighbor.Default(neighbor.SeqWrite)
	bad.NumJobs = 0
	cfg.Neighbors = append(mustSpecs(t, "fsync"), bad)
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "neighbour 2") || !strings.Contains(err.Error(), "numjobs=0") {
		t.Fatalf("err %v, want one naming neighbour 2 and its numjobs", err)
	}
	assertClean(t, cfg.Dir)
}

// mustSpecs parses neighbour specs as --neighbor does.
func mustSpecs(t *testing.T, specs ...string) []neighbor.Spec {
	t.Helper()
	var out []neighbor.Spec
	for _, s := range specs {
		sp, err := neighbor.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sp)
	}
	return out
}

// slowMember serves etcd metrics whose WAL fsyncs all take ~4 s: a live
// member in trouble.
func slowMember(t *testing.T) string {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n += 100
		c := n
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintln(w, "# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.")
		fmt.Fprintln(w, "# TYPE etcd_disk_wal_fsync_duration_seconds histogram")
		for _, le := range []string{"0.001", "0.002", "0.004", "0.008", "0.016", "0.032", "0.064", "0.128", "0.256", "0.512", "1.024", "2.048"} {
			fmt.Fprintf(w, "etcd_disk_wal_fsync_duration_seconds_bucket{le=%q} 0\n", le)
		}
		fmt.Fprintf(w, "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"4.096\"} %d\n", c)
		fmt.Fprintf(w, "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"8.192\"} %d\n", c)
		fmt.Fprintf(w, "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} %d\n", c)
		fmt.Fprintf(w, "etcd_disk_wal_fsync_duration_seconds_sum %d\n", 3*c)
		fmt.Fprintf(w, "etcd_disk_wal_fsync_duration_seconds_count %d\n", c)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

func TestLiveSafePausesTheLoad(t *testing.T) {
	cfg := testConfig(t)
	cfg.Ops = 0
	cfg.Duration = 3 * time.Second
	cfg.EtcdMetrics = slowMember(t)
	var log syncWriter
	cfg.Log = &log
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pauses) == 0 || !strings.Contains(log.String(), "live-safe: pausing") {
		t.Fatalf("no pause; log:\n%s", log.String())
	}
	// Once paused (after the watcher's first two scrapes) no Save is
	// issued: the last interval has no fdatasync.
	last := res.Intervals[len(res.Intervals)-1]
	if n := last.Metrics[report.MetricWALFdatasync].Count; n != 0 {
		t.Fatalf("%d fdatasyncs in the last second while paused", n)
	}
	if p := res.Pauses[0]; p.P99Ns < int64(2*time.Second) || p.DurationNs <= 0 {
		t.Fatalf("pause %+v", p)
	}
	assertClean(t, cfg.Dir)
}
