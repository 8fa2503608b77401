package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/etcdisk/etcdisk/bench/guard"
	"github.com/etcdisk/etcdisk/bench/sysinfo"
	"github.com/etcdisk/etcdisk/report"
)

var reportHelp = `Usage: etcdisk report RESULT.json|- [--format text|json|hgrm|hlog|prom|html] [--write FILE] [--push URL]

Re-renders a saved result: the same output as the run that made it.
` + inputHelp + `
Formats:
  text   the report a person reads (default)
  json   the result document (schema 1)
  hgrm   HdrHistogram percentile distribution of every metric;
         hgrm:wal_fdatasync gives one metric alone, as HdrHistogram's plotter reads it
  hlog   HdrHistogram interval log, one histogram per second per metric
  prom   Prometheus text exposition for node_exporter's textfile collector
  html   a single-file HTML report with plots

--write FILE puts the output in FILE instead of stdout, replaced atomically
(a temporary file in FILE's directory renamed over it): node_exporter's
textfile collector never reads half of it. --push URL sends the Prometheus
export to a Pushgateway (PUT URL/metrics/job/etcdisk/instance/HOST); a
failed push exits 2.

Examples:
  etcdisk report result.json
  etcdisk report result.json --format html --write report.html
  etcdisk report result.json --format prom --write /var/lib/node_exporter/textfile/etcdisk.prom
  etcdisk report result.json --push http://pushgateway:9091 --format json > /dev/null
  ssh node-a cat results/result.json | etcdisk report -
`

func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	format, write, pushURL := "text", "", ""
	fs := newFlagSet("report")
	fs.StringVar(&format, "format", format, "text, json, hgrm (or hgrm:METRIC), hlog, prom or html")
	fs.StringVar(&write, "write", "", "write to this file (replaced atomically) instead of stdout")
	fs.StringVar(&pushURL, "push", "", "also push the Prometheus export to this Pushgateway")
	if ok, code := parseFlags(fs, args, reportHelp, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return usageError(stderr, "report", "want exactly one RESULT.json (or - for standard input)")
	}
	var target *pushTarget
	if pushURL != "" {
		var err error
		if target, err = parsePushURL(pushURL); err != nil {
			return usageError(stderr, "report", err.Error())
		}
	}
	if write != "" {
		if err := checkFileDir("--write", write); err != nil {
			return usageError(stderr, "report", err.Error())
		}
	}
	r, err := readResult(ctx, fs.Arg(0))
	if err == nil && write != "" {
		err = report.RenderFile(write, r, format)
	} else if err == nil {
		err = report.Render(stdout, r, format)
	}
	if err == nil && target != nil {
		err = target.push(ctx, r)
	}
	if err != nil {
		fmt.Fprintf(stderr, "etcdisk report: %v\n", err)
		return exitError
	}
	return exitPass
}

const infoHelp = `Usage: etcdisk info [--dir DIR | --device DEV] [--output text|json]

Describes the file system and the block device behind DIR (mount options,
model, rotational, scheduler, write cache, block sizes) and warns about
settings that make fdatasync lie. Lists the folders of etcdisk runs working
in DIR and those killed runs left behind, with their size (etcdisk clean
removes the latter). With --device it says what the data guard finds on a
raw device (mounts, holders, swap, partition tables, file system and RAID
signatures) and whether etcdisk run --device would write to it. Writes
nothing. --output json prints one JSON document: {"environment": ...,
"refused": ..., "run_folders": [...]} for a directory (environment as in a
result.json), and for a device the guard's findings and "run": "write",
"refused" (in use or read-only) or "refused-unless-destroy-data".

Examples:
  etcdisk info --dir /var/lib/etcd
  etcdisk info --device /dev/nvme1n1
  etcdisk info --dir /var/lib/etcd --output json | jq .environment.write_cache
`

func cmdInfo(_ context.Context, args []string, stdout, stderr io.Writer) int {
	dir, device, output := ".", "", "text"
	fs := newFlagSet("info")
	fs.StringVar(&dir, "dir", dir, "directory to describe")
	fs.StringVar(&device, "device", "", "raw block device to inspect")
	fs.Var(choiceValue{&output, []string{"text", "json"}}, "output", "output format")
	if ok, code := parseFlags(fs, args, infoHelp, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, "info", fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if device != "" {
		return infoDevice(device, output, stdout, stderr)
	}
	env := sysinfo.Probe(dir, etcdiskVersion())
	if env.Filesystem == "" {
		fmt.Fprintf(stderr, "etcdisk info: cannot find the file system of %s\n", dir)
		return exitError
	}
	if output == "json" {
		return jsonOrError(stdout, stderr, newInfoDir(dir, env))
	}
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(stdout, "%-20s %s\n", k+":", v)
		}
	}
	row("path", env.Path)
	row("filesystem", env.Filesystem)
	row("mount point", env.MountPoint)
	row("mount source", env.MountSource)
	row("mount options", env.MountOptions)
	row("device", env.Device)
	row("model", env.DeviceModel)
	if env.Rotational != nil {
		row("rotational", fmt.Sprint(*env.Rotational))
	}
	row("scheduler", env.Scheduler)
	row("write cache", env.WriteCache)
	if env.LogicalBlock > 0 {
		row("block size", fmt.Sprintf("%d logical, %d physical", env.LogicalBlock, env.PhysicalBlock))
	}
	row("free", fmt.Sprintf("%.1f GiB", float64(env.FreeBytes)/(1<<30)))
	row("kernel", env.Kernel)
	row("cpus", fmt.Sprint(env.CPUs))
	if err := sysinfo.CheckTarget(dir); err != nil {
		fmt.Fprintf(stdout, "refused:             %v\n", err)
	}
	for _, w := range env.Warnings {
		fmt.Fprintf(stdout, "warning:             %s\n", w)
	}
	infoFolders(dir, stdout)
	return exitPass
}

var compareHelp = `Usage: etcdisk compare BASE.json NEW.json [--max-regression 1.2]

Puts two results side by side, metric by metric, with ratios; says whether
each p99 difference is larger than both runs' confidence intervals; lists
environment differences (disk model, file system, mount options, kernel) and
both verdicts. Exits 1 when NEW's p99 regresses past --max-regression
(NEW/BASE) by more than the noise: the pre-migration check.
` + inputHelp + `
Examples:
  etcdisk compare old-disk/result.json new-disk/result.json
  ssh node-a cat results/result.json | etcdisk compare - new-disk/result.json
`

func cmdCompare(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	maxReg := 1.2
	format := "text"
	fs := newFlagSet("compare")
	fs.Float64Var(&maxReg, "max-regression", maxReg, "largest acceptable NEW/BASE p99 ratio")
	fs.Var(choiceValue{&format, []string{"text", "json"}}, "format", "output format")
	if ok, code := parseFlags(fs, args, compareHelp, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() != 2 {
		return usageError(stderr, "compare", "want BASE.json and NEW.json")
	}
	if stdinTwice(fs.Args()) {
		return usageError(stderr, "compare", "standard input (-) can be read only once")
	}
	if maxReg < 1 {
		return usageError(stderr, "compare", fmt.Sprintf("--max-regression must be at least 1, got %g", maxReg))
	}
	base, err := readResult(ctx, fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "etcdisk compare: %v\n", err)
		return exitError
	}
	cur, err := readResult(ctx, fs.Arg(1))
	if err != nil {
		fmt.Fprintf(stderr, "etcdisk compare: %v\n", err)
		return exitError
	}
	c := report.Compare(base, cur, maxReg)
	if format == "json" {
		err = report.WriteComparisonJSON(stdout, c)
	} else {
		err = report.WriteComparisonText(stdout, c)
	}
	if err != nil {
		fmt.Fprintf(stderr, "etcdisk compare: %v\n", err)
		return exitError
	}
	if c.Regressed {
		return exitFail
	}
	return exitPass
}

var mergeHelp = `Usage: etcdisk merge RESULT.json... [--format text|json|csv|html]

One table for a fleet: a row per host and device, worst first, with verdicts
and p99s, and totals. A run counts once: a file given twice (overlapping
globs) or a copy of a run (same host, path and start time) is left out, and
the output says so (on stderr for csv and json; json also lists them under
"duplicates"). The csv has a column per field, including start_time,
duration_ns, load (closed or open), rate_per_s, scenario and neighbors.
` + inputHelp + `
Examples:
  etcdisk merge results/*/result.json --format html > fleet.html
  etcdisk merge results/*/result.json --format csv > fleet.csv
`

func cmdMerge(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	format := "text"
	fs := newFlagSet("merge")
	fs.Var(choiceValue{&format, []string{"text", "json", "csv", "html"}}, "format", "output format")
	if ok, code := parseFlags(fs, args, mergeHelp, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() == 0 {
		return usageError(stderr, "merge", "want at least one RESULT.json")
	}
	if stdinTwice(fs.Args()) {
		return usageError(stderr, "merge", "standard input (-) can be read only once")
	}
	var results []*report.Result
	for _, p := range fs.Args() {
		r, err := readResult(ctx, p)
		if err != nil {
			fmt.Fprintf(stderr, "etcdisk merge: %v\n", err)
			return exitError
		}
		results = append(results, r)
	}
	f := report.Merge(results, fs.Args())
	if format == "csv" || format == "json" {
		for _, d := range f.Duplicates {
			fmt.Fprintf(stderr, "etcdisk merge: %s\n", d)
		}
	}
	if err := report.WriteFleet(stdout, f, strings.ToLower(format)); err != nil {
		fmt.Fprintf(stderr, "etcdisk merge: %v\n", err)
		return exitError
	}
	return exitPass
}

func infoDevice(dev, output string, stdout, stderr io.Writer) int {
	f, err := guard.Inspect(dev)
	if err != nil {
		fmt.Fprintf(stderr, "etcdisk info: %v\n", err)
		return exitError
	}
	env := sysinfo.ProbeDevice(dev, etcdiskVersion())
	if output == "json" {
		return jsonOrError(stdout, stderr, newInfoDevice(f, env))
	}
	fmt.Fprintf(stdout, "%-20s %s\n", "device:", dev)
	if env.DeviceModel != "" {
		fmt.Fprintf(stdout, "%-20s %s\n", "model:", env.DeviceModel)
	}
	if env.WriteCache != "" {
		fmt.Fprintf(stdout, "%-20s %s\n", "write cache:", env.WriteCache)
	}
	fmt.Fprint(stdout, f.String())
	if !strings.HasSuffix(f.String(), "\n") {
		fmt.Fprintln(stdout)
	}
	_, sentence := deviceRun(f)
	fmt.Fprintln(stdout, "etcdisk run --device: "+sentence)
	return exitPass
}
