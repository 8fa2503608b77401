package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// gitHead returns the commit the module root is checked out at, or skips
// when git or the checkout is missing (a build from a source archive).
func gitHead(t *testing.T) (root, head string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: no VCS revision to stamp")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): no VCS revision to stamp", err)
	}
	return root, strings.TrimSpace(string(out))
}

// TestMakeBuildStampsVersion: the binary `make build` makes from a git
// checkout says which commit it is and git describe's version, and so does
// every result it writes (JSON environment, the text report's Host line).
func TestMakeBuildStampsVersion(t *testing.T) {
	root, head := gitHead(t)
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	bin := filepath.Join(t.TempDir(), "etcdisk")
	if out, err := exec.Command("make", "-C", root, "--no-print-directory", "build", "BIN="+bin).CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(out))
	m := regexp.MustCompile(`^etcdisk (\S+) \(revision ([0-9a-f]{12})(, modified)?, \S+, go\S+\)$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("version %q: want etcdisk VERSION (revision HASH[, modified], TIME, GOVERSION)", line)
	}
	if m[2] != head[:12] {
		t.Errorf("revision %s, want HEAD %s", m[2], head)
	}
	describe, err := exec.Command("git", "-C", root, "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(describe)); m[1] != want {
		t.Errorf("version %s, want git describe's %s", m[1], want)
	}
	t.Logf("%s", line)
	assertResultRevision(t, bin, head)
}

// assertResultRevision: a short run's result records the commit of bin,
// and its text report's Host line shows it.
func assertResultRevision(t *testing.T, bin, head string) {
	dir := t.TempDir()
	cmd := exec.Command(bin, "run", "--rate", "max", "--dir", dir, "--ops", "20", "--warmup", "0s", "--backend=false", "--out", dir, "--output", "json")
	stdout, err := cmd.Output()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() == exitError {
		t.Fatalf("run: %v", err)
	}
	var doc struct {
		Environment struct {
			Revision string `json:"vcs_revision"`
			Time     string `json:"vcs_time"`
		} `json:"environment"`
	}
	if err := json.Unmarshal(stdout, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Environment.Revision != head || doc.Environment.Time == "" {
		t.Fatalf("environment %+v, want revision %s and its time", doc.Environment, head)
	}
	text, err := os.ReadFile(filepath.Join(dir, "report.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^Host .*etcdisk \S+ \(revision ` + head[:12]).Match(text) {
		t.Errorf("text report's Host line lacks the revision:\n%s", text)
	}
}
