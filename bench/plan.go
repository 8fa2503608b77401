package bench

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/etcdisk/etcdisk/bench/neighbor"
	"github.com/etcdisk/etcdisk/bench/pace"
	"github.com/etcdisk/etcdisk/wal/vfs"
)

// Mode says how proposals reach the WAL.
type Mode string

// Modes. The constants are untyped so that they also compare with the
// report's JSON strings.
const (
	ModeRequestPath = "request-path" // open loop over gRPC and raft
	ModeOpenLoop    = "open-loop"    // open loop straight into the WAL loop
	ModeClosedLoop  = "closed-loop"
)

// defaultWarmup is the warm-up of the wal workload when the caller gives none.
const defaultWarmup = 2 * time.Second

// Plan is a run decided: NewPlan resolves every default of the run's mode
// and checks every rule once, so that Run, its phases and its loads read
// settled values and nothing below it derives them again. Fields named as
// Config's hold the resolved value of that setting.
type Plan struct {
	// Mode is how proposals reach the WAL (the fio workload: closed loop).
	Mode        Mode
	Workload    Workload
	Dir         string
	Device      string
	DestroyData []string
	// Duration is the measured phase; 0: no time limit (Ops, or OnePass).
	Duration time.Duration
	Ops      int64
	// OnePass: the fio workload stops after one pass over its file.
	OnePass bool
	Warmup  time.Duration
	// Load is the name of the load sent ("" when none is).
	Load string
	// Rate is the proposal rate of an open loop, 0 in a closed loop.
	Rate      float64
	Clients   int
	Arrivals  pace.Arrivals
	Seed      int64
	EntrySize int
	ValueSize ValueDist
	KeySize   int
	Request   Request
	Batch     int
	Backend   bool
	Direct    bool
	// Neighbors are the scenario's neighbours, then the caller's.
	Neighbors   []neighbor.Spec
	Scenario    *neighbor.Scenario
	CompareSolo bool
	FindLimit   bool
	EtcdMetrics string

	P99Target        time.Duration
	BackendP99Target time.Duration
	StallThreshold   time.Duration
	SegmentSize      int64
	Keep             bool

	FS       vfs.FS
	Log      io.Writer
	Progress func(Progress)
	Version  string
}

// basePlan copies the settings whose default does not depend on the mode.
func basePlan(cfg Config) Plan {
	return Plan{
		Workload:         or(cfg.Workload, WorkloadWAL),
		Dir:              or(cfg.Dir, "."),
		Device:           cfg.Device,
		DestroyData:      cfg.DestroyData,
		Ops:              cfg.Ops,
		Arrivals:         or(cfg.Arrivals, pace.Constant),
		Seed:             cfg.Seed,
		Batch:            or(cfg.Batch, 1),
		Direct:           cfg.Direct,
		Scenario:         cfg.Scenario,
		CompareSolo:      cfg.CompareSolo,
		FindLimit:        cfg.FindLimit,
		EtcdMetrics:      cfg.EtcdMetrics,
		P99Target:        or(cfg.P99Target, DefaultP99Target),
		BackendP99Target: or(cfg.BackendP99Target, DefaultBackendP99Target),
		StallThreshold:   or(cfg.StallThreshold, DefaultStallThreshold),
		SegmentSize:      or(cfg.SegmentSize, 64*1000*1000),
		Keep:             cfg.Keep,
		FS:               cfg.FS,
		Log:              cfg.Log,
		Progress:         cfg.Progress,
		Version:          cfg.Version,
	}
}

// or is v, or def when v is the zero value.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// resolveLoad settles what the run sends: the named load's rate, clients
// and request sizes, each overridden by the caller's; with ClosedLoop, or
// with neither load nor rate, the closed loop. The fio workload takes
// neither rate nor load.
func (p *Plan) resolveLoad(cfg Config) error {
	var l Load
	if p.Workload == WorkloadFio {
		if cfg.Rate > 0 || cfg.Load != nil || cfg.ClosedLoop {
			return errors.New("the fio workload is fio's own closed loop: it takes no --rate or --load")
		}
		if cfg.EntrySize != 0 || !cfg.ValueSize.IsZero() || cfg.KeySize != 0 || cfg.Request != "" {
			return fmt.Errorf("the fio workload writes fio's recipe, %d-byte blocks: it takes no --entry-size, --value-size, --key-size or --request", FioBlockSize)
		}
		if cfg.Batch != 0 || cfg.Arrivals != "" {
			return errors.New("the fio workload is one write and one fdatasync at a time: it takes no --batch or --arrivals")
		}
	} else if cfg.Load != nil {
		l = *cfg.Load
	}
	if cfg.ClosedLoop && cfg.Rate > 0 {
		return errors.New("give a rate or the closed loop, not both")
	}
	p.Load = l.Name
	p.Rate, p.Clients = or(cfg.Rate, l.Rate), cfg.Clients.Or(l.Clients)
	if cfg.ClosedLoop {
		p.Rate, p.Clients = 0, 0
	}
	p.KeySize = or(or(cfg.KeySize, l.KeySize), 32)
	p.Request = or(or(cfg.Request, l.Request), RequestTxn)
	p.EntrySize, p.ValueSize = cfg.EntrySize, cfg.ValueSize
	if cfg.EntrySize == 0 && cfg.ValueSize.IsZero() {
		p.ValueSize = l.ValueSize
	}
	return nil
}

// resolveMode decides how proposals reach the WAL and what runs beside it:
// the request path in an open loop unless GRPC is turned off, the backend
// unless on a raw device (bbolt needs a file system) or in fio's recipe.
func (p *Plan) resolveMode(cfg Config) error {
	grpc, grpcSet := cfg.GRPC.Get()
	open := p.Rate > 0 && p.Workload == WorkloadWAL
	if grpcSet && grpc && !open {
		return errors.New("--grpc needs an open loop (not --rate max) and the wal workload: a closed loop has no clients")
	}
	switch {
	case open && cfg.GRPC.Or(true):
		p.Mode = ModeRequestPath
	case open:
		p.Mode = ModeOpenLoop
	default:
		p.Mode = ModeClosedLoop
	}
	if _, set := cfg.Clients.Get(); set && p.Mode != ModeRequestPath {
		return errors.New("--clients needs the request path: an open loop (not --rate max) with --grpc")
	}
	p.Backend = cfg.Backend.Or(cfg.Device == "") && p.Workload == WorkloadWAL
	return nil
}

// resolveStop settles when the measured phase ends and the warm-up before
// it: fio's recipe is one pass over its file with no warm-up unless the
// caller asks for a length, and an op count alone means no time limit.
func (p *Plan) resolveStop(cfg Config) {
	p.Duration = cfg.Duration
	if cfg.Duration == 0 && cfg.Ops == 0 && p.Workload == WorkloadWAL {
		p.Duration = DefaultDuration
	}
	p.OnePass = p.Workload == WorkloadFio && p.Duration == 0 && p.Ops == 0
	def := defaultWarmup
	if p.Workload == WorkloadFio {
		def = 0
	}
	p.Warmup = cfg.Warmup.Or(def)
}

// WithoutNeighbors is p with no neighbour: the solo phase of
// --compare-solo.
func (p Plan) WithoutNeighbors() Plan {
	p.Neighbors, p.Scenario = nil, nil
	return p
}

// WithNeighbor is p with spec as its one neighbour: a step of the
// neighbour's --find-limit.
func (p Plan) WithNeighbor(spec neighbor.Spec) Plan {
	p.Neighbors, p.Scenario = []neighbor.Spec{spec}, nil
	return p
}

// WithRate is p sending its load at rate: a step of the proposal-rate
// --find-limit.
func (p Plan) WithRate(rate float64) Plan {
	p.Rate = rate
	return p
}

// askedNeighbors are the neighbours the caller named besides the scenario's.
func (p Plan) askedNeighbors() []neighbor.Spec {
	if p.Scenario == nil {
		return p.Neighbors
	}
	return p.Neighbors[len(p.Scenario.Specs):]
}
