package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOutCheckedBeforeMeasuring: an --out directory that cannot be written
// (/proc/self exists and refuses new files, also to root) fails the run at
// once, before a 30 s measurement, with one line and exit 2.
func TestOutCheckedBeforeMeasuring(t *testing.T) {
	dir := t.TempDir()
	began := time.Now()
	r := etcdisk(t, "run", "--rate", "max", "--dir", dir, "--duration", "30s", "--warmup", "0s", "--out", "/proc/self")
	took := time.Since(began)
	if r.code != 2 || !strings.Contains(r.stderr, "--out /proc/self is not writable") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q; want 2 and one line saying --out is not writable", r.code, r.stderr)
	}
	if took > 15*time.Second {
		t.Fatalf("took %s: the run measured before checking --out", took)
	}
	if r.stdout != "" {
		t.Fatalf("a report was printed: %s", r.stdout)
	}
	assertEmpty(t, dir)
}

// TestOutKeepsEarlierResult: an --out directory that holds a result.json
// is refused before measuring and the file is kept; --force replaces it.
func TestOutKeepsEarlierResult(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	earlier := filepath.Join(out, "result.json")
	if err := os.WriteFile(earlier, []byte("earlier run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "--rate", "max", "--dir", dir, "--duration", "30s", "--warmup", "0s", "--out", out}
	began := time.Now()
	r := etcdisk(t, args...)
	if r.code != 2 || !strings.Contains(r.stderr, "result.json already exists: pass --force") || time.Since(began) > 15*time.Second {
		t.Fatalf("exit %d after %s, stderr %q; want 2 at once, asking for --force", r.code, time.Since(began), r.stderr)
	}
	if b, _ := os.ReadFile(earlier); string(b) != "earlier run\n" {
		t.Fatalf("result.json was changed without --force: %q", b)
	}
	assertEmpty(t, dir)

	r = etcdisk(t, "run", "--rate", "max", "--dir", dir, "--ops", "100", "--warmup", "0s", "--backend=false", "--out", out, "--force")
	if r.code == 2 {
		t.Fatalf("--force: exit 2: %s", r.stderr)
	}
	var res jsonResult
	if b, err := os.ReadFile(earlier); err != nil || json.Unmarshal(b, &res) != nil || res.Saves != 100 {
		t.Fatalf("--force did not replace result.json with the new result (%v): %+v", err, res)
	}
	if _, err := os.Stat(filepath.Join(out, "report.txt")); err != nil {
		t.Fatal(err)
	}
	if ents, _ := filepath.Glob(filepath.Join(out, ".etcdisk-out-probe-*")); len(ents) > 0 {
		t.Fatalf("probe left behind: %v", ents)
	}
}
