// Command fidelity measures how well etcdisk predicts what a real etcd
// reports on a disk. On one directory it alternates, RUNS times: a real
// etcd (embedded, see bench/calibrate) at each load, etcdisk's model at the
// same loads, and fio's classic recipe; then it prints, per load, the
// medians of WAL fsync mean and p99 and of backend commit mean and p99, and
// each predictor's ratio to the real etcd; then, for the WAL fsync mean, the
// ratio estimated from the runs paired round by round (geometric mean, 95%
// confidence interval) and whether it lies within 0.75-1.33.
//
//	go run ./cmd/fidelity --dir /var/lib/etcd-test --runs 3
//
// p99s of the real etcd can only be interpolated from its Prometheus
// buckets; the model's p99 is shown the same way (prom_p99_ns) so the ratio
// compares like with like; its exact HDR p99 is printed as well.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/etcdisk/etcdisk/bench/sysinfo"
	"github.com/etcdisk/etcdisk/cmd/internal/comparison"
)

func main() {
	o, err := parseFlags(os.Args[1:])
	if err == nil {
		err = run(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fidelity:", err)
		os.Exit(2)
	}
}

type options struct {
	dir, bin, modelArgs string
	runs, valueSize     int
	rates               []float64
	duration, warmup    time.Duration
	settle              time.Duration
	fio                 bool
}

const usage = `Usage: fidelity [flags]

Alternates a real embedded etcd, etcdisk's model and fio's recipe on one
directory and prints how far each predictor is from the real etcd.

Examples:
  go run ./cmd/fidelity --dir /var/lib/etcd-test --runs 3
  go run ./cmd/fidelity --dir /var/lib/etcd-test --rates 150,1000 --duration 10s --fio=false

Flags:
`

// parseFlags reads the command line; a bad flag or --help exits as the
// flag package does (2, or 0 after the usage).
func parseFlags(args []string) (options, error) {
	o := options{runs: 3, valueSize: 1024, duration: 20 * time.Second, warmup: 2 * time.Second,
		settle: 5 * time.Second, modelArgs: defaultModelArgs, fio: true, dir: "."}
	fs := flag.NewFlagSet("fidelity", flag.ExitOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage); fs.PrintDefaults() }
	rates := "150,1000"
	fs.StringVar(&o.dir, "dir", o.dir, "directory on the disk to measure (not tmpfs)")
	fs.IntVar(&o.runs, "runs", o.runs, "alternating runs of each predictor")
	fs.StringVar(&rates, "rates", rates, "comma-separated loads, puts/s")
	fs.IntVar(&o.valueSize, "value-size", o.valueSize, "value size in bytes")
	fs.DurationVar(&o.duration, "duration", o.duration, "measured window of each run")
	fs.DurationVar(&o.warmup, "warmup", o.warmup, "unmeasured load before each window")
	fs.StringVar(&o.bin, "etcdisk", "", "etcdisk binary (default: build ./cmd/etcdisk)")
	fs.StringVar(&o.modelArgs, "model-args", o.modelArgs,
		"arguments of the model run; {dir} {rate} {value} {duration} {warmup} are replaced")
	fs.BoolVar(&o.fio, "fio", o.fio, "also run fio's recipe (needs fio)")
	fs.DurationVar(&o.settle, "settle", o.settle,
		"before each run: sync, then let the disk idle this long (the previous run's writeback and discards of its deleted files must not land in the next run)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (the directory is --dir)", fs.Arg(0))
	}
	if o.runs < 1 {
		return o, fmt.Errorf("--runs %d: at least one run", o.runs)
	}
	for _, s := range strings.Split(rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "/s"), 64)
		if err != nil || r <= 0 {
			return o, fmt.Errorf("bad rate %q", s)
		}
		o.rates = append(o.rates, r)
	}
	return o, nil
}

func run(o options) error {
	if err := sysinfo.CheckTarget(o.dir); err != nil {
		return err
	}
	if _, err := exec.LookPath("fio"); o.fio && err != nil {
		return errors.New("fio is not installed (Debian: apt-get install fio), or pass --fio=false")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	bin, cleanup, err := comparison.Binary(o.bin)
	if err != nil {
		return err
	}
	defer cleanup()
	o.bin = bin

	printMachine(o.dir)
	s, err := measure(ctx, o)
	if err != nil {
		return err
	}
	s.print(o)
	printLoad("load average at the end")
	return nil
}

// samples holds every run: the real etcd's and the model's per load (in
// the order of o.rates), fio's once per round.
type samples struct {
	real, model [][]sample
	fio         []sample
}

func measure(ctx context.Context, o options) (samples, error) {
	s := samples{real: make([][]sample, len(o.rates)), model: make([][]sample, len(o.rates))}
	for i := 1; i <= o.runs; i++ {
		for j := range o.rates {
			if err := s.pair(ctx, o, i, j); err != nil {
				return s, err
			}
		}
		if !o.fio {
			continue
		}
		if err := comparison.Settle(ctx, o.settle); err != nil {
			return s, err
		}
		f, err := runFio(ctx, o.dir)
		if err != nil {
			return s, err
		}
		s.fio = append(s.fio, f)
		fmt.Printf("run %d  closed   fio recipe %s\n", i, f)
	}
	return s, nil
}

// pair runs the real etcd and the model once each at load j of round i.
// The order flips every round, so that neither predictor always runs
// first after the previous load.
func (s *samples) pair(ctx context.Context, o options, i, j int) error {
	rate := o.rates[j]
	for k := range 2 {
		if err := comparison.Settle(ctx, o.settle); err != nil {
			return err
		}
		if (k == 0) == (i%2 == 1) {
			r, err := runReal(ctx, o, rate)
			if err != nil {
				return fmt.Errorf("real etcd at %v/s: %w", rate, err)
			}
			s.real[j] = append(s.real[j], r)
			fmt.Printf("run %d  %6.0f/s  real etcd  %s\n", i, rate, r)
			continue
		}
		m, err := runModel(ctx, o, rate)
		if err != nil {
			return fmt.Errorf("etcdisk model at %v/s: %w", rate, err)
		}
		s.model[j] = append(s.model[j], m)
		fmt.Printf("run %d  %6.0f/s  etcdisk    %s\n", i, rate, m)
	}
	return nil
}

func (s samples) print(o options) {
	fmt.Printf("\nMedians of %d runs, %d-byte values, %v windows (p99: interpolated from etcd's buckets; ratio = predictor / real etcd)\n",
		o.runs, o.valueSize, o.duration)
	for j, rate := range o.rates {
		printTable(rate, median(s.real[j]), median(s.model[j]), median(s.fio), o.fio)
		printPaired(s.real[j], s.model[j], s.fio)
	}
}

func printMachine(dir string) {
	host, _ := os.Hostname()
	var un unix.Utsname
	unix.Uname(&un)
	fmt.Printf("machine %s, Linux %s, %d CPUs, dir %s", host, unix.ByteSliceToString(un.Release[:]), runtime.NumCPU(), dir)
	if m, err := (sysinfo.Options{}).FindMount(dir); err == nil {
		fmt.Printf(" (%s on %s)", m.FSType, m.Source)
	}
	fmt.Println()
	printLoad("load average at the start")
}

// printLoad shows how busy the machine was: other work on the CPUs or the
// disk moves every number.
func printLoad(what string) {
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			fmt.Printf("%s: %s %s %s\n", what, f[0], f[1], f[2])
		}
	}
}
