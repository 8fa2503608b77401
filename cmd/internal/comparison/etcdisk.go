// Package comparison holds what the comparison programs (cmd/fidelity,
// cmd/fio-compare) share: an etcdisk binary, running it, and letting the
// disk settle between two runs.
package comparison

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Binary returns path when it is set; otherwise it builds ./cmd/etcdisk
// (the caller runs from the repository root) and returns the binary and a
// cleanup that removes it.
func Binary(path string) (bin string, cleanup func(), err error) {
	if path != "" {
		return path, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "etcdisk-bin-")
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(tmp, "etcdisk")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/etcdisk").CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return "", nil, fmt.Errorf("building etcdisk: %v\n%s", err, out)
	}
	return bin, func() { os.RemoveAll(tmp) }, nil
}

// Run runs the etcdisk binary bin with args and returns its stdout and
// process state. Exit 1 (FAIL) and 3 (INCONCLUSIVE) are verdicts, not
// errors: any verdict is a measurement; any other ending (exit 2, or a
// kill by a signal) is an error carrying etcdisk's stderr.
func Run(ctx context.Context, bin string, args ...string) ([]byte, *os.ProcessState, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && (ee.ExitCode() == 1 || ee.ExitCode() == 3)) {
		return nil, cmd.ProcessState, fmt.Errorf("etcdisk: %v: %s", err, strings.TrimSpace(se.String()))
	}
	return so.Bytes(), cmd.ProcessState, nil
}

// Settle syncs every file system, then idles for d, so that one run's
// leftovers do not land in the next: its writeback, and on a file system
// mounted with discard the discards of the files it removed.
func Settle(ctx context.Context, d time.Duration) error {
	syscall.Sync()
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
