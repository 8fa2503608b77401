package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/etcdisk/etcdisk/report"
)

// openOld writes old to path and returns it open, as a reader (the
// textfile collector) that opened the file before etcdisk replaced it.
func openOld(t *testing.T, path string) (*os.File, []byte) {
	t.Helper()
	old := []byte("# the previous run's export\netcdisk_stalls 0\n")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, old
}

// assertReplaced: f, opened before the write, still reads old whole (the
// new file was renamed over path, not written into the open one), and the
// directory holds no temporary file.
func assertReplaced(t *testing.T, f *os.File, old []byte, wantEntries int) {
	t.Helper()
	seen, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(seen, old) {
		t.Errorf("a reader that had %s open saw %d bytes, want the old file's %d: written in place", f.Name(), len(seen), len(old))
	}
	ents, _ := os.ReadDir(filepath.Dir(f.Name()))
	if len(ents) != wantEntries {
		t.Errorf("%d files in %s, want %d: a temporary file was left", len(ents), filepath.Dir(f.Name()), wantEntries)
	}
}

func lintFile(t *testing.T, path string) []byte {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.New(bytes.NewReader(text)).Lint()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, p := range problems {
		t.Errorf("promtool check metrics: %s: %s", p.Metric, p.Text)
	}
	return text
}

// TestRunPromFileAndPush: a real run writes its Prometheus export to
// --prom-file atomically and in a shape promtool accepts, and pushes the
// same series to --push.
func TestRunPromFileAndPush(t *testing.T) {
	dir, textfiles := t.TempDir(), t.TempDir()
	prom := filepath.Join(textfiles, "etcdisk.prom")
	f, old := openOld(t, prom)
	g := newGateway(t, 0)
	r := etcdisk(t, "run", "--rate", "max", "--dir", dir, "--ops", "300", "--warmup", "0s", "--backend=false", "--output", "json",
		"--prom-file", prom, "--push", g.srv.URL)
	res, err := report.Read(strings.NewReader(r.stdout))
	if err != nil {
		t.Fatalf("exit %d, stdout not a result: %v\n%s", r.code, err, r.stderr)
	}
	if r.code != verdictCode(res.Verdict) {
		t.Fatalf("exit %d for verdict %s: %s", r.code, res.Verdict, r.stderr)
	}
	assertReplaced(t, f, old, 1)
	text := lintFile(t, prom)
	var want bytes.Buffer
	if err := report.WritePrometheus(&want, res); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(text, want.Bytes()) {
		t.Error("--prom-file differs from the result's Prometheus export")
	}
	reqs := g.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d pushes, want 1", len(reqs))
	}
	assertPushed(t, reqs[0], res)
	assertNoRunFolder(t, dir)
}

// TestRunPushFailureIsAWarning: a gateway that fails leaves the exit code
// to the verdict, and the warning masks the URL's password.
func TestRunPushFailureIsAWarning(t *testing.T) {
	dir := t.TempDir()
	g := newGateway(t, http.StatusServiceUnavailable)
	r := etcdisk(t, "run", "--rate", "max", "--dir", dir, "--ops", "100", "--warmup", "0s", "--backend=false", "--output", "json",
		"--push", g.withUser("job", "s3cret"))
	res, err := report.Read(strings.NewReader(r.stdout))
	if err != nil {
		t.Fatalf("exit %d, stdout not a result: %v\n%s", r.code, err, r.stderr)
	}
	if r.code != verdictCode(res.Verdict) {
		t.Errorf("exit %d for verdict %s: a failed push changed the exit code", r.code, res.Verdict)
	}
	warning := regexp.MustCompile(`(?m)^etcdisk run: warning: push to http://job:xxxxx@\S+: .*503.*gateway says no \(the verdict and exit code stand\)$`)
	if !warning.MatchString(r.stderr) {
		t.Errorf("stderr lacks the warning with the masked URL:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr+r.stdout, "s3cret") {
		t.Errorf("the password is shown:\n%s", r.stderr)
	}
	if len(g.requests()) != 1 {
		t.Errorf("%d pushes, want 1", len(g.requests()))
	}
}

// TestReportWriteAndPush: report --write replaces the file atomically;
// report --push to a failing gateway exits 2 without showing the
// password.
func TestReportWriteAndPush(t *testing.T) {
	result := filepath.Join("..", "..", "testdata", "results", "nvme-pass.json")
	out := filepath.Join(t.TempDir(), "etcdisk.prom")
	f, old := openOld(t, out)
	r := etcdisk(t, "report", result, "--format", "prom", "--write", out)
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q: %s", r.code, r.stdout, r.stderr)
	}
	assertReplaced(t, f, old, 1)
	text := lintFile(t, out)
	if again := etcdisk(t, "report", result, "--format", "prom"); again.stdout != string(text) {
		t.Error("--write differs from the same format on stdout")
	}

	g := newGateway(t, http.StatusInternalServerError)
	r = etcdisk(t, "report", result, "--format", "json", "--push", g.withUser("job", "s3cret"))
	if r.code != exitError || !strings.Contains(r.stderr, "job:xxxxx@") || strings.Contains(r.stderr, "s3cret") {
		t.Errorf("failed push: exit %d, stderr %q; want 2 and the URL masked", r.code, r.stderr)
	}
	ok := newGateway(t, 0)
	if r := etcdisk(t, "report", result, "--format", "json", "--push", ok.srv.URL); r.code != 0 || len(ok.requests()) != 1 {
		t.Fatalf("push: exit %d, %d requests: %s", r.code, len(ok.requests()), r.stderr)
	}
	res, err := report.ReadFile(result)
	if err != nil {
		t.Fatal(err)
	}
	assertPushed(t, ok.requests()[0], res)
}

// TestOutputFlagsCheckedFirst: a destination that cannot work is refused
// before the run, with exit 2.
func TestOutputFlagsCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--prom-file", filepath.Join(dir, "missing", "etcdisk.prom")},
		{"--prom-file", dir},
		{"--push", "ftp://job:s3cret@gateway:9091"},
		{"--push", "http://job:s3cret@gateway:9091/?x=1"},
	} {
		r := etcdisk(t, append([]string{"run", "--rate", "max", "--dir", dir, "--duration", "1h"}, args...)...)
		if r.code != exitError || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || strings.Contains(r.stderr, "s3cret") {
			t.Errorf("%v: exit %d, stderr %q; want 2, one line, no password", args, r.code, r.stderr)
		}
		assertNoRunFolder(t, dir)
	}
	if r := etcdisk(t, "report", "x.json", "--write", filepath.Join(dir, "missing", "x")); r.code != exitError {
		t.Errorf("report --write into a missing directory: exit %d", r.code)
	}
}
