package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/etcdisk/etcdisk/bench/calibrate"
	"github.com/etcdisk/etcdisk/report"
)

func TestCalibrationVerdict(t *testing.T) {
	for _, tc := range []struct {
		ratio, tol float64
		want       string
	}{
		{1.0, 1.33, report.VerdictPass},
		{0.76, 1.33, report.VerdictPass},
		{1.32, 1.33, report.VerdictPass},
		{0.74, 1.33, report.VerdictFail},
		{1.34, 1.33, report.VerdictFail},
		{0, 1.33, report.VerdictFail}, // no ratio: nothing to vouch for
		{1.15, 1.1, report.VerdictFail},
	} {
		if got := calibrationVerdict(tc.ratio, tc.tol); got != tc.want {
			t.Errorf("ratio %.2f tolerance %.2f: %s, want %s", tc.ratio, tc.tol, got, tc.want)
		}
	}
	var b bytes.Buffer
	c := calibration{
		Etcd:   &calibrate.Result{},
		Model:  &report.Result{Metrics: map[string]*report.Metric{}},
		Ratios: map[string]float64{"wal_fsync_mean": 1.5}, Verdict: report.VerdictFail, Tolerance: 1.33,
	}
	writeCalibrationText(&b, c)
	if !strings.Contains(b.String(), "Verdict: FAIL: model/etcd WAL fsync mean 1.50, tolerance 0.75-1.33") {
		t.Fatalf("no verdict line:\n%s", b.String())
	}
}

func TestCalibrateToleranceMustExceedOne(t *testing.T) {
	for _, tol := range []string{"1", "0.8", "NaN", "x"} {
		r := etcdisk(t, "calibrate", "--dir", t.TempDir(), "--tolerance", tol)
		if r.code != exitError || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("--tolerance %s: exit %d, stderr %q", tol, r.code, r.stderr)
		}
	}
}
