package guard_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/etcdisk/etcdisk/bench/guard"
	"github.com/etcdisk/etcdisk/internal/looptest"
	"github.com/etcdisk/etcdisk/wal/vfs/blockdev"
)

// refused asserts err is a one-line refusal containing every want.
func refused(t *testing.T, err error, want ...string) {
	t.Helper()
	if !errors.Is(err, guard.ErrRefused) {
		t.Fatalf("not refused: %v", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Fatalf("multi-line error %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Fatalf("error %q lacks %q", msg, w)
		}
	}
	t.Log(msg)
}

// unchanged fails t if the device's contents differ from sum.
func unchanged(t *testing.T, dev, sum string) {
	t.Helper()
	if got := looptest.SHA256(t, dev); got != sum {
		t.Fatalf("%s changed: sha256 %s, was %s", dev, got, sum)
	}
}

// TestCheckCleanDevice: a zeroed device is clean; --destroy-data with its
// exact path proceeds, with another path (another device, or a symlink to
// the same device) it refuses.
func TestCheckCleanDevice(t *testing.T) {
	loop := looptest.New(t, looptest.Options{SizeMiB: 16})
	f, err := guard.Check(loop.Path, "")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Clean() || len(f.Items) != 0 || f.Size != 16<<20 || f.LogicalBlock != 512 {
		t.Fatalf("%+v", f)
	}
	if !strings.HasSuffix(f.String(), "verdict: clean: etcdisk may write to it") {
		t.Fatal(f.String())
	}
	if _, err := guard.Check(loop.Path, loop.Path); err != nil {
		t.Fatal(err)
	}
	other := looptest.New(t, looptest.Options{SizeMiB: 16})
	_, err = guard.Check(loop.Path, other.Path)
	refused(t, err, "--destroy-data="+other.Path+" does not repeat the device path "+loop.Path)
	link := filepath.Join(t.TempDir(), "disk-by-id")
	if err := os.Symlink(loop.Path, link); err != nil {
		t.Fatal(err)
	}
	_, err = guard.Check(loop.Path, link)
	refused(t, err, "does not repeat the device path")
}

// TestCheckRefusesExt4 is an acceptance case: a device with an ext4
// signature is refused, unchanged; --destroy-data=DEV proceeds and a raw
// device then opens on it.
func TestCheckRefusesExt4(t *testing.T) {
	looptest.Need(t, "mkfs.ext4")
	loop := looptest.New(t, looptest.Options{SizeMiB: 32})
	looptest.Run(t, "mkfs.ext4", "-q", "-F", "-L", "etcd-data", loop.Path)
	sum := looptest.SHA256(t, loop.Path)
	f, err := guard.Check(loop.Path, "")
	refused(t, err, "refusing to write to "+loop.Path, `ext4 file system (magic 0xEF53 at byte 1080), label "etcd-data"`, "--destroy-data="+loop.Path)
	if !f.HasData() || f.InUse() {
		t.Fatalf("%+v", f)
	}
	unchanged(t, loop.Path, sum)
	if _, err := guard.Check(loop.Path, loop.Path+"/"); err != nil {
		t.Fatalf("cleaned exact path: %v", err)
	}
	if _, err := guard.Check(loop.Path, loop.Path); err != nil {
		t.Fatal(err)
	}
	d, err := blockdev.Open(loop.Path, blockdev.Options{RegionSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	unchanged(t, loop.Path, sum)
}

// TestCheckRefusesMounted is an acceptance case: a mounted device is
// refused even with --destroy-data=DEV, and cannot be opened for the run.
func TestCheckRefusesMounted(t *testing.T) {
	looptest.Need(t, "mkfs.ext4")
	loop := looptest.New(t, looptest.Options{SizeMiB: 32})
	looptest.Run(t, "mkfs.ext4", "-q", "-F", loop.Path)
	mnt := looptest.Mount(t, loop.Path, "-o", "ro")
	sum := looptest.SHA256(t, loop.Path)
	f, err := guard.Check(loop.Path, loop.Path)
	refused(t, err, "is mounted on "+mnt+" (ext4)", "in use: --destroy-data does not override this")
	if !f.InUse() {
		t.Fatalf("%+v", f)
	}
	if _, err := blockdev.Open(loop.Path, blockdev.Options{RegionSize: 1 << 20}); err == nil || !strings.Contains(err.Error(), "is in use") {
		t.Fatalf("open of a mounted device: %v", err)
	}
	unchanged(t, loop.Path, sum)
}

// TestCheckRefusesPartitionTable is an acceptance case: MBR and GPT
// partition tables (with their partitions visible) are refused, unchanged;
// a mounted partition refuses the whole device even with --destroy-data.
func TestCheckRefusesPartitionTable(t *testing.T) {
	looptest.Need(t, "sfdisk")
	for _, tc := range []struct{ label, want string }{
		{"dos", "MBR partition table (0x55AA at byte 510, 1 partition(s) of type 0x83)"},
		{"gpt", `GPT partition table (primary header "EFI PART" at byte 512, 1 partition(s))`},
	} {
		t.Run(tc.label, func(t *testing.T) {
			loop := looptest.New(t, looptest.Options{SizeMiB: 32, PartScan: true})
			cmd := exec.Command("sfdisk", "-q", loop.Path)
			cmd.Stdin = strings.NewReader("label: " + tc.label + "\n,16MiB,L\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("sfdisk: %v: %s", err, out)
			}
			// Kernels without the partition parsers do not add loopNp1 on
			// their own: partx adds it with BLKPG.
			p1 := loop.Path + "p1"
			if _, err := os.Stat(p1); err != nil {
				if _, err := exec.LookPath("partx"); err == nil {
					exec.Command("partx", "-a", loop.Path).Run()
				}
			}
			_, p1err := os.Stat(p1)
			sum := looptest.SHA256(t, loop.Path)
			_, err := guard.Check(loop.Path, "")
			part := filepath.Base(p1)
			if p1err == nil {
				refused(t, err, tc.want, "partition "+part)
			} else {
				refused(t, err, tc.want)
			}
			unchanged(t, loop.Path, sum)
			if tc.label != "dos" {
				return
			}
			looptest.Need(t, "mkfs.ext4")
			if p1err != nil {
				t.Skipf("no partition node: %v", p1err)
			}
			looptest.Run(t, "mkfs.ext4", "-q", "-F", p1)
			looptest.Mount(t, p1, "-o", "ro")
			sum = looptest.SHA256(t, loop.Path)
			_, err = guard.Check(loop.Path, loop.Path)
			refused(t, err, part+" is mounted on")
			unchanged(t, loop.Path, sum)
		})
	}
}

// TestCheckRefusesSwap: an active swap area is refused even with
// --destroy-data.
func TestCheckRefusesSwap(t *testing.T) {
	looptest.Need(t, "mkswap", "swapon", "swapoff")
	loop := looptest.New(t, looptest.Options{SizeMiB: 16})
	looptest.Run(t, "mkswap", loop.Path)
	if out, err := exec.Command("swapon", loop.Path).CombinedOutput(); err != nil {
		t.Skipf("swapon: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("swapoff", loop.Path).CombinedOutput(); err != nil {
			t.Errorf("swapoff: %v: %s", err, out)
		}
	})
	sum := looptest.SHA256(t, loop.Path)
	_, err := guard.Check(loop.Path, loop.Path)
	refused(t, err, "is active swap")
	unchanged(t, loop.Path, sum)
}

// TestCheckRefusesHolder: a device-mapper device on top (as LVM would
// make) is a holder and refuses the device even with --destroy-data.
func TestCheckRefusesHolder(t *testing.T) {
	looptest.Need(t, "dmsetup")
	loop := looptest.New(t, looptest.Options{SizeMiB: 16})
	name := "etcdisk-guard-test-" + filepath.Base(loop.Path)
	table := "0 32768 linear " + loop.Path + " 0"
	if out, err := exec.Command("dmsetup", "create", name, "--table", table).CombinedOutput(); err != nil {
		t.Skipf("dmsetup create: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("dmsetup", "remove", name).CombinedOutput(); err != nil {
			t.Errorf("dmsetup remove %s: %v: %s", name, err, out)
		}
	})
	sum := looptest.SHA256(t, loop.Path)
	_, err := guard.Check(loop.Path, loop.Path)
	refused(t, err, "held by dm-", "(device mapper "+name+")")
	unchanged(t, loop.Path, sum)
}

// TestCheckRefusesBusy: a device another program holds with O_EXCL (here
// a raw-device run) is refused as in use.
func TestCheckRefusesBusy(t *testing.T) {
	loop := looptest.New(t, looptest.Options{SizeMiB: 16})
	d, err := blockdev.Open(loop.Path, blockdev.Options{RegionSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = guard.Check(loop.Path, loop.Path)
	refused(t, err, "exclusively claimed by the kernel or another program")
}

// TestInspectFakeSysHolders: holders of the device and of its partitions
// (named from dm/uuid), and mounts and swap of a partition, read from
// /sys and /proc trees laid out as the kernel does.
func TestInspectFakeSysHolders(t *testing.T) {
	loop := looptest.New(t, looptest.Options{SizeMiB: 16})
	id := fmtDev(looptest.Rdev(t, loop.Path))
	sys, proc := t.TempDir(), t.TempDir()
	base := filepath.Base(loop.Path)
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dev := filepath.Join(sys, "dev", "block", id)
	os.MkdirAll(filepath.Join(dev, "holders", "dm-3"), 0o755)
	write(filepath.Join(sys, "block", "dm-3", "dm", "uuid"), "LVM-abcdef\n")
	write(filepath.Join(sys, "block", "dm-3", "dm", "name"), "vg0-etcd\n")
	write(filepath.Join(dev, base+"p2", "partition"), "2\n")
	write(filepath.Join(dev, base+"p2", "dev"), "259:77\n")
	os.MkdirAll(filepath.Join(dev, base+"p2", "holders", "md0"), 0o755)
	write(filepath.Join(proc, "self", "mountinfo"), "30 1 259:77 / /var/lib/etcd rw - xfs /dev/x rw\n")
	write(filepath.Join(proc, "swaps"), "Filename\tType\tSize\tUsed\tPriority\n")
	f, err := guard.Options{Sys: sys, Proc: proc}.Inspect(loop.Path)
	if err != nil {
		t.Fatal(err)
	}
	s := f.String()
	for _, want := range []string{
		"held by dm-3 (LVM vg0-etcd)",
		"partition " + base + "p2 (259:77)",
		"partition " + base + "p2 is held by md0 (md RAID)",
		base + "p2 is mounted on /var/lib/etcd (xfs)",
		"verdict: in use",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("findings lack %q:\n%s", want, s)
		}
	}
}

func fmtDev(rdev uint64) string {
	return strconv.FormatUint(uint64(unix.Major(rdev)), 10) + ":" + strconv.FormatUint(uint64(unix.Minor(rdev)), 10)
}

// TestCheckReadOnly: a read-only device is refused in one line naming it,
// even with --destroy-data.
func TestCheckReadOnly(t *testing.T) {
	loop := looptest.New(t, looptest.Options{SizeMiB: 16, ReadOnly: true})
	f, err := guard.Check(loop.Path, loop.Path)
	refused(t, err, loop.Path+" is read-only")
	if !f.ReadOnly() || f.Clean() || !strings.Contains(f.String(), "verdict: read-only") {
		t.Fatalf("%+v", f)
	}
}

// TestCheckBlkid: what blkid -p names refuses a device whose guarded
// windows read as zeroes (here a stand-in blkid that answers as the real
// one does: KEY=value lines and exit 0, exit 2 for nothing, 8 for
// ambivalent); "-" does not run it.
func TestCheckBlkid(t *testing.T) {
	loop := looptest.New(t, looptest.Options{SizeMiB: 16})
	fake := func(out string, code int) string {
		p := filepath.Join(t.TempDir(), "blkid")
		script := "#!/bin/sh\nprintf '" + out + "'\nexit " + strconv.Itoa(code) + "\n"
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sum := looptest.SHA256(t, loop.Path)
	_, err := guard.Options{Blkid: fake(`DEVNAME=x\nTYPE=jfs\nUSAGE=filesystem\nLABEL=old\\ data\n`, 0)}.Check(loop.Path, "")
	refused(t, err, `blkid -p: TYPE="jfs" USAGE="filesystem" LABEL="old data"`, "--destroy-data="+loop.Path)
	_, err = guard.Options{Blkid: fake("", 8)}.Check(loop.Path, "")
	refused(t, err, "blkid -p: ambivalent result")
	unchanged(t, loop.Path, sum)
	f, err := guard.Options{Blkid: fake("", 2)}.Check(loop.Path, "")
	if err != nil || !strings.HasSuffix(f.Checked, "; blkid -p") {
		t.Fatalf("blkid found nothing: %v, %+v", err, f)
	}
	f, err = guard.Options{Blkid: "-"}.Check(loop.Path, "")
	if err != nil || f.Checked != "first and last 4 MiB" {
		t.Fatalf("without blkid: %v, %+v", err, f)
	}
}

// TestZeroWindows: only the guarded windows within the written bytes are
// zeroed; the rest of the device is left as it was.
func TestZeroWindows(t *testing.T) {
	loop := looptest.New(t, looptest.Options{SizeMiB: 16})
	ones := make([]byte, 16<<20)
	for i := range ones {
		ones[i] = 0x5a
	}
	looptest.WriteAt(t, loop.Path, ones, 0)
	fh, err := os.OpenFile(loop.Path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if err := guard.ZeroWindows(fh.Fd(), 16<<20, 6<<20); err != nil {
		t.Fatal(err)
	}
	got := looptest.ReadAt(t, loop.Path, 0, 16<<20)
	if !bytes.Equal(got[:4<<20], make([]byte, 4<<20)) {
		t.Fatal("the first 4 MiB were not zeroed")
	}
	if !bytes.Equal(got[4<<20:], ones[4<<20:]) {
		t.Fatal("bytes outside the written guarded windows changed")
	}
	_, err = guard.Check(loop.Path, "")
	refused(t, err, "non-zero data at byte 12582912")
}
