package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/etcdisk/etcdisk/bench"
	"github.com/etcdisk/etcdisk/bench/calibrate"
	"github.com/etcdisk/etcdisk/report"
)

const calibrateHelp = `Usage: etcdisk calibrate [--dir DIR] [--rate R] [--value-size S] [--duration D] [--tolerance T]

Checks etcdisk's model against a real etcd on the same disk. It starts a
single-member etcd in process (data in a folder of its own under --dir, ports
on 127.0.0.1 chosen free), drives puts at --rate with --value-size values from
an in-process client, and reads etcd's own metrics (WAL fsync and backend
commit: mean from sum/count, p50/p99 interpolated from etcd's buckets as
Prometheus' histogram_quantile does). Then it runs etcdisk's model with the
same rate, sizes and request shape (put) on the same disk (its puts, too, go
over loopback gRPC: see etcdisk run --help, --grpc), and prints both side by
side with their ratios. Everything it creates is removed.

It ends with a verdict on the model's WAL fsync mean over etcd's: PASS (exit
0) when the ratio lies within 1/T..T for --tolerance T (default 1.33: the
band 0.75-1.33), FAIL (exit 1) outside it.

Examples:
  etcdisk calibrate --dir /var/lib/etcd-test
  etcdisk calibrate --rate 1000 --value-size 1KiB --duration 30s --output json
  etcdisk calibrate --dir /var/lib/etcd-test --tolerance 1.2
`

// calibration is the JSON document of `etcdisk calibrate --output json`.
type calibration struct {
	Etcd   *calibrate.Result  `json:"etcd"`
	Model  *report.Result     `json:"model"`
	Ratios map[string]float64 `json:"ratios"` // model / etcd
	// Verdict is pass when Ratios["wal_fsync_mean"] lies within
	// 1/Tolerance..Tolerance, fail otherwise.
	Verdict   string  `json:"verdict"`
	Tolerance float64 `json:"tolerance"`
}

// calibrationVerdict judges the model's WAL fsync mean over etcd's.
func calibrationVerdict(ratio, tolerance float64) string {
	if ratio > 0 && ratio >= 1/tolerance && ratio <= tolerance {
		return report.VerdictPass
	}
	return report.VerdictFail
}

func cmdCalibrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := calibrate.Config{Dir: ".", Rate: 150, ValueSize: calibrate.DefaultValueSize,
		Duration: calibrate.DefaultDuration, Warmup: calibrate.DefaultWarmup, Version: etcdiskVersion()}
	output, outDir := "text", ""
	fs := newFlagSet("calibrate")
	fs.StringVar(&cfg.Dir, "dir", cfg.Dir, "directory on the disk to calibrate on")
	fs.Var(rateValue{&cfg.Rate}, "rate", "puts per second")
	fs.Var(sizeValue{&cfg.ValueSize}, "value-size", "value size of each put")
	fs.Var(durationValue{&cfg.Duration, false}, "duration", "measured window of each phase")
	fs.Var(durationValue{&cfg.Warmup, true}, "warmup", "warm-up of each phase, not measured")
	fs.Var(choiceValue{&output, []string{"text", "json"}}, "output", "format on stdout")
	fs.StringVar(&outDir, "out", "", "also write calibration.json and the model's result and exports here")
	tolerance := float64(calibrate.DefaultTolerance)
	fs.Float64Var(&tolerance, "tolerance", tolerance, "PASS when model/etcd WAL fsync mean is within 1/T..T")
	if ok, code := parseFlags(fs, args, calibrateHelp, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "calibrate", fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if cfg.Rate <= 0 {
		return usageError(stderr, "calibrate", "--rate must be positive")
	}
	if !(tolerance > 1) || math.IsInf(tolerance, 0) {
		return usageError(stderr, "calibrate", "--tolerance must be a number over 1 (e.g. 1.33 for the band 0.75-1.33)")
	}
	model, err := modelPlan(cfg, stderr)
	if err != nil {
		return usageError(stderr, "calibrate", err.Error())
	}
	if st, err := os.Stat(cfg.Dir); err != nil || !st.IsDir() {
		return usageError(stderr, "calibrate", fmt.Sprintf("%s is not a directory", cfg.Dir))
	}

	fmt.Fprintf(stderr, "etcdisk: real etcd at %g puts/s for %s (+%s warm-up)\n", cfg.Rate, cfg.Duration, cfg.Warmup)
	cal, err := calibrate.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "etcdisk calibrate: etcd: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stderr, "etcdisk: etcdisk's model at the same load\n")
	res, err := bench.RunPlan(ctx, model)
	if err != nil {
		fmt.Fprintf(stderr, "etcdisk calibrate: model: %v\n", err)
		return exitError
	}
	c := calibration{Etcd: cal, Model: res, Ratios: calibrationRatios(cal, res), Tolerance: tolerance}
	c.Verdict = calibrationVerdict(c.Ratios["wal_fsync_mean"], tolerance)
	code := exitPass
	if c.Verdict != report.VerdictPass {
		code = exitFail
	}
	if outDir != "" {
		if err := writeCalibration(outDir, c); err != nil {
			fmt.Fprintf(stderr, "etcdisk calibrate: %v\n", err)
			return exitError
		}
	}
	if output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(c); err != nil {
			fmt.Fprintf(stderr, "etcdisk calibrate: %v\n", err)
			return exitError
		}
		return code
	}
	writeCalibrationText(stdout, c)
	return code
}

// modelPlan is etcdisk's model of what calibrate sends the real etcd: the
// same rate, puts of the same values, over the request path. It has no
// named load: calibrate's etcd client is one connection with up to 4096
// puts in flight, and so is the model's unnamed one.
func modelPlan(cfg calibrate.Config, log io.Writer) (bench.Plan, error) {
	values, err := bench.ParseValueSize(fmt.Sprint(cfg.ValueSize))
	if err != nil {
		return bench.Plan{}, err
	}
	return bench.NewPlan(bench.Config{
		Dir: cfg.Dir, Rate: cfg.Rate, Duration: cfg.Duration, Warmup: bench.Given(cfg.Warmup),
		ValueSize: values, Request: bench.RequestPut,
		KeySize: 32, // calibrate's keys: /registry/pods/default/pod-NNNNN
		Log:     log, Version: etcdiskVersion(),
	})
}

func writeCalibration(dir string, c calibration) error {
	if err := report.WriteAll(dir, c.Model); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "calibration.json"), append(b, '\n'), 0o644)
}

func ratioOf(model, etcd time.Duration) float64 {
	if etcd <= 0 {
		return 0
	}
	return float64(model) / float64(etcd)
}

// calibrationRatios compares like with like: means with means, and
// bucket-interpolated quantiles (what etcd reports) with the model's
// quantiles interpolated from the same buckets.
func calibrationRatios(cal *calibrate.Result, res *report.Result) map[string]float64 {
	out := map[string]float64{}
	add := func(name string, m *report.Metric, e calibrate.Metric) {
		if m == nil || e.Count == 0 {
			return
		}
		out[name+"_mean"] = ratioOf(time.Duration(m.MeanNs), e.Mean)
		out[name+"_dashboard_p99"] = ratioOf(time.Duration(m.PromP99Ns), e.P99)
	}
	add("wal_fsync", res.Metrics[report.MetricWALFdatasync], cal.WALFsync)
	add("backend_commit", res.Metrics[report.MetricBackendCommit], cal.BackendCommit)
	return out
}

func writeCalibrationText(w io.Writer, c calibration) {
	cal, res := c.Etcd, c.Model
	fmt.Fprintf(w, "Calibration: real etcd vs etcdisk's model, %g puts/s, %d-byte values, %s each, on %s\n\n",
		cal.Config.Rate, cal.Config.ValueSize, cal.Config.Duration, res.Environment.Path)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "metric\tetcd\tetcdisk\tratio\t")
	fd := func(d time.Duration) string { return report.FormatDuration(d) }
	row := func(name string, m *report.Metric, e calibrate.Metric) {
		if m == nil {
			m = &report.Metric{}
		}
		h, _ := m.Hist()
		var p50 time.Duration
		if h != nil {
			p50 = report.PromQuantile(h, 0.50)
		}
		fmt.Fprintf(tw, "%s mean\t%s\t%s\t%.2f\t\n", name, fd(e.Mean), fd(time.Duration(m.MeanNs)), ratioOf(time.Duration(m.MeanNs), e.Mean))
		fmt.Fprintf(tw, "%s p50 (buckets)\t%s\t%s\t%.2f\t\n", name, fd(e.P50), fd(p50), ratioOf(p50, e.P50))
		fmt.Fprintf(tw, "%s p99 (buckets)\t%s\t%s\t%.2f\t\n", name, fd(e.P99), fd(time.Duration(m.PromP99Ns)), ratioOf(time.Duration(m.PromP99Ns), e.P99))
		fmt.Fprintf(tw, "%s count\t%d\t%d\t\t\n", name, e.Count, m.Count)
	}
	row("WAL fsync", res.Metrics[report.MetricWALFdatasync], cal.WALFsync)
	row("backend commit", res.Metrics[report.MetricBackendCommit], cal.BackendCommit)
	modelPerPut := 0.0
	if res.Entries > 0 {
		modelPerPut = float64(res.Metrics[report.MetricWALFdatasync].Count) / float64(res.Entries)
	}
	fmt.Fprintf(tw, "fsyncs per put\t%.2f\t%.2f\t\t\n", cal.FsyncsPerPut, modelPerPut)
	if cal.PutLatency != nil {
		if pc := res.Metrics[report.MetricProposalCommit]; pc != nil {
			fmt.Fprintf(tw, "put p99 (client) / proposal_commit p99\t%s\t%s\t\t\n",
				fd(time.Duration(cal.PutLatency.ValueAtQuantile(99))), fd(time.Duration(pc.P99Ns)))
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "\n(etcd's quantiles are interpolated from its 14 buckets; etcdisk's are shown the same way. ratio = etcdisk / etcd)")
	for _, warn := range cal.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	word := "PASS"
	if c.Verdict != report.VerdictPass {
		word = "FAIL"
	}
	fmt.Fprintf(w, "\nVerdict: %s: model/etcd WAL fsync mean %.2f, tolerance %.2f-%.2f (--tolerance %g)\n",
		word, c.Ratios["wal_fsync_mean"], 1/c.Tolerance, c.Tolerance, c.Tolerance)
}
