package main

// End-to-end tests of the run folders' marker and lock: what a killed run
// leaves is found and removed by etcdisk clean (and nothing else is), and a
// second run in the same directory refuses.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runFolders lists dir's etcdisk-run-* folders that carry a marker.
func runFolders(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "etcdisk-run-*", ".etcdisk-run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range m {
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(`"pid"`)) {
			out = append(out, filepath.Dir(p))
		}
	}
	return out
}

// waitForFolder waits until dir holds a marked folder whose files take at
// least minBytes, and returns it.
func waitForFolder(t *testing.T, dir string, minBytes int64, cmd *exec.Cmd, stderr *bytes.Buffer) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if f := runFolders(t, dir); len(f) == 1 && du(f[0]) >= minBytes {
			return f[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	t.Fatalf("no marked folder of %d bytes in %s within 20 s; stderr:\n%s", minBytes, dir, stderr)
	return ""
}

func du(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil {
			n += fi.Sys().(*syscall.Stat_t).Blocks * 512
		}
		return nil
	})
	return n
}

// startRun starts etcdisk run in the background; the test stops it.
func startRun(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"run", "--rate", "max", "--duration", "120s", "--warmup", "0s", "--backend=false", "--output", "json"}, args...)...)
	var se bytes.Buffer
	cmd.Stderr = &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &se
}

// mibIn returns the size (in MiB) etcdisk printed for folder in out.
func mibIn(t *testing.T, out, folder string) float64 {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(folder) + ` \(([0-9.]+) (MiB|GiB);`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output does not name %s with its size:\n%s", folder, out)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	if m[2] == "GiB" {
		v *= 1024
	}
	return v
}

// kill -9 leaves the run folder (with a 64 MB WAL segment) and a
// neighbour's folder in its own dir=: a later run and info name both with
// their size; clean removes them and only them.
func TestKilledRunIsFoundAndCleaned(t *testing.T) {
	dir, nbDir := t.TempDir(), t.TempDir()
	cmd, se := startRun(t, "--dir", dir, "--neighbor", "seqwrite,bs=64KiB,rate=1MiB,size=16MiB,dir="+nbDir)
	killed := waitForFolder(t, dir, 60<<20, cmd, se)
	nbFolder := waitForFolder(t, nbDir, 16<<20, cmd, se)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	pid := cmd.Process.Pid

	r := etcdisk(t, "run", "--rate", "max", "--dir", dir, "--ops", "50", "--warmup", "0s", "--backend=false")
	if r.code == 2 {
		t.Fatalf("run after the kill: exit 2: %s", r.stderr)
	}
	if mb := mibIn(t, r.stdout, killed); mb < 60 || !strings.Contains(r.stdout, fmt.Sprintf("pid %d", pid)) || !strings.Contains(r.stdout, "etcdisk clean --dir") {
		t.Fatalf("the run's report does not name the killed run's folder (%.1f MiB, pid %d) and how to clean it:\n%s", mb, pid, r.stdout)
	}
	info := etcdisk(t, "info", "--dir", dir)
	if info.code != 0 || mibIn(t, info.stdout, killed) < 60 || !strings.Contains(info.stdout, "left behind:") {
		t.Fatalf("info --dir (exit %d) does not list the leftover:\n%s", info.code, info.stdout)
	}
	nbInfo := etcdisk(t, "info", "--dir", nbDir)
	if mibIn(t, nbInfo.stdout, nbFolder) < 16 || !strings.Contains(nbInfo.stdout, "neighbour") {
		t.Fatalf("info --dir of the neighbour's dir does not list its folder:\n%s", nbInfo.stdout)
	}

	// Survivors: a folder without the marker, and one a live run holds.
	unmarked := filepath.Join(dir, "etcdisk-run-mine")
	if err := os.Mkdir(unmarked, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(unmarked, "keep.me"), []byte("x"), 0o600)
	live, lse := startRun(t, "--dir", dir)
	var liveFolder string
	for deadline := time.Now().Add(20 * time.Second); liveFolder == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, f := range runFolders(t, dir) {
			if f != killed {
				liveFolder = f
			}
		}
	}
	if liveFolder == "" {
		t.Fatalf("the live run made no folder; stderr:\n%s", lse)
	}

	dry := etcdisk(t, "clean", "--dir", dir, "--dry-run")
	if dry.code != 0 || !strings.Contains(dry.stdout, "would remove "+killed) || strings.Contains(dry.stdout, "would remove "+liveFolder) {
		t.Fatalf("clean --dry-run (exit %d):\n%s%s", dry.code, dry.stdout, dry.stderr)
	}
	if _, err := os.Stat(killed); err != nil {
		t.Fatal("--dry-run removed the folder")
	}
	c := etcdisk(t, "clean", "--dir", dir)
	if c.code != 0 || !strings.Contains(c.stdout, "removed "+killed) || !strings.Contains(c.stdout, "removed 1 folder") {
		t.Fatalf("clean (exit %d):\n%s%s", c.code, c.stdout, c.stderr)
	}
	if _, err := os.Stat(killed); !os.IsNotExist(err) {
		t.Fatalf("the killed run's folder survived clean: %v", err)
	}
	for _, p := range []string{filepath.Join(unmarked, "keep.me"), filepath.Join(liveFolder, ".etcdisk-run.json")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("clean removed %s: %v", p, err)
		}
	}
	if c := etcdisk(t, "clean", "--dir", nbDir); c.code != 0 || !strings.Contains(c.stdout, "removed "+nbFolder) {
		t.Fatalf("clean of the neighbour's dir (exit %d):\n%s%s", c.code, c.stdout, c.stderr)
	}
	assertEmpty(t, nbDir)

	live.Process.Signal(syscall.SIGINT)
	live.Wait()
	if _, err := os.Stat(liveFolder); !os.IsNotExist(err) {
		t.Errorf("the live run did not remove its folder: %v", err)
	}
}

// Two runs in one directory measure each other: the second one refuses,
// naming the first's pid, and leaves nothing behind.
func TestSecondRunInSameDirRefuses(t *testing.T) {
	dir := t.TempDir()
	first, se := startRun(t, "--dir", dir)
	waitForFolder(t, dir, 0, first, se)
	r := etcdisk(t, "run", "--rate", "max", "--dir", dir, "--ops", "10", "--warmup", "0s")
	want := fmt.Sprintf("another etcdisk run (pid %d) is measuring this disk", first.Process.Pid)
	if r.code != 2 || !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
		t.Fatalf("second run: exit %d, stderr %q, stdout %q; want exit 2 and %q", r.code, r.stderr, r.stdout, want)
	}
	if n := len(runFolders(t, dir)); n != 1 {
		t.Fatalf("%d run folders in the directory, want the first run's only", n)
	}
	first.Process.Signal(syscall.SIGINT)
	first.Wait()
	assertNoRunFolder(t, dir)
}

// A directory whose name holds a newline keeps the report's lines whole:
// the path is printed quoted, in the text report and in the HTML one.
func TestNewlineInDirIsQuoted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "disk\nFAIL fake")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	r := etcdisk(t, "run", "--rate", "max", "--dir", dir, "--ops", "50", "--warmup", "0s", "--backend=false", "--out", out)
	if r.code == 2 {
		t.Fatalf("exit 2: %s", r.stderr)
	}
	if strings.Contains(r.stdout, "\nFAIL fake") || !strings.Contains(r.stdout, strconv.Quote(dir)) {
		t.Fatalf("the text report does not quote the path %q:\n%s", dir, r.stdout)
	}
	h := etcdisk(t, "report", filepath.Join(out, "result.json"), "--format", "html")
	if h.code != 0 || strings.Contains(h.stdout, "disk\nFAIL") || !strings.Contains(h.stdout, `disk\nFAIL fake`) {
		t.Fatalf("the HTML report (exit %d) does not quote the path", h.code)
	}
	assertNoRunFolder(t, dir)
}
