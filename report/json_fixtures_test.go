package report

import (
	"bytes"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// The sample results in testdata/results (top of the repository) are built
// here from seeded synthetic latencies, so they are deterministic and
// `go test ./report -update` rewrites them. Compare and merge goldens use them.
const fixtureDir = "../testdata/results"

// fixtureSpec describes one synthetic run: per metric a log-normal latency
// (median, sigma) and a count per second.
type fixtureSpec struct {
	seed        uint64
	seconds     int
	interrupted bool
	errText     string
	env         Environment
	rate        float64
	backend     bool
	metrics     []fixtureMetric
	stalls      []Stall
	neighbors   []Neighbor
}

type fixtureMetric struct {
	name   string
	median time.Duration
	sigma  float64
	perSec int
	// every tailEvery-th sample takes tail instead (a slow outlier), 0: none
	tailEvery int
	tail      time.Duration
}

func fixtureSpecs() map[string]fixtureSpec {
	no, yes := false, true
	nvme := Environment{
		Hostname: "node-a", Kernel: "6.8.0-45-generic", CPUs: 8, Version: "v0.1.0", GoVersion: "go1.26.8",
		Path: "/var/lib/etcd", Filesystem: "ext4", MountPoint: "/var/lib", MountOptions: "rw,relatime",
		MountSource: "/dev/nvme0n1p2", Device: "nvme0n1", DeviceModel: "Samsung SSD 980 PRO 1TB",
		Rotational: &no, Scheduler: "none", WriteCache: "write back", LogicalBlock: 512, PhysicalBlock: 512,
	}
	nvmeNew := nvme
	nvmeNew.Kernel = "6.11.0-9-generic"
	nvmeNew.MountOptions = "rw,relatime,data=journal"
	hdd := Environment{
		Hostname: "node-c", Kernel: "5.15.0-119-generic", CPUs: 16, Version: "v0.1.0", GoVersion: "go1.26.8",
		Path: "/var/lib/etcd", Filesystem: "xfs", MountPoint: "/", MountOptions: "rw,noatime",
		MountSource: "/dev/sda2", Device: "sda", DeviceModel: "ST4000NM0035-1V4107",
		Rotational: &yes, Scheduler: "mq-deadline", WriteCache: "write through", LogicalBlock: 512, PhysicalBlock: 4096,
	}
	vm := Environment{
		Hostname: "ci-runner-7", Kernel: "6.18.0", CPUs: 2, Version: "v0.1.0", GoVersion: "go1.26.8",
		Path: "/tmp/etcdisk", Filesystem: "ext4", MountPoint: "/", MountOptions: "rw,relatime",
		MountSource: "/dev/vda1", Device: "vda", Rotational: &no, Scheduler: "none", WriteCache: "write back",
		LogicalBlock: 512, PhysicalBlock: 512, Virtual: true,
		Warnings: []string{"virtual disk: the host's cache may acknowledge fdatasync before the data is durable"},
	}
	shared := nvme
	shared.Hostname = "node-e"
	shared.DeviceModel = "Micron 5300 PRO 960GB"
	shared.Device = "sdb"
	shared.MountSource = "/dev/sdb1"
	broken := hdd
	broken.Hostname = "node-f"
	broken.DeviceModel = "WDC WD40EFRX-68N32N0"

	etcd := func(wal, backend time.Duration, walPerSec int) []fixtureMetric {
		return []fixtureMetric{
			{name: MetricWALFdatasync, median: wal, sigma: 0.45, perSec: walPerSec},
			{name: MetricWALWrite, median: 18 * time.Microsecond, sigma: 0.3, perSec: walPerSec},
			{name: MetricBackendCommit, median: backend, sigma: 0.4, perSec: 10},
			{name: MetricProposalCommit, median: wal + wal/5, sigma: 0.5, perSec: walPerSec},
		}
	}
	slow := etcd(5*time.Millisecond, 14*time.Millisecond, 150)
	slow[0].tailEvery, slow[0].tail = 40, 60*time.Millisecond
	slow[0].sigma = 0.7
	noisy := etcd(3*time.Millisecond, 9*time.Millisecond, 150)
	noisy[0].tailEvery, noisy[0].tail = 60, 140*time.Millisecond
	noisy = append(noisy, fixtureMetric{name: "neighbor_0_write", median: 2 * time.Millisecond, sigma: 0.6, perSec: 200})

	return map[string]fixtureSpec{
		"nvme-pass.json": {seed: 1, seconds: 40, env: nvme, rate: 150, backend: true,
			metrics: etcd(250*time.Microsecond, 1200*time.Microsecond, 150)},
		"nvme-regressed.json": {seed: 2, seconds: 40, env: nvmeNew, rate: 150, backend: true,
			metrics: etcd(700*time.Microsecond, 1500*time.Microsecond, 150)},
		"hdd-fail.json": {seed: 3, seconds: 30, env: hdd, rate: 150, backend: true, metrics: slow,
			stalls: []Stall{{Metric: MetricWALFdatasync, AtNs: 17_250_000_000, AgeNs: 1_320_000_000}}},
		"short-inconclusive.json": {seed: 4, seconds: 2, env: vm, rate: 100, backend: true,
			metrics: etcd(2*time.Millisecond, 4*time.Millisecond, 100)},
		"neighbor-interrupted.json": {seed: 5, seconds: 12, env: shared, rate: 150, backend: true, interrupted: true,
			metrics: noisy,
			neighbors: []Neighbor{{Name: "neighbor_0_write", Spec: "write:bs=1MiB,rate=200MiB/s", Kind: "write",
				Ops: 2400, Bytes: 2400 << 20, MBps: 209.7, IOPS: 200}},
			stalls: []Stall{{Metric: MetricWALFdatasync, AtNs: 11_800_000_000, AgeNs: 900_000_000, Ongoing: true}}},
		"io-error.json": {seed: 6, seconds: 1, env: broken, rate: 150, backend: false,
			errText: "fdatasync 0000000000000000-0000000000000000.wal: input/output error",
			metrics: etcd(6*time.Millisecond, 0, 37)[:2]},
	}
}

// buildFixture turns a spec into a judged Result.
func buildFixture(t testing.TB, s fixtureSpec) *Result {
	t.Helper()
	rng := rand.New(rand.NewPCG(s.seed, 0x5eed))
	r := &Result{
		Schema:      Schema,
		Workload:    "wal",
		Interrupted: s.interrupted,
		Error:       s.errText,
		Config: Config{
			Dir: s.env.Path, Workload: "wal", DurationNs: 30e9, Rate: s.rate, EntrySize: 2300, Batch: 1,
			Backend: s.backend, SegmentSize: 64_000_000, P99TargetNs: int64(DefaultWALP99Target),
			BackendP99TargetNs: int64(DefaultBackendP99Target), WarmupNs: 2e9,
		},
		Environment: s.env,
		StartTime:   time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC).Add(time.Duration(s.seed) * time.Hour),
		DurationNs:  int64(s.seconds) * 1e9,
		WarmupNs:    2e9,
		Segments:    1,
		Metrics:     map[string]*Metric{},
		Stalls:      s.stalls,
		Neighbors:   s.neighbors,
	}
	for _, n := range s.neighbors {
		r.Config.Neighbors = append(r.Config.Neighbors, n.Spec)
	}
	totals := map[string]*hdrhistogram.Histogram{}
	for sec := 0; sec < s.seconds; sec++ {
		iv := Interval{StartNs: int64(sec) * 1e9, Metrics: map[string]IntervalMetric{}}
		for _, m := range s.metrics {
			h := NewHistogram()
			for i := 0; i < m.perSec; i++ {
				v := time.Duration(float64(m.median) * math.Exp(m.sigma*rng.NormFloat64()))
				if m.tailEvery > 0 && (sec*m.perSec+i)%m.tailEvery == m.tailEvery-1 {
					v = time.Duration(float64(m.tail) * (0.5 + rng.Float64()))
				}
				if err := h.RecordValue(int64(max(v, time.Microsecond))); err != nil {
					t.Fatal(err)
				}
			}
			iv.Metrics[m.name] = NewIntervalMetric(h)
			if totals[m.name] == nil {
				totals[m.name] = NewHistogram()
			}
			totals[m.name].Merge(h)
		}
		for _, n := range s.neighbors {
			iv.Active = append(iv.Active, n.Name)
		}
		r.Intervals = append(r.Intervals, iv)
	}
	for name, h := range totals {
		r.Metrics[name] = NewMetric(h)
	}
	if m := r.Metrics[MetricWALFdatasync]; m != nil {
		r.Saves, r.Entries = m.Count, m.Count
		r.BytesWritten = m.Count * 2368
	}
	if s.errText != "" {
		r.Verdict = VerdictError
		r.Reason = "the run failed: " + s.errText
	}
	Judge(r, TargetsFor(r))
	return r
}

// fixtureBytes renders the named sample result as stored. Renderings are
// built once per test binary (they cost a few hundred ms under -race).
func fixtureBytes(t testing.TB, name string) []byte {
	t.Helper()
	fixtureCache.Do(func() {
		fixtureCache.b = map[string][]byte{}
		for n, s := range fixtureSpecs() {
			var b bytes.Buffer
			if err := Write(&b, buildFixture(t, s)); err != nil {
				t.Fatal(err)
			}
			fixtureCache.b[n] = b.Bytes()
		}
	})
	b, ok := fixtureCache.b[name]
	if !ok {
		t.Fatalf("no fixture %s", name)
	}
	return b
}

var fixtureCache struct {
	sync.Once
	b map[string][]byte
}

// loadFixture reads a sample result from testdata/results.
func loadFixture(t testing.TB, name string) *Result {
	t.Helper()
	r, err := ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestFixturesUpToDate rebuilds every sample result and compares it with the
// stored file (or rewrites it with -update): the fixtures cannot drift from
// the code that judges them.
func TestFixturesUpToDate(t *testing.T) {
	for name := range fixtureSpecs() {
		got := fixtureBytes(t, name)
		goldenFile(t, filepath.Join(fixtureDir, name), got)
	}
}

// TestFixtureVerdicts pins what each sample result stands for.
func TestFixtureVerdicts(t *testing.T) {
	want := map[string]string{
		"nvme-pass.json":            VerdictPass,
		"nvme-regressed.json":       VerdictPass,
		"hdd-fail.json":             VerdictFail,
		"short-inconclusive.json":   VerdictInconclusive,
		"neighbor-interrupted.json": VerdictFail,
		"io-error.json":             VerdictError,
	}
	for name, v := range want {
		if got := loadFixture(t, name).Verdict; got != v {
			t.Errorf("%s: verdict %s, want %s", name, got, v)
		}
	}
}
