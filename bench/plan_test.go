package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/bench/neighbor"
)

// TestPlanRulesForEveryCaller: the rules of a run hold for any caller of
// the library (calibrate's model run, the phases), not only for the CLI.
func TestPlanRulesForEveryCaller(t *testing.T) {
	if _, err := NewPlan(Config{Workload: WorkloadFio, Rate: 500}); err == nil || !strings.Contains(err.Error(), "takes no --rate") {
		t.Errorf("fio at 500/s: %v, want refused", err)
	}
	if _, err := NewPlan(Config{ClosedLoop: true, GRPC: Given(true)}); err == nil || !strings.Contains(err.Error(), "--grpc needs an open loop") {
		t.Errorf("gRPC in the closed loop: %v, want refused", err)
	}
	if _, err := NewPlan(Config{Load: namedLoad(t, LoadS), ClosedLoop: true, Clients: Given(3)}); err == nil || !strings.Contains(err.Error(), "--clients needs the request path") {
		t.Errorf("clients in the closed loop: %v, want refused", err)
	}
	p := mustPlan(t, Config{Device: "/dev/loop-none"})
	if p.Backend {
		t.Errorf("a device run has the backend on: %+v", p)
	}
	if _, err := NewPlan(Config{Device: "/dev/loop-none", Backend: Given(true)}); err == nil || !strings.Contains(err.Error(), "needs a file system") {
		t.Errorf("backend asked on a device: %v, want refused", err)
	}
	if p := mustPlan(t, Config{}); !p.Backend || p.Duration != DefaultDuration || p.Warmup != defaultWarmup || p.Mode != ModeClosedLoop {
		t.Errorf("Config{}: %+v, want the closed loop with the backend for DefaultDuration", p)
	}
}

// TestPlanStop: fio's recipe is one pass without warm-up unless a length
// is asked; an op count alone has no time limit.
func TestPlanStop(t *testing.T) {
	p := mustPlan(t, Config{Workload: WorkloadFio})
	if !p.OnePass || p.Duration != 0 || p.Warmup != 0 || p.Backend {
		t.Errorf("fio: %+v, want one pass, no warm-up, no backend", p)
	}
	p = mustPlan(t, Config{Workload: WorkloadFio, Duration: time.Second, Warmup: Given(time.Second)})
	if p.OnePass || p.Duration != time.Second || p.Warmup != time.Second {
		t.Errorf("fio for 1s after 1s: %+v", p)
	}
	p = mustPlan(t, Config{Load: namedLoad(t, LoadS), Ops: 100})
	if p.Duration != 0 || p.Ops != 100 || p.OnePass {
		t.Errorf("ops alone: %+v, want no time limit", p)
	}
	p = mustPlan(t, Config{Load: namedLoad(t, LoadS), Warmup: Given(time.Duration(0))})
	if p.Warmup != 0 || p.Duration != DefaultDuration {
		t.Errorf("warm-up 0: %+v", p)
	}
}

// TestPlanLoad: a load gives the rate, clients and sizes, each overridden
// by what the caller gives; the closed loop keeps the load's sizes only.
func TestPlanLoad(t *testing.T) {
	p := mustPlan(t, Config{Load: namedLoad(t, "k8s"), Rate: 300, KeySize: 64})
	if p.Load != LoadKubernetes || p.Rate != 300 || p.Clients != 100 || p.KeySize != 64 ||
		p.ValueSize.String() != "kubernetes" || p.Request != RequestTxn || p.Mode != ModeRequestPath {
		t.Errorf("kubernetes at 300/s, 64-byte keys: %+v", p)
	}
	p = mustPlan(t, Config{Load: namedLoad(t, "m"), ClosedLoop: true})
	if p.Mode != ModeClosedLoop || p.Rate != 0 || p.Clients != 0 || p.KeySize != 276 || p.ValueSize.String() != "1KiB" {
		t.Errorf("load m closed loop: %+v", p)
	}
	p = mustPlan(t, Config{Load: namedLoad(t, LoadS), EntrySize: 4096})
	if !p.ValueSize.IsZero() || p.EntrySize != 4096 {
		t.Errorf("an entry size replaces the load's values: %+v", p)
	}
	p = mustPlan(t, Config{Load: namedLoad(t, LoadS), GRPC: Given(false)})
	if p.Mode != ModeOpenLoop {
		t.Errorf("gRPC off: mode %s", p.Mode)
	}
	// calibrate's model: no named load, one connection, its sizes.
	p = mustPlan(t, Config{Rate: 150, ValueSize: mustValueSize("1024"), Request: RequestPut, KeySize: 32})
	if p.Mode != ModeRequestPath || p.Load != "" || p.Clients != 0 || p.Request != RequestPut || p.Backend != true {
		t.Errorf("calibrate's model: %+v", p)
	}
}

// TestPlanNeighbors: the scenario's neighbours come first; derived plans
// edit specs, never the plan they come from, and the report echoes the
// caller's specs and the scenario's name.
func TestPlanNeighbors(t *testing.T) {
	sc, err := neighbor.ScenarioByName("backup")
	if err != nil {
		t.Fatal(err)
	}
	p := mustPlan(t, Config{Scenario: &sc, Neighbors: mustSpecs(t, "fsync,bs=4KiB"), CompareSolo: true})
	if len(p.Neighbors) != 3 || p.Neighbors[2].Kind != neighbor.Fsync {
		t.Fatalf("neighbours %v, want the scenario's two then fsync", p.Neighbors)
	}
	if c := echoConfig(p); c.Scenario != "backup" || len(c.Neighbors) != 1 || !strings.HasPrefix(c.Neighbors[0], "fsync") {
		t.Errorf("echo: scenario %q neighbours %q", c.Scenario, c.Neighbors)
	}
	if solo := p.WithoutNeighbors(); len(solo.Neighbors) != 0 || echoConfig(solo).Scenario != "" {
		t.Errorf("solo phase: %+v", solo.Neighbors)
	}
	step := p.Neighbors[2]
	step.IOPS = 50
	one := p.WithNeighbor(step)
	if len(one.Neighbors) != 1 || one.Neighbors[0].IOPS != 50 || p.Neighbors[2].IOPS != 0 {
		t.Errorf("find-limit step: %v (base %v)", one.Neighbors, p.Neighbors)
	}
	if c := echoConfig(one); c.Scenario != "" || len(c.Neighbors) != 1 {
		t.Errorf("step echo: %+v", c)
	}
	if r := p.WithRate(900); r.Rate != 900 || p.Rate != 0 {
		t.Errorf("WithRate: %g, base %g", r.Rate, p.Rate)
	}
}

func mustPlan(t *testing.T, cfg Config) Plan {
	t.Helper()
	p, err := NewPlan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func namedLoad(t *testing.T, name string) *Load {
	t.Helper()
	l, err := LookupLoad(name)
	if err != nil {
		t.Fatal(err)
	}
	return &l
}
