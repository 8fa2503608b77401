package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/bench"
	"github.com/etcdisk/etcdisk/report"
)

// runJSON runs etcdisk with args and reads its one JSON result.
func runJSON(t *testing.T, args ...string) *report.Result {
	t.Helper()
	r := etcdisk(t, append(args, "--output", "json")...)
	res, err := report.Read(strings.NewReader(r.stdout))
	if err != nil {
		t.Fatalf("exit %d, stdout is not a result: %v\nstderr: %s", r.code, err, r.stderr)
	}
	return res
}

// TestDefaultRunRequestPath: with no load flags, a run is load s (etcdctl
// check perf's default) open loop through the request path, backend on and
// judged.
func TestDefaultRunRequestPath(t *testing.T) {
	dir := t.TempDir()
	res := runJSON(t, "run", "--dir", dir, "--duration", "3s", "--warmup", "0s")
	c := res.Config
	if c.Mode != bench.ModeRequestPath || !c.GRPC || c.Load != "s" || c.Rate != 150 || c.Clients != 50 {
		t.Fatalf("config mode %q grpc %v load %q rate %g clients %d, want the request path at load s (150/s, 50 clients)",
			c.Mode, c.GRPC, c.Load, c.Rate, c.Clients)
	}
	if c.KeySize != 276 || c.ValueSize != "1KiB" || c.Request != bench.RequestPut || !c.Backend {
		t.Fatalf("config keys %d values %q request %q backend %v, want etcdctl check perf's 276-byte keys, 1KiB values, puts, backend on",
			c.KeySize, c.ValueSize, c.Request, c.Backend)
	}
	pc := res.Metrics[report.MetricProposalCommit]
	if pc == nil || pc.Count < 300 {
		t.Fatalf("proposal_commit %+v, want about 450 proposals in 3s", pc)
	}
	if m := res.Metrics[report.MetricBackendCommit]; m == nil || m.Count == 0 {
		t.Fatalf("no backend commit: %+v", m)
	}
	judged := false
	for _, ch := range res.Checks {
		judged = judged || (ch.Metric == report.MetricBackendCommit && ch.TargetNs == int64(25*time.Millisecond))
	}
	if !judged {
		t.Fatalf("backend_commit is not among the checks: %+v", res.Checks)
	}
	assertNoRunFolder(t, dir)
}

// TestLoadFlags: --load picks etcdctl's numbers, explicit flags override
// them, and --rate max is the closed loop.
func TestLoadFlags(t *testing.T) {
	dir := t.TempDir()
	res := runJSON(t, "run", "--dir", dir, "--load", "kubernetes", "--rate", "300", "--key-size", "64",
		"--duration", "2s", "--warmup", "0s", "--backend=false")
	c := res.Config
	if c.Load != "kubernetes" || c.Rate != 300 || c.Clients != 100 || c.KeySize != 64 || c.ValueSize != "kubernetes" || c.Request != bench.RequestTxn {
		t.Fatalf("--load kubernetes --rate 300 --key-size 64: %+v", c)
	}
	res = runJSON(t, "run", "--dir", dir, "--clients", "0", "--duration", "1s", "--warmup", "0s", "--backend=false")
	if c := res.Config; c.Clients != 0 || c.Load != "s" || c.Mode != bench.ModeRequestPath {
		t.Fatalf("--clients 0: clients %d load %q mode %q, want load s over one unbounded connection", c.Clients, c.Load, c.Mode)
	}
	res = runJSON(t, "run", "--dir", dir, "--load", "medium", "--rate", "max", "--ops", "200", "--warmup", "0s", "--backend=false")
	c = res.Config
	if c.Mode != bench.ModeClosedLoop || c.Rate != 0 || c.Load != "m" || c.ValueSize != "1KiB" || res.Saves != 200 {
		t.Fatalf("--load medium --rate max: mode %q rate %g load %q values %q saves %d, want the closed loop with load m's sizes",
			c.Mode, c.Rate, c.Load, c.ValueSize, res.Saves)
	}
	if _, ok := res.Metrics[report.MetricProposalCommit]; ok {
		t.Fatal("a closed loop has no proposals, but proposal_commit was measured")
	}
	res = runJSON(t, "run", "--dir", dir, "--rate", "max", "--ops", "200", "--warmup", "0s", "--backend=false")
	if c := res.Config; c.Mode != bench.ModeClosedLoop || c.Load != "" || c.ValueSize != "" || c.EntrySize != bench.DefaultEntrySize() {
		t.Fatalf("--rate max: %+v, want the closed loop of 2,300-byte Saves", c)
	}
	assertNoRunFolder(t, dir)
}

// TestDefaultDurationDocumented: the default duration is what the README
// and --help say it is.
func TestDefaultDurationDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("then `--duration (\\S+)`").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README's Getting started does not say the default duration (then `--duration D`)")
	}
	if d, err := time.ParseDuration(string(m[1])); err != nil || d != bench.DefaultDuration {
		t.Errorf("README says the default run measures %s, the default is %s", m[1], bench.DefaultDuration)
	}
	if d := bench.DefaultConfig().Duration; d != bench.DefaultDuration {
		t.Errorf("DefaultConfig's duration %s, DefaultDuration %s", d, bench.DefaultDuration)
	}
	help := etcdisk(t, "run", "--help").stdout
	if !strings.Contains(help, "(default "+bench.DefaultDuration.String()+")") || !strings.Contains(help, "The default 2 minutes") {
		t.Errorf("run --help does not give the default duration %s", bench.DefaultDuration)
	}
	for _, want := range []string{"--load m", "--find-limit --duration 10s", "--rate max"} {
		if !strings.Contains(help, want) {
			t.Errorf("run --help has no example with %q", want)
		}
	}
}
