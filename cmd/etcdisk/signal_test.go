package main

// End-to-end tests of how etcdisk ends: on every terminating signal, and
// while it waits for an input that never comes.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// started is a running etcdisk and what it has printed.
type started struct {
	cmd    *exec.Cmd
	so, se bytes.Buffer
	done   chan struct{}
}

func start(t *testing.T, stdin io.Reader, args ...string) *started {
	t.Helper()
	s := &started{cmd: exec.Command(binary, args...), done: make(chan struct{})}
	s.cmd.Stdin, s.cmd.Stdout, s.cmd.Stderr = stdin, &s.so, &s.se
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		if !s.exited() {
			s.cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

func (s *started) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// signal sends sig (kill(2) by pid) and waits up to limit for the exit;
// it returns the exit status.
func (s *started) signal(t *testing.T, sig syscall.Signal, limit time.Duration) int {
	t.Helper()
	if err := syscall.Kill(s.cmd.Process.Pid, sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(limit):
		t.Fatalf("still running %s after %s; stderr:\n%s", limit, sig, s.se.String())
	}
	return s.cmd.ProcessState.ExitCode()
}

// waitRunFolder waits until a run has created its folder in dir.
func waitRunFolder(t *testing.T, s *started, dir string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m, _ := filepath.Glob(filepath.Join(dir, "etcdisk-run-*")); len(m) > 0 {
			return
		}
		if s.exited() {
			t.Fatalf("exited before measuring: %s", s.se.String())
		}
	}
	t.Fatal("no run folder after 20 s")
}

// waitPipeRead waits until one of the process's threads sleeps in a pipe
// read (its signal handling is set up by then), at most 10 s: on a loaded
// machine a fixed sleep could signal the process before it gets there.
func waitPipeRead(t *testing.T, s *started) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !s.exited(); time.Sleep(10 * time.Millisecond) {
		chans, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", s.cmd.Process.Pid))
		for _, c := range chans {
			if b, _ := os.ReadFile(c); strings.Contains(string(b), "pipe_read") {
				return
			}
		}
	}
	if !s.exited() {
		t.Logf("no thread seen in a pipe read; signalling anyway")
	}
}

// TestEverySignalEndsARunTheSameWay: SIGHUP (a closed terminal or SSH
// session), SIGINT, SIGTERM and SIGQUIT each give the partial report with
// INTERRUPTED first, remove the run folder and exit 2.
func TestEverySignalEndsARunTheSameWay(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			s := start(t, nil, "run", "--rate", "max", "--dir", dir, "--duration", "60s", "--warmup", "0s")
			waitRunFolder(t, s, dir)
			time.Sleep(time.Second) // some Saves to report
			if code := s.signal(t, sig, 15*time.Second); code != 2 {
				t.Fatalf("exit %d after %s, want 2; stderr:\n%s", code, sig, s.se.String())
			}
			first, _, _ := strings.Cut(s.so.String(), "\n")
			if !strings.HasPrefix(first, "INTERRUPTED (partial data: ") {
				t.Errorf("first line %q, want INTERRUPTED and the partial verdict; stderr:\n%s", first, s.se.String())
			}
			if !strings.Contains(s.se.String(), "interrupted ("+sig.String()) {
				t.Errorf("stderr does not say which signal interrupted the run:\n%s", s.se.String())
			}
			assertNoRunFolder(t, dir)
		})
	}
}

// TestReadersEndOnSignal: report, compare and merge reading a pipe whose
// writer never closes it wait for it, and a signal ends the wait: exit 2.
func TestReadersEndOnSignal(t *testing.T) {
	sample := filepath.Join("..", "..", "testdata", "results", "nvme-pass.json")
	for _, tc := range []struct {
		sig  syscall.Signal
		args []string
	}{
		{syscall.SIGINT, []string{"report", "-"}},
		{syscall.SIGHUP, []string{"report", "-"}},
		{syscall.SIGTERM, []string{"compare", sample, "-"}},
		{syscall.SIGQUIT, []string{"merge", sample, "-"}},
	} {
		t.Run(tc.sig.String()+" "+tc.args[0], func(t *testing.T) {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			defer pw.Close() // held open: the reader waits
			s := start(t, pr, tc.args...)
			waitPipeRead(t, s)
			if s.exited() {
				t.Fatalf("exited at once instead of reading standard input: %s", s.se.String())
			}
			if code := s.signal(t, tc.sig, 2*time.Second); code != 2 {
				t.Fatalf("exit %d, want 2; stderr %s", code, s.se.String())
			}
			if !strings.Contains(s.se.String(), "interrupted") || strings.Count(s.se.String(), "\n") != 1 {
				t.Errorf("stderr %q, want one line saying interrupted", s.se.String())
			}
		})
	}
}

// TestReadersRefuseNonRegular: a FIFO (no writer), /dev/zero, a directory
// and a socket are refused at once with one line and exit 2, by every
// reader.
func TestReadersRefuseNonRegular(t *testing.T) {
	dir := t.TempDir()
	sample := filepath.Join("..", "..", "testdata", "results", "nvme-pass.json")
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", fifo}, "is a FIFO"},
		{[]string{"report", "/dev/zero"}, "is a character device"},
		{[]string{"report", dir}, "is a directory"},
		{[]string{"compare", sample, fifo}, "is a FIFO"},
		{[]string{"merge", sample, fifo}, "is a FIFO"},
		{[]string{"merge", sample, "/dev/zero"}, "is a character device"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			s := start(t, nil, tc.args...)
			select {
			case <-s.done:
			case <-time.After(time.Second):
				t.Fatal("still running after 1 s")
			}
			if code := s.cmd.ProcessState.ExitCode(); code != 2 {
				t.Fatalf("exit %d, want 2; stderr %s", code, s.se.String())
			}
			if !strings.Contains(s.se.String(), tc.want) || strings.Count(s.se.String(), "\n") != 1 {
				t.Errorf("stderr %q, want one line saying %q", s.se.String(), tc.want)
			}
		})
	}
}

// TestReportStdin: "-" reads the result from standard input, a pipe or a
// redirected file, and renders it as from the file.
func TestReportStdin(t *testing.T) {
	sample := filepath.Join("..", "..", "testdata", "results", "nvme-pass.json")
	want := etcdisk(t, "report", sample)
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, bytes.NewReader(data), "report", "-") // a pipe
	<-s.done
	if code := s.cmd.ProcessState.ExitCode(); code != 0 || s.so.String() != want.stdout {
		t.Fatalf("report - from a pipe: exit %d, stderr %s\n%s", code, s.se.String(), s.so.String())
	}
	f, err := os.Open(sample)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s = start(t, f, "compare", "-", sample) // a redirected file
	<-s.done
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("compare - FILE: exit %d, stderr %s", code, s.se.String())
	}
	if r := etcdisk(t, "merge", "-", "-"); r.code != 2 || !strings.Contains(r.stderr, "only once") {
		t.Errorf("merge - -: exit %d, stderr %q", r.code, r.stderr)
	}
}
