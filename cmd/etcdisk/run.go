package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/spf13/pflag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/etcdisk/etcdisk/bench"
	"github.com/etcdisk/etcdisk/bench/neighbor"
	"github.com/etcdisk/etcdisk/bench/pace"
	"github.com/etcdisk/etcdisk/report"
)

const runHelp = `Usage: etcdisk run [flags]

Writes to the disk of --dir exactly as etcd's WAL and backend do, by default
at etcdctl check perf's default load (150 puts/s through etcd's request
path), and judges the WAL fdatasync p99 against etcd's 10 ms target and the
backend commit p99 against 25 ms. The default 2 minutes give the backend,
which commits every 100 ms, enough commits for a verdict. It works in a
folder of its own (etcdisk-run-*) inside --dir and removes it afterwards,
also on errors and on Ctrl-C or any other terminating signal (SIGHUP,
SIGTERM, SIGQUIT), after printing the partial report with INTERRUPTED first
(--keep keeps the folder).

Workloads:
  wal   etcd's WAL write path: framed records with chained CRC-32C, 4 KiB page
        buffering, 64 MB preallocated segments cut with a directory fsync,
        one write + one fdatasync per Save (default)
  fio   exactly fio --rw=write --ioengine=sync --fdatasync=1 --size=22m --bs=2300,
        to put etcdisk next to the recipe everyone knows (one pass over the
        22 MiB file unless --duration or --ops is given)

Load (--load NAME, default s): open loop through etcd's request path.
  Proposals arrive on a schedule (--arrivals constant or poisson); each is a real etcd Put (or
  Txn) sent by one of the load's in-process clients (each with its own gRPC
  connection and one request in flight, as etcdctl check perf's) over
  loopback to an in-process server that proposes it to etcd's raft library
  (a single-member node driven as etcd drives it: raft decides what each
  Save holds, all that arrived during a Save goes into the next) and answers
  once it is durable and applied to the backend. The run spends the CPU
  etcd's request path spends: on a small machine a busy CPU delays every
  fdatasync's wake-up, as it does in etcd. proposal_commit runs from each
  proposal's scheduled arrival to its answer. The loads:
%s
  --rate R      the load's clients and sizes at R proposals/s
  --rate max    the closed loop, a stress test: the next Save starts when the
                previous one ended, each one 2,300-byte Save (the load's sizes
                with --load), no request path; not what etcd sees
  --grpc=false  feed the WAL loop directly at the rate (disk cost only)
  --value-size, --key-size, --request override the load's sizes: a value
        size, range or the kubernetes mix, wrapped as etcd wraps a request
        (txn: a Kubernetes update, about value + 3 x key + 45 bytes; put:
        etcdctl put). The kubernetes mix:` + "%s" + `

Headroom (--find-limit without a neighbour): steps the proposal rate up from
the load's (or --rate), doubling until a step does not pass, then bisecting 3
times (each step a full --duration run after --warmup; an INCONCLUSIVE step
runs once more), and reports the highest rate at which every judged p99 met
its target and at least 90%% of the rate was achieved: "sustains 3,400 puts/s
at p99 < 10ms (wal_fdatasync)", a number to compare between disks (etcdisk
compare shows both).

Backend (on by default with the wal workload, --backend=false turns it off):
  every entry is applied to a bbolt database in the same folder, with etcd's
  options, committed every 100 ms when anything is pending (at once at 10,000
  pending); backend_commit is judged against --backend-p99-target (25 ms).

Live-safe mode (--etcd-metrics URL, for nodes that already run etcd): etcdisk
scrapes the live member's etcd_disk_wal_fsync_duration_seconds every second and
pauses its load whenever the member's p99 over the last 5 s is past
--p99-target (it resumes under 3/4 of it), so a check never causes the outage
it looks for. The pauses are in the report.

Raw devices (--device DEV): each WAL segment gets a 64 MiB region of the device,
written with O_DIRECT in aligned 4 KiB units, made durable with fdatasync. No
file system means no journal: the numbers are a lower bound of what etcd on a
file system there would see; the bbolt backend is off. Before the first write
etcdisk refuses a device that is mounted (or a partition of it), held by
LVM/md/dm, active swap, open exclusively elsewhere or read-only (nothing
overrides that). It reads the guarded windows (the first and last 4 MiB and
4 KiB at each label copy of btrfs and Ceph BlueStore further in) and writes
without asking only when they read as zeroes (or all ones, as some devices
read discarded blocks); anything else is refused, named (partition table,
file system, swap, LVM2, md, LUKS, ZFS, BlueStore, bcache, WAL frames of an
earlier run, what blkid -p finds) or by the offset of its first non-zero
byte, unless --destroy-data=DEV repeats that device's exact path. The same
holds for a neighbour's device=: give --destroy-data once per device. When a
run ends (also on errors and Ctrl-C) it zeroes what it wrote in the guarded
windows of each device, so a rerun is not refused; a killed run leaves its
WAL frames, and the rerun asks for --destroy-data. etcdisk info --device DEV
shows what it finds without writing.

Neighbours (--neighbor KIND[,key=value...], repeatable; they write in the run
folder unless dir= or device= says otherwise):
  kinds  seqwrite, randwrite, randread, seqread, fsync (small writes each
         followed by fsync), writeback (large buffered writes, no fsync: dirty
         pages and writeback storms), trim (discards)
  keys   bs=SIZE  numjobs=N (workers, each one synchronous op in flight, as
         fio's numjobs; qd=N is an older name; iodepth>1 is refused: there is
         no asynchronous engine)
         rate=BYTES/s or iops=N  direct (O_DIRECT)  prefill (write the file
         first: the load overwrites)  size=SIZE  dir=DIR
         device=DEV  on=D,off=D (bursts)  start=D  sync-every=N
  --compare-solo runs a solo phase then a loaded phase, each --duration, and
  says how much worse the neighbours make each percentile. --find-limit doubles
  the neighbour's rate from 4 MiB/s (50 IOPS with iops=) until the WAL p99
  misses its target, then bisects 3 times; each step is a full --duration run.

Prometheus (README, "Prometheus and Grafana"): --prom-file PATH writes the
Prometheus export to PATH through a temporary file renamed over it, so
node_exporter's textfile collector never reads half a file; a file that
cannot be written exits 2, as --out does. --push URL sends it to a
Pushgateway (PUT URL/metrics/job/etcdisk/instance/HOST); a failed push is a
warning on stderr and leaves the exit code to the verdict.

Scenarios (--scenario NAME):
%s
Sizes (--entry-size, --segment-size, --value-size and bs=, size=, rate=):
  fio's bare k, m, g are powers of 1024 (bs=4k is 4096 bytes), as are IEC
  units (4KiB); SI units are powers of 1000 (4KB and 4kb are 4000 bytes,
  64MB). fio's default reads 4KB as 4096 and 4KiB as 4000: write 4k for what
  a fio job file means by it.

Examples:
  etcdisk run                                    # current directory, load s, 2 s warm-up + 2 min
  etcdisk run --dir /var/lib/etcd                # the disk etcd will use
  etcdisk run --load m                           # etcdctl check perf --load m: 1,000 puts/s
  etcdisk run --load kubernetes --arrivals poisson
  etcdisk run --rate 500 --value-size 4KiB       # load s's clients and keys at 500 puts/s
  etcdisk run --find-limit --duration 10s        # headroom: the highest rate that passes
  etcdisk run --rate max --duration 30s          # closed-loop stress test
  etcdisk run --output json > result.json        # one JSON document on stdout
  etcdisk run --out results/                     # result.json and every export
  etcdisk run --dir /var/lib/etcd --prom-file /var/lib/node_exporter/textfile/etcdisk.prom
  etcdisk run --dir /var/lib/etcd --push http://pushgateway:9091
  etcdisk run --out results/ --force             # replace the results of an earlier run
  etcdisk run --workload fio --dir /mnt/ssd      # fio's recipe, side by side
  etcdisk run --device /dev/nvme1n1 --duration 60s   # a bare device, checked first
  etcdisk run --device /dev/nvme1n1 --destroy-data=/dev/nvme1n1   # write over what is on it
  etcdisk run --device /dev/nvme1n1 --neighbor randwrite,device=/dev/sdc \
      --destroy-data=/dev/nvme1n1 --destroy-data=/dev/sdc   # consent for each device
  etcdisk run --dir /var/lib/etcd --etcd-metrics http://127.0.0.1:2381/metrics --rate 100
  etcdisk run --scenario batch-job --compare-solo --duration 30s
  etcdisk run --neighbor writeback,bs=4MiB,rate=50MiB --find-limit --duration 15s

Exit codes: 0 PASS, 1 FAIL, 2 error, bad usage or interrupted, 3 INCONCLUSIVE (run longer).
`

// runOptions are the run flags that are not bench.Config fields, and those
// whose default depends on the run's mode: they reach the Config only when
// given (askedConfig), so that bench.NewPlan picks the mode's default.
type runOptions struct {
	output, progress string
	outs             runOutputs
	load             bench.Load
	rateMax          bool
	segSize          int

	workload, request string
	rate              float64
	clients, keySize  int
	batch             int
	arrivals          pace.Arrivals
	backend, grpc     bool
	duration, warmup  time.Duration
}

// runFlagSet registers every run flag into cfg and o. The defaults shown
// are those of the default load.
func runFlagSet(cfg *bench.Config, o *runOptions) *pflag.FlagSet {
	l, _ := bench.LookupLoad(bench.DefaultLoad)
	*o = runOptions{output: "text", progress: "auto", load: l, segSize: 64 * 1000 * 1000,
		workload: bench.WorkloadWAL, request: string(l.Request), rate: l.Rate, clients: l.Clients, keySize: l.KeySize,
		backend: true, grpc: true, duration: bench.DefaultDuration, warmup: 2 * time.Second,
		batch: 1, arrivals: pace.Constant}
	cfg.P99Target, cfg.BackendP99Target, cfg.StallThreshold = bench.DefaultP99Target, bench.DefaultBackendP99Target, bench.DefaultStallThreshold
	fs := newFlagSet("run")
	fs.StringVar(&cfg.Dir, "dir", cfg.Dir, "directory on the disk to measure")
	fs.StringVar(&cfg.Device, "device", "", "raw block device to measure instead of --dir (O_DIRECT, 64 MiB regions; see Raw devices above)")
	fs.StringArrayVar(&cfg.DestroyData, "destroy-data", nil, "repeat a device path (--device or a neighbour's device=) to write over the data found on it; repeatable, one device each")
	fs.Var(choiceValue{&o.workload, []string{bench.WorkloadWAL, bench.WorkloadFio}}, "workload", "wal (etcd's WAL) or fio (fio's recipe)")
	fs.Var(durationValue{&o.duration, false}, "duration", "length of the measured phase, after --warmup")
	fs.Int64Var(&cfg.Ops, "ops", 0, "stop after this many proposals (or Saves, with --rate max)")
	fs.Var(loadFlag(&o.load), "load", "named load: "+strings.Join(bench.LoadNames(), ", ")+" (see Load above)")
	fs.Var(runRateValue{&o.rate, &o.rateMax}, "rate", "proposals per second with the load's clients and sizes (e.g. 500 or 500/s), or max: the closed loop")
	fs.IntVar(&o.clients, "clients", o.clients, "clients of the request path, each with its own connection and one request in flight (default: the load's; 0: one connection, up to 4096 in flight, as calibrate's etcd client)")
	fs.Var(arrivalsFlag(&o.arrivals), "arrivals", "arrival process with --rate")
	fs.Var(sizeValue{&cfg.EntrySize}, "entry-size", "raft entry data size (default: one Save writes 2300 bytes)")
	fs.Var(valueSizeFlag(&cfg.ValueSize), "value-size", "model proposals: value size (1KiB), range (1KiB-8KiB) or mix (kubernetes)")
	fs.Var(countValue{&o.keySize, 1, 1 << 16}, "key-size", "key length of each proposal, with --value-size")
	fs.Var(choiceValue{&o.request, []string{bench.RequestTxn, bench.RequestPut}}, "request", "proposal shape with --value-size: txn (a Kubernetes update) or put (etcdctl put)")
	fs.Var(countValue{&o.batch, 1, 10000}, "batch", "entries per Save (per proposal with --rate)")
	fs.BoolVar(&o.backend, "backend", o.backend, "apply entries to a bbolt backend on the same disk, committed as etcd does (every 100 ms)")
	fs.BoolVar(&o.grpc, "grpc", o.grpc, "with --rate: send each proposal as a real etcd Put/Txn over loopback gRPC, so the run spends etcd's request-path CPU")
	fs.BoolVar(&cfg.Direct, "direct", false, "write the files in --dir with O_DIRECT through aligned buffers (etcd does not)")
	fs.Var(neighborsValue{&cfg.Neighbors}, "neighbor", "noisy neighbour KIND[,key=value...], repeatable (see Neighbours above)")
	fs.Var(scenarioFlag(&cfg.Scenario), "scenario", "named noisy-neighbour preset (see Scenarios above)")
	fs.StringVar(&cfg.EtcdMetrics, "etcd-metrics", "", "live-safe mode: a live member's metrics URL; pause while its WAL fsync p99 is over --p99-target")
	fs.BoolVar(&cfg.CompareSolo, "compare-solo", false, "run alone first, then with the neighbours, and report both with ratios")
	fs.BoolVar(&cfg.FindLimit, "find-limit", false, "find the highest proposal rate every judged p99 survives (with a neighbour: that neighbour's highest rate)")
	fs.Var(durationValue{&cfg.P99Target, false}, "p99-target", "WAL fdatasync p99 target")
	fs.Var(durationValue{&cfg.BackendP99Target, false}, "backend-p99-target", "backend commit p99 target")
	fs.Var(durationValue{&o.warmup, true}, "warmup", "warm-up before measuring, excluded from the results")
	fs.Var(choiceValue{&o.output, []string{"text", "json"}}, "output", "report format on stdout")
	o.outs.flags(fs)
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the run folder for inspection")
	fs.Var(choiceValue{&o.progress, []string{"auto", "always", "never"}}, "progress", "live progress line on stderr (auto: when stderr is a terminal)")
	fs.Var(sizeValue{&o.segSize}, "segment-size", "WAL segment size (etcd: 64000000)")
	fs.Var(durationValue{&cfg.StallThreshold, false}, "stall-threshold", "report an fdatasync in flight longer than this (etcd's heartbeat interval)")
	return fs
}

// askedConfig completes cfg with the flags whose default depends on the
// run's mode, each only when given: bench.NewPlan applies the rules (the
// load's values, a device without backend, fio's one pass, an op count
// without a time limit).
func askedConfig(fs *pflag.FlagSet, cfg *bench.Config, o *runOptions) error {
	if fs.Changed("entry-size") && cfg.EntrySize == 0 {
		return errors.New("--entry-size must be at least 1 byte (leave it out for the default)")
	}
	if fs.Changed("segment-size") && o.segSize == 0 {
		return errors.New("--segment-size must be at least 64KiB (leave it out for etcd's 64000000)")
	}
	cfg.SegmentSize = int64(o.segSize)
	cfg.Workload = bench.Workload(o.workload)
	// --load's default is the open loop's: --rate max and fio send no
	// named load unless --load gives one.
	if fs.Changed("load") || (!o.rateMax && cfg.Workload != bench.WorkloadFio) {
		cfg.Load = &o.load
	}
	given := map[string]func(){
		"rate":     func() { cfg.Rate, cfg.ClosedLoop = o.rate, o.rateMax },
		"clients":  func() { cfg.Clients = bench.Given(o.clients) },
		"key-size": func() { cfg.KeySize = o.keySize },
		"batch":    func() { cfg.Batch = o.batch },
		"arrivals": func() { cfg.Arrivals = o.arrivals },
		"request":  func() { cfg.Request = bench.Request(o.request) },
		"backend":  func() { cfg.Backend = bench.Given(o.backend) },
		"grpc":     func() { cfg.GRPC = bench.Given(o.grpc) },
		"duration": func() { cfg.Duration = o.duration },
		"warmup":   func() { cfg.Warmup = bench.Given(o.warmup) },
	}
	for name, set := range given {
		if fs.Changed(name) {
			set()
		}
	}
	return nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := bench.Config{Dir: ".", Version: etcdiskVersion()}
	var o runOptions
	fs := runFlagSet(&cfg, &o)
	if ok, code := parseFlags(fs, args, fmt.Sprintf(runHelp, loadHelp(), bench.KubernetesMixHelp(), scenarioHelp()), stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "run", fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if err := askedConfig(fs, &cfg, &o); err != nil {
		return usageError(stderr, "run", err.Error())
	}
	cfg.Log = stderr
	if showProgress(o.progress, stderr) {
		p := &progressLine{w: stderr}
		cfg.Progress = p.update
		defer p.clear()
	}
	plan, err := bench.NewPlan(cfg)
	if err == nil {
		err = o.outs.validate()
	}
	if err != nil {
		return usageError(stderr, "run", err.Error())
	}
	res, err := bench.RunPlan(ctx, plan)
	if res == nil {
		fmt.Fprintf(stderr, "etcdisk run: %v\n", err)
		return exitError
	}
	return emitRunResult(ctx, res, err, &o, cfg.Progress != nil, stdout, stderr)
}

// emitRunResult writes the result to every output and returns the exit
// code: the verdict's, or 2 for an error or an interruption.
func emitRunResult(ctx context.Context, res *report.Result, err error, o *runOptions, progress bool, stdout, stderr io.Writer) int {
	if !o.outs.writeFiles(res, stderr) {
		return exitError
	}
	if progress {
		clearLine(stderr)
	}
	var rerr error
	if o.output == "json" {
		rerr = report.Write(stdout, res)
	} else {
		rerr = report.WriteText(stdout, res)
	}
	if rerr != nil {
		fmt.Fprintf(stderr, "etcdisk run: %v\n", rerr)
		return exitError
	}
	if o.outs.outDir != "" {
		abs, _ := filepath.Abs(o.outs.outDir)
		fmt.Fprintf(stderr, "etcdisk: results written to %s\n", abs)
	}
	o.outs.pushResult(ctx, res, stderr)
	switch {
	case errors.Is(err, bench.ErrInterrupted):
		fmt.Fprintf(stderr, "etcdisk run: interrupted (%v); the report above covers what was measured\n", context.Cause(ctx))
		return exitError
	case err != nil:
		fmt.Fprintf(stderr, "etcdisk run: %v\n", err)
		return exitError
	}
	return report.ExitCode(res)
}

// prepareOut makes sure the results of a run can be written to dir before
// anything is written to the disk under test, so that a typo in --out does
// not cost a whole run: it creates dir, creates and removes a probe file in
// it, and refuses to replace the result.json of an earlier run unless force.
// It returns 0, or the exit code after saying why on stderr.
// checkOutDir makes --out DIR ready before the first write to the disk
// under test: an earlier result.json is kept unless force, and the
// directory must take a file, so a measurement is never lost to it.
func checkOutDir(dir string, force bool) error {
	existing := filepath.Join(dir, "result.json")
	if _, err := os.Lstat(existing); err == nil && !force {
		return fmt.Errorf("%s already exists: pass --force to replace it and its exports", existing)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create --out directory: %v", err)
	}
	probe, err := os.CreateTemp(dir, ".etcdisk-out-probe-*")
	if err == nil {
		err = errors.Join(probe.Close(), os.Remove(probe.Name()))
	}
	if err != nil {
		return fmt.Errorf("--out %s is not writable: %v", dir, err)
	}
	return nil
}

// showProgress decides on the progress line, which goes to stderr: under
// auto it follows stderr alone, as curl's and docker's do, so that
// etcdisk run | tee and --output json > result.json still show it while
// stdout carries nothing but the report.
func showProgress(mode string, stderr io.Writer) bool {
	switch mode {
	case "never":
		return false
	case "always":
		return true
	}
	return isTerminal(stderr)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressLine is the one updating status line on a terminal.
type progressLine struct {
	w io.Writer
}

func (p *progressLine) update(s bench.Progress) {
	var b strings.Builder
	phase := "measuring"
	if s.Warmup {
		phase = "warming up"
	}
	fmt.Fprintf(&b, "\r\x1b[K%s %s", phase, s.Elapsed.Round(time.Second))
	if s.Total > 0 {
		fmt.Fprintf(&b, "/%s", s.Total.Round(time.Second))
	}
	fmt.Fprintf(&b, "  saves %d", s.Saves)
	if s.P99 > 0 {
		fmt.Fprintf(&b, "  fdatasync p50 %s p99 %s", report.FormatDuration(s.P50), report.FormatDuration(s.P99))
	}
	if s.Stalls > 0 {
		fmt.Fprintf(&b, "  stalls %d", s.Stalls)
	}
	io.WriteString(p.w, b.String())
}

func (p *progressLine) clear() { clearLine(p.w) }

func clearLine(w io.Writer) { io.WriteString(w, "\r\x1b[K") }

// scenarioHelp lists the neighbour presets for --help.
func scenarioHelp() string {
	var b strings.Builder
	for _, sc := range neighbor.Scenarios() {
		fmt.Fprintf(&b, "  %-14s %s\n", sc.Name, wrap(sc.Description, 60, "                 "))
	}
	return b.String()
}

// wrap breaks s into lines of at most width runes, indenting continuations.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(s) {
		if i > 0 && n+1+len(w) > width {
			b.WriteString("\n" + indent)
			n = 0
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}
