package report

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

var exportFixture struct {
	once sync.Once
	r    *Result
	err  error
}

// exportTestResult returns a fresh copy of the fixture built by
// buildExportTestResult (built once: recording and encoding its 150
// histograms is slow under -race).
func exportTestResult(t testing.TB) *Result {
	t.Helper()
	exportFixture.once.Do(func() { exportFixture.r, exportFixture.err = buildExportTestResult() })
	if exportFixture.err != nil {
		t.Fatal(exportFixture.err)
	}
	return exportCloneResult(exportFixture.r)
}

// exportCloneResult copies everything a test may change (the encoded
// histograms are immutable strings).
func exportCloneResult(in *Result) *Result {
	r := *in
	r.Metrics = map[string]*Metric{}
	for k, m := range in.Metrics {
		c := *m
		r.Metrics[k] = &c
	}
	r.Checks = slices.Clone(in.Checks)
	r.Stalls = slices.Clone(in.Stalls)
	r.Neighbors = slices.Clone(in.Neighbors)
	r.Warnings = slices.Clone(in.Warnings)
	r.Config.Neighbors = slices.Clone(in.Config.Neighbors)
	r.Environment.Warnings = slices.Clone(in.Environment.Warnings)
	r.Intervals = make([]Interval, len(in.Intervals))
	for i, iv := range in.Intervals {
		iv.Metrics = maps.Clone(iv.Metrics)
		iv.Active = slices.Clone(iv.Active)
		r.Intervals[i] = iv
	}
	return &r
}

// buildExportTestResult builds a deterministic 30-second Result: a healthy disk
// (WAL fdatasync ~2 ms) disturbed by one write neighbour switched on for
// seconds 10-19 (fdatasync ~9 ms with a tail), every interval with its
// histogram, plus checks, stalls and warnings. It depends only on the
// model, NewHistogram and NewMetric, so its renderings are stable goldens.
func buildExportTestResult() (*Result, error) {
	r := exportTestShell()
	if err := addExportTestIntervals(r); err != nil {
		return nil, err
	}
	addExportTestChecks(r)
	return r, nil
}

// exportTestSeconds is how long the export fixture's run measured.
const exportTestSeconds = 30

// exportTestShell is the export fixture without its measurements: the
// settings, the machine, the counts, the neighbour, a stall and a warning.
func exportTestShell() *Result {
	return &Result{
		Schema:   Schema,
		Workload: "wal",
		Config: Config{
			Dir: "/var/lib/etcd-test", Workload: "wal", DurationNs: exportTestSeconds * 1e9, Rate: 200,
			EntrySize: 2300, Batch: 1, Backend: true, SegmentSize: 64 << 20,
			Neighbors: []string{"write:bs=1MiB,rate=200MiB/s,on=10s,off=10s"}, P99TargetNs: 10e6,
			BackendP99TargetNs: 25e6, WarmupNs: 2e9,
		},
		Environment: Environment{
			Hostname: "etcd-node-3", Kernel: "6.18.0-amd64", CPUs: 8, Version: "v0.1.0", GoVersion: "go1.26.8",
			Revision: "9ad668a0c3d4e5f60718293a4b5c6d7e8f901234", RevisionTime: "2026-11-29T06:28:00Z",
			Path: "/var/lib/etcd-test", Filesystem: "ext4", MountPoint: "/var/lib", MountOptions: "rw,relatime",
			MountSource: "/dev/nvme0n1p3", Device: "nvme0n1", DeviceModel: "Samsung SSD 980 PRO 1TB",
			Rotational: new(bool), Scheduler: "none", WriteCache: "write back", LogicalBlock: 512, PhysicalBlock: 512,
			FreeBytes: 412 << 30,
		},
		StartTime:  time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC),
		DurationNs: exportTestSeconds * 1e9, WarmupNs: 2e9,
		Saves: 6000, Entries: 6000, BytesWritten: 6000 * 2400, Segments: 1,
		Metrics: map[string]*Metric{},
		Neighbors: []Neighbor{{Name: "neighbor_0_write", Spec: "write:bs=1MiB,rate=200MiB/s,on=10s,off=10s", Kind: "write",
			Ops: 3000, Bytes: 3000 << 20, MBps: 104.9, IOPS: 100}},
		Stalls:   []Stall{{Metric: MetricWALFdatasync, AtNs: 14_250_000_000, AgeNs: 1_310_000_000}},
		Warnings: []string{"the p99.9 of backend_commit rests on 300 samples; 4600 are needed for a bounded 95% interval"},
	}
}

// addExportTestIntervals records every second of the export fixture from a
// fixed seed, with the neighbour on for seconds 10-19, and the whole run's
// metrics as their sum.
func addExportTestIntervals(r *Result) error {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{MetricWALFdatasync, MetricWALWrite, MetricBackendCommit, MetricProposalCommit, "neighbor_0_write"}
	// median latency (ns) per metric, quiet and with the neighbour on
	quiet := map[string]float64{MetricWALFdatasync: 2e6, MetricWALWrite: 30e3, MetricBackendCommit: 5e6, MetricProposalCommit: 2.4e6, "neighbor_0_write": 0}
	noisy := map[string]float64{MetricWALFdatasync: 8e6, MetricWALWrite: 45e3, MetricBackendCommit: 14e6, MetricProposalCommit: 9e6, "neighbor_0_write": 1.2e6}
	perSec := map[string]int{MetricWALFdatasync: 200, MetricWALWrite: 200, MetricBackendCommit: 10, MetricProposalCommit: 400, "neighbor_0_write": 300}
	total := map[string]*hdrhistogram.Histogram{}
	for _, n := range names {
		total[n] = NewHistogram()
	}
	for s := range exportTestSeconds {
		on := s >= 10 && s < 20
		iv := Interval{StartNs: int64(s) * 1e9, Metrics: map[string]IntervalMetric{}}
		if on {
			iv.Active = []string{"neighbor_0_write"}
		}
		for _, n := range names {
			med := quiet[n]
			if on {
				med = noisy[n]
			}
			if med == 0 {
				continue // the neighbour is off: no samples
			}
			h := NewHistogram()
			for range perSec[n] {
				v := med * math.Exp(0.45*rng.NormFloat64())
				if on && n == MetricWALFdatasync && rng.IntN(100) == 0 {
					v *= 6 // the tail a busy disk adds
				}
				if err := h.RecordValue(int64(v)); err != nil {
					return err
				}
			}
			if on && s == 14 && n == MetricWALFdatasync {
				_ = h.RecordValue(1_310_000_000) // the stall
			}
			total[n].Merge(h)
			iv.Metrics[n] = NewIntervalMetric(h)
		}
		r.Intervals = append(r.Intervals, iv)
	}
	for _, n := range names {
		r.Metrics[n] = NewMetric(total[n])
	}
	return nil
}

// addExportTestChecks judges the export fixture's WAL and backend p99 on
// their plain intervals, so that the goldens do not move with Judge's
// burst-aware ones; the verdict follows from the checks as Judge's does.
func addExportTestChecks(r *Result) {
	for _, c := range []struct {
		metric string
		target int64
	}{{MetricWALFdatasync, 10e6}, {MetricBackendCommit, 25e6}} {
		m := r.Metrics[c.metric]
		out := VerdictInconclusive
		switch {
		case m.P99CI.Bounded && m.P99CI.HighNs < c.target:
			out = VerdictPass
		case m.P99CI.LowNs > c.target:
			out = VerdictFail
		}
		r.Checks = append(r.Checks, Check{Metric: c.metric, Quantile: 99, TargetNs: c.target, ObservedNs: m.P99Ns,
			Interval: m.P99CI, Outcome: out, Samples: m.Count, Needed: 473})
	}
	r.Verdict, _ = overall(r.Checks)
	r.Reason = fmt.Sprintf("WAL fdatasync p99 %s vs target 10ms", FormatDuration(time.Duration(r.Metrics[MetricWALFdatasync].P99Ns)))
}

// exportKnownResult is a tiny Result with one metric whose every value is
// known, for exact assertions.
func exportKnownResult(t testing.TB, values map[int64]int64) *Result {
	t.Helper()
	h := NewHistogram()
	for v, n := range values {
		if err := h.RecordValues(v, n); err != nil {
			t.Fatal(err)
		}
	}
	return &Result{
		Schema: Schema, Verdict: VerdictFail, Workload: "wal",
		Environment: Environment{Hostname: "h1", Path: "/data", Device: "vdb"},
		StartTime:   time.Unix(1_700_000_000, 0).UTC(), DurationNs: 1e9,
		Metrics:   map[string]*Metric{MetricWALFdatasync: NewMetric(h)},
		Intervals: []Interval{{StartNs: 0, Metrics: map[string]IntervalMetric{MetricWALFdatasync: NewIntervalMetric(h)}}},
	}
}
