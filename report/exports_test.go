package report

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRenderDispatches(t *testing.T) {
	r := exportTestResult(t)
	for format, direct := range map[string]func(*bytes.Buffer) error{
		"text":               func(b *bytes.Buffer) error { return WriteText(b, r) },
		"json":               func(b *bytes.Buffer) error { return Write(b, r) },
		"hgrm:wal_fdatasync": func(b *bytes.Buffer) error { return WriteHgrm(b, r, MetricWALFdatasync) },
		"hlog":               func(b *bytes.Buffer) error { return WriteHlog(b, r) },
		"prom":               func(b *bytes.Buffer) error { return WritePrometheus(b, r) },
		"prometheus":         func(b *bytes.Buffer) error { return WritePrometheus(b, r) },
		"HTML":               func(b *bytes.Buffer) error { return WriteHTML(b, r) },
	} {
		var got, want bytes.Buffer
		if err := Render(&got, r, format); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if err := direct(&want); err != nil {
			t.Fatal(err)
		}
		if got.Len() == 0 || !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("Render %s differs from its writer", format)
		}
	}
	var b bytes.Buffer
	if err := Render(&b, r, "pdf"); err == nil || !strings.Contains(err.Error(), "hgrm") || b.Len() != 0 {
		t.Errorf("unknown format: err %v, %d bytes written; want an error listing the formats, nothing written", err, b.Len())
	}
	if err := Render(&b, r, "hgrm:nope"); err == nil || b.Len() != 0 {
		t.Errorf("unknown metric: err %v, %d bytes written", err, b.Len())
	}
}

// TestRenderHgrmAllMetrics: "hgrm" concatenates every metric's block under
// a header line naming it, each block exactly WriteHgrm's.
func TestRenderHgrmAllMetrics(t *testing.T) {
	r := exportTestResult(t)
	var b bytes.Buffer
	if err := Render(&b, r, "hgrm"); err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(b.String(), "\n#[Metric: ")
	names := sortedMetricNames(r)
	if len(blocks) != len(names) {
		t.Fatalf("%d blocks, want one per metric (%d)", len(blocks), len(names))
	}
	blocks[0] = strings.TrimPrefix(blocks[0], "#[Metric: ")
	for i, name := range names {
		var want bytes.Buffer
		if err := WriteHgrm(&want, r, name); err != nil {
			t.Fatal(err)
		}
		if blocks[i] != name+"]\n"+want.String() {
			t.Errorf("block %d is not %s's distribution", i, name)
		}
	}
}

// TestWriteAll: every file is there, and re-rendering the result.json read
// back gives the same bytes as the files written (the exports depend only
// on the saved result).
func TestWriteAll(t *testing.T) {
	r := exportTestResult(t)
	dir := filepath.Join(t.TempDir(), "out")
	if err := WriteAll(dir, r); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := slices.Clone(ExportFiles)
	for _, n := range sortedMetricNames(r) {
		want = append(want, n+".hgrm")
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v (no temporary file left)", got, want)
	}
	back, err := ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	for file, format := range map[string]string{"report.txt": "text", "report.html": "html", "metrics.prom": "prom",
		"intervals.hlog": "hlog", "backend_commit.hgrm": "hgrm:backend_commit", "result.json": "json"} {
		var again bytes.Buffer
		if err := Render(&again, back, format); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, again.Bytes()) {
			t.Errorf("%s: re-rendering the saved result.json differs from the file", file)
		}
	}
}

func TestWriteAllRendersBeforeWriting(t *testing.T) {
	r := exportTestResult(t)
	r.Metrics[MetricWALWrite].Histogram = "HISTFAAAAbroken"
	dir := filepath.Join(t.TempDir(), "out")
	if err := WriteAll(dir, r); err == nil {
		t.Fatal("a result with a corrupt histogram was written")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the directory was created (%v) though nothing could be rendered", err)
	}
}

func TestWriteAllSanitizesMetricFileNames(t *testing.T) {
	r := exportKnownResult(t, map[int64]int64{1e6: 3})
	r.Metrics["../../evil"] = r.Metrics[MetricWALFdatasync]
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b")
	if err := WriteAll(dir, r); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "______evil.hgrm")); err != nil {
		t.Errorf("sanitized file missing: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "evil.hgrm")); err == nil {
		t.Error("a metric name escaped the output directory")
	}
}

// BenchmarkRender: the cost of each export of a 30-second result with five
// metrics (150 interval histograms).
func BenchmarkRender(b *testing.B) {
	r := exportTestResult(b)
	for _, format := range []string{"text", "json", "hgrm", "hlog", "prom", "html"} {
		b.Run(format, func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := Render(&buf, r, format); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(buf.Len()))
		})
	}
}

// TestRenderMinimalResults: a result with nothing measured (a run that
// failed at once) renders in every format but hgrm, which says why; an
// empty metric renders as an empty distribution.
func TestRenderMinimalResults(t *testing.T) {
	for _, r := range []*Result{
		{Schema: Schema, Verdict: VerdictError, Error: "open /dev/sdz: no such device"},
		{Schema: Schema, Verdict: VerdictPass, Metrics: map[string]*Metric{MetricWALFdatasync: {}}, Intervals: []Interval{{}}},
	} {
		for _, format := range Formats {
			var b bytes.Buffer
			err := Render(&b, r, format)
			if format == "hgrm" && len(r.Metrics) == 0 {
				if err == nil {
					t.Errorf("%s: hgrm of a result without histograms: no error", r.Verdict)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s %s: %v", r.Verdict, format, err)
			}
		}
		if err := WriteAll(t.TempDir(), r); err != nil {
			t.Errorf("%s: WriteAll: %v", r.Verdict, err)
		}
	}
}
