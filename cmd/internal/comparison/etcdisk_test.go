package comparison

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeEtcdisk writes a script that prints out, says stderr on stderr and
// exits with code.
func fakeEtcdisk(t *testing.T, out, stderr string, code int) string {
	p := filepath.Join(t.TempDir(), "etcdisk")
	script := "#!/bin/sh\necho '" + out + "'\necho '" + stderr + "' >&2\nexit " + string(rune('0'+code)) + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// A verdict (exit 0, 1 or 3) is a measurement: its stdout comes back; exit
// 2 is an error that carries etcdisk's stderr.
func TestRunVerdictsAreNotErrors(t *testing.T) {
	for _, code := range []int{0, 1, 3} {
		out, state, err := Run(context.Background(), fakeEtcdisk(t, `{"verdict":"x"}`, "note", code))
		if err != nil || strings.TrimSpace(string(out)) != `{"verdict":"x"}` || state.ExitCode() != code {
			t.Errorf("exit %d: out %q, err %v, state %v; want the stdout and no error", code, out, err, state)
		}
	}
	_, _, err := Run(context.Background(), fakeEtcdisk(t, "", "etcdisk run: no such directory", 2))
	if err == nil || !strings.Contains(err.Error(), "etcdisk run: no such directory") {
		t.Errorf("exit 2: err %v, want an error with etcdisk's stderr", err)
	}
	killed := filepath.Join(t.TempDir(), "etcdisk")
	if err := os.WriteFile(killed, []byte("#!/bin/sh\necho 'out of memory' >&2\nkill -9 $$\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Run(context.Background(), killed); err == nil || !strings.Contains(err.Error(), "out of memory") {
		t.Errorf("killed by a signal: err %v, want an error with etcdisk's stderr", err)
	}
	if _, _, err := Run(context.Background(), filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a binary that does not exist ran")
	}
}
