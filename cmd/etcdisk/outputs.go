package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/etcdisk/etcdisk/report"
)

// runOutputs are the places a run's result goes besides stdout: a
// directory of exports (--out), node_exporter's textfile (--prom-file),
// a Pushgateway (--push).
type runOutputs struct {
	outDir   string
	force    bool
	promFile string
	pushURL  string
	push     *pushTarget
}

func (o *runOutputs) flags(fs *pflag.FlagSet) {
	fs.StringVar(&o.outDir, "out", "", "also write result.json and every export into this directory (checked writable before measuring)")
	fs.BoolVar(&o.force, "force", false, "with --out: replace a result.json (and its exports) already in the directory")
	fs.StringVar(&o.promFile, "prom-file", "", "also write the Prometheus export to this file, replaced atomically (node_exporter's textfile collector reads *.prom)")
	fs.StringVar(&o.pushURL, "push", "", "also push the Prometheus export to this Pushgateway (job etcdisk, instance the host); a failed push is a warning")
}

// validate checks the destinations before the run, so that a typo does
// not cost a whole measurement.
func (o *runOutputs) validate() error {
	if o.outDir != "" {
		if err := checkOutDir(o.outDir, o.force); err != nil {
			return err
		}
	}
	if o.promFile != "" {
		if err := checkFileDir("--prom-file", o.promFile); err != nil {
			return err
		}
	}
	if o.pushURL != "" {
		p, err := parsePushURL(o.pushURL)
		if err != nil {
			return err
		}
		o.push = p
	}
	return nil
}

// checkFileDir says why path cannot be written as a file: its directory
// is missing or path is a directory.
func checkFileDir(flag, path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s %s is a directory; want a file name", flag, path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s: cannot use directory %s: %v", flag, dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: %s is not a directory", flag, dir)
	}
	return nil
}

// writeFiles writes the result into --out and --prom-file; false (after
// one line on stderr) when a file could not be written.
func (o *runOutputs) writeFiles(res *report.Result, stderr io.Writer) bool {
	if o.outDir != "" {
		if err := report.WriteAll(o.outDir, res); err != nil {
			fmt.Fprintf(stderr, "etcdisk run: cannot write results to %s: %v\n", o.outDir, err)
			return false
		}
	}
	if o.promFile != "" {
		if err := report.RenderFile(o.promFile, res, "prom"); err != nil {
			fmt.Fprintf(stderr, "etcdisk run: cannot write --prom-file %s: %v\n", o.promFile, err)
			return false
		}
	}
	return true
}

// pushResult pushes to --push. A failure is a warning: the verdict stands
// on the measurement, and the result is in the other outputs.
func (o *runOutputs) pushResult(ctx context.Context, res *report.Result, stderr io.Writer) {
	if o.push == nil {
		return
	}
	if err := o.push.push(ctx, res); err != nil {
		fmt.Fprintf(stderr, "etcdisk run: warning: %v (the verdict and exit code stand)\n", err)
	}
}
