package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/etcdisk/etcdisk/internal/looptest"
)

// guardDevMiB is the loop device of the guard tests: exactly the 8 regions
// a run needs, so a run's regions cover the whole device and the run
// zeroes every guarded window when it ends.
const guardDevMiB = 512

// assertRefused runs args and asserts exit 2 with one line on stderr that
// names the device, each want, and the flag that overrides.
func assertRefused(t *testing.T, dev string, args []string, want ...string) {
	t.Helper()
	r := etcdisk(t, args...)
	msg := strings.TrimSpace(r.stderr)
	if r.code != 2 || strings.Contains(msg, "\n") {
		t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.stderr)
	}
	for _, w := range append(want, "refusing to write to "+dev, "--destroy-data="+dev) {
		if !strings.Contains(msg, w) {
			t.Fatalf("%v: stderr %q lacks %q", args, msg, w)
		}
	}
	t.Log(msg)
}

// assertBlankWindows fails t unless the first and last 4 MiB of dev read
// as zeroes.
func assertBlankWindows(t *testing.T, dev string) {
	t.Helper()
	size := looptest.Size(t, dev)
	for _, off := range []int64{0, size - 4<<20} {
		if b := looptest.ReadAt(t, dev, off, 4<<20); !bytes.Equal(b, make([]byte, 4<<20)) {
			t.Fatalf("bytes %d-%d of %s are not zero after the run", off, off+4<<20, dev)
		}
	}
}

// formatted runs a formatting tool on an image file of sizeMiB and returns
// the file.
func formatted(t *testing.T, sizeMiB int64, tool string, args ...string) string {
	t.Helper()
	looptest.Need(t, tool)
	img := filepath.Join(t.TempDir(), "fs.img")
	if err := os.WriteFile(img, make([]byte, sizeMiB<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	looptest.Run(t, tool, append(args, img)...)
	return img
}

// TestRawDeviceGuardRefusesUnknownData is the zero-or-consent rule end to
// end: for each kind of data in the guarded windows, a run without
// --destroy-data exits 2 with one line naming what was found (by name, or
// by offset) and the flag, and the device stays byte for byte the same;
// info --device prints the same finding; with --destroy-data=DEV the run
// proceeds and zeroes the guarded windows, so the next case starts blank
// and a plain run afterwards is accepted.
func TestRawDeviceGuardRefusesUnknownData(t *testing.T) {
	dev := looptest.New(t, looptest.Options{SizeMiB: guardDevMiB}).Path
	size := looptest.Size(t, dev)
	noise := func(off int64) func(t *testing.T) {
		return func(t *testing.T) {
			b := []byte("\x01some bytes of no known format")
			looptest.WriteAt(t, dev, b, off)
		}
	}
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T)
		want  string
	}{
		{"bluestore", func(t *testing.T) {
			looptest.WriteAt(t, dev, []byte("bluestore block device\n0d1e5f7c-7c6f-4c8a-9c55-3b6f2a1d9e10\n\x02\x01"), 0)
		}, `Ceph BlueStore OSD device ("bluestore block device" at byte 0), osd uuid 0d1e5f7c-7c6f-4c8a-9c55-3b6f2a1d9e10`},
		{"zfs-label", func(t *testing.T) {
			// An uberblock (magic 0x00bab10c, little-endian) in the ring
			// of labels L0 and L3.
			ub := []byte{0x0c, 0xb1, 0xba, 0, 0, 0, 0, 0, 0x88, 0x13}
			looptest.WriteAt(t, dev, ub, 128<<10+3<<10)
			looptest.WriteAt(t, dev, ub, size-128<<10)
		}, "ZFS pool member (uberblock magic 0x00bab10c in label L0 at byte 134144)"},
		{"minix", func(t *testing.T) {
			looptest.WriteFileAt(t, dev, formatted(t, 16, "mkfs.minix"), 0)
		}, "minix v1 file system (magic 0x138f at byte 1040)"},
		{"bfs", func(t *testing.T) {
			looptest.WriteFileAt(t, dev, formatted(t, 8, "mkfs.bfs"), 0)
		}, "bfs file system (magic 0x1badface at byte 0)"},
		{"ext4-at-1MiB", func(t *testing.T) {
			looptest.WriteFileAt(t, dev, formatted(t, 16, "mkfs.ext4", "-q", "-F"), 1<<20)
		}, "ext4 file system at byte 1048576 (magic 0xEF53 at byte 1049656)"},
		{"bcache", func(t *testing.T) {
			looptest.WriteAt(t, dev, []byte{0xc6, 0x85, 0x73, 0xf6, 0x4e, 0x1a, 0x45, 0xca, 0x82, 0x65, 0xf5, 0x7f, 0x48, 0xba, 0x6d, 0x81}, 4096+24)
		}, "bcache device (magic at byte 4120)"},
		{"noise-in-head", noise(3<<20 + 12345), "non-zero data at byte 3158073 (no signature etcdisk knows)"},
		{"noise-in-tail", noise(size - 4<<20 + 777), fmt.Sprintf("non-zero data at byte %d", size-4<<20+777)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.plant(t)
			before := looptest.SHA256(t, dev)
			assertRefused(t, dev, []string{"run", "--rate", "max", "--device", dev, "--ops", "20", "--warmup", "0s"}, tc.want)
			if looptest.SHA256(t, dev) != before {
				t.Fatal("a refused device was modified")
			}
			info := etcdisk(t, "info", "--device", dev)
			if info.code != 0 || !strings.Contains(info.stdout, tc.want) || !strings.Contains(info.stdout, "refused unless --destroy-data="+dev) {
				t.Fatalf("info --device: exit %d\n%s", info.code, info.stdout)
			}
			r := etcdisk(t, "run", "--rate", "max", "--device", dev, "--ops", "20", "--warmup", "0s", "--destroy-data="+dev)
			if r.code == 2 || !strings.Contains(r.stderr, "overwriting "+dev+" as asked (--destroy-data)") {
				t.Fatalf("--destroy-data=%s: exit %d, stderr %s", dev, r.code, r.stderr)
			}
			assertBlankWindows(t, dev)
		})
	}
	// A device an earlier run wrote (and zeroed) is accepted as it is.
	if r := etcdisk(t, "run", "--rate", "max", "--device", dev, "--ops", "20", "--warmup", "0s"); r.code == 2 {
		t.Fatalf("a rerun on the device an earlier run wrote: exit 2: %s", r.stderr)
	}
}

// TestRawDeviceGuardAfterInterruptAndKill: a run interrupted with SIGINT
// zeroes its guarded windows (the rerun is accepted); a killed run leaves
// its WAL frames and the rerun is refused, naming them, with the device
// unchanged.
func TestRawDeviceGuardAfterInterruptAndKill(t *testing.T) {
	dev := looptest.New(t, looptest.Options{SizeMiB: guardDevMiB}).Path
	stopAfter := func(sig os.Signal) {
		t.Helper()
		cmd := exec.Command(binary, "run", "--rate", "max", "--device", dev, "--duration", "60s", "--warmup", "0s")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("etcdisk did not exit within 20 s of %v", sig)
		}
	}
	stopAfter(syscall.SIGINT)
	assertBlankWindows(t, dev)
	if r := etcdisk(t, "run", "--rate", "max", "--device", dev, "--ops", "20", "--warmup", "0s"); r.code == 2 {
		t.Fatalf("rerun after an interrupted run: exit 2: %s", r.stderr)
	}
	stopAfter(syscall.SIGKILL)
	before := looptest.SHA256(t, dev)
	assertRefused(t, dev, []string{"run", "--rate", "max", "--device", dev, "--ops", "20", "--warmup", "0s"},
		"etcd WAL frames at byte 0 (an earlier etcdisk run?)")
	if looptest.SHA256(t, dev) != before {
		t.Fatal("a refused device was modified")
	}
}

// TestRawDeviceReadOnly: a read-only loop device gets one line naming it
// and saying it is read-only, even with --destroy-data.
func TestRawDeviceReadOnly(t *testing.T) {
	dev := looptest.New(t, looptest.Options{SizeMiB: guardDevMiB, ReadOnly: true}).Path
	for _, args := range [][]string{
		{"run", "--rate", "max", "--device", dev, "--ops", "20"},
		{"run", "--rate", "max", "--device", dev, "--ops", "20", "--destroy-data=" + dev},
	} {
		r := etcdisk(t, args...)
		msg := strings.TrimSpace(r.stderr)
		if r.code != 2 || strings.Contains(msg, "\n") || !strings.Contains(msg, dev+" is read-only") {
			t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	info := etcdisk(t, "info", "--device", dev)
	if !strings.Contains(info.stdout, "refused (read-only; nothing overrides this)") {
		t.Fatalf("info --device:\n%s", info.stdout)
	}
}

// TestNeighbourDeviceGuard: a neighbour's device= goes through the same
// guard: refused (exit 2, one line, device unchanged) until a
// --destroy-data value names that device; a value that names no device of
// the run is refused.
func TestNeighbourDeviceGuard(t *testing.T) {
	dev := looptest.New(t, looptest.Options{SizeMiB: 32}).Path
	looptest.WriteAt(t, dev, []byte("bluestore block device\n"), 0)
	before := looptest.SHA256(t, dev)
	dir := t.TempDir()
	run := []string{"run", "--rate", "max", "--dir", dir, "--backend=false", "--duration", "1s", "--warmup", "0s",
		"--neighbor", "randwrite,bs=4KiB,size=8MiB,device=" + dev}
	assertRefused(t, dev, run, `Ceph BlueStore OSD device ("bluestore block device" at byte 0)`)
	if looptest.SHA256(t, dev) != before {
		t.Fatal("a refused neighbour device was modified")
	}
	r := etcdisk(t, append(run, "--destroy-data="+dev+"x")...)
	if r.code != 2 || !strings.Contains(r.stderr, "refusing --destroy-data="+dev+"x: it repeats neither the --device path nor a neighbour's device= path exactly") {
		t.Fatalf("--destroy-data naming no device: exit %d, %s", r.code, r.stderr)
	}
	r = etcdisk(t, append(run, "--destroy-data="+dev)...)
	if r.code == 2 {
		t.Fatalf("--destroy-data=%s: exit 2: %s", dev, r.stderr)
	}
	if b := looptest.ReadAt(t, dev, 0, 4<<20); !bytes.Equal(b, make([]byte, 4<<20)) {
		t.Fatal("the neighbour's writes in the first 4 MiB were not zeroed")
	}
}
