package backend

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const straceHelperEnv = "ETCDISK_BACKEND_STRACE_HELPER"

// Markers the helper writes to /dev/null around the traced commit.
const (
	markBegin = "etcdisk-commit-begin"
	markEnd   = "etcdisk-commit-end"
)

// TestStraceHelper is not a test: TestCommitSyscalls runs the test binary
// under strace with this test selected.
func TestStraceHelper(t *testing.T) {
	dir := os.Getenv(straceHelperEnv)
	if dir == "" {
		t.Skip("helper process for TestCommitSyscalls")
	}
	b, err := Open(Config{Path: filepath.Join(dir, "db"), BatchInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// A first commit grows the file (ftruncate + fsync), so the traced one
	// below has room.
	for i := 0; i < 200; i++ {
		b.Put([]byte(fmt.Sprintf("/registry/pods/default/pod-%05d", i)), value(2048))
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		b.Put([]byte(fmt.Sprintf("/registry/pods/default/pod-%05d", i)), value(2048))
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	null.WriteString(markBegin)
	err = b.Commit()
	null.WriteString(markEnd)
	if err != nil {
		t.Fatal(err)
	}
}

const faultHelperEnv = "ETCDISK_BACKEND_FAULT_HELPER"

// TestFaultHelper is not a test: TestCommitEIO runs it under strace with
// fdatasync failing. It exits non-zero if the error is not surfaced.
func TestFaultHelper(t *testing.T) {
	dir := os.Getenv(faultHelperEnv)
	if dir == "" {
		t.Skip("helper process for TestCommitEIO")
	}
	var commitErrs int
	b, err := Open(Config{Path: filepath.Join(dir, "db"), BatchInterval: time.Hour,
		OnCommit: func(_ time.Duration, err error) {
			if err != nil {
				commitErrs++
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	b.Put([]byte("k"), value(100))
	if err := b.Commit(); err == nil || commitErrs != 1 {
		t.Fatalf("commit under EIO: err %v, OnCommit saw %d errors", err, commitErrs)
	}
	if err := b.Put([]byte("k"), value(100)); err == nil {
		t.Fatal("Put after a failed commit succeeded")
	}
	if err := b.Close(); err == nil || !strings.Contains(err.Error(), "input/output error") {
		t.Fatalf("Close after a failed commit: %v", err)
	}
	fmt.Println("FAULT-HELPER-OK")
}

// TestCommitEIO: a failed fdatasync in a commit reaches OnCommit, and
// Put and Close return it afterwards (etcd would exit; the tool must stop
// and report, never carry on).
func TestCommitEIO(t *testing.T) {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace not installed")
	}
	dir := t.TempDir()
	// Create the file here: opening an existing one syncs nothing, so the
	// helper's first fdatasync is its commit's.
	b, err := Open(Config{Path: filepath.Join(dir, "db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(strace, "-f", "-qq", "-o", os.DevNull, "-e", "trace=fdatasync",
		"-e", "inject=fdatasync:error=EIO:when=1",
		os.Args[0], "-test.run=^TestFaultHelper$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), faultHelperEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "FAULT-HELPER-OK") {
		t.Fatalf("helper: %v\n%s", err, out)
	}
}

type syscallRec struct {
	name      string
	size, off int64 // pwrite64 only
}

var (
	straceLine = regexp.MustCompile(`^(?:\[pid\s+\d+\]\s+|\d+\s+)?(\w+)\((.*)\)\s+=\s+(-?\d+)`)
	pwriteArgs = regexp.MustCompile(`, (\d+), (\d+)$`)
)

// TestCommitSyscalls checks one commit's system calls under strace: the
// dirty pages as pwrite runs in ascending order, fdatasync, the 4096-byte
// meta page at (txid%2)*4096, fdatasync; nothing else.
func TestCommitSyscalls(t *testing.T) {
	recs := readMarkedTrace(t, traceCommit(t))
	// Shape: pwrite+ fdatasync pwrite(meta) fdatasync.
	n := len(recs)
	if n < 4 {
		t.Fatalf("commit made %d traced calls: %+v", n, recs)
	}
	data, sync1, meta, sync2 := recs[:n-3], recs[n-3], recs[n-2], recs[n-1]
	if sync1.name != "fdatasync" || sync2.name != "fdatasync" {
		t.Errorf("want fdatasync after the data pages and after the meta page, got %+v", recs)
	}
	if meta.name != "pwrite64" || meta.size != 4096 || (meta.off != 0 && meta.off != 4096) {
		t.Errorf("meta write %+v, want 4096 bytes at offset 0 or 4096", meta)
	}
	prev := int64(-1)
	for i, r := range data {
		if r.name != "pwrite64" || r.size%4096 != 0 || r.off%4096 != 0 || r.off < 2*4096 {
			t.Errorf("data call %d: %+v, want a page-aligned pwrite64 past the meta pages", i, r)
		}
		if r.off <= prev {
			t.Errorf("data pwrites not in ascending order at %d: %+v", i, data)
		}
		prev = r.off
	}
	// 50 puts of ~2.1 KiB records: tens of pages, written page run by page
	// run, not coalesced into one write.
	if len(data) < 2 {
		t.Errorf("only %d data pwrites for 50 puts", len(data))
	}
	t.Logf("commit: %d data pwrites, meta at %d", len(data), meta.off)
}

// traceCommit runs TestStraceHelper under strace and returns the trace
// file's path; it skips where strace is missing or cannot trace.
func traceCommit(t *testing.T) string {
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace not installed")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "trace")
	cmd := exec.Command(strace, "-f", "-qq", "-s", "32", "-e", "signal=none", "-o", out,
		"-e", "trace=write,pwrite64,fdatasync,fsync,ftruncate,msync,sync_file_range",
		os.Args[0], "-test.run=^TestStraceHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), straceHelperEnv+"="+dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		if strings.Contains(string(b), "PTRACE") || strings.Contains(string(b), "ptrace") {
			t.Skipf("strace cannot trace here: %s", b)
		}
		t.Fatalf("strace helper: %v\n%s", err, b)
	}
	return out
}

// readMarkedTrace returns the calls the trace at path holds between the
// helper's begin and end markers.
func readMarkedTrace(t *testing.T, path string) []syscallRec {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []syscallRec
	inside, sawEnd := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.Contains(line, markBegin):
			inside = true
			continue
		case strings.Contains(line, markEnd):
			inside, sawEnd = false, true
			continue
		case !inside:
			continue
		}
		recs = append(recs, parseTraceLine(t, line))
	}
	if !sawEnd {
		t.Fatal("markers not found in the trace")
	}
	return recs
}

// parseTraceLine reads one strace line: the call's name and, for pwrite64,
// its size and offset. A line strace split in two (another thread's call
// in between) cannot be judged.
func parseTraceLine(t *testing.T, line string) syscallRec {
	if strings.Contains(line, "unfinished") || strings.Contains(line, "resumed") {
		t.Fatalf("interleaved trace line, cannot judge: %q", line)
	}
	m := straceLine.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("unparsed trace line %q", line)
	}
	r := syscallRec{name: m[1]}
	if r.name == "pwrite64" {
		a := pwriteArgs.FindStringSubmatch(m[2])
		if a == nil {
			t.Fatalf("unparsed pwrite64 arguments in %q", line)
		}
		r.size, _ = strconv.ParseInt(a[1], 10, 64)
		r.off, _ = strconv.ParseInt(a[2], 10, 64)
	}
	return r
}
