package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// An overlay whose upper directory is on tmpfs (a container's writable
// layer in RAM) writes nowhere durable: refused like tmpfs, with the
// reason, before anything is written.
func TestRefusesOverlayOnTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting tmpfs and overlay needs root")
	}
	ram := t.TempDir()
	// NB: room for a whole run, so that only the refusal can stop it.
	if err := unix.Mount("tmpfs", ram, "tmpfs", 0, "size=1g"); err != nil {
		t.Skipf("cannot mount tmpfs: %v", err)
	}
	// NB: cleanups run last-registered first: the overlay goes before
	// the tmpfs under it, also when the test fails.
	t.Cleanup(func() { _ = unix.Unmount(ram, unix.MNT_DETACH) })
	upper, work := filepath.Join(ram, "upper"), filepath.Join(ram, "work")
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lower, merged := t.TempDir(), t.TempDir()
	if err := unix.Mount("overlay", merged, "overlay", 0, "lowerdir="+lower+",upperdir="+upper+",workdir="+work); err != nil {
		t.Skipf("cannot mount an overlay: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(merged, unix.MNT_DETACH) })

	r := etcdisk(t, "run", "--rate", "max", "--dir", merged, "--ops", "10")
	if r.code != 2 || !strings.Contains(r.stderr, "overlayfs whose upper layer") || !strings.Contains(r.stderr, "tmpfs") || !strings.Contains(r.stderr, "fsync is a no-op") {
		t.Fatalf("exit %d, stderr %q; want 2 and the overlay-over-tmpfs reason", r.code, r.stderr)
	}
	if ents, _ := os.ReadDir(upper); len(ents) != 0 {
		t.Fatalf("the refused run wrote into the upper layer: %v", ents)
	}
	info := etcdisk(t, "info", "--dir", merged)
	if !strings.Contains(info.stdout, "refused:") || !strings.Contains(info.stdout, "tmpfs") {
		t.Fatalf("info --dir does not say it is refused:\n%s", info.stdout)
	}
}
