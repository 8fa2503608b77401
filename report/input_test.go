package report

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadFileRefusesNonRegular: a FIFO (with no writer: opening it for
// reading would block), a directory, a device and a socket are refused at
// once, naming what they are.
func TestReadFileRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for path, kind := range map[string]string{
		fifo: "a FIFO", dir: "a directory", "/dev/zero": "a character device", sock: "a socket",
	} {
		done := make(chan error, 1)
		go func() {
			_, err := ReadFile(path)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), kind) {
				t.Errorf("%s: error %v, want one saying it is %s", path, err, kind)
			}
		case <-time.After(time.Second):
			t.Fatalf("%s: ReadFile still blocked after 1 s", path)
		}
	}
}

// TestReadFileCap: a regular file larger than MaxResultBytes is refused
// from its size, naming the cap; a stream is cut at the cap.
func TestReadFileCap(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: no disk space used.
	if err := f.Truncate(MaxResultBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := ReadFile(big); err == nil || !strings.Contains(err.Error(), "larger than 256 MiB") {
		t.Errorf("file over the cap: error %v, want one naming the 256 MiB cap", err)
	}

	if _, err := readLimited(strings.NewReader("0123456789a"), 10); err == nil || !strings.Contains(err.Error(), "larger than 10 B") {
		t.Errorf("stream over the cap: error %v", err)
	}
	if b, err := readLimited(strings.NewReader("0123456789"), 10); err != nil || len(b) != 10 {
		t.Errorf("stream at the cap: %d bytes, %v", len(b), err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "none.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
