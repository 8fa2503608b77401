package calibrate

import (
	"context"
	"math"
	"os"
	"runtime"
	"testing"
	"time"
)

// TestRunEndToEnd starts a real etcd on a temp dir, drives 2 s at 100
// puts/s and checks that etcd's own metrics were read and everything it
// created is gone.
func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real etcd")
	}
	dir := t.TempDir()
	goroutines := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Run(ctx, Config{Dir: dir, Rate: 100, ValueSize: 1024, Duration: 2 * time.Second, Warmup: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("puts %d in %v; wal fsync %+v; backend commit %+v; wal bytes %d; db %d; fsyncs/put %.2f; put p99 %v",
		res.Puts, res.Elapsed, res.WALFsync, res.BackendCommit, res.WALWriteBytes, res.DBSizeBytes,
		res.FsyncsPerPut, time.Duration(res.PutLatency.ValueAtQuantile(99)))

	// All 200 scheduled puts complete (open loop: the count is fixed by
	// rate x duration).
	if res.Puts != 200 || res.Errors != 0 {
		t.Errorf("puts %d, errors %d; want 200, 0", res.Puts, res.Errors)
	}
	if got := res.PutLatency.TotalCount(); got != res.Puts {
		t.Errorf("latency histogram holds %d, want %d", got, res.Puts)
	}
	for name, m := range map[string]Metric{"wal fsync": res.WALFsync, "backend commit": res.BackendCommit} {
		if m.Count == 0 || m.Mean <= 0 || m.Sum <= 0 || m.P99 <= 0 || m.P50 <= 0 || m.P50 > m.P99 {
			t.Errorf("%s: %+v", name, m)
		}
		if len(m.Buckets) != 15 || !math.IsInf(m.Buckets[14].UpperBound, +1) || m.Buckets[14].Count != m.Count {
			t.Errorf("%s: buckets %v", name, m.Buckets)
		}
	}
	// Every put is at least one WAL fsync away from its reply, unless
	// batched; the warm-up's fsyncs must not be counted.
	if res.WALFsync.Count < 20 || res.WALFsync.Count > uint64(res.Puts)+50 {
		t.Errorf("%d WAL fsyncs for %d puts: window deltas wrong?", res.WALFsync.Count, res.Puts)
	}
	// etcd commits the backend at most every 100 ms when puts are pending.
	if res.BackendCommit.Count > 60 {
		t.Errorf("%d backend commits in ~2 s", res.BackendCommit.Count)
	}
	// ~ 200 entries of a ~1.1 KiB put request each.
	if res.WALWriteBytes < 200*1024 {
		t.Errorf("WAL wrote %d bytes for 200 puts of 1 KiB", res.WALWriteBytes)
	}
	if res.DBSizeBytes <= 0 {
		t.Errorf("db size %d", res.DBSizeBytes)
	}

	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Errorf("left behind in the target dir: %v", ents)
	}
	// The server, the client and the put goroutines are all gone (etcd's
	// stop is asynchronous in places: poll, do not time it).
	for deadline := time.Now().Add(30 * time.Second); runtime.NumGoroutine() > goroutines; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("%d goroutines left running (%d before)", runtime.NumGoroutine(), goroutines)
			break
		}
	}
}

// TestRunCancelled: cancelling mid-run still removes the data dir.
func TestRunCancelled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real etcd")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(1500 * time.Millisecond)
		cancel()
	}()
	_, err := Run(ctx, Config{Dir: dir, Rate: 50, Duration: time.Minute})
	if err == nil {
		t.Fatal("no error from a cancelled run")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{},
		{Dir: "does-not-exist-" + t.Name()},
		{Dir: t.TempDir(), Rate: -1},
		{Dir: t.TempDir(), Rate: math.Inf(1)},
		{Dir: t.TempDir(), ValueSize: -5},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

func TestWarnings(t *testing.T) {
	cfg := Config{Rate: 1000, Duration: 20 * time.Second}
	if w := warnings(&Result{Config: cfg, Elapsed: 20*time.Second + 30*time.Millisecond}); len(w) != 0 {
		t.Errorf("on-time run warned: %v", w)
	}
	if w := warnings(&Result{Config: cfg, Elapsed: 23 * time.Second}); len(w) != 1 {
		t.Errorf("late run: %v", w)
	}
	if w := warnings(&Result{Config: cfg, Elapsed: cfg.Duration, Errors: 3}); len(w) != 1 {
		t.Errorf("failed puts: %v", w)
	}
}

func TestKey(t *testing.T) {
	d := &driver{cfg: Config{KeySpace: 100000}}
	if k := d.key(42); k != "/registry/pods/default/pod-00042" {
		t.Errorf("natural key %q", k)
	}
	d.cfg.KeySize = 256
	if k := d.key(42); len(k) != 256 || k[:32] != "/registry/pods/default/pod-00042" {
		t.Errorf("padded key %q", k)
	}
	d.cfg.KeySize = 10
	if a, b := d.key(1), d.key(2); len(a) != 10 || a == b {
		t.Errorf("cut keys %q %q", a, b)
	}
	if d.key(100001) != d.key(1) {
		t.Error("key space does not wrap")
	}
}
