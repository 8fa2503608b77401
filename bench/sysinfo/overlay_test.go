package sysinfo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMountOption(t *testing.T) {
	opts := `rw,relatime,lowerdir=/l1:/l2,upperdir=/a\,b/upper,workdir=/a\,b/work,index=off`
	for key, want := range map[string]string{"upperdir": "/a,b/upper", "workdir": "/a,b/work", "lowerdir": "/l1:/l2", "redirect_dir": ""} {
		if got := mountOption(opts, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}

// MountOverlay mounts an overlay at a new directory with its upper and
// work directories under upperRoot; it skips the test when overlays cannot
// be mounted here, and unmounts on cleanup.
func mountOverlay(t *testing.T, upperRoot string) string {
	t.Helper()
	lower, merged := t.TempDir(), t.TempDir()
	upper, work := filepath.Join(upperRoot, "upper"), filepath.Join(upperRoot, "work")
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("cannot mount an overlay here: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(merged, unix.MNT_DETACH) })
	return merged
}

func TestCheckTargetLooksThroughOverlay(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting tmpfs and overlay needs root")
	}
	ram := t.TempDir()
	if err := unix.Mount("tmpfs", ram, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("cannot mount tmpfs here: %v", err)
	}
	// NB: registered first, so it runs after the overlay's unmount.
	t.Cleanup(func() { _ = unix.Unmount(ram, unix.MNT_DETACH) })
	merged := mountOverlay(t, ram)
	err := CheckTarget(merged)
	var m *ErrMeaningless
	if !errors.As(err, &m) || !strings.Contains(m.FSType, "overlayfs") || !strings.Contains(m.FSType, "tmpfs") || m.Path != merged {
		t.Fatalf("CheckTarget(overlay over tmpfs) = %v, want a refusal naming the overlay and tmpfs", err)
	}

	// An overlay whose upper layer is on a disk is measured.
	onDisk := mountOverlay(t, t.TempDir())
	if err := CheckTarget(filepath.Dir(onDisk)); err != nil {
		t.Skipf("the temp dir itself is refused: %v", err)
	}
	if err := CheckTarget(onDisk); err != nil {
		t.Fatalf("CheckTarget(overlay over a disk) = %v, want nil", err)
	}
}

// A container's root overlay names an upper directory that exists only in
// the host's mount namespace: nothing can be said of it, and the run is
// not refused. Here the upper layer's parent is renamed after the mount,
// so the path the mount names no longer resolves.
func TestCheckTargetOverlayWithUnreachableUpper(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting an overlay needs root")
	}
	base := t.TempDir()
	root := filepath.Join(base, "layers")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	merged := mountOverlay(t, root)
	if err := os.Rename(root, filepath.Join(base, "elsewhere")); err != nil {
		t.Fatal(err)
	}
	if err := CheckTarget(merged); err != nil {
		t.Fatalf("CheckTarget(overlay with an unreachable upper dir) = %v, want nil", err)
	}
}
