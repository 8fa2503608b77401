package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/etcdisk/etcdisk/bench/calibrate"
	"github.com/etcdisk/etcdisk/cmd/internal/comparison"
	"github.com/etcdisk/etcdisk/cmd/internal/fiorecipe"
	"github.com/etcdisk/etcdisk/report"
)

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
	start := time.Now()
	out, state, err := comparison.Run(ctx, o.bin, args...)
	elapsed := time.Since(start)
	if err != nil {
		return sample{}, err
	}
	doc, err := report.Read(bytes.NewReader(out))
	if err != nil {
		return sample{}, fmt.Errorf("cannot read etcdisk's result: %v", err)
	}
	// etcd's dashboard p99 (interpolated from its buckets), as etcd's
	// own is read.
	p99 := func(m *report.Metric) time.Duration {
		if m.PromP99Ns > 0 {
			return time.Duration(m.PromP99Ns)
		}
		return time.Duration(m.P99Ns)
	}
	w, b := doc.Metrics[report.MetricWALFdatasync], doc.Metrics[report.MetricBackendCommit]
	if w == nil {
		return sample{}, fmt.Errorf("etcdisk's result has no %s", report.MetricWALFdatasync)
	}
	if b == nil {
		b = &report.Metric{}
	}
	s := sample{
		walMean: time.Duration(w.MeanNs), walP99: p99(w), walHDRP99: time.Duration(w.P99Ns),
		beMean: time.Duration(b.MeanNs), beP99: p99(b),
	}
	if doc.Entries > 0 {
		s.fsyncsPerPut = float64(w.Count) / float64(doc.Entries)
	}
	if ru, ok := state.SysUsage().(*syscall.Rusage); ok {
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
