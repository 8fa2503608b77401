// Package bench runs etcdisk's workloads against a disk and measures them:
// the etcd-faithful WAL workload (through package wal), fio's classic recipe
// for side-by-side comparison, pacing and raft-like batching, histograms,
// the per-second interval series and the stall watchdog.
//
// bench owns no mutable globals: everything a run needs is in Config, and
// Run returns a *report.Result that package report renders.
package bench

import (
	"fmt"
	"io"
	"time"

	"github.com/etcdisk/etcdisk/bench/guard"
	"github.com/etcdisk/etcdisk/bench/neighbor"
	"github.com/etcdisk/etcdisk/bench/pace"
	"github.com/etcdisk/etcdisk/wal/vfs"
	"github.com/etcdisk/etcdisk/wal/vfs/blockdev"
)

// Workload names.
const (
	WorkloadWAL = "wal" // etcd's WAL write path (default)
	WorkloadFio = "fio" // fio --rw=write --ioengine=sync --fdatasync=1 --size=22m --bs=2300
)

// Defaults that come from etcd (see etcd-io-pattern.md).
const (
	// DefaultP99Target is etcd's WAL fsync p99 target.
	DefaultP99Target = 10 * time.Millisecond
	// DefaultBackendP99Target is etcd's backend commit p99 target.
	DefaultBackendP99Target = 25 * time.Millisecond
	// DefaultStallThreshold is etcd's heartbeat interval: an fdatasync in
	// flight longer than this already delays a heartbeat.
	DefaultStallThreshold = 100 * time.Millisecond
	// DefaultSaveBytes is what one default Save writes: one entry frame plus
	// one HardState frame, the ~2,300 bytes etcd users quote (fio's --bs=2300).
	DefaultSaveBytes = 2300
	// fio recipe parameters.
	FioBlockSize = 2300
	FioFileSize  = 22 << 20
)

// Config is everything that shapes a run. Start from DefaultConfig.
type Config struct {
	// Dir is the directory whose file system is measured. Run creates one
	// folder of its own inside it and removes it afterwards unless Keep.
	Dir string
	// Device is a raw block device to measure instead of Dir: each WAL
	// segment gets a 64 MiB region, written with O_DIRECT in aligned 4 KiB
	// units (package blockdev). It is written only when package guard finds
	// nothing on it, or DestroyData repeats its exact path.
	Device string
	// DestroyData lists the devices whose data the user agrees to destroy:
	// each value repeats exactly the path of Device or of a neighbour's
	// device=, and only that device is written over data found on it.
	DestroyData []string
	// Workload is WorkloadWAL or WorkloadFio.
	Workload string
	// Duration of the measured phase (after Warmup). 0 with Ops > 0 means
	// run until Ops are done; 0 with Ops == 0 is allowed for the fio
	// workload only: one pass over its file, as fio's recipe.
	Duration time.Duration
	// Ops stops the measured phase after this many Saves (closed loop) or
	// proposals (open loop, Rate > 0). 0 means no limit.
	Ops int64
	// Rate is the proposal arrival rate per second; 0 is a closed loop (the
	// next Save starts when the previous one finished).
	Rate float64
	// Load names the load (Loads) the rate, clients and sizes come from;
	// empty when none does (the closed loop, or a config built by hand).
	Load string
	// Clients bounds the requests in flight in the request path: that many
	// clients, each with its own gRPC connection and one request at a time,
	// as etcdctl check perf's. 0: one connection, up to maxInFlight.
	Clients int
	// Arrivals is the arrival process for Rate > 0: constant or poisson.
	Arrivals pace.Arrivals
	// Seed seeds the Poisson arrival process (0 = fixed default seed).
	Seed int64
	// EntrySize is the Data size of each raft entry; 0 picks the size that
	// makes a one-entry Save write DefaultSaveBytes. Ignored when ValueSize
	// is set.
	EntrySize int
	// ValueSize models proposals instead: each carries a value of this
	// size ("1KiB"), a uniform range ("1KiB-8KiB") or a named mix
	// ("kubernetes"), and a key of KeySize bytes, wrapped as etcd wraps it
	// (Request) into the entry's Data.
	ValueSize string
	// KeySize is the key length of each proposal (with ValueSize).
	KeySize int
	// Request is the shape of each proposal: RequestTxn (a Kubernetes
	// update) or RequestPut (etcdctl put, etcdctl check perf).
	Request string
	// Batch is the number of entries per Save (closed loop) or per proposal
	// (open loop).
	Batch int
	// Backend applies every entry to a bbolt backend on the same disk and
	// commits it as etcd does (every 100 ms, or at 10,000 pending puts),
	// concurrently with the WAL (wal workload only).
	Backend bool
	// GRPC, in an open loop (Rate > 0, wal workload), sends every
	// proposal as a real etcd KV.Put or KV.Txn from an in-process client
	// over loopback TCP to an in-process server that proposes it, so that
	// the model spends the CPU etcd's request path spends and its
	// fdatasyncs wait for the CPU as etcd's do (bench/frontend.go). Each
	// proposal is then one entry (Batch must be 1).
	GRPC bool
	// Direct writes the files in Dir with O_DIRECT through aligned buffers
	// (etcd itself does not; this shows what the page cache costs or hides).
	Direct bool
	// Neighbors are noisy-neighbour specs (KIND[,key=value...], see package
	// neighbor) run concurrently with the workload, on the same disk unless
	// a spec names a dir or device.
	Neighbors []string
	// Scenario is a named neighbour preset (neighbor.Scenarios), added to
	// Neighbors.
	Scenario string
	// CompareSolo runs the workload alone first, then with its neighbours,
	// each for Duration, and reports both (Result.Solo).
	CompareSolo bool
	// FindLimit searches the highest rate of the one neighbour at which the
	// WAL p99 stays under target or, without neighbours, the highest
	// proposal rate at which every judged p99 does (Result.Limit); each step
	// runs Duration.
	FindLimit bool
	// EtcdMetrics is the metrics URL of a live etcd member on this node
	// (live-safe mode): while the member's own recent WAL fsync p99 is over
	// P99Target the load pauses, so a check never causes the outage it
	// looks for. Neighbours are not paused (and not allowed with it).
	EtcdMetrics string
	// P99Target and BackendP99Target are the targets the verdict uses.
	P99Target        time.Duration
	BackendP99Target time.Duration
	// Warmup runs the workload before measuring; its samples are discarded.
	Warmup time.Duration
	// Keep keeps the run folder for inspection.
	Keep bool
	// SegmentSize is the WAL segment size (etcd: 64,000,000 bytes).
	SegmentSize int64
	// StallThreshold is the age at which an in-flight fdatasync is reported.
	StallThreshold time.Duration

	// FS is the disk seam (nil: the operating system). Tests inject faults here.
	FS vfs.FS
	// Log receives human-readable notices while the run goes (stalls,
	// warnings). nil discards them.
	Log io.Writer
	// Progress, when set, is called about once a second with a snapshot.
	Progress func(Progress)
	// Version is recorded in the environment.
	Version string
}

// Progress is a live snapshot of a run, for a progress display.
type Progress struct {
	Elapsed  time.Duration // since the start of the run (warm-up included)
	Total    time.Duration // planned length (warm-up included); 0 if unknown
	Warmup   bool          // still warming up
	Saves    int64
	P50, P99 time.Duration // wal_fdatasync (or the main metric) so far
	Stalls   int
}

// DefaultDuration is the default measured phase. The backend commits every
// 100 ms, so a run of d holds about 9 commits per second of it; the
// burst-aware verdict cuts a run into up to 10 time blocks of at least 100
// samples each for a p99: 2 minutes give the backend its 10 blocks (and the
// WAL far more samples than it needs).
const DefaultDuration = 2 * time.Minute

// DefaultConfig is what `etcdisk run` does with no flags: the WAL workload
// on the current directory for DefaultDuration after a 2 s warm-up, open
// loop through etcd's request path at DefaultLoad, backend on.
func DefaultConfig() Config {
	c := baseConfig()
	l, _ := LookupLoad(DefaultLoad)
	c.ApplyLoad(l)
	return c
}

// baseConfig is DefaultConfig without a load: a closed loop.
func baseConfig() Config {
	return Config{
		Dir:              ".",
		Workload:         WorkloadWAL,
		Duration:         DefaultDuration,
		Arrivals:         pace.Constant,
		Batch:            1,
		KeySize:          32,
		Request:          RequestTxn,
		Backend:          true,
		GRPC:             true,
		P99Target:        DefaultP99Target,
		BackendP99Target: DefaultBackendP99Target,
		Warmup:           2 * time.Second,
		SegmentSize:      64 * 1000 * 1000,
		StallThreshold:   DefaultStallThreshold,
	}
}

// frontEnd reports whether proposals go through the gRPC front end and raft
// (an open-loop wal run with GRPC).
func (c *Config) frontEnd() bool {
	return c.GRPC && c.Rate > 0 && c.Workload == WorkloadWAL
}

// Validate reports the first setting that cannot work, as one line.
func (c *Config) Validate() error {
	switch c.Workload {
	case WorkloadWAL, WorkloadFio:
	default:
		return fmt.Errorf("unknown workload %q (want wal or fio)", c.Workload)
	}
	if _, err := pace.ParseArrivals(string(c.Arrivals)); err != nil {
		return err
	}
	if c.Duration < 0 {
		return fmt.Errorf("duration must not be negative, got %s", c.Duration)
	}
	if c.Duration == 0 && c.Ops == 0 && c.Workload != WorkloadFio {
		return fmt.Errorf("need a duration or a number of ops to stop")
	}
	if c.Ops < 0 {
		return fmt.Errorf("ops must not be negative, got %d", c.Ops)
	}
	if c.Rate < 0 {
		return fmt.Errorf("rate must not be negative, got %g", c.Rate)
	}
	if c.Clients < 0 || c.Clients > 10000 {
		return fmt.Errorf("clients must be between 0 and 10000, got %d", c.Clients)
	}
	if c.Rate > 0 && c.Workload == WorkloadFio {
		return fmt.Errorf("the fio workload is fio's closed loop: it takes no rate or load")
	}
	if c.Rate > 1e6 {
		return fmt.Errorf("rate %g/s is beyond what a WAL can carry (max 1000000/s)", c.Rate)
	}
	if c.Warmup < 0 {
		return fmt.Errorf("warmup must not be negative, got %s", c.Warmup)
	}
	if c.Batch < 1 || c.Batch > 10000 {
		return fmt.Errorf("batch must be between 1 and 10000, got %d", c.Batch)
	}
	if c.frontEnd() && c.Batch != 1 {
		return fmt.Errorf("a gRPC request is one entry: --batch %d needs the closed loop (--rate max) or --grpc=false", c.Batch)
	}
	if c.EntrySize < 0 || c.EntrySize > 1<<20 {
		return fmt.Errorf("entry size must be between 0 and 1MiB (etcd's max message), got %d", c.EntrySize)
	}
	if c.P99Target <= 0 || c.BackendP99Target <= 0 {
		return fmt.Errorf("targets must be positive")
	}
	if c.SegmentSize < 64*1024 {
		return fmt.Errorf("segment size must be at least 64KiB, got %d", c.SegmentSize)
	}
	if c.Device != "" {
		if c.Backend {
			return fmt.Errorf("the bbolt backend needs a file system: use --backend=false with --device, or measure a --dir")
		}
		if c.SegmentSize > blockdev.RegionSize-(1<<20) {
			return fmt.Errorf("segment size %d does not fit a %d-byte device region", c.SegmentSize, blockdev.RegionSize)
		}
		if c.Direct {
			return fmt.Errorf("--direct is implied by --device (raw devices are always written with O_DIRECT)")
		}
	}
	specs, err := resolveNeighbors(*c)
	if err != nil {
		return err
	}
	if err := checkDestroyData(c.DestroyData, c.Device, specs); err != nil {
		return err
	}
	if c.Device != "" {
		for _, sp := range specs {
			if sp.Dir == "" && sp.Device == "" {
				return fmt.Errorf("with --device, each neighbour needs dir= or device= (neighbour %s)", sp)
			}
		}
	}
	if c.EtcdMetrics != "" && len(specs) > 0 {
		return fmt.Errorf("live-safe mode (--etcd-metrics) cannot pause noisy neighbours: drop --neighbor/--scenario on a live node")
	}
	if err := c.validatePhases(len(specs)); err != nil {
		return err
	}
	if c.ValueSize != "" {
		if _, err := ParseValueSize(c.ValueSize); err != nil {
			return err
		}
		if c.EntrySize != 0 {
			return fmt.Errorf("give either an entry size or a value size, not both")
		}
	}
	if c.KeySize < 1 || c.KeySize > 1<<16 {
		return fmt.Errorf("key size must be between 1 and 64KiB, got %d", c.KeySize)
	}
	if c.Request != RequestTxn && c.Request != RequestPut {
		return fmt.Errorf("unknown request shape %q (want txn or put)", c.Request)
	}
	if c.StallThreshold <= 0 {
		return fmt.Errorf("stall threshold must be positive")
	}
	return nil
}

// validatePhases checks --compare-solo and --find-limit against the
// number of neighbours.
func (c *Config) validatePhases(neighbours int) error {
	if c.CompareSolo && neighbours == 0 {
		return fmt.Errorf("--compare-solo needs a --neighbor or a --scenario")
	}
	if c.CompareSolo && c.FindLimit {
		return fmt.Errorf("choose --compare-solo or --find-limit, not both")
	}
	if c.FindLimit && neighbours > 1 {
		return fmt.Errorf("--find-limit steps one neighbour's rate; got %d neighbours", neighbours)
	}
	if c.FindLimit && neighbours == 0 && (c.Rate == 0 || c.Workload != WorkloadWAL) {
		return fmt.Errorf("--find-limit without a neighbour steps the proposal rate: it needs the wal workload's open loop, not --rate max")
	}
	if c.FindLimit && c.Duration == 0 {
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
