package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// promLint fails t with every problem promtool check metrics would report
// (promtool runs client_golang's promlint).
func promLint(t *testing.T, what string, text []byte) {
	t.Helper()
	problems, err := promlint.New(bytes.NewReader(text)).Lint()
	if err != nil {
		t.Fatalf("%s: promlint cannot parse it: %v", what, err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s: %s", what, p.Metric, p.Text)
	}
}

// TestPrometheusLint: the golden export and the export of every sample
// result pass promtool's lint.
func TestPrometheusLint(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "export_metrics.golden.prom"))
	if err != nil {
		t.Fatal(err)
	}
	promLint(t, "export_metrics.golden.prom", golden)
	fixtures, err := filepath.Glob(filepath.Join("..", "testdata", "results", "*.json"))
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no sample results (%v)", err)
	}
	for _, path := range fixtures {
		r, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WritePrometheus(&b, r); err != nil {
			t.Fatal(err)
		}
		promLint(t, filepath.Base(path), b.Bytes())
	}
}

// TestPrometheusBuildInfo: the export names the etcdisk that made it.
func TestPrometheusBuildInfo(t *testing.T) {
	r := exportTestResult(t)
	r.Environment.Version, r.Environment.Revision, r.Environment.Modified = "v1.2.0", "0123456789abcdef0123456789abcdef01234567", true
	var b bytes.Buffer
	if err := WritePrometheus(&b, r); err != nil {
		t.Fatal(err)
	}
	m := promFind(t, parseProm(t, b.String()), "etcdisk_build_info")
	ls := promLabels(m)
	if m.GetGauge().GetValue() != 1 || ls["version"] != "v1.2.0" || ls["revision"] != r.Environment.Revision || ls["modified"] != "true" || !strings.HasPrefix(ls["goversion"], "go") {
		t.Errorf("etcdisk_build_info %v = %v", ls, m.GetGauge().GetValue())
	}
}
