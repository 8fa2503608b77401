package main

// A disk that hangs in fdatasync, end to end (FUSE, root): the stall
// watchdog, SIGINT during the hang, and what etcdisk says about it.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/internal/fusetest"
)

// syncBuffer is a bytes.Buffer a running process writes to while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls buf until it contains substr; false after timeout.
func waitFor(buf *syncBuffer, substr string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(buf.String(), substr) {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return strings.Contains(buf.String(), substr)
}

// A disk that hangs in fdatasync: the stall watchdog reports it while it
// hangs, SIGINT still ends the run within 2 s (after the bounded wait) with
// the partial report, and what could not be removed is named. The stuck
// fdatasync counts in the partial report with its age (max, over 1 s, the
// check does not pass), and etcdisk says it cannot exit before the kernel
// returns the call.
//
// NB: a thread blocked in a FUSE request the daemon has already taken cannot
// be killed until the daemon answers (as on a real disk hung in the kernel:
// state D). So "ends" is measured to the last line etcdisk prints; the
// process is reaped once the test releases the hang.
func TestFUSEHangingFdatasyncSIGINT(t *testing.T) {
	backing := t.TempDir()
	m := fusetest.Mount(t, backing, fusetest.Options{HangFsyncFrom: 1000})
	h := startHangingRun(t, m)
	stuckFor, took := h.interruptDuringStall(t)
	if took > 2*time.Second {
		t.Errorf("etcdisk took %s to finish after SIGINT, want within 2 s", took)
	}
	var res faultResult
	if err := json.Unmarshal([]byte(h.so.String()), &res); err != nil {
		t.Fatalf("no partial JSON report after SIGINT: %v\n%s", err, h.so.String())
	}
	checkStuckFdatasync(t, res, stuckFor)
	if !strings.Contains(h.se.String(), "cannot exit until the kernel returns it") {
		t.Errorf("stderr does not say the process cannot exit before the disk answers:\n%s", h.se.String())
	}

	// Now let the disk answer: the process is reaped with exit 2.
	m.Release()
	select {
	case <-h.waited:
	case <-time.After(10 * time.Second):
		t.Fatal("etcdisk not reaped 10 s after the hang was released")
	}
	if code := h.cmd.ProcessState.ExitCode(); code != 2 {
		t.Fatalf("exit %d after SIGINT, want 2", code)
	}
	// Whatever is still in the backing directory must have been named.
	ents, _ := os.ReadDir(backing)
	for _, e := range ents {
		if !strings.Contains(h.se.String(), e.Name()) {
			t.Errorf("%s was left behind without a word on stderr:\n%s", e.Name(), h.se.String())
		}
	}
	t.Logf("left in the backing directory: %d entries", len(ents))
}

// hangingRun is an etcdisk run on a FUSE mount whose fdatasync hangs.
type hangingRun struct {
	m      *fusetest.FS
	cmd    *exec.Cmd
	so, se syncBuffer
	waited chan struct{} // closed when the process is reaped (waitErr set)
	// waitErr is cmd.Wait's error, read only after waited is closed.
	waitErr error
	hungAt  time.Time // when the first fdatasync hung
}

// startHangingRun starts etcdisk on m and returns once an fdatasync hangs.
// At the end of the test the hang is released and the process reaped.
func startHangingRun(t *testing.T, m *fusetest.FS) *hangingRun {
	h := &hangingRun{m: m, waited: make(chan struct{})}
	h.cmd = exec.Command(binary, "run", "--rate", "max", "--dir", m.Dir, "--duration", "60s", "--warmup", "0s",
		"--backend=false", "--stall-threshold", "100ms", "--output", "json")
	h.cmd.Stdout, h.cmd.Stderr = &h.so, &h.se
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.waitErr = h.cmd.Wait(); close(h.waited) }()
	t.Cleanup(func() {
		m.Release()
		select {
		case <-h.waited:
		case <-time.After(10 * time.Second):
			h.cmd.Process.Kill()
			<-h.waited
		}
	})
	select {
	case <-m.Hung():
	case <-h.waited:
		t.Fatalf("etcdisk ended before the hang (%v); stderr:\n%s", h.waitErr, h.se.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("no fsync hung; counts %+v", m.Counts())
	}
	h.hungAt = time.Now()
	return h
}

// interruptDuringStall waits for the stall report, holds the hang well
// past etcd's 1 s, sends SIGINT and waits until etcdisk has printed its
// report and its last line. It returns how long the fdatasync had hung
// when SIGINT came and how long etcdisk took to finish after it.
func (h *hangingRun) interruptDuringStall(t *testing.T) (stuckFor, took time.Duration) {
	const stall = "stall: wal_fdatasync in flight for"
	if !waitFor(&h.se, stall, 5*time.Second) {
		t.Fatalf("no stall report on stderr while the fdatasync hangs:\n%s", h.se.String())
	}
	t.Logf("stall reported %s after the hang began", time.Since(h.hungAt).Round(time.Millisecond))
	const hold = 3 * time.Second // a stall far past etcd's 1 s
	time.Sleep(time.Until(h.hungAt.Add(hold)))
	sent := time.Now()
	stuckFor = sent.Sub(h.hungAt)
	before := len(h.se.String())
	if err := h.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	// Finished: the report is on stdout and cmd's last line ("etcdisk
	// run: ...") on stderr.
	finished := func() bool {
		return json.Valid([]byte(h.so.String())) && strings.Contains(h.se.String()[before:], "etcdisk run: ")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !finished() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	took = time.Since(sent)
	printed := finished()
	pid := h.cmd.Process.Pid
	t.Logf("finished %t after %s; process state %q; stderr:\n%s", printed, took.Round(time.Millisecond), procState(pid), h.se.String())
	if !printed {
		// Name where it is stuck: the kernel stacks of its threads, and
		// (SIGQUIT) its goroutines.
		t.Logf("kernel stacks of etcdisk's threads:\n%s", kernelStacks(pid))
		h.cmd.Process.Signal(syscall.SIGQUIT)
		time.Sleep(time.Second)
		t.Fatalf("etcdisk did not finish within 10 s of SIGINT during a hang (counts %+v); stderr:\n%s", h.m.Counts(), h.se.String())
	}
	return stuckFor, took
}

// checkStuckFdatasync checks the partial result of a run interrupted while
// an fdatasync had hung for stuckFor: marked interrupted, the stall
// recorded as ongoing, the stuck call counted with its age, and the WAL
// fdatasync check not passing.
func checkStuckFdatasync(t *testing.T, res faultResult, stuckFor time.Duration) {
	if !res.Interrupted || res.Metrics["wal_fdatasync"].Count == 0 {
		t.Fatalf("partial result not marked interrupted or empty: interrupted %t, metrics %+v", res.Interrupted, res.Metrics)
	}
	ongoing := false
	for _, s := range res.Stalls {
		ongoing = ongoing || (s.Metric == "wal_fdatasync" && s.Ongoing)
	}
	if !ongoing {
		t.Errorf("the result does not record the ongoing stall: %+v", res.Stalls)
	}
	fd := res.Metrics["wal_fdatasync"]
	if fd.MaxNs < int64(stuckFor) || fd.Over1s < 1 || fd.InFlight != 1 {
		t.Errorf("wal_fdatasync max %s, over 1s %d, in flight %d; want max >= %s (the stall when SIGINT came), over 1s >= 1, 1 in flight",
			time.Duration(fd.MaxNs), fd.Over1s, fd.InFlight, stuckFor.Round(time.Millisecond))
	}
	for _, c := range res.Checks {
		stuck := c.Outcome == "fail" || strings.Contains(c.Note, "still in flight")
		if c.Metric == "wal_fdatasync" && c.Kind == "" && (c.Outcome == "pass" || !stuck) {
			t.Errorf("wal_fdatasync check %q (%s), want it not to pass while the fdatasync is in flight", c.Outcome, c.Note)
		}
	}
}

// procState is the state letter of /proc/PID/stat (R, S, D, Z ...).
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "gone"
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2 : i+3]
	}
	return "?"
}

// kernelStacks is what each thread of pid waits on in the kernel, to name
// the system call a hung process is stuck in.
func kernelStacks(pid int) string {
	var b strings.Builder
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, task := range tasks {
		sc, _ := os.ReadFile(filepath.Join(task, "syscall"))
		st, _ := os.ReadFile(filepath.Join(task, "stack"))
		fmt.Fprintf(&b, "%s syscall %s%s\n", filepath.Base(task), sc, st)
	}
	return b.String()
}
