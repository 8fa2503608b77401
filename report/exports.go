package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"
)

// Formats are the names Render accepts, in the order `etcdisk report
// --format` lists them. "hgrm:<metric>" is accepted as well.
var Formats = []string{"text", "json", "hgrm", "hlog", "prom", "html"}

// Render writes r in one format:
//
//	text       the report for people (WriteText)
//	json       the result document (Write)
//	hgrm       every metric's percentile distribution, each block preceded
//	           by a "#[Metric: <name>]" line and separated by a blank line
//	hgrm:NAME  one metric's distribution alone, as HdrHistogram's plotter
//	           reads it (WriteHgrm)
//	hlog       the per-second interval log (WriteHlog)
//	prom       Prometheus text for node_exporter's textfile collector
//	           (WritePrometheus; "prometheus" is accepted too)
//	html       the self-contained HTML report (WriteHTML)
//
// Nothing is written to w when r cannot be rendered.
func Render(w io.Writer, r *Result, format string) error {
	if r == nil {
		return errors.New("report: nil result")
	}
	var b bytes.Buffer
	var err error
	switch f := strings.ToLower(strings.TrimSpace(format)); {
	case f == "text" || f == "txt":
		err = WriteText(&b, r)
	case f == "json":
		err = Write(&b, r)
	case f == "hgrm":
		err = writeAllHgrm(&b, r)
	case strings.HasPrefix(f, "hgrm:"):
		err = WriteHgrm(&b, r, strings.TrimSpace(format[len("hgrm:"):]))
	case f == "hlog":
		err = WriteHlog(&b, r)
	case f == "prom" || f == "prometheus":
		err = WritePrometheus(&b, r)
	case f == "html":
		err = WriteHTML(&b, r)
	default:
		return fmt.Errorf("report: unknown format %q (want one of %s, or hgrm:METRIC)", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return err
	}
	_, err = w.Write(b.Bytes())
	return err
}

// RenderFile renders r in format (as Render does) and replaces path with
// it atomically: the bytes go to a temporary file in path's directory,
// which is synced and renamed over path, so a reader (node_exporter's
// textfile collector) sees the old file or the new one, never half of one.
// Nothing is written when r cannot be rendered.
func RenderFile(path string, r *Result, format string) error {
	var b bytes.Buffer
	if err := Render(&b, r, format); err != nil {
		return err
	}
	return writeFileAtomic(path, b.Bytes())
}

// writeFileAtomic replaces path with data through a temporary file in
// path's own directory (renameio would otherwise pick the system's
// temporary directory when it shares the file system): the rename is then
// always possible, and nothing of etcdisk's lands outside the directory
// asked for. The temporary name starts with a dot and has a random
// suffix, so no textfile collector (which reads *.prom) picks it up.
func writeFileAtomic(path string, data []byte) error {
	return renameio.WriteFile(path, data, 0o644, renameio.WithTempDir(filepath.Dir(path)))
}

// writeAllHgrm concatenates the distributions of every metric that has a
// histogram.
func writeAllHgrm(w io.Writer, r *Result) error {
	n := 0
	for _, name := range sortedMetricNames(r) {
		var b bytes.Buffer
		err := WriteHgrm(&b, r, name)
		if errors.Is(err, errNoHistogram) {
			continue
		}
		if err != nil {
			return err
		}
		sep := ""
		if n > 0 {
			sep = "\n"
		}
		if _, err := fmt.Fprintf(w, "%s#[Metric: %s]\n%s", sep, name, b.Bytes()); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return errors.New("hgrm: the result has no metric with a histogram")
	}
	return nil
}

// ExportFiles names the files WriteAll writes besides one
// "<metric>.hgrm" per metric.
var ExportFiles = []string{"result.json", "report.txt", "report.html", "metrics.prom", "intervals.hlog"}

// WriteAll writes r and every export of it into dir (created if needed):
// result.json, report.txt, report.html, metrics.prom (for node_exporter's
// textfile collector), intervals.hlog and one <metric>.hgrm per metric
// that has a histogram. Every export is rendered before the first file is
// written, so a result that cannot be rendered leaves dir untouched; each
// file is then replaced atomically (written to a temporary file in dir,
// synced, renamed), so a reader never sees a half-written file.
func WriteAll(dir string, r *Result) error {
	if r == nil {
		return errors.New("report: nil result")
	}
	type file struct {
		name string
		data []byte
	}
	var files []file
	render := func(name string, fn func(io.Writer) error) error {
		var b bytes.Buffer
		if err := fn(&b); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		files = append(files, file{name, b.Bytes()})
		return nil
	}
	steps := []struct {
		name string
		fn   func(io.Writer) error
	}{
		{"result.json", func(w io.Writer) error { return Write(w, r) }},
		{"report.txt", func(w io.Writer) error { return WriteText(w, r) }},
		{"report.html", func(w io.Writer) error { return WriteHTML(w, r) }},
		{"metrics.prom", func(w io.Writer) error { return WritePrometheus(w, r) }},
		{"intervals.hlog", func(w io.Writer) error { return WriteHlog(w, r) }},
	}
	for _, s := range steps {
		if err := render(s.name, s.fn); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, name := range sortedMetricNames(r) {
		fname := promSanitize(name) + ".hgrm"
		if seen[fname] {
			return fmt.Errorf("two metrics map to the file name %s", fname)
		}
		seen[fname] = true
		err := render(fname, func(w io.Writer) error { return WriteHgrm(w, r, name) })
		if err != nil && !errors.Is(err, errNoHistogram) {
			return err
		}
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("write %s: %w", f.name, err)
		}
	}
	return nil
}
