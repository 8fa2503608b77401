// Command fio-compare runs fio's classic etcd recipe and etcdisk's fio
// workload on the same directory, alternating, and prints the fdatasync
// p50/p99 of each run and the etcdisk/fio ratios of their medians.
//
//	go run ./cmd/fio-compare --dir /var/lib/etcd-test --runs 3
//
// The recipe is fio --rw=write --ioengine=sync --fdatasync=1 --size=22m
// --bs=2300; each run gets a fresh sub-directory (so both lay out a new
// file), removed afterwards.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/etcdisk/etcdisk/bench"
	"github.com/etcdisk/etcdisk/cmd/internal/comparison"
	"github.com/etcdisk/etcdisk/cmd/internal/fiorecipe"
	"github.com/etcdisk/etcdisk/report"
)

func main() {
	err := run()
	var off disagreement
	switch {
	case errors.As(err, &off):
		fmt.Fprintln(os.Stderr, "fio-compare:", err)
		os.Exit(1)
	case err != nil:
		fmt.Fprintln(os.Stderr, "fio-compare:", err)
		os.Exit(2)
	}
}

// The band within which the median p50 and p99 of etcdisk's fio workload
// and of fio's recipe must agree: the same system calls on the same disk.
const agreeLo, agreeHi = 0.80, 1.25

// disagreement is a p50 or p99 ratio outside the band: fio-compare exits 1.
type disagreement string

func (d disagreement) Error() string { return string(d) }

// agree checks the median ratios of p50 and p99 against the band.
func agree(p50, p99 float64) error {
	for _, r := range []struct {
		name  string
		ratio float64
	}{{"p50", p50}, {"p99", p99}} {
		if r.ratio < agreeLo || r.ratio > agreeHi {
			return disagreement(fmt.Sprintf("the %s ratio %.2f is outside %.2f-%.2f", r.name, r.ratio, agreeLo, agreeHi))
		}
	}
	return nil
}

const usage = `Usage: fio-compare [flags]

Runs fio's classic etcd recipe and etcdisk's fio workload on one directory,
alternating, and prints the etcdisk/fio ratios of their median fdatasync
p50 and p99. Exit 0 when both ratios are within 0.80-1.25 (the same
system calls on the same disk should agree), 1 when one is not, 2 on an
error.

Examples:
  go run ./cmd/fio-compare --dir /var/lib/etcd-test
  go run ./cmd/fio-compare --dir /var/lib/etcd-test --runs 5 --etcdisk bin/etcdisk

Flags:
`

type sample struct{ p50, p99, mean time.Duration }

func run() error {
	dir := flag.String("dir", ".", "directory on the disk to compare on")
	runs := flag.Int("runs", 3, "alternating runs of each")
	etcdisk := flag.String("etcdisk", "", "etcdisk binary (default: build ./cmd/etcdisk)")
	settleFor := flag.Duration("settle", 3*time.Second, "sync and wait this long before each run")
	flag.Usage = func() { fmt.Fprint(flag.CommandLine.Output(), usage); flag.PrintDefaults() }
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (the directory is --dir)", flag.Arg(0))
	}
	if *runs < 1 {
		return fmt.Errorf("--runs %d: at least one run", *runs)
	}
	bin, cleanup, err := comparison.Binary(*etcdisk)
	if err != nil {
		return err
	}
	defer cleanup()
	var fio, ours []sample
	for i := 0; i < *runs; i++ {
		// Alternate which goes first, and let the disk settle between
		// runs: removing a 22 MiB file on a file system mounted with
		// discard trims it, which would slow whichever run comes next.
		var f, e sample
		var err error
		for _, first := range []bool{i%2 == 0, i%2 != 0} {
			if err := comparison.Settle(context.Background(), *settleFor); err != nil {
				return err
			}
			if first {
				f, err = runFio(*dir)
			} else {
				e, err = runEtcdisk(bin, *dir)
			}
			if err != nil {
				return err
			}
		}
		fmt.Printf("run %d: fio p50 %-9s p99 %-9s mean %-9s | etcdisk p50 %-9s p99 %-9s mean %s\n",
			i+1, f.p50, f.p99, f.mean, e.p50, e.p99, e.mean)
		fio, ours = append(fio, f), append(ours, e)
	}
	mf, me := medians(fio), medians(ours)
	fmt.Printf("\nmedian of %d   %10s %10s %10s\n", *runs, "p50", "p99", "mean")
	fmt.Printf("fio           %10s %10s %10s\n", mf.p50, mf.p99, mf.mean)
	fmt.Printf("etcdisk fio   %10s %10s %10s\n", me.p50, me.p99, me.mean)
	fmt.Printf("ratio         %10.2f %10.2f %10.2f   (etcdisk/fio; acceptance: p50 and p99 within %.2f-%.2f)\n",
		ratio(me.p50, mf.p50), ratio(me.p99, mf.p99), ratio(me.mean, mf.mean), agreeLo, agreeHi)
	return agree(ratio(me.p50, mf.p50), ratio(me.p99, mf.p99))
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func medians(s []sample) sample {
	pick := func(get func(sample) time.Duration) time.Duration {
		v := make([]time.Duration, len(s))
		for i := range s {
			v[i] = get(s[i])
		}
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		return v[len(v)/2]
	}
	return sample{
		p50:  pick(func(x sample) time.Duration { return x.p50 }),
		p99:  pick(func(x sample) time.Duration { return x.p99 }),
		mean: pick(func(x sample) time.Duration { return x.mean }),
	}
}

func runFio(dir string) (sample, error) {
	l, err := fiorecipe.Run(context.Background(), dir)
	return sample{p50: l.P50, p99: l.P99, mean: l.Mean}, err
}

// fioWrites is one pass of fio's recipe over its 22 MiB file.
const fioWrites = bench.FioFileSize / bench.FioBlockSize

// etcdiskArgs runs etcdisk as fio runs: no warm-up, one pass of fioWrites
// writes into the file it has just laid out (preallocated) in a fresh
// directory, whatever etcdisk's defaults.
func etcdiskArgs(dir string) []string {
	return []string{"run", "--workload", "fio", "--dir", dir, "--warmup", "0s",
		"--ops", strconv.Itoa(fioWrites), "--output", "json", "--progress", "never"}
}

// likeFio refuses a run that was not fio's: a warm-up, or not one pass.
func likeFio(r *report.Result) error {
	if r.Config.WarmupNs != 0 || r.Saves != fioWrites {
		return fmt.Errorf("etcdisk did not run like fio: warm-up %v, %d writes (want none and %d)",
			time.Duration(r.Config.WarmupNs), r.Saves, fioWrites)
	}
	return nil
}

func runEtcdisk(bin, dir string) (sample, error) {
	out, _, err := comparison.Run(context.Background(), bin, etcdiskArgs(dir)...)
	if err != nil {
		return sample{}, err
	}
	res, err := report.Read(bytes.NewReader(out))
	if err != nil {
		return sample{}, fmt.Errorf("cannot read etcdisk's result: %v", err)
	}
	if err := likeFio(res); err != nil {
		return sample{}, err
	}
	m := res.Metrics[report.MetricWALFdatasync]
	if m == nil {
		return sample{}, fmt.Errorf("etcdisk's result has no %s", report.MetricWALFdatasync)
	}
	return sample{time.Duration(m.P50Ns), time.Duration(m.P99Ns), time.Duration(m.MeanNs)}, nil
}
