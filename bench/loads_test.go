package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/report"
	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/errorfs"
)

// TestLoadsAreEtcdctls: the named loads carry etcdctl check perf's numbers
// (etcdctl/ctlv3/command/check.go), and its long names are accepted.
func TestLoadsAreEtcdctls(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rate    float64
		clients int
	}{{"s", 150, 50}, {"small", 150, 50}, {"m", 1000, 200}, {"l", 8000, 500}, {"xl", 15000, 1000}, {"xLarge", 15000, 1000}} {
		l, err := LookupLoad(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if l.Rate != tc.rate || l.Clients != tc.clients || l.KeySize != 276 || l.ValueSize.String() != "1KiB" || l.Request != RequestPut {
			t.Errorf("load %s: %+v, want %g puts/s, %d clients, 276-byte keys, 1KiB values, puts", tc.name, l, tc.rate, tc.clients)
		}
	}
	if _, err := LookupLoad("huge"); err == nil || !strings.Contains(err.Error(), "kubernetes") {
		t.Errorf("unknown load: %v", err)
	}
	c, err := NewPlan(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if c.Load != DefaultLoad || c.Rate != 150 || !c.Backend || c.Mode != ModeRequestPath {
		t.Errorf("DefaultConfig is not load s through the request path: %+v", c)
	}
	c, err = NewPlan(Config{ClosedLoop: true})
	if err != nil || c.Mode != ModeClosedLoop || c.Load != "" || !c.ValueSize.IsZero() || c.Clients != 0 {
		t.Errorf("the closed loop: %+v, %v", c, err)
	}
}

// TestFindLimitValidation: without a neighbour, --find-limit steps the
// proposal rate and needs an open loop of the wal workload.
func TestFindLimitValidation(t *testing.T) {
	c := DefaultConfig()
	c.Dir, c.FindLimit = t.TempDir(), true
	if _, err := NewPlan(c); err != nil {
		t.Errorf("--find-limit at the default load: %v", err)
	}
	c.ClosedLoop = true
	if _, err := NewPlan(c); err == nil || !strings.Contains(err.Error(), "not --rate max") {
		t.Errorf("--find-limit in the closed loop: %v", err)
	}
	c = DefaultConfig()
	c.Workload = WorkloadFio
	if _, err := NewPlan(c); err == nil || !strings.Contains(err.Error(), "no --rate") {
		t.Errorf("fio with a rate: %v", err)
	}
}

// TestRateStep: a step passes only when its verdict passes and its
// proposals were committed at 90% of the rate or more (proposals still
// waiting at the stop count in proposal_commit, not as carried).
func TestRateStep(t *testing.T) {
	res := &report.Result{Verdict: report.VerdictPass, DurationNs: 10e9, Entries: 9500, Metrics: map[string]*report.Metric{
		report.MetricWALFdatasync:   {P99Ns: 4e6},
		report.MetricProposalCommit: {Count: 1_000_000},
	}}
	if st := rateStep(res, 1000); st.Outcome != report.VerdictPass || st.Achieved != 950 || st.P99Ns != 4e6 {
		t.Errorf("950 of 1000/s with a PASS: %+v, want pass", st)
	}
	if st := rateStep(res, 1100); st.Outcome != OutcomeNotSustained {
		t.Errorf("950 of 1100/s with a PASS: %+v, want %s", st, OutcomeNotSustained)
	}
	res.Verdict = report.VerdictInconclusive
	if st := rateStep(res, 1000); st.Outcome != report.VerdictInconclusive {
		t.Errorf("an inconclusive run: %+v", st)
	}
	// With --batch 4 each proposal is 4 entries: 9,500 entries are 2,375
	// proposals, 237.5/s.
	res.Verdict, res.Config.Batch = report.VerdictPass, 4
	if st := rateStep(res, 1000); st.Outcome != OutcomeNotSustained || st.Achieved != 237.5 {
		t.Errorf("2,375 proposals of 4 entries in 10 s at 1000/s asked: %+v, want %s at 237.5/s", st, OutcomeNotSustained)
	}
}

// TestClientsBoundInFlight: a load's clients each have one request in
// flight, as etcdctl check perf's: with 20 ms fdatasyncs, two clients
// cannot carry 400 puts/s (about 100/s at most), where the unbounded
// client does.
func TestClientsBoundInFlight(t *testing.T) {
	count := func(clients int) int64 {
		cfg := testConfig(t)
		cfg.Ops, cfg.Duration, cfg.Rate, cfg.Clients = 0, 1500*time.Millisecond, 400, Given(clients)
		cfg.FS = errorfs.Wrap(vfs.Default, errorfs.OnKind(errorfs.Latency(20*time.Millisecond), vfs.OpFdatasync))
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Config.Clients != clients || res.Config.Mode != ModeRequestPath {
			t.Fatalf("config %+v", res.Config)
		}
		// Entries, not proposal_commit: that also counts the arrivals
		// still queued for a client when the run stops.
		return res.Entries
	}
	if n := count(2); n > 250 {
		t.Errorf("2 clients answered %d proposals in 1.5s with 20 ms syncs, want at most ~150", n)
	}
	if n := count(0); n < 400 {
		t.Errorf("unbounded client answered %d proposals in 1.5s at 400/s, want ~600", n)
	}
}
