// Command fidelity measures how well etcdisk predicts what a real etcd
// reports on a disk. On one directory it alternates, RUNS times: a real
// etcd (embedded, see bench/calibrate) at each load, etcdisk's model at the
// same loads, and fio's classic recipe; then it prints, per load, the
// medians of WAL fsync mean and p99 and of backend commit mean and p99, and
// each predictor's ratio to the real etcd; then, for the WAL fsync mean, the
// ratio estimated from the runs paired round by round (geometric mean, 95%
// confidence interval) and whether it lies within 0.75-1.33.
//
//	go run ./scripts/fidelity --dir /var/lib/etcd-test --runs 3
//
// p99s of the real etcd can only be interpolated from its Prometheus
// buckets; the model's p99 is shown the same way (prom_p99_ns) so the ratio
// compares like with like; its exact HDR p99 is printed as well.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/etcdisk/etcdisk/bench/calibrate"
	"github.com/etcdisk/etcdisk/scripts/internal/etcdiskbin"
	"github.com/etcdisk/etcdisk/scripts/internal/fiorecipe"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fidelity:", err)
		os.Exit(2)
	}
}

// sample is one run of one predictor at one load. Zero durations are
// "not measured".
type sample struct {
	walMean, walP99, walHDRP99 time.Duration
	beMean, beP99              time.Duration
	fsyncsPerPut               float64
	// cpus is the CPU time (user + system) the predictor's process used
	// per second of its run, warm-up and start-up included: how much of
	// the machine it kept busy.
	cpus float64
}

// cpuTime is the user + system time of a rusage.
func cpuTime(ru *syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// defaultModelArgs drive the model as calibrate drives etcd: 32-byte keys
// from one client connection with up to 4096 puts in flight.
const defaultModelArgs = "run --workload wal --dir {dir} --rate {rate} --value-size {value} --request put " +
	"--key-size 32 --clients 0 --duration {duration} --warmup {warmup} --output json --progress never"

type options struct {
	dir, bin, modelArgs string
	runs, valueSize     int
	rates               []float64
	duration, warmup    time.Duration
	settle              time.Duration
	fio                 bool
}

func run() error {
	var o options
	rates := "150,1000"
	flag.StringVar(&o.dir, "dir", ".", "directory on the disk to measure (not tmpfs)")
	flag.IntVar(&o.runs, "runs", 3, "alternating runs of each predictor")
	flag.StringVar(&rates, "rates", rates, "comma-separated loads, puts/s")
	flag.IntVar(&o.valueSize, "value-size", 1024, "value size in bytes")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "measured window of each run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load before each window")
	flag.StringVar(&o.bin, "etcdisk", "", "etcdisk binary (default: build ./cmd/etcdisk)")
	flag.StringVar(&o.modelArgs, "model-args", defaultModelArgs,
		"arguments of the model run; {dir} {rate} {value} {duration} {warmup} are replaced")
	flag.BoolVar(&o.fio, "fio", true, "also run fio's recipe (needs fio)")
	flag.DurationVar(&o.settle, "settle", 5*time.Second,
		"before each run: sync, then let the disk idle this long (the previous run's writeback and discards of its deleted files must not land in the next run)")
	flag.Parse()
	for _, s := range strings.Split(rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "/s"), 64)
		if err != nil || r <= 0 {
			return fmt.Errorf("bad rate %q", s)
		}
		o.rates = append(o.rates, r)
	}
	if err := checkDir(o.dir); err != nil {
		return err
	}
	if _, err := exec.LookPath("fio"); o.fio && err != nil {
		return errors.New("fio is not installed (Debian: apt-get install fio), or pass --fio=false")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	bin, cleanup, err := etcdiskbin.Get(o.bin)
	if err != nil {
		return err
	}
	defer cleanup()
	o.bin = bin

	printMachine(o.dir)
	real := make([][]sample, len(o.rates))
	model := make([][]sample, len(o.rates))
	var fio []sample
	for i := 1; i <= o.runs; i++ {
		for j, rate := range o.rates {
			// The order flips every round, so that neither predictor
			// always runs first after the previous load.
			for k := range 2 {
				if err := settle(ctx, o.settle); err != nil {
					return err
				}
				if (k == 0) == (i%2 == 1) {
					r, err := runReal(ctx, o, rate)
					if err != nil {
						return fmt.Errorf("real etcd at %v/s: %w", rate, err)
					}
					real[j] = append(real[j], r)
					fmt.Printf("run %d  %6.0f/s  real etcd  %s\n", i, rate, r)
					continue
				}
				m, err := runModel(ctx, o, rate)
				if err != nil {
					return fmt.Errorf("etcdisk model at %v/s: %w", rate, err)
				}
				model[j] = append(model[j], m)
				fmt.Printf("run %d  %6.0f/s  etcdisk    %s\n", i, rate, m)
			}
		}
		if o.fio {
			if err := settle(ctx, o.settle); err != nil {
				return err
			}
			f, err := runFio(ctx, o.dir)
			if err != nil {
				return err
			}
			fio = append(fio, f)
			fmt.Printf("run %d  closed   fio recipe %s\n", i, f)
		}
	}
	fmt.Printf("\nMedians of %d runs, %d-byte values, %v windows (p99: interpolated from etcd's buckets; ratio = predictor / real etcd)\n",
		o.runs, o.valueSize, o.duration)
	for j, rate := range o.rates {
		printTable(rate, median(real[j]), median(model[j]), median(fio), o.fio)
		printPaired(real[j], model[j], fio)
	}
	printLoad("load average at the end")
	return nil
}

func (s sample) String() string {
	b := fmt.Sprintf("wal fsync mean %-9v p99 %-9v", s.walMean.Round(time.Microsecond), s.walP99.Round(time.Microsecond))
	if s.beMean > 0 {
		b += fmt.Sprintf(" | backend commit mean %-9v p99 %-9v", s.beMean.Round(time.Microsecond), s.beP99.Round(time.Microsecond))
	}
	if s.fsyncsPerPut > 0 {
		b += fmt.Sprintf(" | fsyncs/put %.2f", s.fsyncsPerPut)
	}
	if s.cpus > 0 {
		b += fmt.Sprintf(" | CPUs %.2f", s.cpus)
	}
	return b
}

func checkDir(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	switch st.Type {
	case unix.TMPFS_MAGIC, unix.RAMFS_MAGIC:
		return fmt.Errorf("%s is on tmpfs/ramfs: fsync does nothing there, measure a real disk", dir)
	}
	return nil
}

func printMachine(dir string) {
	host, _ := os.Hostname()
	var un unix.Utsname
	unix.Uname(&un)
	fmt.Printf("machine %s, Linux %s, %d CPUs, dir %s", host, unix.ByteSliceToString(un.Release[:]), runtime.NumCPU(), dir)
	if out, err := exec.Command("df", "-T", dir).Output(); err == nil {
		if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) == 2 {
			if f := strings.Fields(lines[1]); len(f) > 1 {
				fmt.Printf(" (%s on %s)", f[1], f[0])
			}
		}
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

func runReal(ctx context.Context, o options, rate float64) (sample, error) {
	// NB: etcd runs in this process; between two Getrusage calls this
	// process does nothing else.
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	r, err := calibrate.Run(ctx, calibrate.Config{
		Dir: o.dir, Rate: rate, ValueSize: o.valueSize, Duration: o.duration, Warmup: o.warmup,
	})
	if err != nil {
		return sample{}, err
	}
	for _, w := range r.Warnings {
		fmt.Println("  warning:", w)
	}
	elapsed := time.Since(start)
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	return sample{
		walMean: r.WALFsync.Mean, walP99: r.WALFsync.P99,
		beMean: r.BackendCommit.Mean, beP99: r.BackendCommit.P99,
		fsyncsPerPut: r.FsyncsPerPut,
		cpus:         float64(cpuTime(&after)-cpuTime(&before)) / float64(elapsed),
	}, nil
}

func runModel(ctx context.Context, o options, rate float64) (sample, error) {
	args := strings.Fields(o.modelArgs)
	for i, a := range args {
		a = strings.ReplaceAll(a, "{dir}", o.dir)
		a = strings.ReplaceAll(a, "{rate}", strconv.FormatFloat(rate, 'f', -1, 64))
		a = strings.ReplaceAll(a, "{value}", strconv.Itoa(o.valueSize))
		a = strings.ReplaceAll(a, "{duration}", o.duration.String())
		a = strings.ReplaceAll(a, "{warmup}", o.warmup.String())
		args[i] = a
	}
	cmd := exec.CommandContext(ctx, o.bin, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	var ee *exec.ExitError
	// 1 (FAIL) and 3 (INCONCLUSIVE) are verdicts, not errors.
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() != 2) {
		return sample{}, fmt.Errorf("%v: %s", err, strings.TrimSpace(se.String()))
	}
	type metric struct {
		Count     int64 `json:"count"`
		MeanNs    int64 `json:"mean_ns"`
		P99Ns     int64 `json:"p99_ns"`
		PromP99Ns int64 `json:"prom_p99_ns"`
	}
	var doc struct {
		Entries int64             `json:"entries"`
		Metrics map[string]metric `json:"metrics"`
	}
	if err := json.Unmarshal(so.Bytes(), &doc); err != nil {
		return sample{}, fmt.Errorf("cannot read etcdisk's JSON: %v", err)
	}
	p99 := func(m metric) time.Duration {
		if m.PromP99Ns > 0 {
			return time.Duration(m.PromP99Ns)
		}
		return time.Duration(m.P99Ns)
	}
	w, b := doc.Metrics["wal_fdatasync"], doc.Metrics["backend_commit"]
	s := sample{
		walMean: time.Duration(w.MeanNs), walP99: p99(w), walHDRP99: time.Duration(w.P99Ns),
		beMean: time.Duration(b.MeanNs), beP99: p99(b),
	}
	if doc.Entries > 0 {
		s.fsyncsPerPut = float64(w.Count) / float64(doc.Entries)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.cpus = float64(cpuTime(ru)) / float64(elapsed)
	}
	return s, nil
}

// runFio runs fio's recipe, closed loop, in a fresh folder removed afterwards.
// fio's p99 is exact: it cannot be interpolated through etcd's buckets
// like the others, so it has no ratio (walP99 stays unset) and is printed
// apart.
func runFio(ctx context.Context, dir string) (sample, error) {
	l, err := fiorecipe.Run(ctx, dir)
	return fioSample(l), err
}

func fioSample(l fiorecipe.Latency) sample {
	return sample{walMean: l.Mean, walHDRP99: l.P99}
}

// settle syncs every file system, then idles for d: on a file system
// mounted with discard, removing the previous run's 64 MB segments and its
// database issues discards that would otherwise slow whichever run comes
// next.
func settle(ctx context.Context, d time.Duration) error {
	syscall.Sync()
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// printPaired prints, for the WAL fsync mean, each predictor's ratio to the
// real etcd estimated from pairs: every model (and fio) run is paired with the
// real etcd run of the same round, next to it in time, which cancels a disk
// that drifts over the minutes of the script (a VM's often does). The
// estimate is the geometric mean of the per-round ratios, with a 95%
// confidence interval from Student's t on their logarithms; the median and
// range of the single ratios are shown too.
func printPaired(real, model, fio []sample) {
	row := func(name string, pred []sample) {
		var logs, rs []float64
		for i := range min(len(real), len(pred)) {
			if real[i].walMean > 0 && pred[i].walMean > 0 {
				r := float64(pred[i].walMean) / float64(real[i].walMean)
				rs = append(rs, r)
				logs = append(logs, math.Log(r))
			}
		}
		if len(rs) == 0 {
			return
		}
		sort.Float64s(rs)
		g, lo, hi := geoMeanCI(logs)
		ci := "(one round: no interval)"
		if len(rs) > 1 {
			ci = fmt.Sprintf("95%% CI %.2f-%.2f", lo, hi)
		}
		fmt.Printf("%-12s paired, %d rounds: wal mean ratio %.2f, %s; single rounds median %.2f, range %.2f-%.2f; %s\n",
			name, len(rs), g, ci, rs[len(rs)/2], rs[0], rs[len(rs)-1], band(g, lo, hi, len(rs)))
	}
	row("etcdisk", model)
	if len(fio) > 0 {
		row("fio recipe", fio)
	}
}

// The band the model's WAL fsync mean must stay within, as a ratio to the
// real etcd's.
const bandLo, bandHi = 0.75, 1.33

func band(g, lo, hi float64, n int) string {
	switch {
	case g < bandLo || g > bandHi:
		return fmt.Sprintf("outside %.2f-%.2f", bandLo, bandHi)
	case n < 2:
		return fmt.Sprintf("inside %.2f-%.2f (one round)", bandLo, bandHi)
	case lo >= bandLo && hi <= bandHi:
		return fmt.Sprintf("inside %.2f-%.2f, interval too", bandLo, bandHi)
	}
	return fmt.Sprintf("inside %.2f-%.2f (the interval is not)", bandLo, bandHi)
}

// geoMeanCI returns exp of the mean of logs and the 95% confidence interval
// of that geometric mean (Student's t with len-1 degrees of freedom).
func geoMeanCI(logs []float64) (g, lo, hi float64) {
	n := float64(len(logs))
	var sum float64
	for _, l := range logs {
		sum += l
	}
	mean := sum / n
	g = math.Exp(mean)
	if len(logs) < 2 {
		return g, g, g
	}
	var ss float64
	for _, l := range logs {
		ss += (l - mean) * (l - mean)
	}
	half := tQuantile975(len(logs)-1) * math.Sqrt(ss/(n-1)/n)
	return g, math.Exp(mean - half), math.Exp(mean + half)
}

// tQuantile975 is the 97.5th percentile of Student's t distribution.
func tQuantile975(df int) float64 {
	table := []float64{0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}
	switch {
	case df < 1:
		return math.Inf(1)
	case df < len(table):
		return table[df]
	case df < 60:
		return 2.021 // df 40
	case df < 120:
		return 2.000 // df 60
	}
	return 1.96
}

func median(s []sample) sample {
	if len(s) == 0 {
		return sample{}
	}
	pick := func(get func(sample) float64) float64 {
		v := make([]float64, len(s))
		for i := range s {
			v[i] = get(s[i])
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	d := func(get func(sample) time.Duration) time.Duration {
		return time.Duration(pick(func(x sample) float64 { return float64(get(x)) }))
	}
	return sample{
		walMean:      d(func(x sample) time.Duration { return x.walMean }),
		walP99:       d(func(x sample) time.Duration { return x.walP99 }),
		walHDRP99:    d(func(x sample) time.Duration { return x.walHDRP99 }),
		beMean:       d(func(x sample) time.Duration { return x.beMean }),
		beP99:        d(func(x sample) time.Duration { return x.beP99 }),
		fsyncsPerPut: pick(func(x sample) float64 { return x.fsyncsPerPut }),
		cpus:         pick(func(x sample) float64 { return x.cpus }),
	}
}

func printTable(rate float64, real, model, fio sample, withFio bool) {
	fmt.Printf("\n%.0f puts/s\n", rate)
	fmt.Printf("%-12s %10s %10s %7s %7s | %10s %10s %7s %7s | %10s %s\n",
		"predictor", "wal mean", "wal p99", "x mean", "x p99", "be mean", "be p99", "x mean", "x p99", "fsyncs/put", "CPUs")
	row := func(name string, s sample) {
		ratio := func(a, b time.Duration) string {
			if a <= 0 || b <= 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", float64(a)/float64(b))
		}
		dur := func(d time.Duration) string {
			if d <= 0 {
				return "-"
			}
			return d.Round(time.Microsecond).String()
		}
		num := func(v float64) string {
			if v <= 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", v)
		}
		fmt.Printf("%-12s %10s %10s %7s %7s | %10s %10s %7s %7s | %10s %s\n", name,
			dur(s.walMean), dur(s.walP99), ratio(s.walMean, real.walMean), ratio(s.walP99, real.walP99),
			dur(s.beMean), dur(s.beP99), ratio(s.beMean, real.beMean), ratio(s.beP99, real.beP99),
			num(s.fsyncsPerPut), num(s.cpus))
	}
	row("real etcd", real)
	row("etcdisk", model)
	if model.walHDRP99 > 0 {
		fmt.Printf("%-12s %10s %10s (exact HDR p99 of the model)\n", "", "", model.walHDRP99.Round(time.Microsecond))
	}
	if withFio {
		row("fio recipe", fio)
		if fio.walHDRP99 > 0 {
			fmt.Printf("%-12s %10s %10s (fio's exact p99: not comparable with the interpolated ones, no ratio)\n", "", "", fio.walHDRP99.Round(time.Microsecond))
		}
	}
}
