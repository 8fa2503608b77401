package bench

import (
	"fmt"
	"math"
	"slices"

	"github.com/etcdisk/etcdisk/bench/guard"
	"github.com/etcdisk/etcdisk/bench/neighbor"
	"github.com/etcdisk/etcdisk/wal/vfs/blockdev"
)

// NewPlan resolves cfg into the run it asks for, or says in one line why
// that run cannot work.
func NewPlan(cfg Config) (Plan, error) {
	if err := checkAsked(cfg); err != nil {
		return Plan{}, err
	}
	p := basePlan(cfg)
	if err := p.resolveLoad(cfg); err != nil {
		return Plan{}, err
	}
	if err := p.resolveMode(cfg); err != nil {
		return Plan{}, err
	}
	p.resolveStop(cfg)
	if cfg.Scenario != nil {
		p.Neighbors = append(slices.Clone(cfg.Scenario.Specs), cfg.Neighbors...)
	} else {
		p.Neighbors = slices.Clone(cfg.Neighbors)
	}
	if err := p.check(); err != nil {
		return Plan{}, err
	}
	return p, nil
}

// rateMax is the highest rate NewPlan accepts, and where the proposal-rate
// search stops.
const rateMax = 1e6

// checkAsked refuses settings that are out of range whatever the mode.
func checkAsked(c Config) error {
	switch c.Workload {
	case "", WorkloadWAL, WorkloadFio:
	default:
		return fmt.Errorf("unknown workload %q (want wal or fio)", c.Workload)
	}
	if err := c.Arrivals.Check(); err != nil {
		return err
	}
	clients, _ := c.Clients.Get()
	warmup, _ := c.Warmup.Get()
	switch {
	case c.Duration < 0:
		return fmt.Errorf("duration must not be negative, got %s", c.Duration)
	case c.Ops < 0:
		return fmt.Errorf("ops must not be negative, got %d", c.Ops)
	case c.Rate < 0 || math.IsNaN(c.Rate):
		return fmt.Errorf("rate must not be negative, got %g", c.Rate)
	case c.Rate > rateMax:
		return fmt.Errorf("rate %g/s is beyond what a WAL can carry (max 1000000/s)", c.Rate)
	case clients < 0 || clients > 10000:
		return fmt.Errorf("clients must be between 0 and 10000, got %d", clients)
	case warmup < 0:
		return fmt.Errorf("warmup must not be negative, got %s", warmup)
	case c.Batch < 0 || c.Batch > 10000:
		return fmt.Errorf("batch must be between 1 and 10000, got %d", c.Batch)
	case c.EntrySize < 0 || c.EntrySize > 1<<20:
		return fmt.Errorf("entry size must be between 0 and 1MiB (etcd's max message), got %d", c.EntrySize)
	case c.EntrySize != 0 && !c.ValueSize.IsZero():
		return fmt.Errorf("give either an entry size or a value size, not both")
	case c.KeySize < 0 || c.KeySize > 1<<16:
		return fmt.Errorf("key size must be between 1 and 64KiB, got %d", c.KeySize)
	case c.Request != "" && c.Request != RequestTxn && c.Request != RequestPut:
		return fmt.Errorf("unknown request shape %q (want txn or put)", c.Request)
	case c.P99Target < 0 || c.BackendP99Target < 0:
		return fmt.Errorf("targets must be positive")
	case c.StallThreshold < 0:
		return fmt.Errorf("stall threshold must be positive")
	case c.SegmentSize != 0 && c.SegmentSize < 64*1024:
		return fmt.Errorf("segment size must be at least 64KiB, got %d", c.SegmentSize)
	}
	return nil
}

// check refuses the combinations that cannot work in p's mode.
func (p Plan) check() error {
	if p.Mode == ModeRequestPath && p.Batch != 1 {
		return fmt.Errorf("a gRPC request is one entry: --batch %d needs the closed loop (--rate max) or --grpc=false", p.Batch)
	}
	if err := p.checkDevice(); err != nil {
		return err
	}
	for i, sp := range p.Neighbors {
		if err := sp.Validate(); err != nil {
			return fmt.Errorf("neighbour %d (%s): %w", i+1, sp, err)
		}
	}
	if err := checkDestroyData(p.DestroyData, p.Device, p.Neighbors); err != nil {
		return err
	}
	if p.EtcdMetrics != "" && len(p.Neighbors) > 0 {
		return fmt.Errorf("live-safe mode (--etcd-metrics) cannot pause noisy neighbours: drop --neighbor/--scenario on a live node")
	}
	return p.checkPhases()
}

// checkDevice checks a raw --device run: no file system for a backend,
// the segment within a region, every neighbour pointed elsewhere.
func (p Plan) checkDevice() error {
	if p.Device == "" {
		return nil
	}
	switch {
	case p.Backend:
		return fmt.Errorf("the bbolt backend needs a file system: use --backend=false with --device, or measure a --dir")
	case p.SegmentSize > blockdev.RegionSize-(1<<20):
		return fmt.Errorf("segment size %d does not fit a %d-byte device region", p.SegmentSize, blockdev.RegionSize)
	case p.Direct:
		return fmt.Errorf("--direct is implied by --device (raw devices are always written with O_DIRECT)")
	}
	for _, sp := range p.Neighbors {
		if sp.Dir == "" && sp.Device == "" {
			return fmt.Errorf("with --device, each neighbour needs dir= or device= (neighbour %s)", sp)
		}
	}
	return nil
}

// checkPhases checks --compare-solo and --find-limit against the
// neighbours and the mode.
func (p Plan) checkPhases() error {
	n := len(p.Neighbors)
	switch {
	case p.CompareSolo && n == 0:
		return fmt.Errorf("--compare-solo needs a --neighbor or a --scenario")
	case p.CompareSolo && p.FindLimit:
		return fmt.Errorf("choose --compare-solo or --find-limit, not both")
	case p.FindLimit && n > 1:
		return fmt.Errorf("--find-limit steps one neighbour's rate; got %d neighbours", n)
	case p.FindLimit && n == 0 && p.Mode == ModeClosedLoop:
		return fmt.Errorf("--find-limit without a neighbour steps the proposal rate: it needs the wal workload's open loop, not --rate max")
	case p.FindLimit && p.Duration == 0:
		return fmt.Errorf("--find-limit needs a --duration for each step")
	}
	return nil
}

// checkDestroyData refuses a --destroy-data value that repeats neither the
// --device path nor a neighbour's device= path exactly: consent names one
// device, as the user typed it.
func checkDestroyData(values []string, device string, specs []neighbor.Spec) error {
	for _, v := range values {
		targets := []string{device}
		for _, sp := range specs {
			targets = append(targets, sp.Device)
		}
		named := false
		for _, t := range targets {
			named = named || (t != "" && guard.Consent(t, []string{v}) != "")
		}
		if !named {
			return fmt.Errorf("refusing --destroy-data=%s: it repeats neither the --device path nor a neighbour's device= path exactly", v)
		}
	}
	return nil
}
