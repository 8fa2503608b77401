package runfolder

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// deadPID is the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	return cmd.Process.Pid
}

// leave writes a marked folder with no lock, as a killed run leaves it.
func leave(t *testing.T, dir, name string, m Marker, payload int) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(p, 0o700); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(p, MarkerName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "data"), make([]byte, payload), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func otherMarker(pid int) Marker {
	m := NewMarker(RoleRun, "test")
	m.PID = pid
	return m
}

func TestScanStates(t *testing.T) {
	dir := t.TempDir()
	stale := leave(t, dir, Prefix+"stale", otherMarker(deadPID(t)), 1<<20)
	rebooted := otherMarker(1)
	rebooted.BootID = "another-boot"
	reboot := leave(t, dir, Prefix+"reboot", rebooted, 0)
	// pid 1 is alive and started before this marker: not provably gone.
	alive := leave(t, dir, Prefix+"alive", otherMarker(1), 0)
	garbled := leave(t, dir, Prefix+"garbled", Marker{}, 0)
	os.WriteFile(filepath.Join(garbled, MarkerName), []byte("{"), 0o600)
	os.MkdirAll(filepath.Join(dir, Prefix+"unmarked"), 0o700)
	os.Symlink(stale, filepath.Join(dir, Prefix+"link"))
	held, err := Create(dir, otherMarker(deadPID(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Remove()

	got := map[string]Entry{}
	entries, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		got[e.Path] = e
	}
	want := map[string]State{stale: Stale, reboot: Stale, alive: Unknown, garbled: Unknown, held.Path: Live}
	if len(got) != len(want) {
		t.Fatalf("scan found %v, want %v", got, want)
	}
	for p, st := range want {
		if got[p].State != st {
			t.Errorf("%s: state %d (%s), want %d", filepath.Base(p), got[p].State, got[p].Why, st)
		}
	}
	if s := got[stale].Size; s < 1<<20 {
		t.Errorf("stale size %d, want at least 1 MiB", s)
	}
	if d := got[stale].Describe(); !strings.Contains(d, "1.0 MiB") || !strings.Contains(d, "pid ") {
		t.Errorf("describe: %s", d)
	}
}

func TestCleanRemovesOnlyStale(t *testing.T) {
	dir := t.TempDir()
	stale := leave(t, dir, Prefix+"stale", otherMarker(deadPID(t)), 4096)
	alive := leave(t, dir, Prefix+"alive", otherMarker(1), 0)
	unmarked := filepath.Join(dir, Prefix+"unmarked")
	os.MkdirAll(unmarked, 0o700)
	held, err := Create(dir, otherMarker(deadPID(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Remove()

	listed, err := Clean(dir, true)
	if err != nil || len(listed) != 1 || listed[0].Path != stale {
		t.Fatalf("dry run listed %v, %v; want only %s", listed, err, stale)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Fatal("--dry-run removed the stale folder")
	}
	removed, err := Clean(dir, false)
	if err != nil || len(removed) != 1 || removed[0].Path != stale {
		t.Fatalf("clean removed %v, %v; want only %s", removed, err, stale)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the stale folder survived")
	}
	for _, p := range []string{alive, unmarked, held.Path} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed", filepath.Base(p))
		}
	}
}

func TestCreateRefusesWhileAnotherRunsAndReportsStale(t *testing.T) {
	dir := t.TempDir()
	stale := leave(t, dir, Prefix+"stale", otherMarker(deadPID(t)), 0)
	f, err := Create(dir, NewMarker(RoleRun, "test"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Stale) != 1 || f.Stale[0].Path != stale {
		t.Fatalf("stale %v, want %s", f.Stale, stale)
	}
	// This process's own folders never block it (a neighbour next to its run).
	own, err := Create(dir, NewMarker(RoleNeighbor, "test"))
	if err != nil {
		t.Fatalf("own folder blocked a second one: %v", err)
	}
	own.Remove()
	f.Remove()

	other, err := Create(dir, otherMarker(4242))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Remove()
	_, err = Create(dir, NewMarker(RoleRun, "test"))
	var busy *BusyError
	if !errors.As(err, &busy) || !strings.Contains(err.Error(), "another etcdisk run (pid 4242) is measuring this disk") {
		t.Fatalf("err %v, want a BusyError naming pid 4242", err)
	}
	if ents, _ := Scan(dir); len(ents) != 2 {
		t.Fatalf("the refused run left its folder: %v", ents)
	}
}

func TestKeepReleasesAndMarks(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(dir, otherMarker(deadPID(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Keep(); err != nil {
		t.Fatal(err)
	}
	ents, err := Scan(dir)
	if err != nil || len(ents) != 1 || ents[0].State != Stale || !ents[0].Marker.Kept {
		t.Fatalf("kept folder: %+v %v", ents, err)
	}
	if !strings.Contains(ents[0].Describe(), "kept with --keep") {
		t.Fatal(ents[0].Describe())
	}
}
