package sysinfo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/etcdisk/etcdisk/report"
)

func TestParseMountinfo(t *testing.T) {
	m, ok := parseMountinfo(`36 35 98:0 /mnt1 /mnt\040two rw,noatime master:1 - ext4 /dev/vda rw,errors=remount-ro,noatime`)
	if !ok {
		t.Fatal("not parsed")
	}
	want := Mount{MajorMinor: "98:0", Root: "/mnt1", Point: "/mnt two", Options: "rw,noatime,errors=remount-ro", FSType: "ext4", Source: "/dev/vda"}
	if m != want {
		t.Fatalf("got %+v\nwant %+v", m, want)
	}
	if _, ok := parseMountinfo("garbage"); ok {
		t.Fatal("garbage parsed")
	}
}

// fakeRoots builds a /proc and /sys with one ext4 mount on a partition of a
// virtio disk, and a tmpfs on top of part of it.
func fakeRoots(t *testing.T, data string) Options {
	t.Helper()
	root := t.TempDir()
	proc, sys := filepath.Join(root, "proc"), filepath.Join(root, "sys")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(proc, "self"), 0o755))
	mi := "22 1 253:1 / / rw,relatime - ext4 /dev/vda1 rw,nobarrier\n" +
		"30 22 0:40 / " + data + " rw - tmpfs tmpfs rw\n"
	must(os.WriteFile(filepath.Join(proc, "self", "mountinfo"), []byte(mi), 0o644))
	disk := filepath.Join(sys, "devices", "pci0000:00", "virtio1", "block", "vda")
	part := filepath.Join(disk, "vda1")
	must(os.MkdirAll(filepath.Join(part), 0o755))
	must(os.WriteFile(filepath.Join(part, "partition"), []byte("1\n"), 0o644))
	for rel, v := range map[string]string{
		"queue/rotational":          "0",
		"queue/scheduler":           "none [mq-deadline] kyber",
		"queue/write_cache":         "write back",
		"queue/logical_block_size":  "512",
		"queue/physical_block_size": "4096",
	} {
		must(os.MkdirAll(filepath.Dir(filepath.Join(disk, rel)), 0o755))
		must(os.WriteFile(filepath.Join(disk, rel), []byte(v+"\n"), 0o644))
	}
	must(os.MkdirAll(filepath.Join(disk, "holders"), 0o755))
	must(os.MkdirAll(filepath.Join(sys, "dev", "block"), 0o755))
	must(os.Symlink(part, filepath.Join(sys, "dev", "block", "253:1")))
	return Options{Proc: proc, Sys: sys}
}

func TestProbeFakeSys(t *testing.T) {
	o := fakeRoots(t, "/nowhere-mounted")
	env := o.Probe("/", "test")
	if env.Filesystem != "ext4" || env.MountPoint != "/" || env.Device != "vda" {
		t.Fatalf("fs/mount/device: %q %q %q", env.Filesystem, env.MountPoint, env.Device)
	}
	if env.Scheduler != "mq-deadline" || env.WriteCache != "write back" || env.LogicalBlock != 512 || env.PhysicalBlock != 4096 {
		t.Fatalf("queue facts: %+v", env)
	}
	if env.Rotational == nil || *env.Rotational || !env.Virtual || env.DeviceModel != "virtio disk" {
		t.Fatalf("rotational/virtual/model: %+v", env)
	}
	joined := strings.Join(env.Warnings, "\n")
	for _, want := range []string{"nobarrier", "virtual disk"} {
		if !strings.Contains(joined, want) {
			t.Errorf("warnings lack %q:\n%s", want, joined)
		}
	}
}

func TestWarnings(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		env  report.Environment
		want string
	}{
		{report.Environment{Filesystem: "overlay"}, "overlayfs"},
		{report.Environment{Loop: true}, "loop device"},
		{report.Environment{WriteCache: "write through"}, "write through"},
		{report.Environment{MountOptions: "rw,barrier=0"}, "nobarrier"},
		{report.Environment{Rotational: &yes}, "rotational"},
		{report.Environment{Filesystem: "fuse.sshfs"}, "FUSE"},
	} {
		if got := strings.Join(Warnings(tc.env), "\n"); !strings.Contains(got, tc.want) {
			t.Errorf("Warnings(%+v) = %q, want mention of %q", tc.env, got, tc.want)
		}
	}
	if w := Warnings(report.Environment{Filesystem: "ext4", WriteCache: "write back"}); len(w) != 0 {
		t.Errorf("a plain ext4 disk got warnings: %q", w)
	}
}

func TestCheckTargetRefusesTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount tmpfs here: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	err := CheckTarget(dir)
	var m *ErrMeaningless
	if !errors.As(err, &m) || m.FSType != "tmpfs" {
		t.Fatalf("CheckTarget(tmpfs) = %v, want a tmpfs refusal", err)
	}
	if err := CheckTarget(t.TempDir()); err != nil && os.Getenv("TMPDIR") == "" {
		// The default temp dir may itself be a tmpfs on some machines.
		t.Logf("note: the temp dir is refused too: %v", err)
	}
}

func TestProbeRealRoot(t *testing.T) {
	env := Probe(".", "test")
	if env.Filesystem == "" || env.Kernel == "" || env.CPUs < 1 {
		t.Fatalf("probe of . found too little: %+v", env)
	}
}
