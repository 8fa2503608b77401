package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// binary is the etcdisk built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "etcdisk-e2e-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "etcdisk")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		panic("building etcdisk: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func etcdisk(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, so.String(), se.String()}
}

// assertNoRunFolder fails if a run left its folder in dir.
func assertNoRunFolder(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "etcdisk-run-") || strings.HasPrefix(e.Name(), ".etcdisk") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // in the one stderr line
	}{
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"unknown flag", []string{"run", "--frob"}, "unknown flag"},
		{"mistyped command", []string{"rpeort"}, `unknown command "rpeort"; did you mean report?`},
		{"mistyped flag", []string{"run", "--duraton", "3s"}, "unknown flag: --duraton; did you mean --duration?"},
		{"mistyped flag with value", []string{"merge", "--fromat=csv"}, "did you mean --format?"},
		{"flag prefix", []string{"run", "--dur", "3s"}, "did you mean --duration?"},
		{"British spelling", []string{"run", "--neighbour", "fsync"}, "did you mean --neighbor?"},
		{"mistyped size", []string{"run", "--dir", dir, "--entry-size", "4kk"}, "bad size"},
		{"bad size", []string{"run", "--dir", dir, "--entry-size", "12XB"}, "bad size"},
		{"negative size", []string{"run", "--dir", dir, "--entry-size", "-5"}, "negative"},
		{"zero entry size", []string{"run", "--dir", dir, "--entry-size", "0"}, "--entry-size must be at least 1 byte"},
		{"zero segment size", []string{"run", "--dir", dir, "--segment-size", "0"}, "--segment-size must be at least 64KiB"},
		{"fio with value sizes", []string{"run", "--dir", dir, "--workload", "fio", "--value-size", "4KiB"}, "takes no --entry-size, --value-size"},
		{"fio with a request shape", []string{"run", "--dir", dir, "--workload", "fio", "--request", "put"}, "takes no --entry-size, --value-size"},
		{"fio with a batch", []string{"run", "--dir", dir, "--workload", "fio", "--batch", "4"}, "takes no --batch or --arrivals"},
		{"fio with arrivals", []string{"run", "--dir", dir, "--workload", "fio", "--arrivals", "poisson"}, "takes no --batch or --arrivals"},
		{"bad arrivals", []string{"run", "--dir", dir, "--arrivals", "bursty"}, `unknown arrival process "bursty"`},
		{"bad duration", []string{"run", "--dir", dir, "--duration", "ten"}, "bad duration"},
		{"zero duration", []string{"run", "--dir", dir, "--duration", "0s"}, "must be positive"},
		{"negative duration", []string{"run", "--dir", dir, "--duration", "-1s"}, "must be positive"},
		{"bad rate", []string{"run", "--dir", dir, "--rate", "fast"}, "bad rate"},
		{"bad rate unit", []string{"run", "--dir", dir, "--rate", "5/fortnight"}, "unknown unit"},
		{"negative rate", []string{"run", "--dir", dir, "--rate", "-3"}, "negative"},
		{"bad workload", []string{"run", "--dir", dir, "--workload", "sqlite"}, "not one of"},
		{"bad output", []string{"run", "--dir", dir, "--output", "xml"}, "not one of"},
		{"bad batch", []string{"run", "--dir", dir, "--batch", "0"}, "batch"},
		{"bad ops", []string{"run", "--dir", dir, "--ops", "many"}, "invalid argument"},
		{"negative ops", []string{"run", "--dir", dir, "--ops", "-1"}, "ops"},
		{"missing dir", []string{"run", "--dir", filepath.Join(dir, "nope"), "--ops", "10"}, "does not exist"},
		{"dir is a file", []string{"run", "--dir", file, "--ops", "10"}, "not a directory"},
		{"stray argument", []string{"run", "--dir", dir, "extra"}, "unexpected argument"},
		{"grpc in the closed loop", []string{"run", "--dir", dir, "--rate", "max", "--grpc"}, "--grpc needs an open loop"},
		{"zero rate", []string{"run", "--dir", dir, "--rate", "0"}, "positive rate, or max"},
		{"zero rate per minute", []string{"run", "--dir", dir, "--rate", "0/m"}, "positive rate, or max"},
		{"fio with a rate", []string{"run", "--dir", dir, "--workload", "fio", "--rate", "500"}, "takes no --rate"},
		{"fio with max", []string{"run", "--dir", dir, "--workload", "fio", "--rate", "max"}, "takes no --rate"},
		{"fio with a load", []string{"run", "--dir", dir, "--workload", "fio", "--load", "m"}, "takes no --rate or --load"},
		{"unknown load", []string{"run", "--dir", dir, "--load", "huge"}, `unknown load "huge"`},
		{"clients in the closed loop", []string{"run", "--dir", dir, "--rate", "max", "--clients", "3"}, "--clients needs the request path"},
		{"find-limit in the closed loop", []string{"run", "--dir", dir, "--rate", "max", "--find-limit", "--duration", "1s"}, "not --rate max"},
		{"grpc with batch", []string{"run", "--dir", dir, "--rate", "100", "--batch", "2"}, "--grpc=false"},
		{"bad neighbour spec", []string{"run", "--dir", dir, "--neighbor", "seqwrite,frobs=3"}, `unknown key "frobs"`},
		{"unknown scenario", []string{"run", "--dir", dir, "--scenario", "tuesday"}, `unknown scenario "tuesday"`},
		{"bad value size", []string{"run", "--dir", dir, "--value-size", "2MiB"}, "request limit"},
		{"report no file", []string{"report", filepath.Join(dir, "none.json")}, "no such file"},
		{"report bad json", []string{"report", file}, "result"},
		{"compare one file", []string{"compare", file}, "want BASE.json and NEW.json"},
		{"merge nothing", []string{"merge"}, "at least one"},
		{"clean without dir", []string{"clean"}, "--dir is required"},
		{"clean missing dir", []string{"clean", "--dir", filepath.Join(dir, "nope")}, "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) { assertUsageError(t, dir, tc.args, tc.want) })
	}
}

// assertUsageError runs etcdisk with args and checks a bad input's ending:
// exit 2, one stderr line that mentions want, no stack trace, nothing on
// stdout, no run folder left in dir.
func assertUsageError(t *testing.T, dir string, args []string, want string) {
	t.Helper()
	r := etcdisk(t, args...)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2; stderr:\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("stderr has %d lines, want one:\n%s", len(lines), r.stderr)
	}
	if !strings.Contains(strings.ToLower(lines[0]), strings.ToLower(want)) {
		t.Fatalf("stderr %q does not mention %q", lines[0], want)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
		t.Fatalf("stack trace on stderr:\n%s", r.stderr)
	}
	if r.stdout != "" {
		t.Fatalf("partial output on stdout:\n%s", r.stdout)
	}
	assertNoRunFolder(t, dir)
}

func TestUnwritableDir(t *testing.T) {
	if os.Geteuid() == 0 {
		// root writes anywhere; use a read-only bind of a temp dir instead.
		dir := t.TempDir()
		if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
			t.Skipf("cannot bind-mount: %v", err)
		}
		t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
		if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
			t.Skipf("cannot remount read-only: %v", err)
		}
		r := etcdisk(t, "run", "--rate", "max", "--dir", dir, "--ops", "10")
		if r.code != 2 || !strings.Contains(r.stderr, "read-only") {
			t.Fatalf("exit %d, stderr %q; want 2 and a read-only file system error", r.code, r.stderr)
		}
		return
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	r := etcdisk(t, "run", "--rate", "max", "--dir", dir, "--ops", "10")
	if r.code != 2 || !strings.Contains(r.stderr, "cannot write") {
		t.Fatalf("exit %d, stderr %q; want 2 and cannot write", r.code, r.stderr)
	}
}

func TestRefusesTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=16m"); err != nil {
		t.Skipf("cannot mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	r := etcdisk(t, "run", "--rate", "max", "--dir", dir, "--ops", "10")
	if r.code != 2 || !strings.Contains(r.stderr, "tmpfs") || !strings.Contains(r.stderr, "fsync is a no-op") {
		t.Fatalf("exit %d, stderr %q; want 2 and the tmpfs reason", r.code, r.stderr)
	}
	assertNoRunFolder(t, dir)
}

// jsonResult is the part of result.json the tests read.
type jsonResult struct {
	Schema      int    `json:"schema"`
	Verdict     string `json:"verdict"`
	Interrupted bool   `json:"interrupted"`
	Saves       int64  `json:"saves"`
	Workload    string `json:"workload"`
	DurationNs  int64  `json:"duration_ns"`
	Metrics     map[string]struct {
		Count int64 `json:"count"`
		P99Ns int64 `json:"p99_ns"`
		P50Ns int64 `json:"p50_ns"`
	} `json:"metrics"`
	Checks []struct {
		Metric  string `json:"metric"`
		Outcome string `json:"outcome"`
	} `json:"checks"`
	Environment struct {
		Filesystem string `json:"filesystem"`
		Kernel     string `json:"kernel"`
		CPUs       int    `json:"cpus"`
	} `json:"environment"`
	Intervals []json.RawMessage `json:"intervals"`
}

func verdictCode(v string) int {
	return map[string]int{"pass": 0, "fail": 1, "error": 2, "inconclusive": 3}[v]
}

func TestRunJSON(t *testing.T) {
	dir := t.TempDir()
	// NB: 2000 Saves, not fewer: etcd commits the backend every 100 ms,
	// and a fast disk did 400 Saves in less, leaving no commit to check.
	r := etcdisk(t, "run", "--rate", "max", "--dir", dir, "--ops", "2000", "--warmup", "0s", "--output", "json", "--segment-size", "256KiB")
	var res jsonResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s\nstderr: %s", err, r.stdout, r.stderr)
	}
	if r.code != verdictCode(res.Verdict) {
		t.Fatalf("exit %d for verdict %q; stderr %s", r.code, res.Verdict, r.stderr)
	}
	if res.Schema != 1 || res.Workload != "wal" || res.Saves != 2000 {
		t.Fatalf("schema %d workload %q saves %d", res.Schema, res.Workload, res.Saves)
	}
	fd := res.Metrics["wal_fdatasync"]
	// 2000 Saves of 2300 bytes cross 256 KiB segments: cuts add fdatasyncs.
	if fd.Count < 2000 || fd.P99Ns <= 0 || fd.P50Ns <= 0 {
		t.Fatalf("wal_fdatasync %+v", fd)
	}
	if res.Metrics["wal_write"].Count < 2000 {
		t.Fatalf("wal_write count %d", res.Metrics["wal_write"].Count)
	}
	// The backend is on by default: both of etcd's targets are judged.
	if len(res.Checks) != 2 || res.Checks[0].Metric != "wal_fdatasync" || res.Checks[1].Metric != "backend_commit" {
		t.Fatalf("checks %+v", res.Checks)
	}
	if res.Metrics["backend_commit"].Count < 1 {
		t.Fatalf("no backend commit in %v: %+v", time.Duration(res.DurationNs), res.Metrics["backend_commit"])
	}
	if res.Environment.Filesystem == "" || res.Environment.Kernel == "" || res.Environment.CPUs == 0 {
		t.Fatalf("environment %+v", res.Environment)
	}
	assertNoRunFolder(t, dir)
}

func TestRunTextAndOut(t *testing.T) {
	dir, out := t.TempDir(), filepath.Join(t.TempDir(), "results")
	r := etcdisk(t, "run", "--rate", "max", "--dir", dir, "--ops", "300", "--warmup", "0s", "--out", out, "--backend=false")
	if r.code == 2 {
		t.Fatalf("exit 2: %s", r.stderr)
	}
	first := strings.SplitN(r.stdout, "\n", 2)[0]
	if !strings.Contains(first, "PASS") && !strings.Contains(first, "FAIL") && !strings.Contains(first, "INCONCLUSIVE") {
		t.Fatalf("the verdict is not on the first line:\n%s", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(out, "result.json")); err != nil {
		t.Fatal(err)
	}
	// Re-rendering the saved result gives the same text.
	rr := etcdisk(t, "report", filepath.Join(out, "result.json"))
	if rr.code != 0 || rr.stdout != r.stdout {
		t.Fatalf("report re-render differs (exit %d):\n--- run\n%s\n--- report\n%s", rr.code, r.stdout, rr.stdout)
	}
	assertNoRunFolder(t, dir)
}

func TestRunFioWorkload(t *testing.T) {
	dir := t.TempDir()
	r := etcdisk(t, "run", "--workload", "fio", "--dir", dir, "--ops", "200", "--output", "json")
	var res jsonResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v\n%s\n%s", err, r.stdout, r.stderr)
	}
	if res.Workload != "fio" || res.Saves != 200 || res.Metrics["wal_fdatasync"].Count != 200 || res.Metrics["wal_flush_write"].Count != 200 {
		t.Fatalf("fio run: saves %d, metrics %+v", res.Saves, res.Metrics)
	}
	assertNoRunFolder(t, dir)
}

func TestKeep(t *testing.T) {
	dir := t.TempDir()
	r := etcdisk(t, "run", "--rate", "max", "--dir", dir, "--ops", "50", "--warmup", "0s", "--keep", "--output", "json")
	if r.code == 2 {
		t.Fatal(r.stderr)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "etcdisk-run-*", "member", "wal", "*.wal"))
	if len(matches) == 0 {
		t.Fatalf("--keep kept no WAL segment; stderr %s", r.stderr)
	}
}

func TestSIGINTCleansUp(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(binary, "run", "--rate", "max", "--dir", dir, "--duration", "60s", "--warmup", "0s", "--output", "json")
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("etcdisk did not exit within 10 s of SIGINT")
	}
	took := time.Since(sent)
	if code := cmd.ProcessState.ExitCode(); code != 2 {
		t.Fatalf("exit %d after SIGINT, want 2; stderr %s", code, se.String())
	}
	var res jsonResult
	if err := json.Unmarshal(so.Bytes(), &res); err != nil {
		t.Fatalf("no partial JSON report after SIGINT: %v\n%s", err, so.String())
	}
	if !res.Interrupted || res.Metrics["wal_fdatasync"].Count == 0 {
		t.Fatalf("partial result not marked interrupted or empty: %+v", res)
	}
	if !strings.Contains(se.String(), "interrupted") {
		t.Fatalf("stderr does not say interrupted: %s", se.String())
	}
	assertNoRunFolder(t, dir)
	t.Logf("exited %s after SIGINT", took.Round(time.Millisecond))
}

func TestHelpAndVersion(t *testing.T) {
	r := etcdisk(t, "run", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "--rate") {
		t.Fatalf("run --help: exit %d\n%s", r.code, r.stdout)
	}
	r = etcdisk(t, "clean", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "--dry-run") {
		t.Fatalf("clean --help: exit %d\n%s", r.code, r.stdout)
	}
	r = etcdisk(t, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "etcdisk ") {
		t.Fatalf("version: %d %q", r.code, r.stdout)
	}
}

func TestCalibrate(t *testing.T) {
	dir := t.TempDir()
	// The tolerance is wide: this checks the plumbing, not this machine.
	r := etcdisk(t, "calibrate", "--dir", dir, "--rate", "100", "--duration", "2s", "--warmup", "0s", "--output", "json", "--tolerance", "1000")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var c struct {
		Etcd struct {
			Puts     int64 `json:"puts"`
			WALFsync struct {
				Count  int64 `json:"count"`
				MeanNs int64 `json:"mean_ns"`
			} `json:"wal_fsync"`
		} `json:"etcd"`
		Model     jsonResult         `json:"model"`
		Ratios    map[string]float64 `json:"ratios"`
		Verdict   string             `json:"verdict"`
		Tolerance float64            `json:"tolerance"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if c.Etcd.Puts < 150 || c.Etcd.WALFsync.Count == 0 || c.Etcd.WALFsync.MeanNs <= 0 {
		t.Fatalf("etcd side: %+v", c.Etcd)
	}
	if c.Model.Metrics["wal_fdatasync"].Count == 0 || c.Model.Metrics["proposal_commit"].Count < 150 {
		t.Fatalf("model side: %+v", c.Model.Metrics)
	}
	if c.Ratios["wal_fsync_mean"] <= 0 || c.Verdict != "pass" || c.Tolerance != 1000 {
		t.Fatalf("ratios %v, verdict %q, tolerance %v", c.Ratios, c.Verdict, c.Tolerance)
	}
	assertNoRunFolder(t, dir)
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("calibrate left %v behind", ents)
	}
}
