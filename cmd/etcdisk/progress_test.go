package main

import (
	"bytes"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestProgressOnTerminal runs etcdisk under a pseudo-terminal: the live
// progress line appears (and is rewritten in place) before the report.
func TestProgressOnTerminal(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(binary, "run", "--rate", "max", "--dir", dir, "--duration", "2500ms", "--warmup", "0s", "--backend=false")
	f, err := pty.Start(cmd)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer f.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&out, f); close(done) }()
	if err := cmd.Wait(); err != nil && cmd.ProcessState.ExitCode() == 2 {
		t.Fatalf("run failed: %v\n%s", err, out.String())
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	s := out.String()
	if n := strings.Count(s, "\r\x1b[Kmeasuring"); n < 2 {
		t.Fatalf("%d progress updates, want one a second:\n%q", n, s)
	}
	if !strings.Contains(s, "saves ") || !strings.Contains(s, "fdatasync p50") {
		t.Fatalf("progress line lacks saves or latencies:\n%q", s)
	}
	// The report follows on a clean line.
	if i, j := strings.LastIndex(s, "measuring"), strings.Index(s, "wal_fdatasync p99"); j < i {
		t.Fatalf("report not after the progress line:\n%q", s)
	}
}

// TestProgressFollowsStderr runs etcdisk as in etcdisk run | tee: stdout is
// a pipe, stderr the terminal. The progress line shows on the terminal and
// the report on stdout stays free of it.
func TestProgressFollowsStderr(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	dir := t.TempDir()
	cmd := exec.Command(binary, "run", "--rate", "max", "--dir", dir, "--duration", "2500ms", "--warmup", "0s", "--backend=false")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var term bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&term, ptmx); close(done) }()
	if err := cmd.Wait(); err != nil && cmd.ProcessState.ExitCode() == 2 {
		t.Fatalf("run failed: %v\n%s", err, term.String())
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	if n := strings.Count(term.String(), "\r\x1b[Kmeasuring"); n < 2 {
		t.Fatalf("%d progress updates on the terminal (stderr), want one a second:\n%q", n, term.String())
	}
	if s := stdout.String(); strings.Contains(s, "\x1b[K") || !strings.Contains(s, "wal_fdatasync p99") {
		t.Fatalf("stdout should hold the report alone:\n%q", s)
	}
}

// TestNoProgressWhenPiped: without a terminal only the report is printed,
// and never into --output json.
func TestNoProgressWhenPiped(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"run", "--rate", "max", "--dir", dir, "--duration", "1500ms", "--warmup", "0s", "--backend=false"},
		{"run", "--rate", "max", "--dir", dir, "--duration", "1500ms", "--warmup", "0s", "--backend=false", "--output", "json", "--progress", "always"},
	} {
		r := etcdisk(t, args...)
		if strings.Contains(r.stdout, "\x1b[K") || strings.Contains(r.stdout, "measuring ") {
			t.Fatalf("progress on stdout with %v:\n%q", args, r.stdout)
		}
	}
	r := etcdisk(t, "run", "--rate", "max", "--dir", dir, "--duration", "1500ms", "--warmup", "0s", "--backend=false", "--progress", "never")
	if strings.Contains(r.stderr, "measuring") {
		t.Fatalf("--progress never printed progress: %q", r.stderr)
	}
}
