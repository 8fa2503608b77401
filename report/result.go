// Package report owns the result of an etcdisk run: its model and JSON
// (schema 1), the verdict with its confidence intervals, and every renderer
// (text, json, hgrm, hlog, Prometheus text, HTML), compare and merge.
//
// It is pure: it reads and writes results and never touches the disk under
// test, and it imports no engine package.
package report

import (
	"time"

	"github.com/etcdisk/etcdisk/internal/buildinfo"
)

// Schema is the version of the JSON document. Bump it on incompatible changes.
const Schema = 1

// Verdict of a run.
const (
	VerdictPass         = "pass"
	VerdictFail         = "fail"
	VerdictInconclusive = "inconclusive"
	VerdictError        = "error" // the run failed (I/O error, bad disk); partial data
)

// Metric names, as they appear as keys of Result.Metrics.
const (
	MetricWALFdatasync   = "wal_fdatasync"
	MetricWALWrite       = "wal_write"       // each record into the page writer, as etcd's
	MetricWALFlushWrite  = "wal_flush_write" // each write(2) to the WAL file
	MetricBackendCommit  = "backend_commit"
	MetricProposalCommit = "proposal_commit"
	// Neighbour metrics are named "neighbor_<index>_<kind>".
)

// Result is everything a run measured and concluded. It is the document
// written to result.json and re-rendered by every format.
type Result struct {
	Schema       int                `json:"schema"`
	Verdict      string             `json:"verdict"`
	Reason       string             `json:"reason,omitempty"`      // one line: why this verdict
	Interrupted  bool               `json:"interrupted,omitempty"` // stopped by a signal (SIGHUP, SIGINT, SIGTERM, SIGQUIT)
	Error        string             `json:"error,omitempty"`       // the error that ended the run
	Workload     string             `json:"workload"`
	Config       Config             `json:"config"`
	Environment  Environment        `json:"environment"`
	StartTime    time.Time          `json:"start_time"`
	DurationNs   int64              `json:"duration_ns"` // measured phase (warm-up excluded)
	WarmupNs     int64              `json:"warmup_ns,omitempty"`
	Saves        int64              `json:"saves"` // WAL Saves (or fio writes) in the measured phase
	Entries      int64              `json:"entries,omitempty"`
	BytesWritten int64              `json:"bytes_written"`
	Segments     int                `json:"segments,omitempty"` // WAL segments created (incl. the first)
	Metrics      map[string]*Metric `json:"metrics"`
	Checks       []Check            `json:"checks"`
	Stalls       []Stall            `json:"stalls,omitempty"`
	Neighbors    []Neighbor         `json:"neighbors,omitempty"`
	Intervals    []Interval         `json:"intervals"`
	Warnings     []string           `json:"warnings,omitempty"`
	Extra        map[string]any     `json:"extra,omitempty"` // workload-specific facts (e.g. bbolt size)
	// Solo is the solo phase of a --compare-solo run: the same workload
	// without neighbours, run first for the same length. The rest of the
	// result is the loaded phase.
	Solo *Phase `json:"solo,omitempty"`
	// Limit is the outcome of a --find-limit search.
	Limit *LimitSearch `json:"limit,omitempty"`
	// Pauses are the times live-safe mode (--etcd-metrics) stopped the load
	// because the live etcd member's own WAL fsync p99 rose past the target.
	Pauses []Pause `json:"pauses,omitempty"`
}

// Pause is one stretch during which the load was paused for a live member.
type Pause struct {
	AtNs       int64  `json:"at_ns"`       // since the start of the run
	DurationNs int64  `json:"duration_ns"` // until it resumed (or the run ended)
	P99Ns      int64  `json:"p99_ns"`      // the member's highest recent p99 during it
	Reason     string `json:"reason"`
}

// Phase is one phase of a multi-phase run.
type Phase struct {
	DurationNs int64              `json:"duration_ns"`
	Saves      int64              `json:"saves"`
	Verdict    string             `json:"verdict"`
	Metrics    map[string]*Metric `json:"metrics"`
	Checks     []Check            `json:"checks"`
}

// LimitSearch is a --find-limit search: a neighbour's rate stepped up
// (doubling from a start rate, then bisecting) to find the highest rate at
// which the judged WAL p99 stays under its target; or, with Unit "puts/s",
// the proposal rate stepped the same way to find the highest rate the run
// sustains with every judged p99 under its target (its headroom).
type LimitSearch struct {
	Spec    string      `json:"spec"`   // the neighbour without its rate, or the load
	Unit    string      `json:"unit"`   // "bytes/s", "iops" or "puts/s"
	Metric  string      `json:"metric"` // the metric judged (wal_fdatasync)
	Steps   []LimitStep `json:"steps"`
	Limit   float64     `json:"limit"`   // highest passing rate (0: none passed)
	Failing float64     `json:"failing"` // lowest failing rate (0: none failed)
	// Saturated is set when the neighbour could not reach the rate asked
	// (the disk's maximum) and the WAL still passed: the disk takes the
	// neighbour at full speed.
	Saturated bool `json:"saturated,omitempty"`
	// Targets are the p99 targets a proposal-rate step must meet, by
	// metric (the judged ones).
	Targets map[string]int64 `json:"targets_ns,omitempty"`
}

// LimitStep is one phase of a limit search.
type LimitStep struct {
	Rate     float64 `json:"rate"`     // asked, in Unit
	Achieved float64 `json:"achieved"` // what the neighbour (or the proposals) achieved, in Unit
	P99Ns    int64   `json:"p99_ns"`
	Outcome  string  `json:"outcome"` // pass | fail | inconclusive | error | not-sustained (puts/s: under 90% achieved)
}

// How proposals reached the WAL (Config.Mode).
const (
	ModeRequestPath = "request-path" // open loop through the gRPC front end and raft
	ModeOpenLoop    = "open-loop"    // open loop straight into the WAL loop
	ModeClosedLoop  = "closed-loop"  // each Save starts when the previous one ended
)

// runMode is how proposals reached the WAL, as the run recorded it. A
// result of an older etcdisk, which does not record its mode, gets it from
// its grpc and rate settings.
func (c Config) runMode() string {
	switch {
	case c.Mode != "":
		return c.Mode
	case c.GRPC:
		return ModeRequestPath
	case c.Rate > 0:
		return ModeOpenLoop
	}
	return ModeClosedLoop
}

// Config echoes the settings that shaped the run.
type Config struct {
	Dir                string   `json:"dir,omitempty"`
	Device             string   `json:"device,omitempty"`
	Workload           string   `json:"workload"`
	DurationNs         int64    `json:"duration_ns,omitempty"`
	Ops                int64    `json:"ops,omitempty"`
	Rate               float64  `json:"rate,omitempty"` // proposals/s; 0 = closed loop
	Mode               string   `json:"mode,omitempty"` // request-path | open-loop | closed-loop
	Load               string   `json:"load,omitempty"` // the named load (s, m, l, xl, kubernetes)
	Clients            int      `json:"clients,omitempty"`
	EntrySize          int      `json:"entry_size"`
	ValueSize          string   `json:"value_size,omitempty"`
	KeySize            int      `json:"key_size,omitempty"`
	Request            string   `json:"request,omitempty"`
	Batch              int      `json:"batch"`
	Backend            bool     `json:"backend"`
	GRPC               bool     `json:"grpc,omitempty"` // open-loop requests over the gRPC front end
	Direct             bool     `json:"direct"`
	SegmentSize        int64    `json:"segment_size"`
	Neighbors          []string `json:"neighbors,omitempty"`
	Scenario           string   `json:"scenario,omitempty"`
	EtcdMetrics        string   `json:"etcd_metrics,omitempty"` // live-safe mode's member URL, password masked
	P99TargetNs        int64    `json:"p99_target_ns"`
	BackendP99TargetNs int64    `json:"backend_p99_target_ns"`
	WarmupNs           int64    `json:"warmup_ns"`
}

// Environment describes where the run happened.
type Environment struct {
	Hostname string `json:"hostname"`
	Kernel   string `json:"kernel"`
	CPUs     int    `json:"cpus"`
	Version  string `json:"etcdisk_version"`
	// The commit etcdisk was built from, when go build recorded it (a
	// build from a git checkout): the full hash, uncommitted changes, the
	// commit time (RFC 3339).
	Revision      string   `json:"vcs_revision,omitempty"`
	Modified      bool     `json:"vcs_modified,omitempty"`
	RevisionTime  string   `json:"vcs_time,omitempty"`
	GoVersion     string   `json:"go_version"`
	Path          string   `json:"path"` // the directory or device measured
	Filesystem    string   `json:"filesystem,omitempty"`
	MountPoint    string   `json:"mount_point,omitempty"`
	MountOptions  string   `json:"mount_options,omitempty"`
	MountSource   string   `json:"mount_source,omitempty"`
	Device        string   `json:"device,omitempty"` // block device name, e.g. vda
	DeviceModel   string   `json:"device_model,omitempty"`
	Rotational    *bool    `json:"rotational,omitempty"`
	Scheduler     string   `json:"scheduler,omitempty"`
	WriteCache    string   `json:"write_cache,omitempty"` // "write back" | "write through"
	LogicalBlock  int      `json:"logical_block_size,omitempty"`
	PhysicalBlock int      `json:"physical_block_size,omitempty"`
	Loop          bool     `json:"loop,omitempty"`
	Virtual       bool     `json:"virtual,omitempty"` // virtio etc.
	FreeBytes     uint64   `json:"free_bytes,omitempty"`
	Warnings      []string `json:"warnings,omitempty"` // things that make fsync lie or distort
}

// Metric summarises one latency distribution. All durations are integer
// nanoseconds. Histogram is the full HDR histogram (hdrhistogram-go's
// compressed, base64 encoding) so every export can be re-rendered later.
type Metric struct {
	Count    int64      `json:"count"`
	MinNs    int64      `json:"min_ns"`
	MeanNs   int64      `json:"mean_ns"`
	StddevNs int64      `json:"stddev_ns"`
	P50Ns    int64      `json:"p50_ns"`
	P90Ns    int64      `json:"p90_ns"`
	P99Ns    int64      `json:"p99_ns"`
	P999Ns   int64      `json:"p999_ns"`
	MaxNs    int64      `json:"max_ns"`
	P99CI    Interval95 `json:"p99_ci"`
	P999CI   Interval95 `json:"p999_ci"`
	// PromP99Ns is the p99 etcd's dashboard would show: interpolated from
	// etcd's 14 exponential buckets the way histogram_quantile does.
	PromP99Ns int64  `json:"prom_p99_ns"`
	Over100ms int64  `json:"over_100ms"` // heartbeat interval
	Over1s    int64  `json:"over_1s"`    // etcd's "slow fdatasync" warning, election timeout
	Histogram string `json:"histogram"`
	// InFlight counts the operations still in flight when the run ended
	// (a disk that did not return them). Each is in Count, the histogram
	// and the counts above with its age then, a lower bound of its
	// latency; InFlightAgeNs is the oldest of those ages.
	InFlight      int64 `json:"in_flight,omitempty"`
	InFlightAgeNs int64 `json:"in_flight_age_ns,omitempty"`
}

// Interval95 is a confidence interval of a quantile: 95% unless Confidence
// says otherwise (a check judged among several targets is at a higher
// confidence, see Judge). Bounded is false when there are too few samples,
// or too few independent blocks, for the upper bound to exist (then HighNs
// is the maximum observed).
type Interval95 struct {
	LowNs   int64 `json:"low_ns"`
	HighNs  int64 `json:"high_ns"`
	Bounded bool  `json:"bounded"`
	// Method is MethodBlocks (burst-aware, over the interval series) or
	// MethodBinomial (independent samples: a result without the series).
	Method string `json:"method,omitempty"`
	// Blocks is how many effectively independent time blocks the interval
	// rests on (0: too few to bound it), each about BlockSeconds long.
	Blocks       int     `json:"blocks,omitempty"`
	BlockSeconds float64 `json:"block_seconds,omitempty"`
	Confidence   float64 `json:"confidence,omitempty"` // e.g. 0.95, 0.975
}

// Check is one target judged.
type Check struct {
	Metric     string     `json:"metric"`
	Quantile   float64    `json:"quantile"` // 99
	TargetNs   int64      `json:"target_ns"`
	ObservedNs int64      `json:"observed_ns"`
	Interval   Interval95 `json:"interval"`
	Outcome    string     `json:"outcome"` // pass | fail | inconclusive
	Samples    int64      `json:"samples"`
	Needed     int64      `json:"samples_needed"` // for a bounded p99 interval
	Note       string     `json:"note,omitempty"`
	// MoreSeconds estimates how much longer a run must last to decide an
	// inconclusive check (enough blocks, or an interval narrow enough to
	// clear the target).
	MoreSeconds int64 `json:"more_seconds,omitempty"`
	// Advisory is set on a check that did not decide the verdict: too few
	// samples to judge, and no evidence of a failure (see Target.Advisory).
	Advisory bool `json:"advisory,omitempty"`
	// Kind is "" for a target (the quantile must stay under TargetNs) and
	// CheckPlausibility for a floor (a quantile under TargetNs is not
	// physically possible on stable storage).
	Kind string `json:"kind,omitempty"`
}

// Stall is an operation that was in flight longer than the watchdog threshold.
type Stall struct {
	Metric  string `json:"metric"`
	AtNs    int64  `json:"at_ns"`  // since the start of the run
	AgeNs   int64  `json:"age_ns"` // how long it had been stuck when it finished (or the run ended)
	Ongoing bool   `json:"ongoing,omitempty"`
}

// Neighbor accounts one noisy-neighbour generator.
type Neighbor struct {
	Name      string  `json:"name"` // metric name: neighbor_<i>_<kind>
	Spec      string  `json:"spec"`
	Kind      string  `json:"kind"`
	Ops       int64   `json:"ops"`
	Bytes     int64   `json:"bytes"`
	MBps      float64 `json:"mb_per_s"`
	IOPS      float64 `json:"iops"`
	Errors    int64   `json:"errors"`
	LastError string  `json:"last_error,omitempty"`
}

// Interval is one stretch of the run: a second, or for the older part of a
// long run a merge of consecutive seconds (see DurationNs).
type Interval struct {
	StartNs int64 `json:"start_ns"` // since the start of the measured phase
	// DurationNs is the interval's length; 0 (results that predate it)
	// means one second. The last interval of a run is partial.
	DurationNs int64                     `json:"duration_ns,omitempty"`
	Metrics    map[string]IntervalMetric `json:"metrics"`
	Active     []string                  `json:"active_neighbors,omitempty"` // neighbours on during the interval
}

// Duration is the interval's length.
func (iv Interval) Duration() time.Duration {
	if iv.DurationNs <= 0 {
		return time.Second
	}
	return time.Duration(iv.DurationNs)
}

// EndNs is where the interval ends, since the start of the measured phase.
func (iv Interval) EndNs() int64 { return iv.StartNs + int64(iv.Duration()) }

// IntervalMetric is one metric during one interval.
type IntervalMetric struct {
	Count     int64  `json:"count"`
	P50Ns     int64  `json:"p50_ns"`
	P99Ns     int64  `json:"p99_ns"`
	MaxNs     int64  `json:"max_ns"`
	Histogram string `json:"histogram,omitempty"`
}

// Build says which etcdisk made the result, as `etcdisk version` says it:
// the version, then the revision, dirty flag, commit time and Go version
// when known.
func (e Environment) Build() string {
	return buildinfo.Describe(e.Version, e.Revision, e.Modified, e.RevisionTime, e.GoVersion)
}
