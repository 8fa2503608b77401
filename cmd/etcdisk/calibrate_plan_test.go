package main

import (
	"io"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/bench"
	"github.com/etcdisk/etcdisk/bench/calibrate"
)

// TestCalibrateModelPlan: calibrate's model run is a plan like any run's:
// the request path at calibrate's rate with one unbounded connection (no
// named load), puts of calibrate's values and keys, the backend on, and
// calibrate's own duration and warm-up.
func TestCalibrateModelPlan(t *testing.T) {
	cfg := calibrate.Config{Dir: t.TempDir(), Rate: 300, ValueSize: 2048, Duration: 5 * time.Second, Warmup: 0}
	p, err := modelPlan(cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != bench.ModeRequestPath || p.Load != "" || p.Clients != 0 || p.Rate != 300 {
		t.Errorf("mode %s load %q clients %d rate %g, want the request path at 300/s over one connection", p.Mode, p.Load, p.Clients, p.Rate)
	}
	if p.ValueSize.String() != "2048" || p.Request != bench.RequestPut || p.KeySize != 32 || !p.Backend {
		t.Errorf("values %s request %s keys %d backend %v, want 2048-byte puts, 32-byte keys, backend on", p.ValueSize, p.Request, p.KeySize, p.Backend)
	}
	if p.Duration != 5*time.Second || p.Warmup != 0 {
		t.Errorf("duration %s warm-up %s, want calibrate's 5s and none", p.Duration, p.Warmup)
	}
	cfg.ValueSize = 2 << 20
	if _, err := modelPlan(cfg, io.Discard); err == nil {
		t.Error("a 2 MiB value, over etcd's request limit, was accepted")
	}
}
