package bench

import (
	"context"
	"os"
	"testing"

	"github.com/etcdisk/etcdisk/report"
	"github.com/etcdisk/etcdisk/wal/vfs"
)

// eatMyData is the operating system's file system with every fdatasync and
// fsync a no-op, as eatmydata's LD_PRELOAD makes them.
type eatMyData struct{ vfs.FS }

func (e eatMyData) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	f, err := e.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return noSync{f}, nil
}

func (e eatMyData) OpenDir(name string) (vfs.File, error) {
	f, err := e.FS.OpenDir(name)
	if err != nil {
		return nil, err
	}
	return noSync{f}, nil
}

type noSync struct{ vfs.File }

func (noSync) Fdatasync() error { return nil }
func (noSync) Fsync() error     { return nil }

// A disk whose fdatasync returns at once (nothing reaches stable storage)
// must not PASS: the verdict is INCONCLUSIVE with the plausibility check.
func TestRunNoopFdatasyncInconclusive(t *testing.T) {
	cfg := testConfig(t)
	cfg.Ops = 2000
	cfg.FS = eatMyData{vfs.Default}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Metrics[report.MetricWALFdatasync]
	t.Logf("wal_fdatasync p50 %d ns p99 %d ns; verdict %s: %s", m.P50Ns, m.P99Ns, res.Verdict, res.Reason)
	plausible := true
	for _, c := range res.Checks {
		plausible = plausible && c.Kind != report.CheckPlausibility
	}
	if res.Verdict != report.VerdictInconclusive || report.ExitCode(res) != 3 || plausible {
		t.Fatalf("verdict %q exit %d checks %+v, want inconclusive, 3 and a plausibility check",
			res.Verdict, report.ExitCode(res), res.Checks)
	}
}
