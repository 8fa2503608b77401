package bench

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/wal/vfs"
)

// closedGate is a live-safe gate that never lets the load go.
type closedGate struct{}

func (closedGate) Paused() bool { return true }

// Every load takes the live-safe gate where it is built: paused from the
// start, none saves (or writes a fio block); without a gate each does.
func TestEveryLoadTakesTheGate(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Config)
	}{
		{ModeClosedLoop, func(*Config) {}},
		{ModeOpenLoop, func(c *Config) { c.Rate, c.GRPC = 300, Given(false) }},
		{ModeRequestPath, func(c *Config) { c.Rate = 300 }},
		{string(WorkloadFio), func(c *Config) { c.Workload = WorkloadFio }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, gate := range []bool{true, false} {
				cfg := testConfig(t)
				cfg.Ops, cfg.Duration = 0, time.Minute // the test stops it
				tc.set(&cfg)
				p, err := NewPlan(cfg)
				if err != nil {
					t.Fatal(err)
				}
				saves := runLoadFor(t, p, gate, 300*time.Millisecond)
				if gate && saves != 0 {
					t.Errorf("gate closed: %d Saves", saves)
				}
				if !gate && saves == 0 {
					t.Errorf("no gate: no Save")
				}
			}
		})
	}
}

// runLoadFor sets up cfg's load, with a closed gate or none, runs it for d
// and returns its measured Saves.
func runLoadFor(t *testing.T, cfg Plan, gate bool, d time.Duration) int64 {
	rec := newRecorder(time.Second, nil)
	env := loadEnv{fs: vfs.Default, dir: t.TempDir(), rec: rec}
	if gate {
		env.gate = closedGate{}
	}
	wl, err := newWorkload(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	rec.startMeasuring(time.Now())
	var stop atomic.Bool
	time.AfterFunc(d, func() { stop.Store(true) })
	if err := wl.run(context.Background(), &stop); err != nil {
		t.Fatal(err)
	}
	if err := wl.close(); err != nil {
		t.Fatal(err)
	}
	return wl.counts().saves
}
