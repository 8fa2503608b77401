package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSignalEndsTheLoad: every terminating signal stops neighbor-load with
// the object for the part that ran, marked interrupted, the neighbour's
// file removed and exit 2.
func TestSignalEndsTheLoad(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "neighbor-load")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(bin, "--spec", "seqwrite,bs=64KiB,rate=4MiB,size=4MiB", "--duration", "60s", "--dir", dir)
			var so, se bytes.Buffer
			cmd.Stdout, cmd.Stderr = &so, &se
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			defer func() {
				select {
				case <-done:
				default:
					cmd.Process.Kill()
					<-done
				}
			}()
			// The neighbour's file exists once the load runs (the signal
			// handling is set up before it starts).
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if ents, _ := os.ReadDir(dir); len(ents) > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no neighbour file after 20 s; stderr %s", se.String())
				}
			}
			time.Sleep(300 * time.Millisecond)
			if err := syscall.Kill(cmd.Process.Pid, sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("still running 10 s after %s", sig)
			}
			if code := cmd.ProcessState.ExitCode(); code != 2 {
				t.Fatalf("exit %d after %s, want 2; stderr %s", code, sig, se.String())
			}
			var out output
			if err := json.Unmarshal(so.Bytes(), &out); err != nil || !out.Interrupted || out.Ops == 0 {
				t.Fatalf("want the partial object marked interrupted (%v):\n%s", err, so.String())
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("left behind: %v", ents)
			}
		})
	}
}
