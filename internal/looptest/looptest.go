// Package looptest gives tests throwaway block devices: an image file
// filled with dd and attached as a loop device, detached again (and its
// mounts unmounted) by t.Cleanup even when the test fails. Tests that need
// them skip cleanly, with the reason, when not run as root or when the
// tools are missing; CI runs them as root.
package looptest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ncw/directio"
	"golang.org/x/sys/unix"
)

// Options describe a loop device.
type Options struct {
	SizeMiB    int  // image size; 0 = 64
	SectorSize int  // logical block size (losetup --sector-size); 0 = 512
	PartScan   bool // losetup --partscan: partitions appear as loopNpM
	ReadOnly   bool // losetup --read-only
}

// Device is an attached loop device.
type Device struct {
	Path  string // /dev/loopN
	Image string // backing file
}

// Need skips t unless it runs as root with the named tools in PATH.
func Need(t testing.TB, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (loop devices, mount)")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s in PATH (%v)", tool, err)
		}
	}
}

// New creates an image of o.SizeMiB filled with zeros by dd and attaches it
// with losetup --find --show --direct-io=on. It skips when loop devices are
// unavailable. t.Cleanup detaches exactly this device.
func New(t testing.TB, o Options) *Device {
	t.Helper()
	Need(t, "losetup", "dd")
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("no loop device support: %v", err)
	}
	if o.SizeMiB == 0 {
		o.SizeMiB = 64
	}
	img := filepath.Join(t.TempDir(), "disk.img")
	Run(t, "dd", "if=/dev/zero", "of="+img, "bs=1M", fmt.Sprintf("count=%d", o.SizeMiB), "oflag=direct", "status=none")
	args := []string{"--find", "--show", "--direct-io=on"}
	if o.SectorSize != 0 {
		args = append(args, "--sector-size", fmt.Sprint(o.SectorSize))
	}
	if o.PartScan {
		args = append(args, "--partscan")
	}
	if o.ReadOnly {
		args = append(args, "--read-only")
	}
	args = append(args, img)
	out, err := exec.Command("losetup", args...).CombinedOutput()
	if err != nil {
		t.Skipf("cannot attach a loop device: losetup %s: %v: %s", strings.Join(args, " "), err, out)
	}
	dev := strings.TrimSpace(string(out))
	if !strings.HasPrefix(dev, "/dev/loop") {
		t.Fatalf("losetup printed %q", out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v: %s", dev, err, out)
		}
	})
	return &Device{Path: dev, Image: img}
}

// Run runs a command and fails t with its output if it fails.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Mount mounts dev on a new temporary directory and returns it;
// t.Cleanup unmounts it (before the device is detached).
func Mount(t testing.TB, dev string, opts ...string) string {
	t.Helper()
	Need(t, "mount", "umount")
	dir := t.TempDir()
	args := append(append([]string{}, opts...), dev, dir)
	Run(t, "mount", args...)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// directReader opens dev for O_DIRECT reads: what is on the device, not
// in a page cache. It uses directio, not wal/vfs, so that this test support
// package sits below the packages whose tests use it.
func directReader(dev string) (*os.File, error) {
	return directio.OpenFile(dev, os.O_RDONLY, 0)
}

// SHA256 hashes the whole device, read with O_DIRECT.
func SHA256(t testing.TB, dev string) string {
	t.Helper()
	f, err := directReader(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	buf := directio.AlignedBlock(1 << 20)
	for off := int64(0); ; {
		n, err := f.ReadAt(buf, off)
		h.Write(buf[:n])
		off += int64(n)
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			break
		}
		if err != nil {
			t.Fatalf("read %s at %d: %v", dev, off, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ReadAt reads n bytes at off of dev with O_DIRECT (off and n are rounded
// out to 4096 internally).
func ReadAt(t testing.TB, dev string, off, n int64) []byte {
	t.Helper()
	f, err := directReader(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := off &^ 4095
	end := (off + n + 4095) &^ 4095
	buf := directio.AlignedBlock(int(end - start))
	got := 0
	for got < len(buf) {
		m, err := f.ReadAt(buf[got:], start+int64(got))
		got += m
		if err != nil {
			t.Fatalf("read %s at %d: %v", dev, start+int64(got), err)
		}
	}
	return append([]byte(nil), buf[off-start:off-start+n]...)
}

// WriteAt writes p at off of dev (buffered, then fsync): for tests that
// plant signatures by hand.
func WriteAt(t testing.TB, dev string, p []byte, off int64) {
	t.Helper()
	f, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(p, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// WriteFileAt writes the whole of file (an image a tool formatted) at off
// of dev.
func WriteFileAt(t testing.TB, dev, file string, off int64) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	WriteAt(t, dev, b, off)
}

// Size returns the size of a block device in bytes.
func Size(t testing.TB, dev string) int64 {
	t.Helper()
	f, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Rdev returns the device number of a device node.
func Rdev(t testing.TB, dev string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		t.Fatal(err)
	}
	return st.Rdev
}
