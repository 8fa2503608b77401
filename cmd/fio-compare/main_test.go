package main

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/etcdisk/etcdisk/cmd/internal/comparison"
	"github.com/etcdisk/etcdisk/report"
)

// etcdisk's side of the comparison is fio's: no warm-up, one pass into a
// freshly laid-out file; a run that is not is refused.
func TestEtcdiskRunsLikeFio(t *testing.T) {
	warm := &report.Result{Saves: fioWrites}
	warm.Config.WarmupNs = 2e9
	if likeFio(warm) == nil {
		t.Fatal("a run with a warm-up was accepted")
	}
	if likeFio(&report.Result{Saves: 2 * fioWrites}) == nil {
		t.Fatal("a run of two passes was accepted")
	}
	if testing.Short() {
		t.Skip("-short: not running etcdisk")
	}
	dir := t.TempDir()
	t.Chdir("../..") // comparison.Binary builds ./cmd/etcdisk
	bin, cleanup, err := comparison.Binary("")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	out, _, err := comparison.Run(context.Background(), bin, etcdiskArgs(dir)...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := report.Read(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := likeFio(r); err != nil {
		t.Fatal(err)
	}
}

// The acceptance band printed is the one enforced: a p50 or p99 ratio
// outside it is a disagreement (exit 1), the mean's is not judged.
func TestAgree(t *testing.T) {
	for _, tc := range []struct {
		p50, p99 float64
		ok       bool
	}{{1.08, 0.71, false}, {1, 1, true}, {0.80, 1.25, true}, {1.3, 1, false}} {
		err := agree(tc.p50, tc.p99)
		var off disagreement
		if (err == nil) != tc.ok || (err != nil && !errors.As(err, &off)) {
			t.Errorf("agree(%g, %g) = %v, want ok %v", tc.p50, tc.p99, err, tc.ok)
		}
	}
}
