// Package bench is etcdisk's engine: it runs the loads against a disk and
// measures them. A caller's Config (what was asked) becomes, once, a Plan
// (plan.go, plancheck.go: every mode-dependent decision, checked); Run
// drives the Plan's phases (run.go, phases.go, ratelimit.go), each a run
// of one load (runonce.go, target.go) behind the workload interface
// (workload.go): etcd's WAL in a closed or open loop
// (walload.go), etcd's request path (requestpath.go, frontend.go,
// raftloop.go) or fio's recipe (fioload.go), with the recorder's
// histograms, per-second series and stall watchdog (recorder.go), and
// returns a *report.Result.
//
// bench owns no mutable globals: everything a run needs is in its Plan.
package bench

import (
	"io"
	"time"

	"github.com/etcdisk/etcdisk/bench/neighbor"
	"github.com/etcdisk/etcdisk/bench/pace"
	"github.com/etcdisk/etcdisk/report"
	"github.com/etcdisk/etcdisk/wal/vfs"
)

// Workload is what writes to the disk: etcd's WAL pattern or fio's recipe.
type Workload string

// Workloads. The constants are untyped so that they also compare with the
// report's JSON strings.
const (
	WorkloadWAL = "wal" // etcd's WAL write path (default)
	WorkloadFio = "fio" // fio --rw=write --ioengine=sync --fdatasync=1 --size=22m --bs=2300
)

// Opt is a setting whose zero value is a legitimate choice (--warmup 0s,
// --clients 0, --backend=false), so that leaving it unset, for the plan to
// pick the default of the run's mode, is told apart from choosing zero.
type Opt[T any] struct {
	v   T
	set bool
}

// Given is the setting v, chosen by the caller.
func Given[T any](v T) Opt[T] { return Opt[T]{v: v, set: true} }

// Get returns the setting and whether the caller chose it.
func (o Opt[T]) Get() (T, bool) { return o.v, o.set }

// Or returns the setting, or def when the caller left it unset.
func (o Opt[T]) Or(def T) T {
	if o.set {
		return o.v
	}
	return def
}

// Defaults that come from etcd: the p99 targets its documentation gives for
// etcd_disk_wal_fsync_duration_seconds and
// etcd_disk_backend_commit_duration_seconds (defined once, with the verdict,
// in package report), its default heartbeat interval (server/embed/config.go,
// TickMs), and the fio recipe etcd users quote.
const (
	// DefaultP99Target is etcd's WAL fsync p99 target.
	DefaultP99Target = report.DefaultWALP99Target
	// DefaultBackendP99Target is etcd's backend commit p99 target.
	DefaultBackendP99Target = report.DefaultBackendP99Target
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

// Config is what the caller asks of a run. A zero or unset field means
// "the default for the run's mode": NewPlan resolves every one of them, so
// Config{Dir: d} is a valid closed-loop run and DefaultConfig is what
// `etcdisk run` does with no flags.
type Config struct {
	// Dir is the directory whose file system is measured ("" is the current
	// directory). Run creates one folder of its own inside it and removes it
	// afterwards unless Keep.
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
	// Workload is WorkloadWAL ("" too) or WorkloadFio.
	Workload Workload
	// Duration of the measured phase (after Warmup). 0: DefaultDuration,
	// or no time limit when Ops is given, or for the fio workload one pass
	// over its file, as fio's recipe.
	Duration time.Duration
	// Ops stops the measured phase after this many Saves (closed loop) or
	// proposals (open loop). 0 means no limit.
	Ops int64
	// Load is the named load (LookupLoad) whose rate, clients and request
	// sizes the run sends; the fields below override each of them. nil: no
	// load.
	Load *Load
	// Rate is the proposal arrival rate per second; 0 is the load's rate,
	// or, without a load, the closed loop (the next Save starts when the
	// previous one finished).
	Rate float64
	// ClosedLoop asks for the closed loop even with a Load, which then
	// gives only its request sizes (--rate max).
	ClosedLoop bool
	// Clients bounds the requests in flight in the request path: that many
	// clients, each with its own gRPC connection and one request at a time,
	// as etcdctl check perf's. 0: one connection, up to maxInFlight. Unset:
	// the load's.
	Clients Opt[int]
	// Arrivals is the arrival process of an open loop ("": constant).
	Arrivals pace.Arrivals
	// Seed seeds the Poisson arrival process (0 = fixed default seed).
	Seed int64
	// EntrySize is the Data size of each raft entry; 0 picks the size that
	// makes a one-entry Save write DefaultSaveBytes. It replaces the load's
	// value sizes.
	EntrySize int
	// ValueSize models proposals instead: each carries a value drawn from
	// it and a key of KeySize bytes, wrapped as etcd wraps it (Request)
	// into the entry's Data. Zero: the load's, or none.
	ValueSize ValueDist
	// KeySize is the key length of each proposal (0: the load's, or 32).
	KeySize int
	// Request is the shape of each proposal ("": the load's, or RequestTxn).
	Request Request
	// Batch is the number of entries per Save (closed loop) or per proposal
	// (open loop); 0 is 1.
	Batch int
	// Backend applies every entry to a bbolt backend on the same disk and
	// commits it as etcd does (every 100 ms, or at 10,000 pending puts),
	// concurrently with the WAL. Unset: on for the wal workload in a Dir,
	// off on a Device; the fio workload never has one.
	Backend Opt[bool]
	// GRPC, in an open loop of the wal workload, sends every proposal as a
	// real etcd KV.Put or KV.Txn from an in-process client over loopback
	// TCP to an in-process server that proposes it, so that the model
	// spends the CPU etcd's request path spends and its fdatasyncs wait for
	// the CPU as etcd's do (bench/frontend.go). Each proposal is then one
	// entry (Batch must be 1). Unset: on in an open loop.
	GRPC Opt[bool]
	// Direct writes the files in Dir with O_DIRECT through aligned buffers
	// (etcd itself does not; this shows what the page cache costs or hides).
	Direct bool
	// Neighbors are noisy neighbours (package neighbor) run concurrently
	// with the workload, on the same disk unless a spec names a dir or
	// device.
	Neighbors []neighbor.Spec
	// Scenario is a neighbour preset, run before Neighbors.
	Scenario *neighbor.Scenario
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
	// P99Target and BackendP99Target are the targets the verdict uses
	// (0: etcd's).
	P99Target        time.Duration
	BackendP99Target time.Duration
	// Warmup runs the workload before measuring; its samples are discarded.
	// Unset: 2 s, none for the fio workload (fio's recipe has none).
	Warmup Opt[time.Duration]
	// Keep keeps the run folder for inspection.
	Keep bool
	// SegmentSize is the WAL segment size (0: etcd's 64,000,000 bytes).
	SegmentSize int64
	// StallThreshold is the age at which an in-flight fdatasync is reported
	// (0: DefaultStallThreshold).
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
// on the current directory for DefaultDuration after the default warm-up,
// open loop through etcd's request path at DefaultLoad, backend on.
func DefaultConfig() Config {
	l, _ := LookupLoad(DefaultLoad)
	return Config{Dir: ".", Load: &l, Duration: DefaultDuration}
}
